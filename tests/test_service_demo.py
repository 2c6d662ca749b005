"""The demo world (draw.service.demo) at a tiny scale, through ``fairdraw demo``: every promised state is
listed by the public endpoints, a revealed draw's bundle verifies from what it holds alone, the
whole ledger passes ``fairdraw ledger audit``, and a second run adds nothing."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import fairdraw
import keys
from draw.engine.uscc import is_valid_uscc
from draw.service import Service, demo
from draw.service.roster_records import parse_inspectors, split_record_list
from ledger import _cli as ledger_cli
from ledger import store
from ledger.log import Ledger
from tests.ledger_helpers import ORIGIN, log_key
from tests.test_service_draws_helpers import verify_bundle

ENTITIES, DRAWS = 600, 6
NOW_MS = 1_764_288_000_000  # 2025-11-28T00:00:00Z


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.delenv("FAIRDRAW_KEY_PASSPHRASE", raising=False)
    monkeypatch.delenv("FAIRDRAW_KEY_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("FAIRDRAW_DATABASE_URL", raising=False)
    place = tmp_path / "demo"
    argv = ["demo", "--home", str(place), "--entities", str(ENTITIES), "--draws", str(DRAWS)]
    assert fairdraw.main(argv) == 0
    out = capsys.readouterr().out
    assert f"demo world: {ENTITIES} entities, 300 inspectors" in out, out
    assert f"({DRAWS} matching inspector teams)" in out, out
    monkeypatch.setenv("FAIRDRAW_HOME", str(place))
    monkeypatch.setenv("FAIRDRAW_KEY_PASSPHRASE_FILE", str(place / "demo-passphrase"))
    return place


def _open(home: Path) -> Ledger:
    env = {"FAIRDRAW_HOME": str(home), "FAIRDRAW_KEY_PASSPHRASE_FILE": str(home / "demo-passphrase")}
    engine = store.create_engine(ledger_cli.database_url(env, None))
    key = keys.load_signing_key(env, home)
    return Ledger(engine, key, fairdraw.registry())


def _draws(client: TestClient, state: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/draws?state={state}&limit=500")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_demo_world_has_draws_in_every_state_and_verifies(home: Path) -> None:
    log = _open(home)
    try:
        with TestClient(fairdraw.create_app(log)) as client:
            by_state = {s: _draws(client, s) for s in ("pending-randomness", "sealed", "revealed", "void")}
            assert [len(by_state[s]) for s in by_state] == [1, 1, 3, 1]  # demo.STATES[:6]
            revealed = {d["draw_id"]: d for d in by_state["revealed"]}
            statuses = {i: client.get(f"/api/v1/draws/{i}").json() for i in revealed}
            assert sum(1 for s in statuses.values() if s["replacements"]) == 1
            assert sum(1 for s in statuses.values() if s["task"] is not None) == 2  # solo and joint
            void = client.get(f"/api/v1/draws/{by_state['void'][0]['draw_id']}").json()
            assert void["void"]["reason"] == "withdrawn"
            departments = []
            for draw_id in revealed:
                bundle = client.get(f"/api/v1/draws/{draw_id}/bundle").json()
                found = verify_bundle(bundle, log._key.verifier_key)
                assert "draw.reveal" in found
                departments.append(_check_teams(client, bundle, found, home))
            assert sorted(departments) == [["GX", "SJ"], ["SJ"], ["SJ"]]  # the joint draw and two of SJ
            _check_disclosures(client, sorted(revealed), home)
    finally:
        log.close()
    assert fairdraw.main(["ledger", "audit"]) == 0


def _check_teams(client: TestClient, bundle: dict[str, Any], found: dict[str, Any], home: Path) -> list[str]:
    """Check that the revealed draw matched inspectors to every object it selected (the replacing one
    included): two inspectors a team, one of each department in the joint task, none from the
    object's own station, out of the departments' roster snapshots, with 回避 pairs and history.
    Return the draw's departments."""
    tokens = json.loads((home / "demo-tokens.json").read_text(encoding="utf-8"))
    draw_id = bundle["draw_id"]
    answer = client.get(
        f"/api/v1/draws/{draw_id}/result", headers={"Authorization": f"Bearer {tokens['SJ']}"}
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    ((_, commit),) = found["draw.commit"]
    matching = commit["commitment"]["matching"]
    rules = matching["rules"]
    assert rules["min_inspectors"] == 2 and rules["exclude_same_area"] and rules["recent_months"] == 12
    blobs = {b["digest"]: base64.b64decode(b["data"]) for b in bundle["blobs"]}
    pool = {i.id: i for i in parse_inspectors(blobs["sha256:" + matching["inspectors"]])}
    assert len(split_record_list(blobs["sha256:" + matching["exclusions"]])) == 3
    assert len(split_record_list(blobs["sha256:" + matching["history"]])) > 0
    selected = [o["record"] for s in result["result"]["strata"] for o in s["selected"]]
    selected += [r["replacement"]["record"] for r in result["replacements"]]
    teams = result["result"]["teams"]["teams"] + [r["teams"]["teams"][0] for r in result["replacements"]]
    assert sorted(t["object"] for t in teams) == sorted(o["id"] for o in selected)
    area = {o["id"]: o["area"] for o in selected}
    assert any(i.area in area.values() for i in pool.values())  # the 属地 rule has someone to exclude
    for team in teams:
        members = [pool[m] for m in team["members"]]
        assert len(members) == 2 and team["leader"] in team["members"]
        assert sorted(m.department for m in members) == rules["departments"] * (
            2 // len(rules["departments"])
        )
        assert all(m.area != area[team["object"]] for m in members)
    departments: list[str] = rules["departments"]
    return departments


def _check_disclosures(client: TestClient, revealed: list[str], home: Path) -> None:
    """Every other revealed draw (by id) is disclosed in full, on time; the others are overdue, as the
    oversight department sees them."""
    tokens = json.loads((home / "demo-tokens.json").read_text(encoding="utf-8"))
    headers = {"Authorization": f"Bearer {tokens['LDXZ']}"}
    overdue = client.get("/api/v1/departments/SJ/disclosures/overdue?limit=500", headers=headers)
    assert overdue.status_code == 200, overdue.text
    late = {item["draw_id"] for item in overdue.json()["items"]}
    for number, draw_id in enumerate(revealed):
        page = client.get(f"/api/v1/draws/{draw_id}/disclosures?limit=500").json()["items"]
        if number % 2 == 0:
            assert page and all(d["late"] is False and d["state"] == "disclosed" for d in page)
            assert draw_id not in late
        else:
            assert page == [] and draw_id in late


def test_a_second_run_adds_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _open(home)
    size = log.size()
    log.close()
    assert fairdraw.main(["demo", "--home", str(home), "--entities", "600", "--draws", "6"]) == 0
    assert "demo world" not in capsys.readouterr().out
    log = _open(home)
    try:
        assert log.size() == size
    finally:
        log.close()


def test_the_synthetic_entities_have_valid_codes_in_xinzhou_and_the_assumed_mix() -> None:
    rows = demo._entities(random.Random(1), demo.AREAS[0], 5000, "忻府区市场监管所")
    assert all(is_valid_uscc(r["统一社会信用代码"]) for r in rows)
    assert all(r["统一社会信用代码"][:8] in ("91140902", "92140902", "93140902") for r in rows)
    counts = {c: sum(1 for r in rows if r["信用风险分类"] == c) for c in "ABCD"}
    assert (
        3800 <= counts["A"] <= 4200 and 600 <= counts["B"] <= 900 and counts["D"] < counts["C"] < counts["B"]
    )


def test_build_refuses_a_world_too_small_to_hold_every_state() -> None:
    with pytest.raises(ValueError, match="draws >= 6"):
        demo.build_world(None, None, demo.DemoClock(0), now_ms=0, draws=5, randbytes=bytes)  # type: ignore[arg-type]


def test_build_refuses_a_ledger_that_holds_other_entries(sqlite_url: str) -> None:
    clock = demo.DemoClock(demo.START_MS)
    log = Ledger(store.create_engine(sqlite_url), log_key(), fairdraw.registry(), clock=clock)
    try:
        log.init(ORIGIN)
        log.append_many([("note", {"text": "an earlier entry"})])
        service = Service(log, clock=clock)
        with pytest.raises(ValueError, match="already holds other entries; build the demo on a fresh one"):
            demo.build_world(
                fairdraw.create_app(log, service), service, clock, now_ms=NOW_MS, randbytes=bytes
            )
        assert log.size() == 2
    finally:
        log.close()
