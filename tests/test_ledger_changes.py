"""The change signal (ledger.changes) and the read caches that rely on it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import changes, store
from tests.ledger_helpers import open_ledger

WAIT_S = 10.0


def eventually(probe: Callable[[], Any]) -> Any:
    """Return the first truthy ``probe()``, polling for at most WAIT_S seconds; fail if none."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.005)
    pytest.fail(f"not seen within {WAIT_S} s")


def listening(watcher: changes.Changes, tables: tuple[str, ...] = store.HEAD_TABLES) -> int:
    version: int = eventually(lambda: watcher.version(tables) is not None and watcher.version(tables))
    return version


def test_sqlite_version_moves_with_each_commit_of_any_connection(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    watcher = changes.watch(log.engine)
    first = watcher.version()
    assert first is not None and watcher.version() == first
    log.append("test.item", {"n": 1})  # a commit through the watched engine's pool
    second = watcher.version()
    assert second is not None and second != first
    other = sa.create_engine(sqlite_url)  # another process's engine, in effect
    with other.begin() as conn:
        conn.execute(sa.text("CREATE TABLE scratch (x INTEGER)"))
    third = watcher.version()
    assert third is not None and third not in (first, second)
    assert watcher.version() == third  # reading changes nothing
    watcher.close()
    assert watcher.version() is None
    other.dispose()
    log.close()


def test_an_in_memory_database_has_no_change_signal() -> None:
    assert changes.watch(sa.create_engine("sqlite://")).version() is None


def test_postgres_version_moves_with_own_commits_at_once_and_others_on_notification(
    postgres_url: str,
) -> None:
    writer = open_ledger(postgres_url)
    engine = store.create_engine(postgres_url)
    watcher = changes.watch(engine, poll=0.05)
    first = listening(watcher)
    writer.append("test.item", {"n": 1})  # another engine: seen when its notification arrives
    second = eventually(lambda: (v := watcher.version(store.HEAD_TABLES)) != first and v)
    with engine.begin() as conn:  # this engine's own commit: seen before the block returns
        conn.execute(sa.text("SELECT 1"))
    third = watcher.version(store.HEAD_TABLES)
    assert third is not None and third > second
    watcher.close()
    assert watcher.version() is None
    engine.dispose()
    writer.close()


def test_postgres_version_is_none_for_a_table_without_its_trigger(postgres_url: str) -> None:
    log = open_ledger(postgres_url)
    watcher = changes.watch(log.engine, poll=0.05)
    listening(watcher)
    assert watcher.version(("ledger_entries",)) is None
    assert watcher.version(("ledger_head", "ledger_entries")) is None
    assert watcher.version(()) is not None
    watcher.close()
    log.close()


def test_postgres_watcher_reconnects_and_counts_the_gap_as_a_change(postgres_url: str) -> None:
    log = open_ledger(postgres_url)
    watcher = changes.watch(log.engine, poll=0.05)
    first = listening(watcher)
    name = sa.make_url(postgres_url).database
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND application_name = :app"
            ),
            {"name": name, "app": changes.APPLICATION_NAME},
        ).scalars().all()
    assert killed == [True]
    back = eventually(lambda: (v := watcher.version(store.HEAD_TABLES)) is not None and v != first and v)
    assert back > first
    watcher.close()
    admin.dispose()
    log.close()


def test_a_watching_ledger_keeps_the_newest_checkpoint_until_the_head_moves(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = open_ledger(db_url)
    reader = open_ledger(db_url, init=False)  # another process's ledger over the same database
    reader.watch_changes()
    reads: list[int] = []
    newest = store.newest_checkpoint
    monkeypatch.setattr(store, "newest_checkpoint", lambda engine: reads.append(1) or newest(engine))
    listening(reader.changes)
    first = reader.checkpoint()
    assert reader.checkpoint() is first and reader.size() == 1 and len(reads) == 1
    writer.append("test.item", {"n": 1})
    assert eventually(lambda: reader.checkpoint() != first)
    assert reader.checkpoint() == writer.checkpoint() and reader.size() == 2
    reader.append("test.item", {"n": 2})  # its own append: the next read sees it
    assert reader.size() == 3 and reader.checkpoint() == writer.checkpoint()
    reader.close()
    writer.close()
