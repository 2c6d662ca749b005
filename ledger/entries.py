"""Ledger entries: the typed envelope, its canonical bytes, and the registry of entry types.

An entry is the RFC 8785 canonical JSON of the envelope (docs/ledger.md §1)::

    {"body": {...}, "index": 7, "prev": "<base64 leaf hash of entry 6>", "time": 1764283755123,
     "type": "note", "v": 1}

``prev`` chains every entry to the one before it (32 zero bytes for entry 0), ``time`` is the
sequencing time in milliseconds since the Unix epoch (UTC). The canonical bytes are at most
65,535 bytes, so every entry fits a C2SP tlog-tiles entry bundle. The Merkle leaf is exactly these
bytes: leaf hash = SHA-256(0x00 || entry).

Entry types are registered by the package that owns them. The ledger owns ``key.announce``,
``key.rotate`` and ``note``; an unknown type, or a body that breaks its type's schema, is refused
before anything is written.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger import jcs

VERSION = 1
MAX_ENTRY_SIZE = 65535
ZERO_HASH = bytes(32)
_WORST_CASE = jcs.MAX_SAFE_INTEGER  # the longest index and time an entry can carry
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
_ENVELOPE_KEYS = {"v", "index", "prev", "time", "type", "body"}

BodyCheck = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class EntryType:
    """A registered entry type: its name and the check its body must pass (raises ValueError)."""

    name: str
    check: BodyCheck
    description: str = ""


class Registry:
    """The entry types a ledger accepts, composed once from the packages' lists."""

    def __init__(self, types: Iterable[EntryType] = ()) -> None:
        self._types: dict[str, EntryType] = {}
        for entry_type in types:
            self.add(entry_type)

    def add(self, entry_type: EntryType) -> None:
        """Register ``entry_type``. Raises ValueError for a malformed or already registered name."""
        if not _TYPE_NAME.fullmatch(entry_type.name):
            raise ValueError(f"ledger: malformed entry type name {entry_type.name!r}")
        if entry_type.name in self._types:
            raise ValueError(f"ledger: entry type {entry_type.name!r} registered twice")
        self._types[entry_type.name] = entry_type

    def names(self) -> list[str]:
        """Return the registered type names, sorted."""
        return sorted(self._types)

    def check(self, type_name: str, body: object) -> bytes:
        """Check that ``body`` is a valid body of ``type_name``; return its canonical bytes.

        Raises ValueError naming the problem, or if the entry could exceed MAX_ENTRY_SIZE.
        """
        entry_type = self._types.get(type_name) if isinstance(type_name, str) else None
        if entry_type is None:
            raise ValueError(f"ledger: unknown entry type {type_name!r}")
        if not isinstance(body, dict):
            raise ValueError(f"ledger: body of {type_name} must be a JSON object")
        data = jcs.canonicalize(body)
        entry_type.check(body)
        encode_entry(_WORST_CASE, ZERO_HASH, _WORST_CASE, type_name, data)
        return data


def encode_entry(index: int, prev: bytes, time_ms: int, type_name: str, body: bytes) -> bytes:
    """Return the canonical bytes of entry ``index``, given the canonical bytes of its body.

    The envelope's member names are fixed ASCII and sort as body, index, prev, time, type, v; the type
    name and base64 need no escaping, so the canonical form is assembled directly (the tests check it
    against canonicalizing the whole envelope). The caller has checked the body with the registry.
    Raises ValueError if the entry would exceed MAX_ENTRY_SIZE.
    """
    data = b'{"body":%b,"index":%d,"prev":"%b","time":%d,"type":"%b","v":%d}' % (
        body, index, base64.b64encode(prev), time_ms, type_name.encode("ascii"), VERSION
    )
    if len(data) > MAX_ENTRY_SIZE:
        raise ValueError(f"ledger: entry of {len(data)} bytes exceeds the {MAX_ENTRY_SIZE}-byte limit")
    return data


@dataclass(frozen=True)
class Entry:
    """A decoded entry (see the module docstring)."""

    index: int
    prev: bytes
    time_ms: int
    type: str
    body: dict[str, Any]


def decode_entry(data: bytes) -> Entry:
    """Parse canonical entry bytes. Raises ValueError if they are not a canonical, well-formed envelope."""
    if len(data) > MAX_ENTRY_SIZE:
        raise ValueError("ledger: entry too large")
    value = jcs.loads_canonical(data)
    if not isinstance(value, dict) or set(value) != _ENVELOPE_KEYS:
        raise ValueError("ledger: entry is not an envelope object")
    if value["v"] != VERSION:
        raise ValueError(f"ledger: unsupported entry version {value['v']!r}")
    prev = base64.b64decode(value["prev"], validate=True) if isinstance(value["prev"], str) else b""
    fields_ok = (
        isinstance(value["index"], int)
        and value["index"] >= 0
        and len(prev) == 32
        and isinstance(value["time"], int)
        and isinstance(value["type"], str)
        and isinstance(value["body"], dict)
    )
    if not fields_ok:
        raise ValueError("ledger: malformed entry envelope")
    return Entry(value["index"], prev, value["time"], value["type"], value["body"])


def _require_str(body: Mapping[str, Any], field: str, max_len: int) -> None:
    value = body.get(field)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ValueError(f"ledger: body.{field} must be a non-empty string of at most {max_len} characters")


def _only(body: Mapping[str, Any], *fields: str) -> None:
    extra = sorted(set(body) - set(fields))
    if extra:
        raise ValueError(f"ledger: unexpected body field {extra[0]!r}")


def _check_note(body: Mapping[str, Any]) -> None:
    _only(body, "text")
    _require_str(body, "text", 16384)


def _check_key_announce(body: Mapping[str, Any]) -> None:
    _only(body, "origin", "vkey")
    _require_str(body, "origin", 256)
    _require_str(body, "vkey", 512)


def _check_key_rotate(body: Mapping[str, Any]) -> None:
    _only(body, "statement")
    _require_str(body, "statement", 8192)


LEDGER_TYPES = [
    EntryType("key.announce", _check_key_announce, "the log's first verifier key (entry 0)"),
    EntryType("key.rotate", _check_key_rotate, "a key-rotation statement signed by the old and new key"),
    EntryType("note", _check_note, "an operator's annotation"),
]
