"""The 抽查事项清单 endpoints on SQLite and PostgreSQL: versions as entries, the items as a blob, bad
lists refused naming the member with nothing written."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from draw.service import items
from ledger import blobs, jcs
from ledger.entries import decode_entry
from tests.service_helpers import World, assert_auth_matrix, assert_problem, open_world, post

ITEMS = "/api/v1/departments/{}/items"

# A short 抽查事项清单 in the shape of the published lists (domain notes §1.2).
ITEM_LIST: dict[str, Any] = {
    "title": "忻州市市场监督管理局双随机抽查事项清单",
    "label": "第一版",
    "effective": "2025-01-01",
    "items": [
        {
            "code": "XZ-002",
            "category": "公示信息检查",
            "name": "年度报告公示信息的检查",
            "kind": "general",
            "objects": "企业",
            "basis": "《企业信息公示暂行条例》第三条、第八条",
            "subject": "县级以上市场监管部门",
            "methods": ["网络检查", "书面检查", "现场检查"],
            "max_ratio": "5/100",
        },
        {
            "code": "XZ-001",
            "category": "登记事项检查",
            "name": "营业执照（登记证）规范使用情况的检查",
            "kind": "general",
            "objects": "企业、个体工商户、农民专业合作社",
            "basis": "《市场主体登记管理条例》第二十五条",
            "subject": "县级以上市场监管部门",
            "methods": ["现场检查", "网络检查"],
            "content": "是否在住所或者主要经营场所的醒目位置悬挂营业执照",
            "max_ratio": "300bp",
            "frequency": "每年1次",
        },
        {
            "code": "XZ-010",
            "category": "食品安全检查",
            "name": "食品生产者生产活动的检查",
            "kind": "key",
            "objects": "食品生产者",
            "basis": "《中华人民共和国食品安全法》第一百一十条",
            "subject": "县级以上市场监管部门",
            "methods": ["现场检查"],
            "inspector_requirements": "具有食品安全执法资格",
        },
        {
            "code": "XZ-020",
            "category": "药品经营检查",
            "name": "药品经营企业经营活动的检查",
            "kind": "key",
            "objects": "药品经营企业",
            "basis": "《中华人民共和国药品管理法》第九十九条",
            "subject": "县级以上市场监管部门",
            "methods": ["现场检查"],
            "initiator": "市场监管部门",
            "cooperators": ["卫生健康部门"],
            "remark": "部门联合抽查",
        },
    ],
}
DEFAULTS = {
    "content": None,
    "max_ratio": None,
    "frequency": None,
    "inspector_requirements": None,
    "initiator": None,
    "cooperators": [],
    "remark": None,
}


def want_records(item_list: dict[str, Any]) -> list[dict[str, Any]]:
    """The item records of ``item_list``: defaults filled in, lists sorted, ordered by code."""
    out = [{**DEFAULTS, **item, "methods": sorted(item["methods"])} for item in item_list["items"]]
    return sorted(out, key=lambda record: record["code"])


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with open_world(db_url) as w:
        yield w


def publish(world: World, code: str, item_list: dict[str, Any] = ITEM_LIST) -> dict[str, Any]:
    response = post(world, ITEMS.format(code), item_list, code)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def test_auth_matrix(world: World) -> None:
    path = ITEMS.format("HZ")
    assert_auth_matrix(world, "POST", path, own="HZ", other="NB", body=ITEM_LIST, want_own=201)
    index = world.client.get(path, headers=world.auth("HZ")).json()["items"][0]["index"]
    for read in (path, f"{path}/{index}"):
        assert_auth_matrix(
            world, "GET", read, own="HZ", other="NB", want_other=200
        )  # published lists are public


def test_a_list_is_an_entry_and_a_blob(world: World) -> None:
    out = publish(world, "HZ")
    records = want_records(ITEM_LIST)
    content = jcs.canonicalize(records)
    entry = decode_entry(world.log.entry(out["index"]))
    assert entry.type == "items.publish"
    assert entry.body == {
        "department": "HZ",
        "title": "忻州市市场监督管理局双随机抽查事项清单",
        "label": "第一版",
        "effective": "2025-01-01",
        "count": 4,
        "items": blobs.digest_of(content),
    }
    with world.service.engine.connect() as conn:
        assert blobs.get(conn, entry.body["items"]) == content
    assert out["records"] == records and out["version"] == 1 and out["count"] == 4
    assert out["receipt"]["index"] == out["index"]
    got = world.client.get(f"{ITEMS.format('HZ')}/{out['index']}", headers=world.auth("NB")).json()
    assert got == {k: v for k, v in out.items() if k != "receipt"}


def test_a_new_version_is_a_new_entry(world: World) -> None:
    first = publish(world, "HZ")
    second_list = copy.deepcopy(ITEM_LIST) | {"label": "第二版", "effective": "2025-07-01"}
    second_list["items"] = second_list["items"][:2]
    second = publish(world, "HZ", second_list)
    other = publish(world, "NB")
    assert (first["version"], second["version"], other["version"]) == (1, 2, 1)
    assert decode_entry(world.log.entry(first["index"])).body["count"] == 4  # nothing edited
    page = world.client.get(ITEMS.format("HZ") + "?limit=1", headers=world.auth("HZ")).json()
    assert [s["version"] for s in page["items"]] == [1]
    rest = world.client.get(
        ITEMS.format("HZ") + f"?cursor={page['next_cursor']}", headers=world.auth("HZ")
    ).json()
    assert [(s["index"], s["version"], s["count"]) for s in rest["items"]] == [(second["index"], 2, 2)]
    assert "records" not in rest["items"][0]
    found = items.load_item_list(world.service, second["index"])
    assert found is not None and found.codes() == {"XZ-001", "XZ-002"} and found.version == 2


def test_text_is_normalized_to_nfc(world: World) -> None:
    decomposed = copy.deepcopy(ITEM_LIST)
    decomposed["items"][0]["name"] = "Cafe\u0301 年报检查"
    out = publish(world, "HZ", decomposed)
    assert {r["code"]: r["name"] for r in out["records"]}["XZ-002"] == "Café 年报检查"


def _with(change: dict[str, Any], item: int | None = None) -> dict[str, Any]:
    body = copy.deepcopy(ITEM_LIST)
    if item is None:
        body.update(change)
    else:
        body["items"][item].update(change)
    return body


BAD_LISTS = [
    ("code-repeats", _with({"code": "XZ-002"}, 1), "body.items[1].code", "code 'XZ-002' repeats"),
    (
        "ratio-on-key-item",
        _with({"max_ratio": "1/10"}, 2),
        "body.items[2].max_ratio",
        "a key item (重点) has no upper limit",
    ),
    (
        "ratio-percent",
        _with({"max_ratio": "3%"}, 0),
        "body.items[0].max_ratio",
        "ratio '3%' must be written n/d or Nbp",
    ),
    (
        "ratio-above-one",
        _with({"max_ratio": "11/10"}, 0),
        "body.items[0].max_ratio",
        "ratio 11/10 above 100 %",
    ),
    ("kind-unknown", _with({"kind": "重点"}, 0), "body.items[0].kind", None),
    ("methods-empty", _with({"methods": []}, 0), "body.items[0].methods", None),
    (
        "effective-impossible",
        _with({"effective": "2025-02-30"}),
        "body.effective",
        "no such date '2025-02-30'",
    ),
    ("title-control-char", _with({"title": "清单\x07"}), "body.title", "control character or lone surrogate"),
    ("name-padded", _with({"name": "年报 "}, 0), "body.items[0].name", "leading or trailing white space"),
    ("member-unknown", _with({"ratio": "3/100"}, 0), "body.items[0].ratio", None),
    ("items-empty", _with({"items": []}), "body.items", None),
]


@pytest.mark.parametrize(("mutation", "body", "field", "message"), BAD_LISTS, ids=[b[0] for b in BAD_LISTS])
def test_bad_lists_write_nothing(
    world: World, mutation: str, body: dict[str, Any], field: str, message: str | None
) -> None:
    size = world.log.size()
    doc = assert_problem(post(world, ITEMS.format("HZ"), body, "HZ"), 422, "invalid-field", field)
    if message is not None:
        assert {"field": field, "message": message} in doc["errors"], mutation
    assert world.log.size() == size
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(items.item_lists)).scalar_one() == 0


def test_unknown_lists_are_not_found(world: World) -> None:
    index = publish(world, "NB")["index"]
    for path in (f"{ITEMS.format('HZ')}/{index}", f"{ITEMS.format('HZ')}/0", f"{ITEMS.format('HZ')}/x1"):
        assert_problem(world.client.get(path, headers=world.auth("HZ")), 404, "not-found", "path.index")
    assert items.load_item_list(world.service, 0) is None
