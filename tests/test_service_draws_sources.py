"""Randomness sources through the API: drand beacons (published rounds, forged and wrong ones), a
ceremony and announced lottery numbers with the values docs/draw-spec-randomness.md publishes, and
the voids a missing source or infeasible teams cause. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from draw.engine import select as engine_select
from draw.engine import teams
from draw.service import draws, draws_store, worker
from draw.service import draws_lifecycle as lifecycle
from ledger.entries import decode_entry
from tests.service_helpers import World, assert_problem, post
from tests.test_service_draws_helpers import (
    COMMIT_MS,
    QUICKNET_ROUND,
    drand_round,
    draw_body,
    entries_of,
    open_draw_world,
    verify_bundle,
)

DRAW = "/api/v1/draws/HZ-2026-7"
NOW_S = -(-COMMIT_MS // 1000)
BEACON = drand_round("quicknet", QUICKNET_ROUND)

# docs/draw-spec-randomness.md §3.5 (worked example) and §4.2 (RFC 3797 §6)
WANG = {
    "name": "王芳",
    "role": "纪检监察组观察员",
    "commitment": "dcb3bdeb5795aff9a23c629da6d958823cfcf718e0bc711a967a08f9e9de6fc4",
}
LI = {
    "name": "李明",
    "role": "市民代表",
    "commitment": "62e71a3a38fc43e82b23454d389eb559fa59aa79010a1aa22e4a08b693f9c1cc",
}
WANG_REVEAL = {"participant": "王芳", "contribution": "3614252316", "nonce": bytes(range(32)).hex()}
LI_REVEAL = {"participant": "李明", "contribution": "5521463", "nonce": bytes(range(32, 64)).hex()}
CEREMONY_VALUE = "98028250f772de21b2a4855b18cdcfae20058583a2d1f573f86d2692e8e09e53"
LOTTERY_NUMBERS = [[9319], [2, 5, 12, 8, 10], [9, 18, 26, 34, 41, 45]]
LOTTERY_VALUE = "1518ad0a9c2293996f67b30b481e10bc274038c492ac5b592830c31d0eaed4ec"  # fmt: skip


def _create(world: World, **changes: Any) -> dict[str, Any]:
    world.clock.now = COMMIT_MS
    response = post(world, "/api/v1/departments/HZ/draws", draw_body(**changes), "HZ")
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _state(world: World) -> str:
    state: str = world.client.get(DRAW).json()["state"]
    return state


def _sources(ceremony: list[dict[str, str]] | None = None, lottery: bool = False) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    if ceremony is not None:
        sources["ceremony"] = {"participants": ceremony, "reveal_deadline": NOW_S + 3600}
    if lottery:
        counts = [len(numbers) for numbers in LOTTERY_NUMBERS]
        sources["lottery"] = {
            "sources": [{"description": f"公开开奖 第{i + 1}项", "count": n} for i, n in enumerate(counts)],
            "deadline": NOW_S + 7200,
        }
    return sources


def test_a_wrong_or_forged_beacon_is_refused_and_writes_nothing(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _create(world)
        size = world.log.size()
        flipped = BEACON["signature"][:-1] + ("0" if BEACON["signature"][-1] != "0" else "1")
        cases = [
            (drand_round("quicknet", 657413), "body.round", "draw HZ-2026-7 uses round 12040883, not 657413"),
            ({**BEACON, "signature": flipped, "randomness": None}, "body.signature", "invalid drand beacon"),
            (
                {**BEACON, "randomness": "00" * 32},
                "body",
                "drand: beacon randomness is not SHA-256(signature)",
            ),
            (
                drand_round("mainnet", 3311596),
                "body.round",
                "draw HZ-2026-7 uses round 12040883, not 3311596",
            ),
        ]
        for beacon, field, message in cases:
            body = {k: v for k, v in beacon.items() if v is not None}
            doc = assert_problem(post(world, f"{DRAW}/beacon", body, "HZ"), 422, "invalid-field", field)
            assert doc["errors"][0]["message"] == message
        assert world.log.size() == size and _state(world) == "pending-randomness"
        missing = assert_problem(
            post(world, "/api/v1/draws/HZ-2026-9/beacon", BEACON, "HZ"), 404, "not-found"
        )
        assert missing["errors"] == [{"field": "path.draw_id", "message": "no draw HZ-2026-9"}]
        first = post(world, f"{DRAW}/beacon", BEACON, "HZ")
        assert first.status_code == 201
        again = assert_problem(post(world, f"{DRAW}/beacon", BEACON, "NB"), 409, "conflict", "path.draw_id")
        assert (
            again["errors"][0]["message"]
            == f"the drand value is recorded already (entry {first.json()['index']})"
        )


def test_a_ceremony_and_lottery_numbers_complete_the_draw_with_their_published_values(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _create(world, sources=_sources([WANG, LI], lottery=True))
        assert post(world, f"{DRAW}/beacon", BEACON, "HZ").json()["state"] == "pending-randomness"
        sources = {s["name"]: s for s in world.client.get(DRAW).json()["sources"]}
        assert (
            sources["ceremony"]["missing"] == ["王芳", "李明"] and sources["ceremony"]["state"] == "pending"
        )
        assert sources["lottery"]["missing"] == ["source 0", "source 1", "source 2"]
        size = world.log.size()
        stranger = assert_problem(
            post(world, f"{DRAW}/ceremony", {**LI_REVEAL, "participant": "张伟"}, "NB"), 422, "invalid-field"
        )
        assert stranger["errors"] == [
            {"field": "body.participant", "message": "not a participant of draw HZ-2026-7: 王芳, 李明"}
        ]
        wrong = post(world, f"{DRAW}/ceremony", {**LI_REVEAL, "contribution": "5521464"}, "NB")
        assert (
            assert_problem(wrong, 422, "invalid-field", "body")["errors"][0]["message"]
            == "invalid ceremony reveal"
        )
        assert world.log.size() == size
        assert post(world, f"{DRAW}/ceremony", LI_REVEAL, "NB").status_code == 201
        assert post(world, f"{DRAW}/ceremony", WANG_REVEAL, "HZ").status_code == 201
        twice = assert_problem(post(world, f"{DRAW}/ceremony", WANG_REVEAL, "HZ"), 409, "conflict")
        assert twice["errors"][0]["message"].startswith("the ceremony value is recorded already (entry ")
        assert _state(world) == "pending-randomness"

        other = assert_problem(
            post(world, f"{DRAW}/lottery", {"numbers": LOTTERY_NUMBERS}, "NB"), 403, "forbidden"
        )
        assert other["errors"][0]["message"] == "only department HZ may do this for draw HZ-2026-7"
        short = post(world, f"{DRAW}/lottery", {"numbers": [[9319], [2, 5]]}, "HZ")
        doc = assert_problem(short, 422, "invalid-field", "body.numbers")
        assert doc["errors"][0]["message"] == "lottery: 2 results for 3 sources"
        sealed = post(world, f"{DRAW}/lottery", {"numbers": LOTTERY_NUMBERS}, "HZ")
        assert sealed.status_code == 201 and sealed.json()["state"] == "sealed"
        result = world.client.get(f"{DRAW}/result", headers=world.auth("HZ")).json()["result"]
        assert result["sources"] == [BEACON["randomness"], CEREMONY_VALUE, LOTTERY_VALUE]

        published = post(world, f"{DRAW}/publish", {}, "HZ")
        assert published.status_code == 201 and published.json()["state"] == "revealed"
        assert decode_entry(world.log.entry(published.json()["index"])).body["department"] == "HZ"
        verify_bundle(world.client.get(f"{DRAW}/bundle").json(), world.log._key.verifier_key)


def test_a_missing_ceremony_reveal_voids_the_draw_at_its_deadline(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _create(world, sources=_sources([WANG, LI]))
        post(world, f"{DRAW}/beacon", BEACON, "HZ")
        post(world, f"{DRAW}/ceremony", WANG_REVEAL, "HZ")
        world.clock.now = (NOW_S + 3600) * 1000
        assert worker.run_once(world.service).advanced == 0  # the deadline itself still counts
        world.clock.now = (NOW_S + 3601) * 1000
        late = assert_problem(post(world, f"{DRAW}/ceremony", LI_REVEAL, "HZ"), 409, "conflict", "body")
        assert late["errors"][0]["message"] == f"the ceremony's reveal deadline {NOW_S + 3600} has passed"
        assert worker.run_once(world.service).advanced == 1
        status = world.client.get(DRAW).json()
        assert status["state"] == "void" and status["void"]["reason"] == "ceremony-missing"
        assert status["void"]["missing"] == ["李明"]
        ((_, kind, body),) = entries_of(world, status["void"]["index"])
        assert kind == "draw.void" and body["department"] is None
        assert body["detail"] == f"the ceremony source is missing after its deadline {NOW_S + 3600}"


def test_a_beacon_missing_seven_days_after_its_round_voids_the_draw(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _create(world)
        deadline = 1728926013 + 7 * 86400  # docs/draw-spec-randomness.md §2.6
        world.clock.now = deadline * 1000
        worker.run_once(world.service)
        assert _state(world) == "pending-randomness"
        world.clock.now = (deadline + 1) * 1000
        worker.run_once(world.service)
        status = world.client.get(DRAW).json()
        assert (status["state"], status["void"]["reason"], status["seal"]) == ("void", "drand-missing", None)
        refused = assert_problem(post(world, f"{DRAW}/beacon", BEACON, "HZ"), 409, "conflict")
        assert refused["errors"][0]["message"] == "draw HZ-2026-7 is void, want pending-randomness"


def test_teams_that_cannot_be_formed_void_the_draw_instead_of_sealing_it(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def infeasible(*_: Any) -> teams.Assignment:
        raise teams.Infeasible("teams: no assignment fills the seat of target 0")

    monkeypatch.setattr(engine_select, "assign_teams", infeasible)
    with open_draw_world(db_url) as world:
        _create(world)
        response = post(world, f"{DRAW}/beacon", BEACON, "HZ")
        assert response.json()["state"] == "void"
        ((_, kind, body),) = entries_of(world, response.json()["index"] + 1)
        assert (kind, body["reason"], body["detail"]) == (
            "draw.void",
            "teams-infeasible",
            "teams: no assignment fills the seat of target 0",
        )


def test_the_department_may_withdraw_its_draw_before_the_reveal_only(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _create(world)
        post(world, f"{DRAW}/beacon", BEACON, "HZ")
        other = assert_problem(
            post(world, f"{DRAW}/void", {"reason": "抽查计划调整"}, "NB"), 403, "forbidden"
        )
        assert other["errors"][0]["field"] == "path.draw_id"
        spaced = assert_problem(post(world, f"{DRAW}/void", {"reason": " 调整"}, "HZ"), 422, "invalid-field")
        assert spaced["errors"] == [{"field": "body.reason", "message": "leading or trailing white space"}]
        withdrawn = post(world, f"{DRAW}/void", {"reason": "抽查计划调整"}, "HZ")
        assert withdrawn.status_code == 201 and withdrawn.json()["state"] == "void"
        ((_, kind, body),) = entries_of(world, withdrawn.json()["index"])
        assert (kind, body["reason"], body["detail"], body["department"]) == (
            "draw.void",
            "withdrawn",
            "抽查计划调整",
            "HZ",
        )
        again = assert_problem(post(world, f"{DRAW}/void", {"reason": "再次"}, "HZ"), 409, "conflict")
        assert again["errors"][0]["message"] == "draw HZ-2026-7 is void, want pending-randomness or sealed"
        sealed = assert_problem(
            world.client.get(f"{DRAW}/result", headers=world.auth("NB")), 403, "forbidden"
        )
        assert sealed["errors"][0]["field"] == "path.draw_id"  # a withdrawn result is never revealed


def test_a_kept_status_is_the_status_at_every_time_and_turns_at_each_deadline(db_url: str) -> None:
    # GET /draws/{id} keeps an encoded status until the clock alone would change it
    # (draws_lifecycle.next_change_ms): around each deadline and due time, what it serves must be what
    # a fresh computation gives at that time.
    with open_draw_world(db_url) as world:
        _create(world, sources=_sources([WANG, LI], lottery=True))
        log = draws_store.load_public(world.service, "HZ-2026-7")
        assert log is not None
        drand_deadline = lifecycle.source_states(log, COMMIT_MS)[0].deadline
        overdue_at = log.row.reveal_due_ms + lifecycle.REVEAL_GRACE_MS
        turns = [(NOW_S + 3600) * 1000, (NOW_S + 7200) * 1000, drand_deadline * 1000, overdue_at]
        times = sorted({t + d for t in turns for d in (-1000, -1, 0, 1, 2, 1000)} | {COMMIT_MS})
        for now in [*times, *reversed(times), *times[::3]]:  # forwards, backwards, and by jumps
            world.clock.now = now
            served = world.client.get(DRAW).json()
            fresh = draws.status_json(world.service, draws_store.load_public(world.service, "HZ-2026-7"), now)
            assert served == fresh, now
        world.clock.now = overdue_at + 1
        assert world.client.get(DRAW).json()["overdue"] is True
        states = {s["name"]: s["state"] for s in world.client.get(DRAW).json()["sources"]}
        assert states == {"drand": "void", "ceremony": "void", "lottery": "void"}


def test_next_change_is_the_earliest_pending_deadline_or_the_overdue_time(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _create(world, sources=_sources([WANG, LI], lottery=True))
        log = draws_store.load_public(world.service, "HZ-2026-7")
        assert log is not None
        states = lifecycle.source_states(log, COMMIT_MS)
        assert [s.state for s in states] == ["pending"] * 3
        earliest = min(s.deadline for s in states) * 1000 + 1
        assert lifecycle.next_change_ms(log.row, states, COMMIT_MS) == earliest
        overdue_at = log.row.reveal_due_ms + lifecycle.REVEAL_GRACE_MS
        late = [lifecycle.SourceState(s.name, "void", s.deadline) for s in states]
        assert lifecycle.next_change_ms(log.row, late, COMMIT_MS) == overdue_at + 1
        assert lifecycle.next_change_ms(log.row, late, overdue_at + 1) is None  # overdue: no more turns
