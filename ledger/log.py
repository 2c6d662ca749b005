"""The ledger's one logical sequencer: group commit of hash-chained entries under signed checkpoints.

Appenders hand entries to :meth:`Ledger.submit` (or block in :meth:`Ledger.append`). One committer
thread per process takes everything that has arrived, and in ONE database transaction locks the head
row, chains and hashes the entries, stores their Merkle hashes, signs a C2SP checkpoint for the new
size and moves the head. Only after that transaction commits is any of the batch acknowledged, so an
acknowledged entry is durable and covered by a signed checkpoint. Several processes over one
PostgreSQL queue on the head row (``FOR UPDATE``); on SQLite ``BEGIN IMMEDIATE`` does the same.

The log never signs a checkpoint smaller than, or inconsistent with, the last it signed: every new
tree is computed by extending the stored hashes of the previous one, inside the same locked
transaction that reads them.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from keys import SigningKey, check_rotation, sign_note, sign_rotation
from ledger import changes, checkpoint, jcs, receipt, store, tiles, tree
from ledger.cache import Cache
from ledger.entries import LEDGER_TYPES, ZERO_HASH, Registry, encode_entry
from ledger.errors import LedgerError

_RESERVED = {"key.announce", "key.rotate"}


def now_ms() -> int:
    """Return the current time in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Receipt:
    """What an acknowledged append returns: the entry's index and leaf hash, and a signed checkpoint
    (C2SP signed note) whose tree contains it."""

    index: int
    leaf_hash: bytes
    checkpoint: bytes


@dataclass
class _Pending:
    type: str
    body: bytes  # canonical JSON, checked against the registry
    future: Future[Receipt]
    new_key: SigningKey | None = None


class Ledger:
    """A transparency ledger over one database, signing with the log key ``key``.

    The ledger owns ``engine`` and disposes of it in :meth:`close`.

    ``registry`` is the composed set of entry types (the ledger's own are always included).
    ``clock`` returns milliseconds since the epoch; entry times never go backwards. A batch takes
    what has arrived within ``linger`` seconds of its first entry (at most ``max_batch`` entries):
    a short wait that buys large batches, hence few commits, under load. Published tiles, which
    never change, are kept in memory up to ``tile_cache_bytes``. After :meth:`watch_changes`, the
    newest checkpoint is kept too, while the database's change signal (``ledger.changes``) says the
    head has not moved.
    """

    def __init__(
        self,
        engine: Engine,
        key: SigningKey,
        registry: Registry | None = None,
        clock: Callable[[], int] = now_ms,
        max_batch: int = 4096,
        linger: float = 0.002,
        tile_cache_bytes: int = 64 << 20,
    ) -> None:
        self.engine = engine
        self.registry = registry if registry is not None else Registry(LEDGER_TYPES)
        self._key = key
        self._clock = clock
        self._max_batch = max_batch
        self._linger = linger
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._tiles: Cache[str, bytes] = Cache(tile_cache_bytes, cost=len)
        self.changes = changes.Changes()
        self._watching = False
        self._newest: tuple[int, tuple[int, bytes]] | None = None  # (change version, newest checkpoint)

    # -- writing -----------------------------------------------------------------------------

    def init(self, origin: str) -> Receipt:
        """Create the schema if needed and, on an empty ledger, append entry 0 (``key.announce``).

        Idempotent on a ledger initialized with the same origin and key. Raises LedgerError if the
        ledger exists with another origin or another active key.
        """
        store.migrate(self.engine)
        vkey = self._key.verifier_key
        with self.engine.begin() as conn:
            row = store.lock_head(conn)
            if row is None:
                conn.execute(
                    sa.insert(store.head).values(
                        id=1, size=0, last_hash=ZERO_HASH, last_time=0, origin=origin, vkey=vkey
                    )
                )
            elif row.origin != origin or row.vkey != vkey:
                raise LedgerError(f"ledger: already initialized with origin {row.origin!r} and another key")
        if self.size() == 0:
            body = self.registry.check("key.announce", {"origin": origin, "vkey": vkey})
            return self._submit("key.announce", body).result()
        return self.receipt(0)

    def submit(self, type_name: str, body: Mapping[str, Any]) -> Future[Receipt]:
        """Queue one entry and return a future for its Receipt.

        The type and body are checked now: raises ValueError (unknown type, bad body, oversize entry)
        before anything is queued. The future fails with LedgerError if the batch cannot be committed;
        then nothing of the batch was written.
        """
        return self._submit(type_name, self._check(type_name, body))

    def append(self, type_name: str, body: Mapping[str, Any]) -> Receipt:
        """Append one entry and return its Receipt once it is durable and under a signed checkpoint."""
        return self.submit(type_name, body).result()

    def append_many(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Receipt]:
        """Append entries in order; checks every one before queueing any. Returns their Receipts."""
        checked = [(type_name, self._check(type_name, body)) for type_name, body in items]
        futures = [self._submit(type_name, body) for type_name, body in checked]
        return [f.result() for f in futures]

    def _check(self, type_name: str, body: Mapping[str, Any]) -> bytes:
        if type_name in _RESERVED:
            raise ValueError(f"ledger: entry type {type_name} is appended by the log itself")
        return self.registry.check(type_name, body)

    def rotate_key(self, new_key: SigningKey) -> Receipt:
        """Append a ``key.rotate`` entry signed by the current and the new key; sign with the new one.

        Every checkpoint that contains the rotation entry, the first one included, is signed by the
        new key. Raises LedgerError if the batch cannot be committed (the old key stays in force).
        """
        statement = sign_rotation(self.origin(), self._key, new_key).decode("utf-8")
        body = self.registry.check("key.rotate", {"statement": statement})
        return self._submit("key.rotate", body, new_key).result()

    def close(self) -> None:
        """Finish everything already submitted, stop the committer and close the engine's connections."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join()
        self.changes.close()
        self.engine.dispose()

    def watch_changes(self) -> None:
        """Start the database's change signal (``ledger.changes.watch``), which read caches of this
        ledger and of the packages over its database consult as :attr:`changes`. Idempotent; on
        PostgreSQL it holds one more connection and a thread until :meth:`close`."""
        with self._lock:
            if self._closed or self._watching:
                return
            self._watching = True
            self.changes = changes.watch(self.engine)

    def _submit(
        self, type_name: str, body: bytes, new_key: SigningKey | None = None
    ) -> Future[Receipt]:
        future: Future[Receipt] = Future()
        with self._lock:
            if self._closed:
                raise LedgerError("ledger: closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ledger-committer", daemon=True)
                self._thread.start()
            self._queue.put(_Pending(type_name, body, future, new_key))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            self._commit_reporting(self._gather(first))

    def _gather(self, first: _Pending) -> list[_Pending]:
        """Collect a batch: everything queued, waiting at most ``linger`` seconds for more."""
        batch = [first]
        deadline = time.monotonic() + self._linger
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            batch.append(item)
        return batch

    def _commit_reporting(self, batch: list[_Pending]) -> None:
        try:
            receipts = self._commit(batch)
        except Exception as exc:  # every failure reaches the waiting appenders
            error = exc if isinstance(exc, LedgerError) else LedgerError(f"ledger: append failed: {exc}")
            for item in batch:
                item.future.set_exception(error)
            return
        for item, result in zip(batch, receipts, strict=True):
            item.future.set_result(result)

    def _commit(self, batch: Sequence[_Pending]) -> list[Receipt]:
        with self.engine.begin() as conn:
            head = store.lock_head(conn)
            if head is None:
                raise LedgerError("ledger: not initialized (run: fairdraw ledger init)")
            if head.vkey != self._key.verifier_key:
                raise LedgerError("ledger: this process holds a retired log key; restart with the active key")
            size, prev = head.size, bytes(head.last_hash)
            overlay = _frontier(conn, size)
            reader = store.SqlHashReader(conn, overlay)
            now = max(self._clock(), head.last_time)
            entry_rows: list[tuple[int, str, bytes]] = []
            leaves: list[bytes] = []
            key = self._key
            for item in batch:
                data = encode_entry(size, prev, now, item.type, item.body)
                leaf = tree.leaf_hash(data)
                base = tree.stored_hash_count(size)
                for k, h in enumerate(tree.stored_hashes_for_record_hash(size, leaf, reader)):
                    overlay[base + k] = h
                if item.new_key is not None:
                    check_rotation(jcs.loads(item.body)["statement"].encode("utf-8"), key.verifier_key)
                    key = item.new_key
                entry_rows.append((size, item.type, data))
                leaves.append(leaf)
                prev, size = leaf, size + 1
            note = _sign(key, head.origin, size, tree.tree_hash(size, reader))
            first_new = tree.stored_hash_count(head.size)
            store.insert_rows(conn, store.entries, entry_rows)
            new_hashes = [(i, h) for i, h in overlay.items() if i >= first_new]
            store.insert_rows(conn, store.hashes, new_hashes)
            conn.execute(sa.insert(store.checkpoints).values(size=size, note=note))
            conn.execute(
                sa.update(store.head)
                .where(store.head.c.id == 1)
                .values(size=size, last_hash=prev, last_time=now, vkey=key.verifier_key)
            )
        self._key = key
        first = size - len(batch)
        return [Receipt(first + i, leaf, note) for i, leaf in enumerate(leaves)]

    # -- reading -----------------------------------------------------------------------------

    def size(self) -> int:
        """Return the size of the newest signed checkpoint (0 before init). One query, or none while
        the change signal says the head has not moved."""
        found = self._newest_checkpoint()
        return 0 if found is None else found[0]

    def _newest_checkpoint(self) -> tuple[int, bytes] | None:
        version = self.changes.version(store.HEAD_TABLES)
        kept = self._newest
        if version is not None and kept is not None and kept[0] == version:
            return kept[1]
        found = store.newest_checkpoint(self.engine)
        if version is not None and found is not None:
            self._newest = (version, found)
        return found

    def origin(self) -> str:
        """Return the log's origin line. Raises LedgerError before init."""
        with store.reading(self.engine) as conn:
            head = store.read_head(conn)
        if head is None:
            raise LedgerError("ledger: not initialized (run: fairdraw ledger init)")
        return str(head.origin)

    def checkpoint(self, size: int | None = None) -> bytes:
        """Return the signed checkpoint of ``size`` (the newest by default). One query, or for the
        newest none while the change signal says the head has not moved. Raises LookupError if there
        is none."""
        if size is None:
            found = self._newest_checkpoint()
        else:
            with store.reading(self.engine) as conn:
                found = store.read_checkpoint(conn, size)
        if found is None:
            raise LookupError("ledger: no signed checkpoint" + ("" if size is None else f" of size {size}"))
        return found[1]

    def entry(self, index: int) -> bytes:
        """Return the canonical bytes of entry ``index``. Raises LookupError if it does not exist."""
        with store.reading(self.engine) as conn:
            data = store.read_entry(conn, index)
        if data is None:
            raise LookupError(f"ledger: no entry {index}")
        return data

    def receipt(self, index: int) -> Receipt:
        """Return the Receipt of entry ``index`` under the newest checkpoint."""
        data = self.entry(index)
        return Receipt(index, tree.leaf_hash(data), self.checkpoint())

    def prove_inclusion(self, index: int, size: int | None = None) -> tuple[list[bytes], bytes]:
        """Return (proof hashes, signed checkpoint) proving entry ``index`` is in the tree of ``size``.

        ``size`` must be the size of a signed checkpoint (the newest by default). Reads O(log n) stored
        hashes in one query. Raises ValueError if index >= size, LookupError if there is no such checkpoint.
        """
        note = self.checkpoint(size)
        tree_size = _note_size(note)
        if not 0 <= index < tree_size:
            raise ValueError(f"ledger: index {index} out of range for tree size {tree_size}")
        with store.reading(self.engine) as conn:
            proof = tree.prove_inclusion(tree_size, index, store.SqlHashReader(conn))
        return proof, note

    def tlog_proof(self, index: int, size: int | None = None) -> str:
        """Return the c2sp.org/tlog-proof@v1 text for entry ``index`` under the checkpoint of ``size``."""
        proof, note = self.prove_inclusion(index, size)
        return receipt.format_proof(index, proof, note)

    def prove_consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """Return the RFC 9162 consistency proof between tree sizes ``old_size`` and ``new_size``.

        Requires 0 < old_size <= new_size <= the newest checkpoint's size. Raises ValueError otherwise.
        """
        newest = self.size()
        if not 0 < old_size <= new_size <= newest:
            raise ValueError(f"ledger: need 0 < old {old_size} <= new {new_size} <= size {newest}")
        with store.reading(self.engine) as conn:
            return tree.prove_consistency(old_size, new_size, store.SqlHashReader(conn))

    def read_tile(self, path: str) -> bytes:
        """Return the bytes at C2SP tlog-tiles ``path``: a hash tile or an entry bundle.

        A tile exists once the newest signed checkpoint covers all of it; its bytes never change, so
        the ledger keeps the most recently read ones in memory (``tile_cache_bytes``): a kept tile
        costs no query, another one query. Raises FormatError (a ValueError) for a malformed path,
        LookupError for a tile not published.
        """
        tile = tiles.parse_tile_path(path)
        cached = self.kept_tile(path)
        if cached is not None:
            return cached
        with store.reading(self.engine) as conn:
            found = store.read_checkpoint(conn)
            size = 0 if found is None else found[0]
            if not _is_published(tile, size):
                raise LookupError(f"ledger: {path} is not published at tree size {size}")
            return self._tiles.put(path, read_tile(conn, tile))


    def kept_tile(self, path: str) -> bytes | None:
        """Return the bytes at tile ``path`` if this process keeps them in memory, else None.

        Never touches the database: a published tile once read is kept (see :meth:`read_tile`)."""
        return self._tiles.get(path)


def read_tile(conn: Connection, tile: tiles.Tile) -> bytes:
    """Return the bytes of ``tile`` (hash tile or entry bundle) from storage; one query."""
    if tile.is_entry_bundle:
        start = tile.index * tiles.TILE_WIDTH
        return tiles.format_entry_bundle(store.read_entries(conn, start, start + tile.width))
    return tiles.read_tile_data(tile, store.SqlHashReader(conn))


def _is_published(tile: tiles.Tile, size: int) -> bool:
    level = max(tile.level, 0)
    return tile.index * tiles.TILE_WIDTH + tile.width <= size >> (tiles.TILE_HEIGHT * level)


def _frontier(conn: Connection, size: int) -> dict[int, bytes]:
    """Return the stored hashes of the complete subtrees that make up the tree of ``size``.

    These are the only old hashes that appending to the tree can read. One query, O(log n) rows.
    """
    indexes = [tree.stored_hash_index(level, (size >> level) - 1) for level in range(size.bit_length())
               if size >> level & 1]
    return dict(zip(indexes, store.SqlHashReader(conn).read_hashes(indexes), strict=True))


def _sign(key: SigningKey, origin: str, size: int, root: bytes) -> bytes:
    text = checkpoint.format_checkpoint(checkpoint.Checkpoint(origin, size, root, ()))
    return sign_note(text, key.signer())


def _note_size(note: bytes) -> int:
    text = note.decode("utf-8").split("\n\n", 1)[0] + "\n"
    return checkpoint.parse_checkpoint(text).size
