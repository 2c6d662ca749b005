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

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ch < " ":
        return f"\\u{ord(ch):04x}"
    return ch


def _string(s: str) -> str:
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in s):
        raise ValueError("jcs: lone surrogate in string")
    return '"' + "".join(_escape_char(ch) for ch in s) + '"'


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be")


def _serialize(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"jcs: integer {value} outside ±(2**53-1)")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    elif isinstance(value, dict):
        _serialize_object(value, out)
    else:
        raise ValueError(f"jcs: cannot canonicalize a value of type {type(value).__name__}")


def _serialize_object(value: dict[Any, Any], out: list[str]) -> None:
    if not all(isinstance(k, str) for k in value):
        raise ValueError("jcs: object member names must be strings")
    out.append("{")
    for i, name in enumerate(sorted(value, key=_utf16_key)):
        if i:
            out.append(",")
        out.append(_string(name))
        out.append(":")
        _serialize(value[name], out)
    out.append("}")


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    ``value`` is built from None, bool, int (|n| <= 2**53 - 1), str, list/tuple and dict with str keys.
    Cost is linear in the size of the value. Raises ValueError for floats, out-of-range integers,
    non-string member names, lone surrogates and any other type.
    """
    out: list[str] = []
    _serialize(value, out)
    return "".join(out).encode("utf-8")


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
