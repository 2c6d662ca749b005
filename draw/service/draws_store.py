"""Where the service keeps its draws, and the one order in which a draw's entries are written.

Tables (in ``db.metadata``; migration ``0003``)::

    draw_draws                 draw_id -> department, task, participants, state, the commitment
                               entry's index and time, embargo and when the reveal is due
                               (``reveal_due_ms``), the operator secret and the
                               population (both confidential), the sealed result (confidential until
                               the reveal), and ``busy_until``, the lease of the one writer
    draw_draw_entries          one row per entry of a draw: its type, ledger index (NULL while the
                               entry is being appended), SHA-256 of its canonical body, the ledger
                               size before the append, and what the service keeps beside it
                               (the result or replacement record while it is sealed)
    draw_ceremony_commitments  every ceremony commitment ever declared -> its draw (never reused)

**Write order.** Every entry of a draw is written by :func:`append`: (1) in one transaction, the
blobs it names, its row *pending* (and, for a commitment, the draw's row, state ``committing``);
(2) the ledger append, the last fallible step; (3) the row is *activated* with the entry's index and
the draw's state follows. A pending row records the hash of the body it is waiting for and the
ledger size before the append, so :func:`recover_entry` settles it after a crash: it finds the entry
in the ledger (activate) or, once no writer can still append it, deletes the row (and a draw whose
commitment never reached the ledger). A draw is visible only once its commitment is activated, so
after a restart every draw is either complete or absent, never half.

**One writer per draw.** Appends after the commitment happen inside :func:`claimed`, which takes the
draw's lease (``busy_until``) for at most :data:`LEASE_MS`; any pending row of the draw found then is
a crashed writer's and is settled first.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from draw.engine import commit as engine_commit
from draw.service import db
from draw.service import draws_entries as entries_
from draw.service.core import Service
from ledger import blobs, jcs, store
from ledger.cache import Cache
from ledger.entries import decode_entry
from ledger.errors import LedgerError
from ledger.log import Receipt
from ledger.rawread import RawSelect

LEASE_MS = 5 * 60 * 1000
"""The longest a writer may hold a draw, and the age after which a pending row is abandoned."""
CLAIM_WAIT_SECONDS = 10.0
STATES = ("committing", "pending-randomness", "sealed", "revealed", "void")
PUBLIC_STATES = STATES[1:]
_STATE_AFTER = {
    entries_.COMMIT: "pending-randomness",
    entries_.SEAL: "sealed",
    entries_.REVEAL: "revealed",
    entries_.VOID: "void",
}

draws = sa.Table(
    "draw_draws",
    db.metadata,
    sa.Column("draw_id", sa.Text, primary_key=True),
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
    sa.Column("task", sa.BigInteger, nullable=True),
    sa.Column("participants", sa.Text, nullable=False),  # " HZ NB ": may disclose the draw's results
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("commit_index", sa.BigInteger, nullable=True),
    sa.Column("commit_ms", sa.BigInteger, nullable=True),
    sa.Column("embargo", sa.Text, nullable=False),
    sa.Column("inspection_end", sa.Text, nullable=False),
    sa.Column("publish_immediately", sa.Boolean, nullable=False),
    sa.Column("reveal_due_ms", sa.BigInteger, nullable=False),
    sa.Column("secret", sa.LargeBinary, nullable=False),
    sa.Column("population", sa.LargeBinary, nullable=False),
    sa.Column("result", sa.LargeBinary, nullable=True),
    sa.Column("busy_until", sa.BigInteger, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("commit_index", name="draw_draws_commit_index"),
    sa.Index("draw_draws_department", "department", "commit_index"),
    sa.Index("draw_draws_state", "state", "commit_index"),
)

draw_entries = sa.Table(
    "draw_draw_entries",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("draw_id", sa.Text, sa.ForeignKey("draw_draws.draw_id"), nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("ledger_index", sa.BigInteger, nullable=True),
    sa.Column("body_hash", sa.LargeBinary, nullable=False),
    sa.Column("scan_from", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("ledger_index", name="draw_draw_entries_ledger_index"),
    sa.Index("draw_draw_entries_draw", "draw_id", "ledger_index"),
)

ceremony_commitments = sa.Table(
    "draw_ceremony_commitments",
    db.metadata,
    sa.Column("commitment", sa.LargeBinary, primary_key=True),
    sa.Column("draw_id", sa.Text, sa.ForeignKey("draw_draws.draw_id"), nullable=False),
)


class BusyError(Exception):
    """Another writer holds the draw's lease for longer than :data:`CLAIM_WAIT_SECONDS`."""


@dataclass(frozen=True)
class Logged:
    """One activated entry of a draw: its ledger index and time, type and body, and what the service
    keeps beside it (``payload``)."""

    index: int
    time_ms: int
    type: str
    body: dict[str, Any]
    payload: bytes | None

    @functools.cached_property
    def commitment(self) -> engine_commit.CommitmentRecord:
        """The commitment record of a ``draw.commit`` entry, parsed on first use (entries are kept
        in memory, so once per process). Raises ValueError for an entry of another type."""
        if self.type != entries_.COMMIT:
            raise ValueError(f"draw: entry {self.index} is {self.type}, not {entries_.COMMIT}")
        return engine_commit.parse_commitment(entries_.commitment_bytes(self.body))


@dataclass(frozen=True)
class DrawLog:
    """A committed draw: its service row and its activated entries in ledger order."""

    row: Any
    entries: tuple[Logged, ...]

    @property
    def draw_id(self) -> str:
        """The draw's id."""
        return str(self.row.draw_id)

    @property
    def commit(self) -> Logged:
        """The ``draw.commit`` entry."""
        return self.entries[0]

    def of_type(self, type_name: str) -> list[Logged]:
        """Return the entries of ``type_name``, in ledger order."""
        return [e for e in self.entries if e.type == type_name]

    def first(self, type_name: str) -> Logged | None:
        """Return the first entry of ``type_name``, or None."""
        found = self.of_type(type_name)
        return found[0] if found else None


# -- writing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewDraw:
    """The service row of a draw being committed, and its ceremony commitments."""

    values: Mapping[str, Any]
    ceremony: Sequence[bytes] = ()


def append(
    service: Service,
    draw_id: str,
    type_name: str,
    body: Mapping[str, Any],
    *,
    payload: bytes | None = None,
    blob_data: Iterable[bytes] = (),
    new_draw: NewDraw | None = None,
) -> Receipt:
    """Append one entry of draw ``draw_id`` in the write order of the module docstring.

    ``blob_data`` go to the blob store with the pending row; ``payload`` is kept on the entry's row;
    ``new_draw`` inserts the draw's row (for ``draw.commit``). Requires a body the registry accepts
    (check it first) and, after the commitment, the draw's lease. Raises sqlalchemy's IntegrityError
    if the draw id or a ceremony commitment is taken (nothing written), LedgerError if the append
    fails (the row is settled at once).
    """
    data = service.ledger.registry.check(type_name, dict(body))
    digest = hashlib.sha256(data).digest()
    scan_from = service.ledger.size()
    with service.engine.begin() as conn:
        for blob in blob_data:
            blobs.put(conn, blob)
        if new_draw is not None:
            _insert_draw(conn, draw_id, new_draw, service.clock())
        values: dict[str, Any] = dict(draw_id=draw_id, type=type_name, ledger_index=None, body_hash=digest)
        values.update(scan_from=scan_from, payload=payload, created_ms=service.clock())
        insert = sa.insert(draw_entries).values(**values).returning(draw_entries.c.id)
        row_id = conn.execute(insert).scalar_one()
    try:
        receipt = service.ledger.append(type_name, body)
    except LedgerError:
        recover_entry(service, row_id, allow_delete=True)
        raise
    with service.engine.begin() as conn:
        _activate(conn, row_id, receipt.index)
    return receipt


def _insert_draw(conn: Connection, draw_id: str, new_draw: NewDraw, now_ms: int) -> None:
    values = {**new_draw.values, "draw_id": draw_id, "state": "committing", "created_ms": now_ms}
    conn.execute(sa.insert(draws).values(**values))
    for commitment in new_draw.ceremony:
        conn.execute(sa.insert(ceremony_commitments).values(commitment=commitment, draw_id=draw_id))


def _activate(conn: Connection, row_id: int, index: int) -> None:
    """Give pending row ``row_id`` its entry's ``index`` and move the draw's state on."""
    row = conn.execute(sa.select(draw_entries).where(draw_entries.c.id == row_id)).one()
    conn.execute(sa.update(draw_entries).where(draw_entries.c.id == row_id).values(ledger_index=index))
    data = store.read_entry(conn, index)
    if data is None:  # pragma: no cover - activation follows a durable append
        raise AssertionError("draw: activated an entry the ledger does not hold")
    time_ms = decode_entry(data).time_ms
    changes: dict[str, Any] = {}
    if row.type in _STATE_AFTER:
        changes["state"] = _STATE_AFTER[row.type]
    if row.type == entries_.COMMIT:
        changes.update(commit_index=index, commit_ms=time_ms)
    if row.type == entries_.SEAL:
        draw = conn.execute(sa.select(draws).where(draws.c.draw_id == row.draw_id)).one()
        due = min(draw.reveal_due_ms, time_ms) if draw.publish_immediately else draw.reveal_due_ms
        changes.update(result=row.payload, reveal_due_ms=due)
    if changes:
        conn.execute(sa.update(draws).where(draws.c.draw_id == row.draw_id).values(**changes))


# -- recovery -------------------------------------------------------------------------------------


def recover_entry(service: Service, row_id: int, *, allow_delete: bool) -> bool:
    """Settle pending row ``row_id``: activate it if its entry is in the ledger; else, if
    ``allow_delete``, delete it (a commitment's with its draw). Return True if it was activated.

    Reads the entries of its type appended since the row was written.
    """
    with service.engine.begin() as conn:
        row = conn.execute(sa.select(draw_entries).where(draw_entries.c.id == row_id)).first()
        if row is None or row.ledger_index is not None:
            return False
        index = _find(conn, row.type, row.scan_from, bytes(row.body_hash))
        if index is not None:
            _activate(conn, row.id, index)
            return True
        if allow_delete:
            _delete(conn, row)
    return False


def _find(conn: Connection, type_name: str, scan_from: int, body_hash: bytes) -> int | None:
    table = store.entries
    query = sa.select(table.c.idx, table.c.data).where(table.c.type == type_name, table.c.idx >= scan_from)
    for found in conn.execute(query.order_by(table.c.idx)):
        body = decode_entry(bytes(found.data)).body
        if hashlib.sha256(jcs.canonicalize(body)).digest() == body_hash:
            return int(found.idx)
    return None


def _delete(conn: Connection, row: Any) -> None:
    conn.execute(sa.delete(draw_entries).where(draw_entries.c.id == row.id))
    if row.type == entries_.COMMIT:
        conn.execute(sa.delete(draw_entries).where(draw_entries.c.draw_id == row.draw_id))
        conn.execute(sa.delete(ceremony_commitments).where(ceremony_commitments.c.draw_id == row.draw_id))
        conn.execute(sa.delete(draws).where(draws.c.draw_id == row.draw_id))


def recover_all(service: Service) -> int:
    """Settle every pending row: activate those whose entry is in the ledger, delete those older
    than LEASE_MS. Return how many were activated. Run at start-up and by the worker."""
    old = service.clock() - LEASE_MS
    with store.reading(service.engine) as conn:
        pending = conn.execute(
            sa.select(draw_entries.c.id, draw_entries.c.created_ms).where(
                draw_entries.c.ledger_index.is_(None)
            )
        ).all()
    return sum(recover_entry(service, r.id, allow_delete=r.created_ms < old) for r in pending)


# -- the writer's lease ---------------------------------------------------------------------------


@contextlib.contextmanager
def claimed(service: Service, draw_id: str) -> Iterator[None]:
    """Hold draw ``draw_id``'s lease for the block, first settling any pending row of the draw.

    Requires a committed draw. Waits up to CLAIM_WAIT_SECONDS for another writer; raises BusyError.
    """
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    while not _try_claim(service, draw_id):
        if time.monotonic() > deadline:
            raise BusyError(f"draw {draw_id} is busy")
        time.sleep(0.02)
    try:
        with store.reading(service.engine) as conn:
            pending = (
                conn.execute(
                    sa.select(draw_entries.c.id).where(
                        draw_entries.c.draw_id == draw_id, draw_entries.c.ledger_index.is_(None)
                    )
                )
                .scalars()
                .all()
            )
        for row_id in pending:
            recover_entry(service, row_id, allow_delete=True)
        yield
    finally:
        with service.engine.begin() as conn:
            conn.execute(sa.update(draws).where(draws.c.draw_id == draw_id).values(busy_until=None))


def _try_claim(service: Service, draw_id: str) -> bool:
    now = service.clock()
    free = sa.or_(draws.c.busy_until.is_(None), draws.c.busy_until < now)
    query = (
        sa.update(draws)
        .where(draws.c.draw_id == draw_id, draws.c.state != "committing", free)
        .values(busy_until=now + LEASE_MS)
    )
    with service.engine.begin() as conn:
        return conn.execute(query).rowcount == 1


# -- reading --------------------------------------------------------------------------------------


CONFIDENTIAL = ("secret", "population", "result")
"""The columns of ``draw_draws`` that only the lifecycle reads: :func:`load_public` leaves them out."""
_PUBLIC = tuple(c for c in draws.c if c.name not in CONFIDENTIAL)
ENTRY_CACHE_SIZE = 16384
"""Activated entries kept in memory per service (an entry, once activated, never changes)."""
STATUS_TABLES = (draws.name, draw_entries.name)
"""The tables a draw's public DrawLog is read from (their change triggers: migration 0007)."""
STATUS_CACHE_SIZE = 4096
"""Public DrawLogs kept per service, each under the change version at which it was read."""


def load(service: Service, draw_id: str) -> DrawLog | None:
    """Return committed draw ``draw_id`` with its entries, or None; the row holds every column. A
    draw found ``committing`` whose commitment is in the ledger is activated first. Two queries, and
    a third for entries not yet kept in memory."""
    return _load(service, draw_id, public=False)


def load_public(service: Service, draw_id: str) -> DrawLog | None:
    """Return :func:`load`'s DrawLog without the CONFIDENTIAL columns in its row, for the public
    reads. One indexed query when the draw's entries are kept in memory, else one more."""
    return _load(service, draw_id, public=True)


def _load(service: Service, draw_id: str, public: bool) -> DrawLog | None:
    row, indexes = _row(service, draw_id, public)
    if row is not None and row.state == "committing":
        with store.reading(service.engine) as conn:
            pending = (
                conn.execute(sa.select(draw_entries.c.id).where(draw_entries.c.draw_id == draw_id))
                .scalars()
                .all()
            )
        if not any([recover_entry(service, row_id, allow_delete=False) for row_id in pending]):
            return None
        row, indexes = _row(service, draw_id, public)
    if row is None:
        return None
    return DrawLog(row, tuple(_logged(service, indexes)))


_LINKED = sa.and_(draw_entries.c.draw_id == draws.c.draw_id, draw_entries.c.ledger_index.is_not(None))
_PUBLIC_ROWS = RawSelect(
    sa.select(*_PUBLIC, draw_entries.c.ledger_index.label("entry_index"))
    .outerjoin(draw_entries, _LINKED)
    .where(draws.c.draw_id == sa.bindparam("draw_id"))
    .order_by(draw_entries.c.ledger_index)
)


def load_kept(service: Service, draw_id: str) -> DrawLog | None:
    """Return :func:`load_public`'s DrawLog if one query finds the draw committed with every entry
    kept in memory, else None (no such draw, or one that needs :func:`load_public`: still
    committing, or with entries to read). No query while the database's change signal
    (``ledger.changes``) says the draw's tables have not changed since the same answer was read.
    Never writes, never waits for a lock: for the event loop."""
    version = service.ledger.changes.version(STATUS_TABLES)
    cache: Cache[tuple[int, str], DrawLog] = service.cache_of("draw status", STATUS_CACHE_SIZE)
    if version is not None and (found := cache.get((version, draw_id))) is not None:
        return found
    rows = _PUBLIC_ROWS.all(service.engine, draw_id=draw_id)
    if not rows or rows[0].state == "committing":
        return None
    entry_cache = _entry_cache(service)
    entries = [entry_cache.get(r.entry_index) for r in rows if r.entry_index is not None]
    kept = [e for e in entries if e is not None]
    if not kept or len(kept) != len(entries):
        return None
    log = DrawLog(rows[0], tuple(kept))
    return log if version is None else cache.put((version, draw_id), log)


def _entry_cache(service: Service) -> Cache[int, Logged]:
    return service.cache_of("draw entries", ENTRY_CACHE_SIZE)


def _row(service: Service, draw_id: str, public: bool) -> tuple[Any, list[int]]:
    """Return the draw's row (None if there is none) and its activated entries' ledger indexes, in
    order. One query; a full row takes two, so that its large columns are not repeated per entry."""
    if public:
        rows = _PUBLIC_ROWS.all(service.engine, draw_id=draw_id)
        row = rows[0] if rows else None
    else:
        table = draw_entries
        query = sa.select(table.c.ledger_index.label("entry_index")).where(
            table.c.draw_id == draw_id, table.c.ledger_index.is_not(None)
        )
        with store.reading(service.engine) as conn:
            row = conn.execute(sa.select(draws).where(draws.c.draw_id == draw_id)).first()
            rows = list(conn.execute(query.order_by(table.c.ledger_index)))
    return row, [r.entry_index for r in rows if r.entry_index is not None]


def _logged(service: Service, indexes: Sequence[int]) -> list[Logged]:
    """Return the activated entries at ``indexes``: from memory, the rest in one query."""
    cache = _entry_cache(service)
    found = {i: e for i in indexes if (e := cache.get(i)) is not None}
    missing = [i for i in indexes if i not in found]
    if missing:
        table = draw_entries
        query = (
            sa.select(table.c.ledger_index, table.c.payload, store.entries.c.data)
            .join(store.entries, store.entries.c.idx == table.c.ledger_index)
            .where(table.c.ledger_index.in_(missing))
        )
        with store.reading(service.engine) as conn:
            for r in conn.execute(query):
                entry = decode_entry(bytes(r.data))
                logged = Logged(r.ledger_index, entry.time_ms, entry.type, entry.body, _bytes(r.payload))
                found[r.ledger_index] = cache.put(r.ledger_index, logged)
    return [found[i] for i in indexes]


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def due_ids(service: Service, now_ms: int) -> list[str]:
    """Return the ids of the draws the worker may move: every draw waiting for randomness, and the
    sealed draws whose reveal is due at ``now_ms``; by commitment index."""
    waiting = draws.c.state == "pending-randomness"
    due = sa.and_(draws.c.state == "sealed", draws.c.reveal_due_ms <= now_ms)
    query = sa.select(draws.c.draw_id).where(sa.or_(waiting, due)).order_by(draws.c.commit_index)
    with store.reading(service.engine) as conn:
        return list(conn.execute(query).scalars())


def used_commitments(service: Service, commitments: Sequence[bytes]) -> set[bytes]:
    """Return which of ``commitments`` an earlier draw declared."""
    query = sa.select(ceremony_commitments.c.commitment).where(
        ceremony_commitments.c.commitment.in_(commitments)
    )
    with store.reading(service.engine) as conn:
        return {bytes(c) for c in conn.execute(query).scalars()}
