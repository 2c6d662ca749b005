"""RFC 9651 (Structured Field Values for HTTP) Strings: parsing and serializing one sf-string Item.

``Idempotency-Key`` is an Item Structured Header whose value must be a String. An sf-string is
printable ASCII (0x20-0x7E) between double quotes, in which ``"`` and ``\\`` are escaped with a
backslash::

    >>> parse_sf_string('  "a \\\\"quoted\\\\" key"')
    'a "quoted" key'
    >>> format_sf_string('a "quoted" key')
    '"a \\\\"quoted\\\\" key"'

The parser follows RFC 9651 §4.2 (leading and trailing spaces discarded) and §4.2.5 (parsing a
String). It accepts an Item without parameters only: a parameterized Item is refused, which is stricter
than the RFC, as no parameter of Idempotency-Key is defined.
"""

from __future__ import annotations


def parse_sf_string(value: str) -> str:
    """Return the String carried by the field value ``value``. Raises ValueError if ``value`` is not
    exactly one sf-string (RFC 9651 §4.2.5), optionally surrounded by spaces."""
    text = value.strip(" ")
    if len(text) < 2 or text[0] != '"':
        raise ValueError("sf-string: must start with a double quote")
    out: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in '"\\':
                raise ValueError("sf-string: bad escape")
            out.append(text[i + 1])
            i += 2
        elif ch == '"':
            if i != len(text) - 1:
                raise ValueError("sf-string: characters after the closing quote")
            return "".join(out)
        elif " " <= ch <= "~":
            out.append(ch)
            i += 1
        else:
            raise ValueError(f"sf-string: character U+{ord(ch):04X} not allowed")
    raise ValueError("sf-string: no closing quote")


def format_sf_string(value: str) -> str:
    """Return ``value`` serialized as an sf-string (RFC 9651 §4.1.6). The inverse of
    :func:`parse_sf_string`. Raises ValueError for characters outside 0x20-0x7E."""
    if any(not " " <= ch <= "~" for ch in value):
        raise ValueError("sf-string: only printable ASCII can be serialized")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
