"""Annual plans on SQLite and PostgreSQL: plan.publish entries, batches referring to published items
and cooperating departments, revisions, bad plans refused naming the member with nothing written."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from draw.service import plans
from ledger.entries import decode_entry
from tests.service_helpers import World, assert_auth_matrix, assert_problem, open_world, post
from tests.test_service_items import ITEM_LIST, ITEMS

PLANS = "/api/v1/departments/{}/plans"


@dataclass
class Lists:
    """A world where HZ and NB have published their item lists (ledger indexes)."""

    world: World
    hz: int
    nb: int


def published(world: World, path: str, body: Any, code: str) -> dict[str, Any]:
    """POST ``body`` as ``code`` and return the 201 response's body."""
    response = post(world, path, body, code)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def with_lists(world: World) -> Lists:
    """Publish ITEM_LIST for HZ and NB."""
    hz = published(world, ITEMS.format("HZ"), ITEM_LIST, "HZ")["index"]
    nb = published(world, ITEMS.format("NB"), ITEM_LIST, "NB")["index"]
    return Lists(world, hz, nb)


@pytest.fixture
def lists(db_url: str) -> Iterator[Lists]:
    with open_world(db_url) as world:
        yield with_lists(world)


def plan_body(lists: Lists) -> dict[str, Any]:
    """An annual plan of HZ with a single-department batch and a joint batch with NB."""
    return {
        "year": 2025,
        "title": "忻州市市场监督管理局2025年度双随机抽查工作计划",
        "start": "2025-01-01",
        "end": "2025-12-31",
        "filed_with": "山西省市场监督管理局",
        "batches": [
            {
                "ref": "2025-01",
                "name": "登记事项和年报公示信息抽查",
                "type": "untargeted",
                "items": [{"list": lists.hz, "code": "XZ-002"}, {"list": lists.hz, "code": "XZ-001"}],
                "scope": "辖区内登记的企业、个体工商户和农民专业合作社",
                "ratio": "3%；每年1次",
                "start": "2025-03-01",
                "end": "2025-06-30",
            },
            {
                "ref": "2025-02",
                "name": "药品经营企业联合抽查",
                "type": "targeted",
                "items": [{"list": lists.nb, "code": "XZ-020"}, {"list": lists.hz, "code": "XZ-020"}],
                "scope": "药品经营企业",
                "ratio": "10%",
                "start": "2025-07-01",
                "end": "2025-10-31",
                "cooperators": ["NB"],
            },
        ],
    }


def test_auth_matrix(lists: Lists) -> None:
    world, path = lists.world, PLANS.format("HZ")
    assert_auth_matrix(world, "POST", path, own="HZ", other="NB", body=plan_body(lists), want_own=201)
    index = world.client.get(path, headers=world.auth("HZ")).json()["items"][0]["index"]
    for read in (path, f"{path}/{index}"):
        assert_auth_matrix(
            world, "GET", read, own="HZ", other="NB", want_other=200
        )  # published plans are public


def test_a_plan_is_one_entry(lists: Lists) -> None:
    out = published(lists.world, PLANS.format("HZ"), plan_body(lists), "HZ")
    body = decode_entry(lists.world.log.entry(out["index"])).body
    want_batches = [
        {
            **plan_body(lists)["batches"][0],
            "items": [{"code": "XZ-001", "list": lists.hz}, {"code": "XZ-002", "list": lists.hz}],
            "cooperators": [],
        },
        {
            **plan_body(lists)["batches"][1],
            "items": [{"code": "XZ-020", "list": lists.hz}, {"code": "XZ-020", "list": lists.nb}],
        },
    ]
    assert body == {
        "department": "HZ",
        "year": 2025,
        "title": "忻州市市场监督管理局2025年度双随机抽查工作计划",
        "start": "2025-01-01",
        "end": "2025-12-31",
        "filed_with": "山西省市场监督管理局",
        "supersedes": None,
        "batches": want_batches,
    }
    assert {k: v for k, v in out.items() if k not in ("index", "receipt")} == body
    got = lists.world.client.get(f"{PLANS.format('HZ')}/{out['index']}", headers=lists.world.auth("ZJ"))
    assert got.json() == {k: v for k, v in out.items() if k != "receipt"}
    found = plans.load_plan(lists.world.service, out["index"])
    assert found is not None and found.batch("2025-02") == want_batches[1] and found.batch("x") is None


def test_a_revision_supersedes_the_plan(lists: Lists) -> None:
    first = published(lists.world, PLANS.format("HZ"), plan_body(lists), "HZ")
    revised = plan_body(lists) | {"supersedes": first["index"], "title": "2025年度计划（修订）"}
    second = published(lists.world, PLANS.format("HZ"), revised, "HZ")
    assert second["supersedes"] == first["index"]
    listed = lists.world.client.get(PLANS.format("HZ"), headers=lists.world.auth("NB")).json()
    assert [p["index"] for p in listed["items"]] == [first["index"], second["index"]]


def _mutated(lists: Lists, path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(plan_body(lists))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


BAD_PLANS: list[tuple[str, list[Any], Any, str, str]] = [
    (
        "item-code-unknown",
        ["batches", 0, "items", 0, "code"],
        "XZ-999",
        "body.batches[0].items[0].code",
        "no item 'XZ-999' in list {hz}",
    ),
    (
        "item-list-of-stranger",
        ["batches", 0, "items", 0, "list"],
        "{nb}",
        "body.batches[0].items[0].list",
        "no item list {nb} of HZ",
    ),
    (
        "item-list-unknown",
        ["batches", 1, "items", 0, "list"],
        0,
        "body.batches[1].items[0].list",
        "no item list 0 of HZ, NB",
    ),
    (
        "item-repeats",
        ["batches", 0, "items", 1, "code"],
        "XZ-002",
        "body.batches[0].items[1]",
        "the item repeats",
    ),
    (
        "cooperator-unknown",
        ["batches", 1, "cooperators"],
        ["QQ"],
        "body.batches[1].cooperators[0]",
        "department 'QQ' is unknown",
    ),
    (
        "cooperator-self",
        ["batches", 1, "cooperators"],
        ["HZ"],
        "body.batches[1].cooperators[0]",
        "department 'HZ' is the department itself",
    ),
    (
        "cooperator-repeats",
        ["batches", 1, "cooperators"],
        ["NB", "NB"],
        "body.batches[1].cooperators[1]",
        "department 'NB' repeats",
    ),
    (
        "batch-outside-plan",
        ["batches", 1, "end"],
        "2026-01-31",
        "body.batches[1].start",
        "outside the plan's period 2025-01-01..2025-12-31",
    ),
    (
        "batch-ends-before-start",
        ["batches", 0, "end"],
        "2025-02-01",
        "body.batches[0].end",
        "2025-02-01 is before 2025-03-01",
    ),
    (
        "batch-ref-repeats",
        ["batches", 1, "ref"],
        "2025-01",
        "body.batches[1].ref",
        "batch ref '2025-01' repeats",
    ),
    (
        "start-in-other-year",
        ["start"],
        "2024-12-01",
        "body.start",
        "the plan for 2025 starts in another year",
    ),
    ("supersedes-unknown", ["supersedes"], 1, "body.supersedes", "no plan 1 of department HZ"),
    ("date-impossible", ["end"], "2025-12-32", "body.end", "no such date '2025-12-32'"),
    (
        "scope-too-long",
        ["batches", 0, "scope"],
        "范" * 1001,
        "body.batches[0].scope",
        "String should have at most 1000 characters",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "path", "value", "field", "message"), BAD_PLANS, ids=[b[0] for b in BAD_PLANS]
)
def test_bad_plans_write_nothing(
    lists: Lists, mutation: str, path: list[Any], value: Any, field: str, message: str
) -> None:
    value = value.format(hz=lists.hz, nb=lists.nb) if isinstance(value, str) and "{" in value else value
    value = int(value) if mutation == "item-list-of-stranger" else value
    world, size = lists.world, lists.world.log.size()
    doc = assert_problem(
        post(world, PLANS.format("HZ"), _mutated(lists, path, value), "HZ"), 422, "invalid-field"
    )
    assert {"field": field, "message": message.format(hz=lists.hz, nb=lists.nb)} in doc["errors"], mutation
    assert world.log.size() == size
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(plans.plans)).scalar_one() == 0


def test_a_plan_too_large_for_one_entry_is_refused(lists: Lists) -> None:
    batch = plan_body(lists)["batches"][0] | {"scope": "范" * 1000, "name": "名" * 200}
    body = plan_body(lists) | {"batches": [batch | {"ref": f"B{n}"} for n in range(30)]}
    size = lists.world.log.size()
    doc = assert_problem(post(lists.world, PLANS.format("HZ"), body, "HZ"), 422, "invalid-field", "body")
    assert re.fullmatch(
        r"ledger: entry of [0-9]+ bytes exceeds the 65535-byte limit", doc["errors"][0]["message"]
    )
    assert lists.world.log.size() == size


def test_superseding_another_departments_plan_is_refused(lists: Lists) -> None:
    nb_plan = plan_body(lists) | {
        "batches": [plan_body(lists)["batches"][0] | {"items": [{"list": lists.nb, "code": "XZ-001"}]}]
    }
    other = published(lists.world, PLANS.format("NB"), nb_plan, "NB")
    body = plan_body(lists) | {"supersedes": other["index"]}
    doc = assert_problem(
        post(lists.world, PLANS.format("HZ"), body, "HZ"), 422, "invalid-field", "body.supersedes"
    )
    assert doc["errors"][0]["message"] == f"no plan {other['index']} of department HZ"
    mine = published(lists.world, PLANS.format("HZ"), plan_body(lists), "HZ")
    next_year = plan_body(lists) | {
        "year": 2026,
        "start": "2026-01-01",
        "end": "2026-12-31",
        "supersedes": mine["index"],
    }
    next_year["batches"] = [b | {"start": "2026-03-01", "end": "2026-06-30"} for b in next_year["batches"]]
    doc = assert_problem(
        post(lists.world, PLANS.format("HZ"), next_year, "HZ"), 422, "invalid-field", "body.supersedes"
    )
    assert doc["errors"][0]["message"] == f"plan {mine['index']} is for 2025"


def test_unknown_plans_are_not_found(lists: Lists) -> None:
    world = lists.world
    for path in (f"{PLANS.format('HZ')}/{lists.hz}", f"{PLANS.format('HZ')}/12345"):
        assert_problem(world.client.get(path, headers=world.auth("HZ")), 404, "not-found", "path.index")
