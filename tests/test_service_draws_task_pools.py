"""A draw for a task that omits ``matching.pools`` draws from the task's pools (the latest of every
participating department), on SQLite and PostgreSQL; a participant without a pool is refused, with
nothing written; explicit pools keep working; the commitment's inspector blob is the pools' records."""

from __future__ import annotations

from typing import Any

from draw.engine.commit import format_record_list
from draw.service import draws_store
from draw.service.rosters import load_snapshot
from ledger import blobs
from ledger.entries import decode_entry
from tests.service_helpers import World, assert_problem, post
from tests.test_service_draws_helpers import COMMIT_MS, draw_body, open_draw_world
from tests.test_service_items import ITEM_LIST
from tests.test_service_rosters import upload
from tests.test_service_rosters_files import INSPECTORS_CSV, OBJECTS_CSV

ROSTERS = "/api/v1/departments/{}/rosters"
DRAWS = "/api/v1/departments/HZ/draws"
STRATA = [{"stratum": s, "take": "count", "count": 1} for s in "ABCD"]


def _published(world: World, path: str, body: dict[str, Any], code: str) -> dict[str, Any]:
    response = post(world, path, body, code)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _inspectors(world: World, code: str, prefix: str) -> dict[str, Any]:
    csv = INSPECTORS_CSV.replace(b",1409", b"," + prefix.encode())  # other 执法证号 per roster
    body = upload("inspectors", "csv", csv, title=f"{code} 执法人员")
    return _published(world, ROSTERS.format(code), body, code)


def _joint_task(world: World) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    items = _published(world, "/api/v1/departments/HZ/items", ITEM_LIST, "HZ")
    objects = _published(world, ROSTERS.format("HZ"), upload("objects", "csv", OBJECTS_CSV), "HZ")
    pools = {"HZ": _inspectors(world, "HZ", "1409"), "NB": _inspectors(world, "NB", "2409")}
    task = _published(world, "/api/v1/departments/HZ/tasks", {
        "ref": "忻市监抽查〔2024〕9号", "name": "2024年联合抽查", "type": "untargeted",
        "items": [{"list": items["index"], "code": "XZ-001"}], "cooperators": ["NB"],
        "objects_roster": objects["index"], "inspectors_roster": pools["HZ"]["index"],
        "start": "2024-10-15", "end": "2024-11-15",
    }, "HZ")  # fmt: skip
    return task, objects, pools


def _body(ref: str, task: dict[str, Any], objects: dict[str, Any], pools: list[int] | None) -> dict[str, Any]:
    matching: dict[str, Any] = {
        "as_of": "2024-10-14",
        "items": ["XZ-001"],
        "rules": {"departments": ["HZ", "NB"], "exclude_same_area": False},
    }
    if pools is not None:
        matching["pools"] = pools
    body = draw_body(
        ref, task=task["index"], objects_roster=objects["index"], strata=STRATA, matching=matching
    )
    body.pop("objects")
    return body


def _pool_blob(world: World, draw: dict[str, Any]) -> str:
    commitment = decode_entry(world.log.entry(draw["index"])).body["commitment"]
    return "sha256:" + str(commitment["matching"]["inspectors"])


def _want(world: World, *rosters: dict[str, Any]) -> str:
    snapshots = [load_snapshot(world.service, r["index"]) for r in rosters]
    inspectors = [i for snapshot in snapshots if snapshot is not None for i in snapshot.inspectors()]
    assert None not in snapshots
    return blobs.digest_of(format_record_list(inspectors))


def test_a_task_draw_without_pools_takes_every_participants_latest_pool(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        task, objects, pools = _joint_task(world)
        size = world.log.size()
        refused = post(world, DRAWS, _body("early", task, objects, None), "HZ")
        doc = assert_problem(refused, 422, "invalid-field", "body.matching.pools")
        assert doc["errors"] == [{
            "field": "body.matching.pools",
            "message": f"NB attached no inspector pool to task {task['index']} "
            f"(POST .../tasks/{task['index']}/pool); attach one, or name the pools",
        }]  # fmt: skip
        assert world.log.size() == size and draws_store.load(world.service, "HZ-early") is None

        both = [pools["HZ"]["index"], pools["NB"]["index"]]
        explicit = _published(world, DRAWS, _body("explicit", task, objects, both), "HZ")  # NB: unattached
        assert _pool_blob(world, explicit) == _want(world, pools["HZ"], pools["NB"])

        pool_path = "/api/v1/departments/{}/tasks/" + str(task["index"]) + "/pool"
        _published(world, pool_path.format("NB"), {"roster": pools["NB"]["index"]}, "NB")
        from_task = _published(world, DRAWS, _body("from-task", task, objects, None), "HZ")
        assert _pool_blob(world, from_task) == _pool_blob(world, explicit)
        assert world.client.get("/api/v1/draws/HZ-from-task").json()["task"] == task["index"]

        newer = {"HZ": _inspectors(world, "HZ", "3409"), "NB": _inspectors(world, "NB", "4409")}
        _published(world, pool_path.format("HZ"), {"roster": newer["HZ"]["index"]}, "HZ")
        _published(world, pool_path.format("NB"), {"roster": newer["NB"]["index"]}, "NB")
        latest = _published(world, DRAWS, _body("latest", task, objects, None), "HZ")
        assert _pool_blob(world, latest) == _want(world, newer["HZ"], newer["NB"])
        old = _published(world, DRAWS, _body("old-pools", task, objects, both), "HZ")  # explicit still wins
        assert _pool_blob(world, old) == _pool_blob(world, explicit)

