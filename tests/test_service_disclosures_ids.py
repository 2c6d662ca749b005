"""Object ids that do not fit a path segment as they are: ``kind:local`` ids holding ``/``, ``%``,
spaces and non-ASCII text are disclosed, corrected, withdrawn and read through ``{object_id}``
percent-encoded (RFC 3986), matched on the path as sent (draw.service.segments). Every test runs on
SQLite and PostgreSQL; the draw lifecycle is a test double (FakeTargets), except in one test of a
real draw revealed at once."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from starlette.routing import Match

from draw.service.disclosures import TARGETS_STATE
from draw.service.routing import ApiRoute, Operation
from draw.service.segments import SegmentRoute, raw_segments
from draw.service.signature import check_request_record
from tests.service_helpers import World, assert_problem, open_world, post
from tests.test_service_disclosures_helpers import Draw, FakeTargets, iter_entries, result_body
from tests.test_service_draws_helpers import (
    COMMIT_MS,
    QUICKNET_ROUND,
    drand_round,
    draw_body,
    open_draw_world,
)

DRAW = "D-2025-002"
SLASHED = "doc:2025/忻州/017"  # "/" and non-ASCII
PERCENT = "lot:50%/批次 A"  # "%", "/", a space and non-ASCII
TAILED = "doc:a/corrections"  # ends like the corrections route
PLAIN = "doc:a"
END = datetime.date(2025, 11, 20)


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with open_world(db_url) as w:
        objects = dict.fromkeys((SLASHED, PERCENT, TAILED, PLAIN), END)
        targets = FakeTargets({DRAW: Draw("HZ", objects), "D-NB-2": Draw("NB", {SLASHED: END})})
        setattr(w.client.app.state, TARGETS_STATE, targets)  # type: ignore[attr-defined]
        yield w


def url(obj: str, tail: str = "", draw: str = DRAW) -> str:
    """Return the disclosure path of ``obj``, the id percent-encoded as one segment."""
    return f"/api/v1/draws/{draw}/disclosures/{quote(obj, safe='')}{tail}"


def read(world: World, obj: str, draw: str = DRAW) -> list[dict[str, Any]]:
    response = world.client.get(url(obj, draw=draw))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert response.json()["next_cursor"] is None
    return items


@pytest.mark.parametrize("obj", [SLASHED, PERCENT, TAILED])
def test_an_id_with_a_slash_is_disclosed_corrected_withdrawn_and_read(world: World, obj: str) -> None:
    first = world.log.size()
    assert "%2F" in url(obj)
    created = post(world, url(obj), result_body(), "HZ")
    assert created.status_code == 201, created.text
    [item] = read(world, obj)
    assert (item["object_id"], item["state"], item["disclosure"]) == (obj, "disclosed", first)
    fixed = result_body(results=["1"], measures=None)
    assert post(world, url(obj, "/corrections"), fixed, "HZ").status_code == 201
    [item] = read(world, obj)
    assert (item["state"], item["content"]) == ("corrected", fixed)
    withdrawal = {"reason": "annulled", "erase": False}
    assert post(world, url(obj, "/withdrawal"), withdrawal, "HZ").status_code == 201
    [item] = read(world, obj)
    assert item["state"] == "withdrawn" and item["content"] is None
    entries = list(iter_entries(world, first))
    assert [e["body"]["object_id"] for e in entries] == [obj] * 3
    assert [e["type"] for e in entries] == ["disclosure.result", "disclosure.correct", "disclosure.withdraw"]
    listed = world.client.get(f"/api/v1/draws/{DRAW}/disclosures").json()["items"]
    assert [i["object_id"] for i in listed] == [obj]
    assert read(world, PLAIN) == []  # "doc:a" is another object, undisclosed


def test_a_slash_sent_as_a_slash_still_separates_segments(world: World) -> None:
    assert post(world, url(PLAIN), result_body(), "HZ").status_code == 201
    size = world.log.size()
    # /disclosures/doc:a/corrections is the corrections route of doc:a, not a disclosure of TAILED
    corrected = post(world, f"/api/v1/draws/{DRAW}/disclosures/doc:a/corrections", result_body(), "HZ")
    assert corrected.status_code == 201, corrected.text
    [entry] = iter_entries(world, size)
    assert (entry["type"], entry["body"]["object_id"]) == ("disclosure.correct", PLAIN)
    assert read(world, TAILED) == []
    # an unencoded slash inside an id leaves a path no route has
    missing = world.client.post(
        f"/api/v1/draws/{DRAW}/disclosures/doc:2025/x/017", content=b"{}", headers=world.auth("HZ")
    )
    assert missing.status_code == 404 and missing.json()["type"] == "about:blank"


def test_a_signed_request_signs_the_path_as_sent(world: World) -> None:
    first = world.log.size()
    body = result_body()
    response = post(world, url(SLASHED, draw="D-NB-2"), body, "NB")  # NB signs every POST
    assert response.status_code == 201, response.text
    [entry] = iter_entries(world, first)
    fields = check_request_record(entry["body"]["request"], world.signing_keys["NB"].verifier_key, body)
    assert fields.path == "/api/v1/draws/D-NB-2/disclosures/doc%3A2025%2F%E5%BF%BB%E5%B7%9E%2F017"


def test_ids_are_checked_once_decoded(world: World) -> None:
    cases = [
        ("doc%3A", "'doc:' is not an object id"),  # no local part
        (quote("91110000600037341X", safe=""), "'91110000600037341X' is not an object id"),
        (quote("doc:x/y", safe=""), "object doc:x/y was not drawn in D-2025-002"),
    ]
    for segment, message in cases:
        path = f"/api/v1/draws/{DRAW}/disclosures/{segment}"
        doc = assert_problem(post(world, path, result_body(), "HZ"), 404, "not-found", "path.object_id")
        assert doc["errors"][0]["message"] == message
    doc = assert_problem(world.client.get(f"/api/v1/draws/{DRAW}/disclosures/doc%3A"), 404, "not-found")
    assert doc["errors"] == [{"field": "path.object_id", "message": "'doc:' is not an object id"}]
    bad_utf8 = world.client.get(f"/api/v1/draws/{DRAW}/disclosures/doc%3A%FF")
    assert bad_utf8.status_code == 404 and bad_utf8.json()["type"] == "about:blank"
    assert world.client.get(f"/api/v1/draws/{DRAW}/disclosures/{quote(SLASHED, safe='')}").json() == {
        "items": [],
        "next_cursor": None,
    }


def test_the_openapi_document_names_the_encoding(world: World) -> None:
    doc = world.client.get("/api/v1/openapi.json").json()
    item = doc["paths"]["/draws/{draw_id}/disclosures/{object_id}"]
    assert sorted(item) == ["get", "post"]
    for operation in (item["get"], item["post"]):
        [param] = [p for p in operation["parameters"] if p["name"] == "object_id"]
        assert param["in"] == "path" and param["required"] is True
        assert "'/' as %2F, '%' as %25" in param["description"]


def test_a_revealed_draw_of_such_ids_is_disclosed_through_the_api(db_url: str) -> None:
    ids = [f"doc:2024/忻州/{i:03d}" if i % 2 else f"lot:{i}0%/批次 A" for i in range(12)]
    objects = [
        {"id": i, "name": f"第{n}号", "area": "城区所", "stratum": "AB"[n % 2]} for n, i in enumerate(ids)
    ]
    strata = [{"stratum": "A", "take": "count", "count": 2}, {"stratum": "B", "take": "count", "count": 2}]
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        body = draw_body("ids", objects=objects, strata=strata, matching=None, publish_immediately=True)
        assert post(world, "/api/v1/departments/HZ/draws", body, "HZ").status_code == 201
        beacon = post(world, "/api/v1/draws/HZ-ids/beacon", drand_round("quicknet", QUICKNET_ROUND), "HZ")
        assert beacon.json()["state"] == "revealed", beacon.text
        result = world.client.get("/api/v1/draws/HZ-ids/result", headers=world.auth("HZ")).json()["result"]
        picked = sorted(o["record"]["id"] for s in result["strata"] for o in s["selected"])
        assert len(picked) == 4 and all("/" in i for i in picked) and any("%" in i for i in picked)
        for obj in picked:
            disclosure = result_body(inspected_on="2024-10-15")
            answer = post(world, url(obj, draw="HZ-ids"), disclosure, "HZ")
            assert answer.status_code == 201, answer.text
            [item] = read(world, obj, draw="HZ-ids")
            assert (item["object_id"], item["content"]) == (obj, disclosure)
        listed = world.client.get("/api/v1/draws/HZ-ids/disclosures").json()["items"]
        assert sorted(i["object_id"] for i in listed) == picked


# -- SegmentRoute on its own ----------------------------------------------------------------------


def _route(path: str) -> SegmentRoute:
    return SegmentRoute(ApiRoute(path, lambda request: None, "GET", Operation("s", "d", (), None)))


def _scope(raw: bytes | None, path: str, root: str = "/api/v1", method: str = "GET") -> dict[str, Any]:
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": root}
    if raw is not None:
        scope["raw_path"] = raw
    return scope


def test_segments_are_decoded_one_at_a_time() -> None:
    assert raw_segments(b"/a/b%2Fc/%E5%BF%BB%25") == ["", "a", "b/c", "忻%"]
    assert raw_segments(b"/a/%FF") is None
    route = _route("/draws/{draw_id}/disclosures/{object_id}")
    match, child = route.matches(_scope(b"/api/v1/draws/D-1/%64isclosures/a%2Fb", "/api/v1/draws/D-1/x"))
    assert match is Match.FULL and child["path_params"] == {"draw_id": "D-1", "object_id": "a/b"}
    assert route.matches(_scope(b"/api/v1/draws/D-1/disclosures/a/b", "/"))[0] is Match.NONE
    assert route.matches(_scope(b"/api/v1/draws/D-1/disclosures/", "/"))[0] is Match.NONE
    assert route.matches(_scope(b"/api/v1/draws/D-1/disclosures/a", "/", method="POST"))[0] is Match.PARTIAL


def test_without_the_raw_path_the_decoded_path_is_matched() -> None:
    route = _route("/draws/{draw_id}/disclosures/{object_id}")
    match, child = route.matches(_scope(None, "/api/v1/draws/D-1/disclosures/a"))
    assert match is Match.FULL and child["path_params"] == {"draw_id": "D-1", "object_id": "a"}
    other_prefix = _scope(b"/v1/draws/D-1/disclosures/a", "/api/v1/draws/D-1/disclosures/a")
    assert route.matches(other_prefix)[0] is Match.FULL


def test_a_parameter_must_be_a_whole_plain_segment() -> None:
    with pytest.raises(ValueError, match=r"^segments: /a/x\{b\}: a parameter must be a whole segment$"):
        _route("/a/x{b}")
    with pytest.raises(ValueError, match=r"^segments: /a/\{b:int\}: parameters take no convertor$"):
        _route("/a/{b:int}")
