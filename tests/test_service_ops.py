"""Health, readiness, Prometheus metrics (cross-checked with prometheus_client's parser) and JSON logs."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

import fairdraw
from draw.service import Service
from draw.service.observability import BUCKETS, JsonFormatter, Metrics, logging_config, redact
from ledger import store
from tests.service_helpers import World, open_world, post
from tests.vector_keys import PETER_SKEY


@pytest.fixture
def world(sqlite_url: str) -> Iterator[World]:
    with open_world(sqlite_url) as w:
        yield w


def test_health_and_readiness(world: World) -> None:
    assert world.client.get("/healthz").json() == {"status": "ok"}
    ready = world.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "ledger": "ok"}}


def test_not_ready_when_the_quick_audit_fails(world: World) -> None:
    with world.service.engine.begin() as conn:  # a stored hash no longer matches the signed checkpoint
        conn.execute(sa.text("DROP TRIGGER ledger_hashes_no_update"))
        conn.execute(sa.update(store.hashes).values(hash=bytes(32)))
    world.service.start()
    response = world.client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and body["checks"]["database"] == "ok"
    assert body["checks"]["ledger"].startswith("ledger quick audit failed: ledger audit failed at entry")
    assert world.client.get("/healthz").status_code == 200


def test_not_ready_before_start_and_when_the_database_is_gone(sqlite_url: str) -> None:
    from tests.ledger_helpers import open_ledger

    log = open_ledger(sqlite_url)
    service = Service(log)
    assert service.readiness() == {"database": "ok", "ledger": "start-up checks have not run"}
    service.engine = sa.create_engine("sqlite:////nonexistent-dir/x.sqlite")
    assert service.readiness()["database"] == "unreachable: OperationalError"
    log.close()


def test_metrics_parse_with_prometheus_client(world: World) -> None:
    world.client.get("/api/v1/departments/me", headers=world.auth("HZ"))
    world.client.get("/api/v1/departments/me")
    world.client.get("/api/v1/departments/HZ", headers=world.auth("HZ"))
    post(world, "/api/v1/departments/HZ/notes", {"text": "t"}, "HZ")
    world.client.get("/no/such/path")
    text = world.client.get("/metrics")
    assert text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {f.name: f for f in text_string_to_metric_families(text.text)}
    counts = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in families["fairdraw_http_requests"].samples
    }
    assert counts[("GET", "/api/v1/departments/me", "200")] == 1
    assert counts[("GET", "/api/v1/departments/me", "401")] == 1
    assert counts[("GET", "/api/v1/departments/{code}", "200")] == 1
    assert counts[("POST", "/api/v1/departments/{code}/notes", "201")] == 1
    assert counts[("GET", "unmatched", "404")] == 1
    assert families["fairdraw_ledger_entries"].samples[0].value == world.log.size() == 5
    histogram = families["fairdraw_http_request_duration_seconds"]
    assert histogram.type == "histogram"
    me = [s for s in histogram.samples if s.labels["route"] == "/api/v1/departments/me"]
    assert next(s.value for s in me if s.name.endswith("_count")) == 2
    assert next(s.value for s in me if s.labels.get("le") == "+Inf") == 2


def test_histogram_buckets_and_exact_sums() -> None:
    metrics = Metrics()
    for ns in (1, 5_000_000, 5_000_001, 10_000_000_001):
        metrics.observe("GET", 'a"b\\c\nd', 200, ns)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render(7))}
    samples = families["fairdraw_http_request_duration_seconds"].samples
    assert {s.labels["route"] for s in samples} == {'a"b\\c\nd'}  # label escaping survives the parser
    buckets = {s.labels["le"]: s.value for s in samples if s.name.endswith("_bucket")}
    assert buckets["0.005"] == 2 and buckets["0.01"] == 3 and buckets["10"] == 3 and buckets["+Inf"] == 4
    assert "fairdraw_http_request_duration_seconds_sum" in metrics.render(7)
    assert 'fairdraw_http_request_duration_seconds_sum{method="GET",route="a\\"b\\\\c\\nd"} 10.010000003' in (
        metrics.render(7)
    )
    assert [bound for bound, _ in BUCKETS] == sorted(bound for bound, _ in BUCKETS)
    assert [float(text) * 10**9 for _, text in BUCKETS] == [bound for bound, _ in BUCKETS]


def _capture() -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    return stream, handler


def test_access_log_is_json_lines_without_secrets(world: World) -> None:
    stream, handler = _capture()
    try:
        world.client.get("/api/v1/departments/me?limit=1", headers=world.auth("HZ"))
        world.client.get("/api/v1/departments/me", headers={"Authorization": "Bearer not-a-real-token"})
        post(world, "/api/v1/departments/NB/notes", {"text": "signed"}, "NB")
        logging.getLogger("fairdraw.test").info("leak attempt %s", world.tokens["ZJ"])
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "fairdraw.access"]
    assert [(a["method"], a["route"], a["status"], a["department"]) for a in access] == [
        ("GET", "/api/v1/departments/me", 200, "HZ"),
        ("GET", "/api/v1/departments/me", 401, None),
        ("POST", "/api/v1/departments/{code}/notes", 201, "NB"),
    ]
    assert access[0]["path"] == "/api/v1/departments/me" and isinstance(access[0]["duration_us"], int)
    assert set(access[0]) >= {"time", "level", "logger", "message", "event"}
    text = stream.getvalue()
    for secret in [*world.tokens.values(), "not-a-real-token", "Bearer", "fdt_"]:
        assert secret not in text, secret
    assert lines[-1]["message"] == "leak attempt [REDACTED]"


def test_redaction_patterns() -> None:
    key = PETER_SKEY
    assert redact(f"a fdt_{'x' * 43} b") == "a [REDACTED] b"
    assert redact("Authorization: Bearer abc.def") == "Authorization: [REDACTED]"
    assert redact(f"key {key} end") == "key [REDACTED] end"
    assert redact("fdt is fine, so is bearer") == "fdt is fine, so is bearer"
    assert redact("authorization: bEaReR abc") == "authorization: [REDACTED]"
    assert redact(f'{{"a": "fdt_{"y" * 8}"}}') == '{"a": "[REDACTED]"}'


def test_logging_config_applies(world: World) -> None:
    config = logging_config("INFO")
    logging.config.dictConfig(config)
    try:
        root = logging.getLogger()
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        assert logging.getLogger("uvicorn.access").propagate is False
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False, "root": {"handlers": []}})


def test_unexpected_error_is_logged_as_json_with_a_500_problem(sqlite_url: str) -> None:
    from tests.ledger_helpers import open_ledger

    log = open_ledger(sqlite_url)
    service = Service(log)
    app = fairdraw.create_app(log, service)
    stream, handler = _capture()
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            service.engine = sa.create_engine("sqlite:////nonexistent-dir/x.sqlite")
            token = "fdt_" + "B" * 43
            response = client.get("/api/v1/departments/me", headers={"Authorization": f"Bearer {token}"})
    finally:
        logging.getLogger().removeHandler(handler)
        log.close()
    assert response.status_code == 500
    assert response.json()["type"] == "/api/v1/docs#problem-internal-error"
    assert "B" * 43 not in stream.getvalue()
    assert any(
        json.loads(line)["status"] == 500 for line in stream.getvalue().splitlines() if '"status"' in line
    )
