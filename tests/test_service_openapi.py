"""The OpenAPI 3.1 document, the docs page, and schemathesis run in-process against the whole API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate as validate_spec
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.routing import Mount

import draw.service
from draw.service.http import API_PREFIX, PROBLEM_TYPES
from draw.service.openapi import DOCS_CSP, api_routes
from draw.service.routing import ApiRoute
from tests.service_helpers import World, open_world

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'ledger.sqlite'}"
    with open_world(url) as w:
        yield w


def test_document_is_valid_openapi_31(world: World) -> None:
    doc = world.client.get("/api/v1/openapi.json").json()
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [{"url": API_PREFIX}]
    validate_spec(doc)


def test_every_api_route_is_documented_and_every_post_takes_the_pipeline(world: World) -> None:
    doc = world.client.get("/api/v1/openapi.json").json()
    found = list(api_routes(world.client.app.routes))  # type: ignore[attr-defined]
    assert found, "no ApiRoute mounted"
    for path, route in found:
        operation = doc["paths"][path.removeprefix(API_PREFIX)][route.method.lower()]
        assert operation["responses"]["default"]["content"]["application/problem+json"]
        if route.method == "POST":
            assert route.handler is not None
            names = {p["name"] for p in operation["parameters"]}
            assert {"Idempotency-Key", "Fairdraw-Signature"} <= names
    mounted = next(r for r in world.client.app.routes if isinstance(r, Mount) and r.path == API_PREFIX)  # type: ignore[attr-defined]
    plain = {r.path for r in mounted.routes if not isinstance(r, ApiRoute)}
    assert plain == {"/openapi.json", "/docs", "/docs/docs.css"}
    assert all(isinstance(r, ApiRoute) for r in draw.service.routes if r.path not in plain)


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        self.urls += [v for k, v in values.items() if k in ("src", "href") and v]
        if values.get("id"):
            self.ids.add(str(values["id"]))


def test_docs_page_is_self_contained(world: World) -> None:
    response = world.client.get("/api/v1/docs")
    assert response.status_code == 200 and response.headers["content-security-policy"] == DOCS_CSP
    assert "default-src 'self'" in DOCS_CSP
    parser = _Resources()
    parser.feed(response.text)
    assert "script" not in parser.tags and "style" not in parser.tags
    assert all(url.startswith("/") and not url.startswith("//") for url in parser.urls), parser.urls
    assert {f"problem-{slug}" for slug in PROBLEM_TYPES} <= parser.ids
    assert all(world.client.get(url).status_code == 200 for url in parser.urls if not url.startswith("#"))
    css = world.client.get("/api/v1/docs/docs.css")
    assert css.headers["content-type"].startswith("text/css") and "url(" not in css.text


def test_problem_types_resolve_to_the_docs_page(world: World) -> None:
    doc = world.client.get("/api/v1/departments/me").json()
    page, _, anchor = doc["type"].partition("#")
    assert page == "/api/v1/docs" and f'id="{anchor}"' in world.client.get(page).text


# -- schemathesis -------------------------------------------------------------------------------

_VALID_KEY = re.compile(r'^ *"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x22\x5c]){1,255}" *$')


def _check_case(world: World, case: Any, mode: GenerationMode) -> None:
    codes = [None]
    if mode == GenerationMode.POSITIVE:
        if "cursor" in (case.query or {}):
            del case.query["cursor"]  # a valid cursor is one the service issued; first pages only
        if "code" in (case.path_parameters or {}):
            codes.append("HZ")  # also act for the caller itself, not only for unknown departments
    callers: list[str | None] = ["HZ"] if case.method == "POST" else ["HZ", "ZJ"]  # ZJ: role oversee
    for code in codes:
        if code is not None:
            case.path_parameters["code"] = code
        for caller in [*callers, None]:  # None: the credentials as generated
            headers = _fresh(world, case)
            if caller is not None:
                headers.update(world.auth(caller))
            response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
            assert response.status_code < 500


def _fresh(world: World, case: Any) -> dict[str, str]:
    """Return the case's headers with a well-formed Idempotency-Key made fresh: reusing one is a
    client error the generator cannot know about."""
    out = dict(case.headers or {})
    if _VALID_KEY.match(out.get("Idempotency-Key", "")):
        out["Idempotency-Key"] = world.new_key()
    return out


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_api_conforms_to_its_schema(world: World, mode: GenerationMode) -> None:
    """Every operation, in-process: no 5xx, every response (and its status, media type and headers)
    as the schema says, invalid input refused. Schema-valid input may still be refused with a 422
    (a reference to a roster that does not exist, say), so positive data acceptance is not checked."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.client.app)  # type: ignore[attr-defined]
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = world.client.get("/api/v1/openapi.json").json()["paths"]
    assert len(operations) == sum(len(item) for item in paths.values()) >= 4
    before = sum(world.service.metrics.snapshot().values())
    unsatisfiable: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            _check_case(world, case, mode)

        try:
            run()
        except Unsatisfiable:  # an operation with no input that can be made invalid
            assert mode == GenerationMode.NEGATIVE, operation.label
            unsatisfiable.append(operation.label)
    sent = sum(world.service.metrics.snapshot().values()) - before
    assert sent >= (len(operations) - len(unsatisfiable)) * 25  # the cases were sent
