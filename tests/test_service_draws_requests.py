"""Draw requests that must be refused: validation and feasibility write nothing (no ledger entry, no
row, no blob), and the problem names the field. Each case is named by its mutation of a valid request.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from draw.service import draws_store
from ledger.entries import decode_entry
from tests.service_helpers import World, assert_problem, post
from tests.test_service_draws_helpers import COMMIT_MS, draw_body, open_draw_world, participant
from tests.test_service_rosters import upload
from tests.test_service_rosters_files import INSPECTORS_CSV, OBJECTS_CSV

Mutation = Callable[[dict[str, Any]], None]
NOW_S = -(-COMMIT_MS // 1000)


def _set(path: str, value: Any) -> Mutation:
    """Return a mutation setting the member at dotted ``path`` (``objects.0.id``) to ``value``."""

    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for step in parents:
            target = target[int(step)] if step.isdigit() else target.setdefault(step, {})
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _duplicate_id(body: dict[str, Any]) -> None:
    body["objects"][1]["id"] = body["objects"][0]["id"]


def _ceremony(deadline: int) -> Mutation:
    declared, _ = participant("王芳", "纪检监察组观察员", "3614252316", 1)
    return _set("sources.ceremony", {"participants": [declared], "reveal_deadline": deadline})


# (mutation name, mutation, field, message the field's error carries)
CASES: list[tuple[str, Mutation, str, str]] = [
    ("objects[0].id@check-character", _set("objects.0.id", "91110000600037341M"), "body.objects[0].id",
     "draw: objects[0].id: uscc: check character 'M', want 'L'"),
    ("objects[1].id-duplicate", _duplicate_id, "body.objects[1].id",
     "draw: objects[1].id: duplicate id '91110000600037341L'"),
    ("objects[0].stratum-unknown", _set("objects.0.stratum", "Z"), "body.objects[0].stratum",
     "draw: objects[0].stratum: unknown stratum 'Z'"),
    ("objects-empty", _set("objects", []), "body.objects", "draw: objects: empty population"),
    ("strata[0].ratio-above-100%", _set("strata.0.ratio", "4/3"), "body.strata[0].ratio",
     "draw: strata[0].ratio: ratio 4/3 above 100 %"),
    ("strata[1].stratum-repeated", _set("strata.1.stratum", "A"), "body.strata",
     "draw: strata: stratum names must be distinct"),
    ("matching.rules.min_inspectors-infeasible", _set("matching.rules.min_inspectors", 9), "body.matching",
     "eligible inspectors after 回避; each team needs 9"),
    ("sources.drand.chain_hash-unpinned", _set("sources.drand.chain_hash", "00" * 32), "body.sources.drand",
     f"drand: chain '{'00' * 32}' is not pinned"),
    ("sources.drand.margin_seconds-below-30", _set("sources.drand.margin_seconds", 29),
     "body.sources.drand.margin_seconds", "Input should be greater than or equal to 30"),
    ("sources.ceremony.reveal_deadline-past", _ceremony(NOW_S), "body.sources.ceremony.reveal_deadline",
     f"{NOW_S} is not after the current time {NOW_S}"),
    ("sources.lottery.deadline-past",
     _set("sources.lottery", {"sources": [{"description": "福彩3D 第2024281期", "count": 1}], "deadline": 1}),
     "body.sources.lottery.deadline", f"1 is not after the current time {NOW_S}"),
    ("ref-malformed", _set("ref", "-7"), "body.ref",
     "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'"),
    ("embargo-no-such-date", _set("embargo", "2024-02-30"), "body.embargo", "no such date '2024-02-30'"),
    ("inspection_end-no-such-date", _set("inspection_end", "2024-13-01"), "body.inspection_end",
     "no such date '2024-13-01'"),
    ("objects_roster-unknown", _set("objects_roster", 999), "body.objects_roster",
     "no objects roster snapshot 999 of department HZ"),
    ("task-unknown", _set("task", 999), "body.task", "no task 999 of department HZ"),
    ("matching.pools[0]-unknown", _set("matching.pools", [999]), "body.matching.pools[0]",
     "no inspectors roster snapshot 999 of HZ"),
    ("matching.inspectors[0].certificate_expiry-no-such-date",
     _set("matching.inspectors.0.certificate_expiry", "2027-02-30"), "body.matching.inspectors[0]",
     "day is out of range for month"),
    ("matching.inspectors[0].status-unknown", _set("matching.inspectors.0.status", "retired"),
     "body.matching.inspectors[0].status", "Input should be 'active', 'inactive' or 'leave'"),
    ("member-unknown", _set("priority", 1), "body.priority", "Extra inputs are not permitted"),
]  # fmt: skip


def _nothing_written(world: World, size: int) -> None:
    assert world.log.size() == size
    with world.service.engine.connect() as conn:
        for table in (draws_store.draws, draws_store.draw_entries, draws_store.ceremony_commitments):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
        blobs = conn.execute(sa.text("SELECT count(*) FROM ledger_blobs")).scalar_one()
    assert blobs == 0


def test_every_refused_request_names_its_field_and_writes_nothing(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        size = world.log.size()
        for name, mutate, field, message in CASES:
            body = copy.deepcopy(draw_body())
            mutate(body)
            response = post(world, "/api/v1/departments/HZ/draws", body, "HZ")
            doc = assert_problem(response, 422, "invalid-field", field)
            messages = [e["message"] for e in doc["errors"] if e["field"] == field]
            assert any(message in m for m in messages), (name, messages)
            _nothing_written(world, size)


def test_a_request_for_another_department_is_forbidden_and_writes_nothing(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        size = world.log.size()
        response = post(world, "/api/v1/departments/NB/draws", draw_body(), "HZ")
        doc = assert_problem(response, 403, "forbidden", "path.code")
        assert doc["errors"][0]["message"] == "department HZ may act only for itself"
        _nothing_written(world, size)


def test_a_draw_id_and_a_ceremony_commitment_serve_one_draw_only(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        ceremony = _ceremony(NOW_S + 3600)
        first = draw_body("2026-7")
        ceremony(first)
        assert post(world, "/api/v1/departments/HZ/draws", first, "HZ").status_code == 201
        size = world.log.size()
        again = post(world, "/api/v1/departments/HZ/draws", draw_body("2026-7"), "HZ")
        doc = assert_problem(again, 422, "invalid-field", "body.ref")
        assert doc["errors"][0]["message"] == "draw HZ-2026-7 exists; a new draw needs a new ref"
        reused = draw_body("2026-8")
        ceremony(reused)
        doc = assert_problem(post(world, "/api/v1/departments/HZ/draws", reused, "HZ"), 422, "invalid-field")
        assert doc["errors"] == [{
            "field": "body.sources.ceremony.participants[0].commitment",
            "message": "was declared by an earlier draw; every draw needs fresh commitments",
        }]  # fmt: skip
        assert world.log.size() == size


def test_a_draw_takes_its_population_and_pool_from_roster_snapshots(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        objects = _roster(world, upload("objects", "csv", OBJECTS_CSV))
        pool = _roster(world, upload("inspectors", "csv", INSPECTORS_CSV, title="忻府区执法人员名录"))
        strata = [{"stratum": s, "take": "count", "count": 1} for s in "ABCD"]
        inline = [{"id": "shop:0001", "name": "第1号店", "area": "忻府区局城区所", "stratum": "A"}]
        body = draw_body("rostered", objects_roster=objects["index"], objects=inline, strata=strata)
        body.pop("matching")
        first = copy.deepcopy(body)
        first["strata"] = strata[:3]  # the roster's stratum D object has no rule
        doc = assert_problem(post(world, "/api/v1/departments/HZ/draws", first, "HZ"), 422, "invalid-field")
        assert doc["errors"][0]["field"] == "body.objects_roster"
        assert "unknown stratum 'D'" in doc["errors"][0]["message"]
        clash = copy.deepcopy(body)
        clash["objects"][0]["id"] = "91140902MA0GR7K21P"  # row 1 of the roster
        doc = assert_problem(post(world, "/api/v1/departments/HZ/draws", clash, "HZ"), 422, "invalid-field")
        assert doc["errors"][0]["field"] == "body.objects[0].id"
        created = post(world, "/api/v1/departments/HZ/draws", body, "HZ")
        assert created.status_code == 201, created.text
        status = world.client.get("/api/v1/draws/HZ-rostered").json()
        assert sum(s["size"] for s in status["strata"]) == objects["rows"] + 1
        matching = {
            "as_of": "2024-10-14",
            "items": ["XZ-001"],
            "rules": {"departments": ["HZ"], "exclude_same_area": False},  # a roster's inspectors are HZ's
            "pools": [pool["index"]],
        }
        pooled = draw_body("pooled", objects=inline, strata=strata[:1], matching=matching)
        response = post(world, "/api/v1/departments/HZ/draws", pooled, "HZ")
        assert response.status_code == 201, response.text
        commitment = decode_entry(world.log.entry(response.json()["index"])).body["commitment"]
        assert "sha256:" + commitment["matching"]["inspectors"] == pool["records"]  # the same record list
        other = {**matching, "pools": [objects["index"]]}
        foreign = draw_body("foreign", objects=inline, strata=strata[:1], matching=other)
        doc = assert_problem(post(world, "/api/v1/departments/HZ/draws", foreign, "HZ"), 422, "invalid-field")
        assert doc["errors"][0] == {
            "field": "body.matching.pools[0]",
            "message": f"no inspectors roster snapshot {objects['index']} of HZ",
        }


def _roster(world: World, body: dict[str, Any]) -> dict[str, Any]:
    response = post(world, "/api/v1/departments/HZ/rosters", body, "HZ")
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
