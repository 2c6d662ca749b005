"""RFC 8785 JSON Canonicalization Scheme (JCS), restricted to the values Fairdraw uses.

Fairdraw hashes and signs JSON only in its canonical form: UTF-8, no insignificant white space,
object members sorted by the UTF-16 code units of their names, strings escaped as ECMAScript's
``JSON.stringify`` does (RFC 8785 §3.2.2.2). Numbers are restricted to integers in the range that
IEEE 754 doubles represent exactly (|n| <= 2**53 - 1), for which RFC 8785 §3.2.2.3 serialization is the
plain decimal form; floats are refused, so no rounding rule is ever needed.

>>> canonicalize({"b": [1, True, None], "a": "\u20ac\\n"}).decode()
'{"a":"\u20ac\\\\n","b":[1,true,null]}'
"""

from __future__ import annotations

import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1

_BMP_ONLY = "\uffff"


def _check(value: Any, bmp_keys: list[bool]) -> None:
    """Refuse what RFC 8785 as restricted here cannot serialize; note keys outside the BMP."""
    if value is None or value is True or value is False or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"jcs: integer {value} outside ±(2**53-1)")
    elif isinstance(value, list | tuple):
        for item in value:
            _check(item, bmp_keys)
    elif isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise ValueError("jcs: object member names must be strings")
            if bmp_keys[0] and max(name, default="") > _BMP_ONLY:
                bmp_keys[0] = False
            _check(item, bmp_keys)
    else:
        raise ValueError(f"jcs: cannot canonicalize a value of type {type(value).__name__}")


def _utf16_sorted(value: Any) -> Any:
    """Return ``value`` with every object's members in UTF-16 code-unit order (RFC 8785 §3.2.3)."""
    if isinstance(value, dict):
        return {k: _utf16_sorted(value[k]) for k in sorted(value, key=lambda k: k.encode("utf-16-be"))}
    if isinstance(value, list | tuple):
        return [_utf16_sorted(item) for item in value]
    return value


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    ``value`` is built from None, bool, int (|n| <= 2**53 - 1), str, list/tuple and dict with str keys.
    Cost is linear in the size of the value. Raises ValueError for floats, out-of-range integers,
    non-string member names, lone surrogates and any other type.

    Strings are escaped as ECMAScript's JSON.stringify does, which for well-formed strings is what
    Python's json module writes with ensure_ascii=False: quote, backslash and the short escapes for
    backspace, form feed, newline, return and tab; other control characters as lowercase six-character
    unicode escapes. Python sorts keys by code point, which differs from UTF-16 order only for keys
    with characters beyond U+FFFF; such values are re-ordered first.
    """
    bmp_keys = [True]
    _check(value, bmp_keys)
    if not bmp_keys[0]:
        value = _utf16_sorted(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=bmp_keys[0])
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("jcs: lone surrogate in string") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, item in pairs:
        if name in obj:
            raise ValueError(f"jcs: duplicate member name {name!r}")
        obj[name] = item
    return obj


def _refuse_float(text: str) -> Any:
    raise ValueError(f"jcs: non-integer number {text}")


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"jcs: {text} is not JSON")


def loads(data: bytes | str) -> Any:
    """Parse JSON strictly: UTF-8, no duplicate member names, integers only, no NaN/Infinity.

    Raises ValueError (json.JSONDecodeError is a ValueError) naming what was wrong.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    value = json.loads(
        text,
        object_pairs_hook=_no_duplicates,
        parse_float=_refuse_float,
        parse_constant=_refuse_constant,
    )
    canonicalize(value)  # range and surrogate checks
    return value


def loads_canonical(data: bytes) -> Any:
    """Parse ``data`` as :func:`loads` does and require it to be exactly its canonical form.

    Raises ValueError if ``data`` is not valid JSON or not canonical.
    """
    value = loads(data)
    if canonicalize(value) != data:
        raise ValueError("jcs: JSON is not in canonical form")
    return value
