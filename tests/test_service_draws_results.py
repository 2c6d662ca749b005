"""After the seal: replacements (sealed until the reveal), publishing at once, the overdue flag, the
list of draws, and the seam that tells disclosures which objects are due. Every test runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from draw.engine import select
from draw.service import draws_lifecycle, worker
from draw.service.disclosures import Target, TargetError
from draw.service.draws import DISCLOSURE_TARGETS
from ledger import blobs, jcs
from tests.service_helpers import World, assert_problem, post
from tests.test_service_draws_helpers import (
    COMMIT_MS,
    QUICKNET_ROUND,
    drand_round,
    draw_body,
    entries_of,
    open_draw_world,
    simple_body,
    verify_bundle,
)
from tests.test_service_items import ITEM_LIST
from tests.test_service_rosters import upload
from tests.test_service_rosters_files import INSPECTORS_CSV, OBJECTS_CSV

DRAW = "/api/v1/draws/HZ-2026-7"
BEACON = drand_round("quicknet", QUICKNET_ROUND)
EMBARGO_MS = 1_730_390_400_000  # 2024-11-01T00:00:00+08:00


def _sealed(world: World, **changes: Any) -> dict[str, Any]:
    world.clock.now = COMMIT_MS
    assert post(world, "/api/v1/departments/HZ/draws", draw_body(**changes), "HZ").status_code == 201
    beacon = post(world, f"{DRAW}/beacon", BEACON, "HZ")
    assert beacon.status_code == 201
    result: dict[str, Any] = world.client.get(f"{DRAW}/result", headers=world.auth("HZ")).json()
    return result


def _ids(result: dict[str, Any]) -> set[str]:
    return {p["record"]["id"] for s in result["result"]["strata"] for p in s["selected"]}


def _selected(result: dict[str, Any], stratum: str) -> list[dict[str, Any]]:
    found = next(s for s in result["result"]["strata"] if s["stratum"] == stratum)
    selected: list[dict[str, Any]] = found["selected"]
    return selected


def test_replacements_stay_sealed_until_the_reveal_and_verify_after_it(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        result = _sealed(world)
        leaving = _selected(result, "A")[0]["record"]["id"]
        unselected = next(o["id"] for o in draw_body()["objects"] if o["id"] not in _ids(result))
        size = world.log.size()
        refused = post(world, f"{DRAW}/replacements", {"object_id": unselected, "reason": "revoked"}, "HZ")
        doc = assert_problem(refused, 422, "invalid-field", "body.object_id")
        assert doc["errors"][0]["message"] == (
            f"draw: replaced: {unselected!r} is not a selected object (or was replaced already)"
        )
        other = post(world, f"{DRAW}/replacements", {"object_id": leaving, "reason": "revoked"}, "NB")
        assert_problem(other, 403, "forbidden", "path.draw_id")
        assert world.log.size() == size

        first = post(world, f"{DRAW}/replacements", {"object_id": leaving, "reason": "deregistered"}, "HZ")
        assert first.status_code == 201 and first.json()["state"] == "sealed"
        ((_, kind, body),) = entries_of(world, first.json()["index"])
        assert (kind, body["sequence"], body["reason"], body["record"]) == (
            "draw.replace",
            1,
            "deregistered",
            None,
        )
        assert leaving not in str(body)  # who left is sealed too
        records = world.client.get(f"{DRAW}/result", headers=world.auth("HZ")).json()["replacements"]
        assert [(r["replaced"], r["reason"], r["replacement"]["position"]) for r in records] == [
            (leaving, "deregistered", 3)  # stratum A draws k = 2: the first replacement is position 3
        ]
        assert body["replacement_hash"] == select.replacement_hash(jcs.canonicalize(records[0])).hex()
        again = post(world, f"{DRAW}/replacements", {"object_id": leaving, "reason": "revoked"}, "HZ")
        assert_problem(again, 422, "invalid-field", "body.object_id")

        world.clock.now = EMBARGO_MS
        worker.run_once(world.service)
        status = world.client.get(DRAW).json()
        reveal = dict(entries_of(world, status["reveal"])[0][2])
        assert reveal["replacements"] == [blobs.digest_of(jcs.canonicalize(records[0]))]
        leaving_b = _selected(result, "B")[0]["record"]["id"]
        second = post(world, f"{DRAW}/replacements", {"object_id": leaving_b, "reason": "moved-out"}, "HZ")
        ((_, _, body),) = entries_of(world, second.json()["index"])
        assert body["sequence"] == 2 and body["record"] is not None
        found = verify_bundle(world.client.get(f"{DRAW}/bundle").json(), world.log._key.verifier_key)
        assert len(found["draw.replace"]) == 2  # engine.verify_draw checked both records


def test_a_draw_published_at_once_is_revealed_with_its_seal(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _sealed(world, publish_immediately=True)
        status = world.client.get(DRAW).json()
        assert (status["state"], status["publish"]) == ("revealed", "immediately")
        assert status["reveal"] == status["seal"] + 1 and status["reveal_due_ms"] < EMBARGO_MS
        assert_problem(post(world, f"{DRAW}/publish", {}, "HZ"), 409, "conflict", "path.draw_id")


def test_an_unrevealed_draw_is_flagged_overdue_after_its_due_time(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        _sealed(world)
        world.clock.now = EMBARGO_MS + draws_lifecycle.REVEAL_GRACE_MS
        assert world.client.get(DRAW).json()["overdue"] is False
        world.clock.now += 1
        assert world.client.get(DRAW).json()["overdue"] is True
        assert world.client.get("/api/v1/draws?state=sealed").json()["items"][0]["overdue"] is True
        worker.run_once(world.service)
        status = world.client.get(DRAW).json()
        assert (status["state"], status["overdue"]) == ("revealed", False)


def test_the_list_pages_and_filters_draws(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        for code, ref in (("HZ", "a"), ("NB", "b"), ("HZ", "c")):
            assert post(world, f"/api/v1/departments/{code}/draws", simple_body(ref), code).status_code == 201
        post(world, "/api/v1/draws/HZ-c/beacon", BEACON, "HZ")
        first = world.client.get("/api/v1/draws?limit=2").json()
        assert [i["draw_id"] for i in first["items"]] == ["HZ-a", "NB-b"]
        rest = world.client.get(f"/api/v1/draws?limit=2&cursor={first['next_cursor']}").json()
        assert [i["draw_id"] for i in rest["items"]] == ["HZ-c"] and rest["next_cursor"] is None
        assert [i["draw_id"] for i in world.client.get("/api/v1/draws?department=HZ").json()["items"]] == [
            "HZ-a", "HZ-c",
        ]  # fmt: skip
        sealed = world.client.get("/api/v1/draws?state=sealed&department=HZ").json()["items"]
        assert [(i["draw_id"], i["state"]) for i in sealed] == [("HZ-c", "sealed")]
        bad = [
            ("state=open", "query.state"),
            ("department=hz", "query.department"),
            ("state=void&state=sealed", "query.state"),
            ("sort=commit", "query.sort"),
        ]
        for query, field in bad:
            assert_problem(world.client.get(f"/api/v1/draws?{query}"), 400, "malformed-request", field)


def test_disclosures_see_the_objects_selected_now_once_the_draw_is_revealed(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        result = _sealed(world, inspection_end="2024-11-20")
        service = world.service
        picked = _selected(result, "C")[0]["record"]["id"]
        with pytest.raises(TargetError) as early:
            DISCLOSURE_TARGETS.disclosure_target(service, "HZ-2026-7", picked, "HZ")
        assert (early.value.reason, early.value.detail) == (
            "not-ready",
            "draw HZ-2026-7 is sealed, not revealed",
        )
        replaced = post(world, f"{DRAW}/replacements", {"object_id": picked, "reason": "moved-out"}, "HZ")
        assert replaced.status_code == 201
        post(world, f"{DRAW}/publish", {}, "HZ")
        records = world.client.get(f"{DRAW}/result", headers=world.auth("HZ")).json()["replacements"]
        incoming = records[0]["replacement"]["record"]["id"]
        end = datetime.date(2024, 11, 20)
        target = DISCLOSURE_TARGETS.disclosure_target(service, "HZ-2026-7", incoming, "HZ")
        assert target == Target("HZ-2026-7", incoming, "HZ", end)
        for draw_id, object_id, department, reason in (
            ("HZ-2026-7", picked, "HZ", "not-in-draw"),
            ("HZ-2026-7", incoming, "NB", "not-owner"),
            ("HZ-2026-8", incoming, "HZ", "no-draw"),
            ("not a draw id", incoming, "HZ", "no-draw"),
        ):
            with pytest.raises(TargetError) as refused:
                DISCLOSURE_TARGETS.disclosure_target(service, draw_id, object_id, department)
            assert refused.value.reason == reason
        listed = list(DISCLOSURE_TARGETS.disclosure_targets(service, "HZ"))
        active = [
            p["record"]["id"]
            for s in result["result"]["strata"]
            for p in s["selected"]
            if p["record"]["id"] != picked
        ]
        assert sorted(t.object_id for t in listed) == sorted([*active, incoming])
        assert {(t.draw_id, t.department, t.inspection_end) for t in listed} == {("HZ-2026-7", "HZ", end)}
        assert list(DISCLOSURE_TARGETS.disclosure_targets(service, "NB")) == []


def test_a_revealed_draw_opens_its_objects_to_disclosure_through_the_api(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        result = _sealed(world)
        picked = next(i for i in sorted(_ids(result)) if i.isascii() and ":" not in i)
        path = f"{DRAW}/disclosures/{picked}"
        body = {"code_table": 2, "results": ["B"], "inspected_on": "2024-10-15", "salt": "5a" * 16}
        early = assert_problem(post(world, path, body, "HZ"), 409, "conflict", "path.draw_id")
        assert early["errors"][0]["message"] == "draw HZ-2026-7 is sealed, not revealed"
        world.clock.now = EMBARGO_MS
        worker.run_once(world.service)
        other = assert_problem(post(world, path, body, "NB"), 403, "forbidden", "path.draw_id")
        assert other["errors"][0]["message"] == "department NB takes no part in draw HZ-2026-7"
        disclosed = post(world, path, body, "HZ")
        assert disclosed.status_code == 201, disclosed.text
        (_, kind, entry), = entries_of(world, disclosed.json()["index"])
        want = ("disclosure.result", picked, "2024-11-01")
        assert (kind, entry["object_id"], entry["inspection_end"]) == want


def _published(world: World, path: str, body: dict[str, Any], code: str) -> dict[str, Any]:
    response = post(world, path, body, code)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_joint_task_draws_from_every_departments_pool_and_both_disclose(sqlite_url: str) -> None:
    with open_draw_world(sqlite_url) as world:
        world.clock.now = COMMIT_MS
        items = _published(world, "/api/v1/departments/HZ/items", ITEM_LIST, "HZ")
        rosters = "/api/v1/departments/{}/rosters"
        objects = _published(world, rosters.format("HZ"), upload("objects", "csv", OBJECTS_CSV), "HZ")
        nb_csv = INSPECTORS_CSV.replace(b",1409", b",2409")  # NB's inspectors: other 执法证号
        pools = {
            code: _published(world, rosters.format(code), upload("inspectors", "csv", csv), code)
            for code, csv in (("HZ", INSPECTORS_CSV), ("NB", nb_csv))
        }
        task = _published(world, "/api/v1/departments/HZ/tasks", {
            "ref": "忻市监抽查〔2024〕9号", "name": "2024年联合抽查", "type": "untargeted",
            "items": [{"list": items["index"], "code": "XZ-001"}], "cooperators": ["NB"],
            "objects_roster": objects["index"], "inspectors_roster": pools["HZ"]["index"],
            "start": "2024-10-15", "end": "2024-11-15",
        }, "HZ")  # fmt: skip
        pool_path = f"/api/v1/departments/NB/tasks/{task['index']}/pool"
        _published(world, pool_path, {"roster": pools["NB"]["index"]}, "NB")
        matching = {
            "as_of": "2024-10-14",
            "items": ["XZ-001"],
            "rules": {"departments": ["HZ", "NB"], "exclude_same_area": False},
            "pools": [pools["HZ"]["index"], pools["NB"]["index"]],
        }
        strata = [{"stratum": s, "take": "count", "count": 1} for s in "ABCD"]
        body = draw_body("joint", task=task["index"], objects_roster=objects["index"], strata=strata,
                         matching=matching, publish_immediately=True)  # fmt: skip
        body.pop("objects")
        _published(world, "/api/v1/departments/HZ/draws", body, "HZ")
        post(world, "/api/v1/draws/HZ-joint/beacon", BEACON, "NB")
        status = world.client.get("/api/v1/draws/HZ-joint").json()
        want = ("revealed", task["index"], "2024-11-15")
        assert (status["state"], status["task"], status["inspection_end"]) == want
        result = world.client.get("/api/v1/draws/HZ-joint/result", headers=world.auth("NB")).json()
        teams = result["result"]["teams"]["teams"]
        assert len(teams) == 4 and all(sorted(m[0] for m in t["members"]) == ["1", "2"] for t in teams)
        # every team has one of each department: HZ's 执法证号 start with 1409, NB's with 2409
        targets = {c: list(DISCLOSURE_TARGETS.disclosure_targets(world.service, c)) for c in ("HZ", "NB")}
        assert len(targets["HZ"]) == 4
        assert [t.object_id for t in targets["NB"]] == [t.object_id for t in targets["HZ"]]
        assert {t.inspection_end for t in targets["NB"]} == {datetime.date(2024, 11, 15)}
