"""schemathesis, in-process, against the disclosure, code-table and calendar operations: no 5xx, every
response as the OpenAPI document says, valid input accepted and invalid input refused."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from draw.service import disclosures, draws
from draw.service.disclosures import TARGETS_STATE
from draw.service.http import encode_cursor
from tests.service_helpers import World, open_world
from tests.test_service_disclosures_helpers import (
    Draw,
    FakeTargets,
    iter_entries,
    salt,
)

MINE = {(route.path, route.method) for route in disclosures.routes}
DRAW, OBJ = "D-1", "91110000600037341L"
_VALID_KEY = re.compile(r'^ *"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x22\x5c]){1,255}" *$')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('disclosures-schema') / 'ledger.sqlite'}"
    targets = FakeTargets({DRAW: Draw("HZ", {OBJ: datetime.date(2025, 11, 20)})})
    with pytest.MonkeyPatch.context() as patch, open_world(url) as w:
        # schemathesis runs the application's lifespan again, which installs draws.DISCLOSURE_TARGETS
        patch.setattr(draws, "DISCLOSURE_TARGETS", targets)
        setattr(w.client.app.state, TARGETS_STATE, targets)  # type: ignore[attr-defined]
        yield w


def _positive(case: Any) -> None:
    """Steer generated valid input towards what the service can accept: a known draw and object, a
    cursor it issued, codes valid together, a known reason, a fresh salt, a date not in the future."""
    params = case.path_parameters or {}
    if "draw_id" in params:
        params["draw_id"] = DRAW
    if "object_id" in params:
        params["object_id"] = OBJ
    if "code" in params:
        params["code"] = "HZ"
    if "cursor" in (case.query or {}):
        case.query["cursor"] = encode_cursor(["HZ", "HZ", "HZ"] if "code" in params else ["A", "HZ", 1])
    body = case.body
    if isinstance(body, dict) and "salt" in body:  # the codes must be valid together in one table
        body.update(code_table=2, results=["B"], measures=["M3"], salt=salt(), inspected_on="2025-11-19")
        body.pop("other_measure", None)
    if isinstance(body, dict) and "reason" in body:
        body["reason"] = "duplicate"


def _check_case(world: World, case: Any, mode: GenerationMode) -> None:
    if mode == GenerationMode.POSITIVE:
        _positive(case)
    callers: list[str | None] = ["HZ"] if case.method == "POST" else ["HZ", "ZJ"]
    for caller in [*callers, None]:  # None: the credentials as generated
        headers = dict(case.headers or {})
        if _VALID_KEY.match(headers.get("Idempotency-Key", "")):
            headers["Idempotency-Key"] = world.new_key()
        if caller is not None:
            headers.update(world.auth(caller))
        response = case.call_and_validate(headers=headers)
        assert response.status_code < 500, response.text


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_disclosure_operations_conform_to_the_schema(world: World, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.client.app)  # type: ignore[attr-defined]
    operations = [r.ok() for r in schema.get_all_operations()]
    mine = [op for op in operations if (op.path, op.method.upper()) in MINE]
    assert len(mine) == 9, [op.path for op in mine]
    if mode == GenerationMode.NEGATIVE:  # these two take no input at all, so none can be invalid
        mine = [op for op in mine if op.path not in ("/result-codes", "/calendar")]
    before = sum(world.service.metrics.snapshot().values())
    size = world.log.size()
    for operation in mine:

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

        run()
    assert sum(world.service.metrics.snapshot().values()) - before >= len(mine) * 25
    if mode == GenerationMode.POSITIVE:  # valid input was accepted, not only refused
        kinds = {entry["type"] for entry in iter_entries(world, size)}
        assert kinds == {"disclosure.result", "disclosure.correct", "disclosure.withdraw"}, kinds


def test_the_schema_documents_public_reads_as_public(world: World) -> None:
    doc = world.client.get("/api/v1/openapi.json").json()
    public = {
        ("/draws/{draw_id}/disclosures", "get"),
        ("/draws/{draw_id}/disclosures/{object_id}", "get"),
        ("/result-codes", "get"),
        ("/calendar", "get"),
        ("/calendar/deadline", "get"),
    }
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if (path, method.upper()) in MINE:
                assert ("security" not in op) == ((path, method) in public), (path, method)
