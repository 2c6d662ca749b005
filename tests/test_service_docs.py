"""docs/api.md stays true: every problem type, entry type, endpoint, setting and metric is in it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from starlette.routing import Mount

import draw.service
from draw.service import Config
from draw.service.http import API_PREFIX, PROBLEM_TYPES
from draw.service.observability import Metrics
from draw.service.openapi import api_routes

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("slug", sorted(PROBLEM_TYPES))
def test_every_problem_type_is_documented_with_its_status_and_title(slug: str) -> None:
    status, title = PROBLEM_TYPES[slug]
    assert f"| `{slug}` | {status} | {title} |" in DOC


def test_every_entry_type_is_documented() -> None:
    for entry_type in draw.service.ENTRY_TYPES:
        assert f"| `{entry_type.name}` |" in DOC, entry_type.name


def test_every_endpoint_is_documented() -> None:
    routes = list(api_routes([Mount(API_PREFIX, routes=draw.service.routes)]))
    assert routes
    for path, route in routes:
        assert f"`{route.method} {path}`" in DOC, (route.method, path)


def test_every_setting_is_documented_with_its_default() -> None:
    for field in dataclasses.fields(Config):
        assert f"| `{field.name}` | {field.default} |" in DOC, field.name


def test_every_metric_is_documented() -> None:
    rendered = Metrics()
    rendered.observe("GET", "/x", 200, 1)
    names = set(re.findall(r"^# TYPE (\S+)", rendered.render(0), re.M))
    assert names == {
        "fairdraw_http_requests_total",
        "fairdraw_http_request_duration_seconds",
        "fairdraw_ledger_entries",
    }
    for name in names:
        assert f"`{name}`" in DOC, name


def test_the_defaults_the_prose_states_are_the_code_defaults() -> None:
    config = Config()
    assert f"{config.max_body_bytes:,} bytes" in DOC
    assert f"**{config.max_roster_body_bytes:,} bytes** ({config.max_roster_body_bytes >> 20} MiB" in DOC
    assert f"within **{config.signature_window_ms // 60_000} minutes**" in DOC
    assert f"is kept for **{config.idempotency_retention_ms // 3_600_000} hours**" in DOC
    assert f"(1 to {config.page_limit_max}, default {config.page_limit_default})" in DOC
