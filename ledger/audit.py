"""Self-audit: recompute the ledger from its entries and compare with everything stored.

:func:`audit` walks every entry once. It checks each entry's envelope (index, ``prev`` link), the
key history (entry 0 announces the log key; each ``key.rotate`` statement is signed by the old and
the new key), every stored Merkle hash, and every signed checkpoint (its root against the recomputed
tree, its signature against the key in force). A mismatch raises :class:`AuditError` with the first
bad entry index; nothing is ever repaired. :func:`quick_audit` checks only the newest checkpoint
against the stored hashes, in O(log n) reads, for start-up.

Key in force: a checkpoint of size N is signed by the key announced by the last ``key.announce`` or
``key.rotate`` entry with index < N.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from keys import InvalidSignatureError, UnverifiedNoteError, check_rotation, new_verifier, open_note
from ledger import checkpoint, store, tree
from ledger.entries import ZERO_HASH, decode_entry
from ledger.errors import LedgerError


class AuditError(LedgerError):
    """The stored ledger does not match what its entries imply. ``index`` is the first bad entry."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"ledger audit failed at entry {index}: {reason}")
        self.index = index
        self.reason = reason


@dataclass(frozen=True)
class AuditSummary:
    """What a successful audit covered."""

    size: int
    checkpoints: int
    root: bytes
    vkey: str


class _Frontier:
    """The stored hashes of the complete subtrees of the tree built so far: a HashReader for appends."""

    def __init__(self) -> None:
        self.size = 0
        self.hashes: dict[int, bytes] = {}

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return [self.hashes[i] for i in indexes]

    def append(self, leaf: bytes) -> list[tuple[int, bytes]]:
        base = tree.stored_hash_count(self.size)
        new = list(enumerate(tree.stored_hashes_for_record_hash(self.size, leaf, self), start=base))
        self.hashes.update(new)
        self.size += 1
        keep = {tree.stored_hash_index(lv, (self.size >> lv) - 1) for lv in range(self.size.bit_length())
                if self.size >> lv & 1}
        self.hashes = {i: h for i, h in self.hashes.items() if i in keep}
        return new

    def root(self) -> bytes:
        return tree.tree_hash(self.size, self)


def _stored_hashes(conn: Connection, batch: int = 50_000) -> Iterator[tuple[int, bytes]]:
    start = 0
    while True:
        rows = conn.execute(
            sa.select(store.hashes.c.id, store.hashes.c.hash)
            .where(store.hashes.c.id >= start)
            .order_by(store.hashes.c.id)
            .limit(batch)
        ).all()
        yield from ((row.id, bytes(row.hash)) for row in rows)
        if len(rows) < batch:
            return
        start = rows[-1].id + 1


def _check_checkpoint(note: bytes, origin: str, size: int, root: bytes, vkey: str, first: int) -> None:
    try:
        opened = open_note(note, [new_verifier(vkey)])
        parsed = checkpoint.parse_checkpoint(opened.text)
    except (InvalidSignatureError, UnverifiedNoteError, ValueError):
        raise AuditError(first, f"checkpoint {size}: bad signature or malformed note") from None
    if (parsed.origin, parsed.size, parsed.root) != (origin, size, root):
        raise AuditError(first, f"checkpoint {size}: root or origin does not match the entries")


def audit(engine: Engine) -> AuditSummary:
    """Recompute and check the whole ledger. Reads every entry, hash and checkpoint once.

    Raises AuditError naming the first bad entry index; LedgerError if the ledger is not initialized.
    """
    with store.reading(engine) as conn:
        head = store.read_head(conn)
        if head is None:
            raise LedgerError("ledger: not initialized (run: fairdraw ledger init)")
        sizes = store.checkpoint_sizes(conn)
        frontier, stored = _Frontier(), _stored_hashes(conn)
        keys_by_index: list[tuple[int, str]] = []
        prev, previous_size = ZERO_HASH, 0
        for index, data in store.iter_entries(conn):
            _check_entry(index, data, prev, head.origin, keys_by_index)
            prev = tree.leaf_hash(data)
            for want_id, want in frontier.append(prev):
                got_id, got = next(stored, (None, b""))
                if (got_id, got) != (want_id, want):
                    raise AuditError(index, f"stored hash {want_id} does not match")
            if sizes and frontier.size == sizes[0]:
                note = store.read_checkpoint(conn, sizes.pop(0))
                assert note is not None
                vkey = _key_in_force(keys_by_index, frontier.size)
                _check_checkpoint(note[1], head.origin, frontier.size, frontier.root(), vkey, previous_size)
                previous_size = frontier.size
        _check_head(head, frontier.size, prev, sizes, stored, keys_by_index)
        count = len(store.checkpoint_sizes(conn))
    return AuditSummary(frontier.size, count, frontier.root(), head.vkey)


def _check_entry(index: int, data: bytes, prev: bytes, origin: str, keys: list[tuple[int, str]]) -> None:
    try:
        entry = decode_entry(data)
    except ValueError as exc:
        raise AuditError(index, f"malformed entry ({exc})") from None
    if entry.index != index or entry.prev != prev:
        raise AuditError(index, "index or prev link does not match its position")
    if index == 0:
        if entry.type != "key.announce" or entry.body.get("origin") != origin:
            raise AuditError(0, "entry 0 is not the log's key.announce")
        keys.append((0, str(entry.body["vkey"])))
    elif entry.type == "key.rotate":
        try:
            keys.append((index, check_rotation(str(entry.body["statement"]).encode("utf-8"), keys[-1][1])))
        except (InvalidSignatureError, UnverifiedNoteError, ValueError):
            raise AuditError(index, "key.rotate statement does not verify") from None


def _key_in_force(keys: list[tuple[int, str]], before: int) -> str:
    return [vkey for index, vkey in keys if index < before][-1]


def _check_head(
    head: sa.Row[object],
    size: int,
    last: bytes,
    unmatched: list[int],
    stored: Iterator[tuple[int, bytes]],
    keys: list[tuple[int, str]],
) -> None:
    if unmatched:
        raise AuditError(size, f"checkpoint {unmatched[0]} is beyond the entries")
    extra = next(stored, None)
    if extra is not None:
        raise AuditError(size, f"stored hash {extra[0]} has no entry")
    if (head.size, bytes(head.last_hash)) != (size, last):
        raise AuditError(size, "head row does not match the last entry")
    if keys and head.vkey != keys[-1][1]:
        raise AuditError(size, "head key is not the key the log history announces")


def quick_audit(engine: Engine) -> int:
    """Check the newest checkpoint's signature and root against the stored hashes; return its size.

    O(log n) reads. Raises AuditError on a mismatch, LedgerError if the ledger is not initialized.
    """
    with store.reading(engine) as conn:
        head = store.read_head(conn)
        found = store.read_checkpoint(conn)
        if head is None or found is None:
            raise LedgerError("ledger: not initialized (run: fairdraw ledger init)")
        size, note = found
        root = tree.tree_hash(size, store.SqlHashReader(conn))
    if size != head.size:
        raise AuditError(min(size, head.size), "newest checkpoint does not cover the head")
    _check_checkpoint(note, head.origin, size, root, head.vkey, size - 1)
    return size
