"""Idempotency-Key retention on SQLite and PostgreSQL: a replay within ``idempotency_retention_ms``,
a free key after it (pruned or not), reserved keys never pruned, pruning by the worker and at start-up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from draw.service import Config, db, idempotency, worker
from draw.service.idempotency import fingerprint
from ledger import jcs
from tests.service_helpers import World, assert_problem, open_world, post

NOTES = "/api/v1/departments/HZ/notes"
DAY_MS = 24 * 60 * 60 * 1000


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with open_world(db_url) as w:
        yield w


def _stored(world: World) -> list[tuple[str, int | None]]:
    table = db.idempotency_keys
    with world.service.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.key, table.c.status).order_by(table.c.key)).all()
    return [(r.key, r.status) for r in rows]


def _reserve(world: World, key: str, created_ms: int) -> None:
    with world.service.engine.begin() as conn:
        conn.execute(
            sa.insert(db.idempotency_keys).values(
                department="HZ", key=key, fingerprint=fingerprint("POST", NOTES, b"{}"), created_ms=created_ms
            )
        )


def test_the_default_retention_is_24_hours() -> None:
    assert Config().idempotency_retention_ms == DAY_MS


def test_a_key_replays_within_the_retention_and_is_free_after_it(world: World) -> None:
    key = world.new_key()
    first = post(world, NOTES, {"text": "一次"}, "HZ", key=key)
    assert first.status_code == 201
    world.clock.now += DAY_MS - 1
    size = world.log.size()
    replay = post(world, NOTES, {"text": "一次"}, "HZ", key=key)
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == first.content
    assert world.log.size() == size
    assert_problem(post(world, NOTES, {"text": "另一次"}, "HZ", key=key), 422, "idempotency-key-reused")
    world.clock.now += 1  # the retention has passed; nothing pruned the key yet
    assert _stored(world) == [(key.strip('"'), 201)]
    again = post(world, NOTES, {"text": "另一次"}, "HZ", key=key)  # runs like a first use
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["index"] == size
    replay = post(world, NOTES, {"text": "另一次"}, "HZ", key=key)  # and is kept from now on
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == again.content


def test_prune_deletes_only_completed_keys_past_the_retention(world: World) -> None:
    for text in ("a", "b"):
        assert post(world, NOTES, {"text": text}, "HZ", key=f'"{text}"').status_code == 201
        world.clock.now += 1000
    _reserve(world, "crashed", 0)  # a request cut off long ago: reserved for ever
    now = world.clock()
    assert idempotency.prune(world.service.engine, now, 2001) == 0
    assert idempotency.prune(world.service.engine, now, 2000) == 1  # "a", exactly 2000 ms old
    assert _stored(world) == [("b", 201), ("crashed", None)]
    assert idempotency.prune(world.service.engine, now + DAY_MS * 365, DAY_MS) == 1
    assert _stored(world) == [("crashed", None)]
    body = jcs.canonicalize({})
    outstanding = post(world, NOTES, body, "HZ", key='"crashed"')
    assert_problem(outstanding, 409, "idempotency-key-outstanding", "Idempotency-Key")


def test_the_worker_and_the_start_up_prune_with_the_configured_retention(db_url: str) -> None:
    with open_world(db_url, config=Config(idempotency_retention_ms=60_000)) as world:
        assert post(world, NOTES, {"text": "旧"}, "HZ", key='"old"').status_code == 201
        world.clock.now += 60_000
        assert post(world, NOTES, {"text": "新"}, "HZ", key='"new"').status_code == 201
        running = worker.Worker(world.service, worker.WorkerSettings(3600))
        running.start()  # its first round runs before start returns
        running.stop()
        assert _stored(world) == [("new", 201)]
        world.clock.now += 60_000
        world.service.start()
        assert _stored(world) == []
