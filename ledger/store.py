"""Ledger storage through SQLAlchemy Core: SQLite (WAL) embedded, PostgreSQL in production.

Five tables (created by the Alembic migrations in ``ledger/migrations``)::

    ledger_head         one row (id = 1): size, last leaf hash, last time, origin, active verifier key
    ledger_entries      idx -> canonical entry bytes (and its type, for listing)
    ledger_hashes       stored-hash index (ledger.tree) -> 32-byte hash
    ledger_checkpoints  tree size -> signed checkpoint note
    ledger_blobs        sha256 digest -> payload bytes (ledger.blobs; erasable, see there)

Entries, hashes and checkpoints are append-only: database triggers refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL). Writers serialize on the head row: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT
... FOR UPDATE`` on PostgreSQL; the primary keys are the backstop that makes a fork impossible.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger.rawread import RawSelect

metadata = sa.MetaData()

head = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.LargeBinary, nullable=False),
    sa.Column("last_time", sa.BigInteger, nullable=False),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("vkey", sa.Text, nullable=False),
)
entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.Text, nullable=False, index=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
hashes = sa.Table(
    "ledger_hashes",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
)
checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("note", sa.LargeBinary, nullable=False),
)

blobs = sa.Table(
    "ledger_blobs",
    metadata,
    sa.Column("digest", sa.Text, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=True),
    sa.Column("erased", sa.Text, nullable=True),
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_url(home: Path) -> str:
    """Return the URL of the embedded SQLite database in the data directory ``home``."""
    return f"sqlite:///{home / 'fairdraw.sqlite'}"


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # no implicit BEGIN: the "begin" hook issues BEGIN IMMEDIATE
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_READ_ONLY = "fairdraw_read_only"


def _sqlite_begin(conn: Connection) -> None:
    # A reader's deferred BEGIN reads one WAL snapshot and neither takes nor waits for the write lock;
    # a writer's BEGIN IMMEDIATE takes the lock first, so its later writes never fail to upgrade.
    # Issued on the driver's connection: a statement through ``conn`` would cost a second execution.
    statement = "BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE"
    conn.connection.dbapi_connection.execute(statement)  # type: ignore[union-attr]


def create_engine(url: str) -> Engine:
    """Return an engine for ``url`` set up for the ledger.

    SQLite gets WAL, ``synchronous=FULL`` (an acknowledged commit survives power loss) and ``BEGIN
    IMMEDIATE`` transactions, so concurrent writers queue instead of failing; connections from
    :func:`reading` get deferred ones. Raises ValueError for a
    URL that is neither SQLite nor PostgreSQL.
    """
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        engine = sa.create_engine(sa_url, connect_args={"timeout": 60})
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    if sa_url.get_backend_name() == "postgresql":
        if sa_url.drivername == "postgresql":
            sa_url = sa_url.set(drivername="postgresql+psycopg")
        return sa.create_engine(sa_url, pool_size=8, max_overflow=8)
    raise ValueError(f"ledger: unsupported database URL scheme {sa_url.drivername!r}")


def reading(engine: Engine) -> Connection:
    """Return a new connection for reading only; use it as a context manager (``with reading(e) as c``).

    On SQLite its transaction is deferred: it reads one consistent WAL snapshot, runs beside the one
    writer and never waits for it. Every connection from ``engine.connect()`` or ``engine.begin()``
    is a writer's. Writing through a reading connection is a bug (on SQLite it may fail with
    ``database is locked``); it is rolled back on close in any case.
    """
    return engine.connect().execution_options(**{_READ_ONLY: True})


def is_postgres(conn: Connection | Engine) -> bool:
    """Report whether ``conn`` talks to PostgreSQL."""
    return conn.dialect.name == "postgresql"


def migrate(engine: Engine) -> None:
    """Bring the ledger schema to the newest migration. Idempotent."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def lock_head(conn: Connection) -> sa.Row[Any] | None:
    """Return the head row, locked for this transaction (FOR UPDATE on PostgreSQL), or None before init."""
    query = sa.select(head).where(head.c.id == 1)
    if is_postgres(conn):
        query = query.with_for_update()
    return conn.execute(query).first()


def read_head(conn: Connection) -> sa.Row[Any] | None:
    """Return the head row without locking it, or None if the ledger is not initialized."""
    return conn.execute(sa.select(head).where(head.c.id == 1)).first()


class SqlHashReader:
    """A ledger.tree HashReader over the ``ledger_hashes`` table: one query per call."""

    def __init__(self, conn: Connection, overlay: dict[int, bytes] | None = None) -> None:
        self._conn = conn
        self._overlay = overlay if overlay is not None else {}

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the stored hashes at ``indexes``, in order. Raises LookupError if one is missing."""
        overlay = self._overlay
        missing = [i for i in indexes if i not in overlay]
        found: dict[int, bytes] = {}
        if missing:
            rows = self._conn.execute(sa.select(hashes.c.id, hashes.c.hash).where(hashes.c.id.in_(missing)))
            found = {row.id: bytes(row.hash) for row in rows}
        try:
            return [overlay[i] if i in overlay else found[i] for i in indexes]
        except KeyError as exc:
            raise LookupError(f"ledger: stored hash {exc.args[0]} is missing") from None


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (tuples in the table's column order) in one round trip.

    PostgreSQL gets one ``INSERT … SELECT FROM unnest(array, …)`` statement with one array per
    column; SQLite one driver-level executemany. Both skip SQLAlchemy's per-row parameter work,
    which dominates a large batch.
    """
    if not rows:
        return
    names = ", ".join(column.name for column in table.columns)
    if is_postgres(conn):
        types = [column.type.compile(conn.dialect) for column in table.columns]
        arrays = ", ".join(f"%s::{sql_type}[]" for sql_type in types)
        columns = [list(values) for values in zip(*rows, strict=True)]
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608
        conn.exec_driver_sql(sql, tuple(columns))
    else:
        marks = ", ".join("?" for _ in table.columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows))  # noqa: S608


def read_entry(conn: Connection, index: int) -> bytes | None:
    """Return the canonical bytes of entry ``index``, or None if there is none."""
    data = conn.execute(sa.select(entries.c.data).where(entries.c.idx == index)).scalar()
    return None if data is None else bytes(data)


def read_entries(conn: Connection, start: int, stop: int) -> list[bytes]:
    """Return the entries with start <= index < stop, in index order."""
    rows = conn.execute(
        sa.select(entries.c.data).where(entries.c.idx >= start, entries.c.idx < stop).order_by(entries.c.idx)
    )
    return [bytes(row.data) for row in rows]


def iter_entries(conn: Connection, start: int = 0, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
    """Yield (index, entry bytes) from ``start`` on, in index order, reading ``batch`` rows at a time."""
    while True:
        rows = conn.execute(
            sa.select(entries.c.idx, entries.c.data)
            .where(entries.c.idx >= start)
            .order_by(entries.c.idx)
            .limit(batch)
        ).all()
        yield from ((row.idx, bytes(row.data)) for row in rows)
        if len(rows) < batch:
            return
        start = rows[-1].idx + 1


_NEWEST_CHECKPOINT = RawSelect(
    sa.select(checkpoints.c.size, checkpoints.c.note).order_by(checkpoints.c.size.desc()).limit(1)
)


HEAD_TABLES = ("ledger_head",)
"""The tables whose change signal (``ledger.changes``) covers the newest checkpoint: every append
and key rotation moves the head in the transaction that stores the checkpoint."""


def newest_checkpoint(engine: Engine) -> tuple[int, bytes] | None:
    """Return (size, signed note) of the newest checkpoint, or None; one raw query (RawSelect)."""
    row = _NEWEST_CHECKPOINT.first(engine)
    return None if row is None else (row.size, bytes(row.note))


def read_checkpoint(conn: Connection, size: int | None = None) -> tuple[int, bytes] | None:
    """Return (size, signed note) of the checkpoint of ``size``, or of the newest when size is None."""
    query = sa.select(checkpoints.c.size, checkpoints.c.note)
    if size is None:
        query = query.order_by(checkpoints.c.size.desc()).limit(1)
    else:
        query = query.where(checkpoints.c.size == size)
    row = conn.execute(query).first()
    return None if row is None else (row.size, bytes(row.note))


def checkpoint_sizes(conn: Connection) -> list[int]:
    """Return the sizes of every signed checkpoint, ascending."""
    return list(conn.execute(sa.select(checkpoints.c.size).order_by(checkpoints.c.size)).scalars())


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Open one write transaction; commit on success, roll back on any exception."""
    with engine.begin() as conn:
        yield conn
