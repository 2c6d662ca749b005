"""HTTP conventions: problem documents, body limits, strict JSON, schema validation, cursors."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from draw.service.http import (
    EXCEPTION_HANDLERS,
    PROBLEM_TYPES,
    PageQuery,
    ProblemError,
    decode_cursor,
    encode_cursor,
    field_path,
    page,
    page_query,
    parse_json,
    read_body,
    validate,
)
from tests.service_helpers import assert_problem


class Item(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="forbid")
    code: Annotated[str, pydantic.Field(min_length=1)]
    count: int


class Items(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="forbid")
    items: list[Item]


async def _echo(request: Request) -> Response:
    body = await read_body(request, 64)
    return JSONResponse(validate(Items, parse_json(body)).model_dump())


def _page(request: Request) -> Response:
    query = page_query(request, 2, 5, shape=(str, int))
    return JSONResponse({"after": query.after, "limit": query.limit})


def _boom(_request: Request) -> Response:
    raise RuntimeError("secret detail fdt_xyz")


APP = Starlette(
    routes=[
        Route("/echo", _echo, methods=["POST"]),
        Route("/page", _page, methods=["GET"]),
        Route("/boom", _boom, methods=["GET"]),
    ],
    exception_handlers=EXCEPTION_HANDLERS,
)


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(APP, raise_server_exceptions=False) as c:
        yield c


def test_valid_body_round_trips(client: TestClient) -> None:
    response = client.post("/echo", content=b'{"items":[{"code":"a","count":1}]}')
    assert response.status_code == 200 and response.json() == {"items": [{"code": "a", "count": 1}]}


@pytest.mark.parametrize(
    ("mutation", "body", "status", "slug", "field", "message"),
    [
        ("not-json", b"{", 400, "malformed-request", "body", "not strict JSON"),
        (
            "float",
            b'{"items":[{"code":"a","count":1.0}]}',
            400,
            "malformed-request",
            "body",
            "non-integer number",
        ),
        (
            "duplicate-member",
            b'{"items":[],"items":[]}',
            400,
            "malformed-request",
            "body",
            "duplicate member",
        ),
        ("top-level-array", b"[]", 400, "malformed-request", "body", "must be a JSON object"),
        ("bad-utf8", b'{"items":"\xff"}', 400, "malformed-request", "body", "not strict JSON"),
        ("nan", b'{"items":NaN}', 400, "malformed-request", "body", "not JSON"),
        (
            "bool-for-int",
            b'{"items":[{"code":"a","count":true}]}',
            422,
            "invalid-field",
            "body.items[0].count",
            "Input should be a valid integer",
        ),
        (
            "string-for-int",
            b'{"items":[{"code":"a","count":"1"}]}',
            422,
            "invalid-field",
            "body.items[0].count",
            "Input should be a valid integer",
        ),
        (
            "unknown-member",
            b'{"items":[],"x":1}',
            422,
            "invalid-field",
            "body.x",
            "Extra inputs are not permitted",
        ),
        ("missing-member", b"{}", 422, "invalid-field", "body.items", "Field required"),
        (
            "empty-code",
            b'{"items":[{"code":"","count":1}]}',
            422,
            "invalid-field",
            "body.items[0].code",
            "at least 1 character",
        ),
        (
            "too-large",
            b'{"items":[' + b'{"code":"a","count":1},' * 5 + b"]}",
            413,
            "content-too-large",
            "body",
            "exceeds the 64-byte limit",
        ),
    ],
)
def test_bad_bodies_get_problems_naming_the_field(
    client: TestClient, mutation: str, body: bytes, status: int, slug: str, field: str, message: str
) -> None:
    doc = assert_problem(client.post("/echo", content=body), status, slug, field)
    messages = [e["message"] for e in doc["errors"] if e["field"] == field]
    assert any(message in m for m in messages), (mutation, doc)
    assert doc["title"] == PROBLEM_TYPES[slug][1] and doc["instance"] == "/echo"


def test_streamed_body_over_the_limit_is_refused_without_content_length(client: TestClient) -> None:
    def chunks() -> Any:
        yield b'{"items":['
        yield b" " * 100

    assert_problem(client.post("/echo", content=chunks()), 413, "content-too-large", "body")


def test_plain_http_errors_are_about_blank_problems_with_their_headers(client: TestClient) -> None:
    missing = assert_problem(client.get("/nowhere"), 404, "about:blank")
    assert missing["title"] == "Not Found" and missing["errors"] == []
    wrong_method = client.request("TRACE", "/echo")
    doc = assert_problem(wrong_method, 405, "about:blank")
    assert doc["title"] == "Method Not Allowed" and wrong_method.headers["allow"] == "POST"


def test_unexpected_errors_reveal_nothing(client: TestClient) -> None:
    response = client.get("/boom")
    doc = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text and doc["detail"] == "the server failed to handle the request"


def test_cursor_round_trip_and_strictness() -> None:
    for position in (["HZ"], ["浙江", 7], [], [0, -3, "a\u0000b"]):
        assert decode_cursor(encode_cursor(position)) == position
    cursor = encode_cursor(["HZ", 1])
    for bad in (cursor + "=", cursor + "A", "", "e30", "!" + cursor, "W10=", "A" * 600):
        with pytest.raises(ValueError, match="malformed cursor"):
            decode_cursor(bad)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "query.limit"),
        ("limit=6", "query.limit"),
        ("limit=01", "query.limit"),
        ("limit=-1", "query.limit"),
        ("limit=2&limit=3", "query.limit"),
        ("cursor=***", "query.cursor"),
        (f"cursor={encode_cursor(['a'])}", "query.cursor"),
        (f"cursor={encode_cursor(['a', True])}", "query.cursor"),
        ("sort=code", "query.sort"),
    ],
)
def test_page_query_errors(client: TestClient, query: str, field: str) -> None:
    assert_problem(client.get(f"/page?{query}"), 400, "malformed-request", field)


def test_page_query_defaults_and_cursor(client: TestClient) -> None:
    assert client.get("/page").json() == {"after": None, "limit": 2}
    cursor = encode_cursor(["b", 2])
    assert client.get(f"/page?limit=5&cursor={cursor}").json() == {"after": ["b", 2], "limit": 5}


def test_page_splits_and_points_at_the_last_item() -> None:
    query = PageQuery(None, 2)
    assert page(["a", "b", "c"], query, lambda x: [x]) == (["a", "b"], encode_cursor(["b"]))
    assert page(["a", "b"], query, lambda x: [x]) == (["a", "b"], None)
    assert page([], query, lambda x: [x]) == ([], None)


def test_field_path_and_registered_slugs() -> None:
    assert field_path("body", ("items", 3, "code")) == "body.items[3].code"
    assert field_path("body", ()) == "body"
    with pytest.raises(KeyError):
        ProblemError("no-such-type", "x")
    assert ProblemError.field("forbidden", "path.code", "no").detail == "path.code: no"
