"""Change signals: a version that moves whenever watched tables may have changed, for read caches.

A cache of something read from the database takes :meth:`Changes.version` *before* it queries and
keeps the answer under that version; it may serve the answer again while ``version()`` still
returns the same value. ``None`` means "unknown": read from the database and keep nothing.

SQLite: ``PRAGMA data_version`` on a connection of the watcher's own, which never writes. It moves
with every commit of any other connection to the file, in this process or another, and is read
at the call: a commit is seen by every ``version()`` that starts after it (about 1.5 µs a call).
Every table is watched. An in-memory database has no watcher (``version()`` is None).

PostgreSQL: ``LISTEN`` on :data:`CHANNEL` on a connection of the watcher's own, in a thread.
Migrations install a statement trigger named ``<table>_changed`` on each watched table, which
notifies the channel; PostgreSQL delivers the notification when the writing transaction commits.
This process's own commits move the version at once (when the committed connection goes back to
the pool, before the writer can acknowledge anything), so a process reads its own writes; another
process's commit is seen when its notification arrives, so a read served from a cache may trail
that commit by the delivery delay (well under a millisecond on one host). ``version(tables)`` is
None while the listening connection is down (it is tried again every half second, and its return
counts as a change) and for a table without its trigger.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

CHANNEL = "fairdraw_changes"
APPLICATION_NAME = "fairdraw-changes"
"""The listening connection's ``application_name``, as ``pg_stat_activity`` shows it."""
_COMMITTED = "fairdraw.changes.committed"
_RETRY_SECONDS = 0.5
_TRIGGERS = sa.text(
    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE t.tgname = c.relname || '_changed' AND NOT t.tgisinternal"
)
log = logging.getLogger("fairdraw.changes")


class Changes:
    """The change signal of one engine's database; :meth:`close` stops it. Thread-safe. This base
    class is the signal of a database nobody watches: its version is always None."""

    def version(self, tables: Iterable[str] = ()) -> int | None:
        """Return the current version for a cache of reads of ``tables``, or None (do not cache)."""
        return None

    def close(self) -> None:
        """Stop watching; every later :meth:`version` is None."""


def watch(engine: Engine, poll: float = 0.1) -> Changes:
    """Start watching ``engine``'s database and return its Changes. On PostgreSQL this opens one
    connection (detached from the pool) and a thread that waits at most ``poll`` seconds at a time;
    it connects in the background. Never raises for an unreachable database: ``version()`` is
    None until it can watch."""
    if engine.dialect.name == "sqlite":
        if engine.url.database in (None, "", ":memory:"):
            return Changes()
        return _SqliteChanges(engine)
    if engine.dialect.name == "postgresql":
        return _PostgresChanges(engine, poll)
    return Changes()


class _SqliteChanges(Changes):
    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._conn: Any = None
        self._engine = engine
        self._closed = False

    def version(self, tables: Iterable[str] = ()) -> int | None:
        with self._lock:
            if self._closed:
                return None
            try:
                if self._conn is None:
                    self._conn = _detached(self._engine)
                version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
                return version
            except Exception:  # a broken watcher connection only turns caching off
                self._close()
                return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _PostgresChanges(Changes):
    def __init__(self, engine: Engine, poll: float) -> None:
        self._engine = engine
        self._poll = poll
        self._lock = threading.Lock()
        self._version = 0
        self._up = False
        self._covered: frozenset[str] = frozenset()
        self._stop = threading.Event()
        sa.event.listen(engine, "commit", _mark_committed)
        sa.event.listen(engine, "checkin", self._checkin)
        self._thread = threading.Thread(target=self._run, name="fairdraw-changes", daemon=True)
        self._thread.start()

    def version(self, tables: Iterable[str] = ()) -> int | None:
        version, up, covered = self._version, self._up, self._covered
        if not up or not covered.issuperset(tables):
            return None
        return version

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        sa.event.remove(self._engine, "commit", _mark_committed)
        sa.event.remove(self._engine, "checkin", self._checkin)

    def _bump(self) -> None:
        with self._lock:
            self._version += 1

    def _checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_COMMITTED, False):
            self._bump()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn = _detached(self._engine)
            except Exception as exc:  # unreachable: retry; version() stays None meanwhile
                log.warning("change watcher cannot connect: %s", type(exc).__name__)
                self._stop.wait(_RETRY_SECONDS)
                continue
            try:
                self._listen(conn)
            except Exception as exc:
                self._up = False  # before anything else: nothing may be served from a cache now
                log.warning("change watcher lost its connection: %s", type(exc).__name__)
                conn.close()
                self._stop.wait(_RETRY_SECONDS)
            else:
                self._up = False
                conn.close()

    def _listen(self, conn: Any) -> None:
        conn.autocommit = True
        conn.execute(f"SET application_name TO '{APPLICATION_NAME}'")
        conn.execute(f"LISTEN {CHANNEL}")
        self._covered = frozenset(row[0] for row in conn.execute(_TRIGGERS.text))
        self._bump()  # whatever happened while nobody listened
        self._up = True
        while not self._stop.is_set():
            for _ in conn.notifies(timeout=self._poll):
                self._bump()


def _mark_committed(conn: Any) -> None:
    conn.info[_COMMITTED] = True


def _detached(engine: Engine) -> Any:
    """Return a driver connection made by ``engine``'s pool (its connect arguments and events) and
    detached from it, so that the pool never hands it out."""
    raw = engine.raw_connection()
    driver = raw.driver_connection
    raw.detach()
    return driver
