"""Tasks and inspector pools on SQLite and PostgreSQL: task.publish and task.pool entries, joint tasks
whose cooperating departments attach their own inspectors, bad tasks refused naming the member."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from draw.service import tasks
from ledger.entries import decode_entry
from tests.service_helpers import World, assert_auth_matrix, assert_problem, open_world, post
from tests.test_service_plans import PLANS, Lists, plan_body, published, with_lists
from tests.test_service_rosters import ROSTERS, upload
from tests.test_service_rosters_files import INSPECTORS_CSV, OBJECTS_CSV

TASKS = "/api/v1/departments/{}/tasks"


@dataclass
class Setup:
    """Item lists, a plan of HZ, and roster snapshots of HZ and NB (ledger indexes)."""

    lists: Lists
    plan: int
    hz_objects: int
    hz_inspectors: int
    nb_inspectors: int

    @property
    def world(self) -> World:
        return self.lists.world


@pytest.fixture
def setup(db_url: str) -> Iterator[Setup]:
    with open_world(db_url) as world:
        lists = with_lists(world)
        plan = published(world, PLANS.format("HZ"), plan_body(lists), "HZ")["index"]
        hz_objects = published(world, ROSTERS.format("HZ"), upload("objects", "csv", OBJECTS_CSV), "HZ")
        hz_inspectors = published(
            world, ROSTERS.format("HZ"), upload("inspectors", "csv", INSPECTORS_CSV), "HZ"
        )
        nb_inspectors = published(
            world, ROSTERS.format("NB"), upload("inspectors", "csv", INSPECTORS_CSV), "NB"
        )
        yield Setup(lists, plan, hz_objects["index"], hz_inspectors["index"], nb_inspectors["index"])


def joint_task(setup: Setup) -> dict[str, Any]:
    """A joint 定向 task of HZ with NB, carrying out batch 2025-02 of HZ's plan, "1+X" items."""
    hz, nb = setup.lists.hz, setup.lists.nb
    return {
        "ref": "忻市监抽查〔2025〕3号",
        "name": "2025年药品经营企业部门联合抽查",
        "plan": {"index": setup.plan, "batch": "2025-02"},
        "type": "targeted",
        "filter": "持有药品经营许可证的企业",
        "items": [
            {"list": nb, "code": "XZ-020"},
            {"list": hz, "code": "XZ-020"},
            {"list": hz, "code": "XZ-001"},
        ],
        "base_item": {"list": hz, "code": "XZ-001"},
        "cooperators": ["NB"],
        "objects_roster": setup.hz_objects,
        "inspectors_roster": setup.hz_inspectors,
        "start": "2025-07-01",
        "end": "2025-09-30",
    }


def test_auth_matrix(setup: Setup) -> None:
    world, path = setup.world, TASKS.format("HZ")
    assert_auth_matrix(world, "POST", path, own="HZ", other="NB", body=joint_task(setup), want_own=201)
    index = world.client.get(path, headers=world.auth("HZ")).json()["items"][0]["index"]
    for read in (path, f"{path}/{index}"):
        assert_auth_matrix(world, "GET", read, own="HZ", other="NB")
        assert world.client.get(read, headers=world.auth("ZJ")).status_code == 200  # role oversee
    pool = f"{TASKS.format('NB')}/{index}/pool"
    assert_auth_matrix(
        world, "POST", pool, own="NB", other="HZ", body={"roster": setup.nb_inspectors}, want_own=201
    )


def test_a_joint_task_is_an_entry_and_each_department_attaches_its_pool(setup: Setup) -> None:
    world, hz, nb = setup.world, setup.lists.hz, setup.lists.nb
    out = published(world, TASKS.format("HZ"), joint_task(setup), "HZ")
    index = out["index"]
    want = {
        **joint_task(setup),
        "department": "HZ",
        "plan": {"batch": "2025-02", "index": setup.plan},
        "items": [
            {"code": "XZ-001", "list": hz},
            {"code": "XZ-020", "list": hz},
            {"code": "XZ-020", "list": nb},
        ],
    }
    entry = decode_entry(world.log.entry(index))
    assert entry.type == "task.publish" and entry.body == want
    assert out["pools"] == [{"department": "HZ", "roster": setup.hz_inspectors, "index": index}]
    assert world.client.get(TASKS.format("NB"), headers=world.auth("NB")).json()["items"][0]["index"] == index
    attached = published(world, f"{TASKS.format('NB')}/{index}/pool", {"roster": setup.nb_inspectors}, "NB")
    pool_body = dict(decode_entry(world.log.entry(attached["index"])).body)
    assert set(pool_body.pop("request")) == {"note", "content_digest"}  # NB signs its requests
    assert pool_body == {"task": index, "department": "NB", "roster": setup.nb_inspectors}
    assert attached["task"] == index and attached["receipt"]["index"] == attached["index"]
    got = world.client.get(f"{TASKS.format('NB')}/{index}", headers=world.auth("NB")).json()
    assert got["pools"] == [
        {"department": "HZ", "roster": setup.hz_inspectors, "index": index},
        {"department": "NB", "roster": setup.nb_inspectors, "index": attached["index"]},
    ]
    task = tasks.load_task(world.service, index)
    assert task is not None and task.participants() == ["HZ", "NB"] and task.record == want


def test_the_latest_pool_counts(setup: Setup) -> None:
    world = setup.world
    index = published(world, TASKS.format("HZ"), joint_task(setup), "HZ")["index"]
    newer = published(
        world, ROSTERS.format("HZ"), upload("inspectors", "csv", INSPECTORS_CSV, "新名录"), "HZ"
    )
    again = published(world, f"{TASKS.format('HZ')}/{index}/pool", {"roster": newer["index"]}, "HZ")
    task = tasks.load_task(world.service, index)
    assert task is not None and task.pools == {"HZ": (newer["index"], again["index"])}


def test_a_single_department_task_without_a_plan(setup: Setup) -> None:
    body = joint_task(setup) | {"plan": None, "type": "untargeted", "filter": None, "cooperators": []}
    body["items"] = [{"list": setup.lists.hz, "code": "XZ-001"}]
    body["base_item"] = None
    out = published(setup.world, TASKS.format("HZ"), body, "HZ")
    assert out["plan"] is None and out["cooperators"] == [] and out["base_item"] is None
    assert setup.world.client.get(TASKS.format("NB"), headers=setup.world.auth("NB")).json()["items"] == []
    refused = post(
        setup.world, f"{TASKS.format('NB')}/{out['index']}/pool", {"roster": setup.nb_inspectors}, "NB"
    )
    assert_problem(refused, 404, "not-found", "path.index")  # NB takes no part in it


def _change(setup: Setup, **change: Any) -> dict[str, Any]:
    return copy.deepcopy(joint_task(setup)) | change


def _bad_tasks(setup: Setup) -> list[tuple[str, dict[str, Any], str, str]]:
    hz, nb = setup.lists.hz, setup.lists.nb
    return [
        (
            "targeted-without-filter",
            _change(setup, filter=None),
            "body.filter",
            "a targeted task (定向) states its filter",
        ),
        (
            "untargeted-with-filter",
            _change(setup, type="untargeted", plan=None),
            "body.filter",
            "an untargeted task (不定向) has no filter",
        ),
        (
            "type-differs-from-batch",
            _change(setup, type="untargeted", filter=None),
            "body.type",
            "the plan's batch is targeted",
        ),
        (
            "batch-unknown",
            _change(setup, plan={"index": setup.plan, "batch": "2025-09"}),
            "body.plan.batch",
            f"plan {setup.plan} has no batch '2025-09'",
        ),
        (
            "plan-unknown",
            _change(setup, plan={"index": hz, "batch": "2025-02"}),
            "body.plan.index",
            f"no plan {hz} of department HZ",
        ),
        (
            "base-item-not-among-items",
            _change(setup, base_item={"list": hz, "code": "XZ-002"}),
            "body.base_item",
            "the base item must be one of the items",
        ),
        (
            "item-of-stranger",
            _change(setup, cooperators=[]),
            "body.items[0].list",
            f"no item list {nb} of HZ",
        ),
        (
            "objects-roster-is-inspectors",
            _change(setup, objects_roster=setup.hz_inspectors),
            "body.objects_roster",
            f"no objects roster snapshot {setup.hz_inspectors} of department HZ",
        ),
        (
            "inspectors-roster-of-nb",
            _change(setup, inspectors_roster=setup.nb_inspectors),
            "body.inspectors_roster",
            f"no inspectors roster snapshot {setup.nb_inspectors} of department HZ",
        ),
        (
            "ends-before-start",
            _change(setup, end="2025-06-30"),
            "body.end",
            "2025-06-30 is before 2025-07-01",
        ),
        (
            "cooperator-oversee-only",
            _change(setup, cooperators=["NB", "XX"]),
            "body.cooperators[1]",
            "department 'XX' is unknown",
        ),
    ]


def test_bad_tasks_write_nothing(setup: Setup) -> None:
    world = setup.world
    for mutation, body, field, message in _bad_tasks(setup):
        size = world.log.size()
        doc = assert_problem(post(world, TASKS.format("HZ"), body, "HZ"), 422, "invalid-field", field)
        assert {"field": field, "message": message} in doc["errors"], mutation
        assert world.log.size() == size, mutation
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tasks.tasks)).scalar_one() == 0


def test_a_ref_is_used_once(setup: Setup) -> None:
    first = published(setup.world, TASKS.format("HZ"), joint_task(setup), "HZ")
    doc = assert_problem(
        post(setup.world, TASKS.format("HZ"), joint_task(setup), "HZ"), 422, "invalid-field", "body.ref"
    )
    assert doc["errors"][0]["message"] == f"task {first['index']} already has the ref '忻市监抽查〔2025〕3号'"


def test_bad_pools_write_nothing(setup: Setup) -> None:
    world = setup.world
    index = published(world, TASKS.format("HZ"), joint_task(setup), "HZ")["index"]
    size = world.log.size()
    path = f"{TASKS.format('NB')}/{index}/pool"
    wrong_kind = post(world, path, {"roster": setup.hz_objects}, "NB")
    doc = assert_problem(wrong_kind, 422, "invalid-field", "body.roster")
    assert doc["errors"][0]["message"] == f"no inspectors roster snapshot {setup.hz_objects} of department NB"
    assert_problem(
        post(world, path, {"roster": setup.hz_inspectors}, "NB"), 422, "invalid-field", "body.roster"
    )
    unknown = post(world, f"{TASKS.format('NB')}/{setup.plan}/pool", {"roster": setup.nb_inspectors}, "NB")
    assert_problem(unknown, 404, "not-found", "path.index")
    assert_problem(post(world, path, {"roster": -1}, "NB"), 422, "invalid-field", "body.roster")
    assert world.log.size() == size
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tasks.pools)).scalar_one() == 0


def test_tasks_are_listed_for_each_participant_and_paged(setup: Setup) -> None:
    world = setup.world
    indexes = [
        published(world, TASKS.format("HZ"), joint_task(setup) | {"ref": f"忻市监抽查〔2025〕{n}号"}, "HZ")[
            "index"
        ]
        for n in range(3)
    ]
    for code in ("HZ", "NB"):
        first = world.client.get(TASKS.format(code) + "?limit=2", headers=world.auth(code)).json()
        rest = world.client.get(
            TASKS.format(code) + f"?limit=2&cursor={first['next_cursor']}", headers=world.auth(code)
        ).json()
        assert [t["index"] for t in first["items"] + rest["items"]] == indexes
    assert tasks.load_task(world.service, setup.plan) is None
    assert_problem(
        world.client.get(f"{TASKS.format('HZ')}/{setup.plan}", headers=world.auth("HZ")), 404, "not-found"
    )
