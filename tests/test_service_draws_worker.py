"""The draw worker (beacons fetched through a fetcher, its settings, its thread) and recovery of writes
cut short between the ledger append and the service's row."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from draw.engine import drand
from draw.service import draws_store, worker
from ledger.log import Ledger
from tests.service_helpers import World, post
from tests.test_service_draws_helpers import (
    COMMIT_MS,
    QUICKNET_ROUND,
    drand_round,
    draw_body,
    entries_of,
    open_draw_world,
    simple_body,
)

DRAW = "/api/v1/draws/HZ-2026-7"
ROUND_TIME_MS = 1_728_926_013_000
BEACON = drand_round("quicknet", QUICKNET_ROUND)


class Relay:
    """A fetcher test double: serves ``beacons`` by round and records the rounds asked for."""

    def __init__(self, beacons: dict[int, dict[str, Any]]) -> None:
        self.beacons = beacons
        self.asked: list[tuple[str, int]] = []

    def __call__(self, chain: drand.ChainInfo, round_: int) -> bytes | None:
        self.asked.append((chain.beacon_id, round_))
        found = self.beacons.get(round_)
        return None if found is None else json.dumps(found).encode()


def _create(world: World, body: dict[str, Any] | None = None) -> None:
    world.clock.now = COMMIT_MS
    response = post(world, "/api/v1/departments/HZ/draws", body or draw_body(), "HZ")
    assert response.status_code == 201, response.text


def test_the_worker_fetches_the_beacon_once_its_round_is_out(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _create(world)
        relay = Relay({QUICKNET_ROUND: BEACON})
        world.clock.now = ROUND_TIME_MS - 1000
        assert worker.run_once(world.service, relay) == worker.Report(0, 0, 0)
        assert relay.asked == []  # not before the round's time
        world.clock.now = ROUND_TIME_MS
        assert worker.run_once(world.service, relay) == worker.Report(0, 1, 0)
        assert relay.asked == [("quicknet", QUICKNET_ROUND)]
        status = world.client.get(DRAW).json()
        assert status["state"] == "sealed"
        (index,) = status["sources"][0]["entries"]
        (_, kind, body), = entries_of(world, index)[:1]
        assert (kind, body["department"], body["beacon"]) == ("draw.randomness", None, BEACON)
        worker.run_once(world.service, relay)
        assert len(relay.asked) == 1  # a recorded beacon is not fetched again


def test_the_worker_records_nothing_a_relay_forges_or_misnumbers(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _create(world)
        world.clock.now = ROUND_TIME_MS
        size = world.log.size()
        forged = {**BEACON, "signature": BEACON["signature"][:-2] + "00"}
        forged.pop("randomness")
        for served in (forged, {**drand_round("quicknet", 657413)}, {"round": QUICKNET_ROUND}):
            relay = Relay({QUICKNET_ROUND: served})
            assert worker.run_once(world.service, relay).beacons == 0
        assert worker.run_once(world.service, Relay({})).beacons == 0
        assert world.log.size() == size and world.client.get(DRAW).json()["state"] == "pending-randomness"


def test_settings_come_from_the_environment() -> None:
    assert worker.settings_from_env({}) == worker.WorkerSettings(5.0, None)
    assert worker.settings_from_env({"FAIRDRAW_WORKER_INTERVAL": "0"}) is None
    with_url = worker.settings_from_env({"FAIRDRAW_WORKER_INTERVAL": "2.5", "FAIRDRAW_DRAND_URL": "http://x"})
    assert with_url is not None and with_url.interval_seconds == 2.5 and with_url.fetcher is not None
    for bad in ("soon", "-1", "nan"):
        with pytest.raises(ValueError, match=f"FAIRDRAW_WORKER_INTERVAL must be seconds, got '{bad}'"):
            worker.settings_from_env({"FAIRDRAW_WORKER_INTERVAL": bad})


@contextlib.contextmanager
def _relay_server(beacon: dict[str, Any]) -> Iterator[str]:
    path = f"/{drand.QUICKNET.chain_hash.hex()}/public/{beacon['round']}"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(beacon).encode() if self.path == path else b"not found"
            self.send_response(200 if self.path == path else 404)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_http_fetcher_reads_drands_api_paths() -> None:
    with _relay_server(BEACON) as base:
        fetch = worker.http_fetcher(base)
        assert json.loads(fetch(drand.QUICKNET, QUICKNET_ROUND) or b"") == BEACON
        assert fetch(drand.QUICKNET, QUICKNET_ROUND + 1) is None  # 404
        assert fetch(drand.MAINNET, QUICKNET_ROUND) is None
    assert worker.http_fetcher(base, timeout=0.5)(drand.QUICKNET, QUICKNET_ROUND) is None  # gone


def test_the_worker_thread_runs_rounds_until_stopped(sqlite_url: str) -> None:
    with open_draw_world(sqlite_url) as world:
        _create(world)
        world.clock.now = ROUND_TIME_MS
        running = worker.Worker(world.service, worker.WorkerSettings(0.01, Relay({QUICKNET_ROUND: BEACON})))
        running.start()
        try:
            deadline = time.monotonic() + 20
            while world.client.get(DRAW).json()["state"] != "sealed":
                assert time.monotonic() < deadline, "the worker did not seal the draw"
                time.sleep(0.02)
        finally:
            running.stop()


# -- recovery of cut-short writes -----------------------------------------------------------------


def _row_count(world: World) -> int:
    with world.service.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(draws_store.draws)).scalar_one())


def test_a_commitment_in_the_ledger_whose_row_was_not_activated_is_recovered(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_draw_world(db_url) as world:
        activate = draws_store._activate
        monkeypatch.setattr(draws_store, "_activate", _fail_once(activate))
        world.clock.now = COMMIT_MS
        with pytest.raises(RuntimeError, match="cut short"):
            post(world, "/api/v1/departments/HZ/draws", simple_body("r"), "HZ")
        (_, kind, _), = entries_of(world, world.log.size() - 1)
        assert kind == "draw.commit"  # the ledger has it; the service's row is still committing
        status = world.client.get("/api/v1/draws/HZ-r")
        assert status.status_code == 200 and status.json()["state"] == "pending-randomness"


def test_a_commitment_that_never_reached_the_ledger_is_removed_after_the_lease(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        size = world.log.size()
        with monkeypatch.context() as patch:
            patch.setattr(Ledger, "append", _cut_short)
            with pytest.raises(RuntimeError, match="cut short"):
                post(world, "/api/v1/departments/HZ/draws", simple_body("s"), "HZ")
        assert world.log.size() == size and _row_count(world) == 1
        assert world.client.get("/api/v1/draws/HZ-s").status_code == 404  # never visible half-written
        assert worker.run_once(world.service).recovered == 0 and _row_count(world) == 1
        world.clock.now += draws_store.LEASE_MS + 1
        worker.run_once(world.service)
        assert _row_count(world) == 0
        assert post(world, "/api/v1/departments/HZ/draws", simple_body("s"), "HZ").status_code == 201


def test_a_seal_cut_short_is_settled_by_the_next_writer(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_draw_world(db_url) as world:
        _create(world)
        activate = draws_store._activate
        calls = {"n": 0}

        def on_seal(conn: Any, row_id: int, index: int) -> None:
            calls["n"] += 1
            if calls["n"] == 2:  # the randomness entry is first, the seal second
                raise RuntimeError("cut short")
            activate(conn, row_id, index)

        monkeypatch.setattr(draws_store, "_activate", on_seal)
        with pytest.raises(RuntimeError, match="cut short"):
            post(world, f"{DRAW}/beacon", BEACON, "HZ")
        monkeypatch.setattr(draws_store, "_activate", activate)
        world.clock.now = COMMIT_MS + draws_store.LEASE_MS + 1  # the crashed writer's lease runs out
        published = post(world, f"{DRAW}/publish", {}, "HZ")
        assert published.status_code == 201, published.text
        kinds = [kind for _, kind, _ in entries_of(world, world.log.size() - 3)]
        assert kinds == ["draw.randomness", "draw.seal", "draw.reveal"]  # one seal, found and activated


def _fail_once(activate: Any) -> Any:
    state = {"failed": False}

    def activate_or_fail(conn: Any, row_id: int, index: int) -> None:
        if not state["failed"]:
            state["failed"] = True
            raise RuntimeError("cut short")
        activate(conn, row_id, index)

    return activate_or_fail


def _cut_short(self: Ledger, type_name: str, body: Any) -> Any:
    raise RuntimeError("cut short")
