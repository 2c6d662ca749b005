"""Metrics in the Prometheus text exposition format (version 0.0.4) and JSON-lines logs.

Metrics (``GET /metrics``)::

    fairdraw_http_requests_total{method, route, status}      counter
    fairdraw_http_request_duration_seconds{method, route}    histogram (buckets 5 ms .. 10 s)
    fairdraw_ledger_entries                                   gauge, read at scrape time

``route`` is the route template (``/api/v1/departments/{code}``), never the raw path, so the label
set stays bounded; requests that match no route count as ``unmatched``. Durations are kept in
integer nanoseconds and printed as exact decimals. Each process keeps its own counters; under
``fairdraw serve`` a scrape sums those of every worker process of the server
(``draw.service.shared_metrics``, through :meth:`Metrics.state` and :meth:`Metrics.add`).

Logs are one JSON object per line (``time``, ``level``, ``logger``, ``message``, plus the event's
fields). Nothing logged carries a token, an Authorization header, a passphrase or a key: the access
log records method, route, path (no query), status, duration and department code only, and a last
filter masks anything shaped like an API token or a bearer credential.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Upper bounds in nanoseconds, with their exposition text (Prometheus's default buckets).
BUCKETS: tuple[tuple[int, str], ...] = (
    (5_000_000, "0.005"),
    (10_000_000, "0.01"),
    (25_000_000, "0.025"),
    (50_000_000, "0.05"),
    (100_000_000, "0.1"),
    (250_000_000, "0.25"),
    (500_000_000, "0.5"),
    (1_000_000_000, "1"),
    (2_500_000_000, "2.5"),
    (5_000_000_000, "5"),
    (10_000_000_000, "10"),
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"
_SECRET = re.compile(r"fdt_[A-Za-z0-9_-]{8,}|(?i:bearer)\s+\S+|PRIVATE\+KEY\+\S+")
access_log = logging.getLogger("fairdraw.access")


def _seconds(ns: int) -> str:
    return f"{ns // 10**9}.{ns % 10**9:09d}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"


class Metrics:
    """Thread-safe request counters and latency histograms of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._durations: dict[tuple[str, str], list[int]] = {}  # bucket counts..., +Inf count, sum ns

    def observe(self, method: str, route: str, status: int, duration_ns: int) -> None:
        """Count one request and its duration."""
        with self._lock:
            key = (method, route, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            cells = self._durations.setdefault((method, route), [0] * (len(BUCKETS) + 2))
            for i, (bound, _text) in enumerate(BUCKETS):
                if duration_ns <= bound:
                    cells[i] += 1
            cells[-2] += 1
            cells[-1] += duration_ns

    def snapshot(self) -> dict[tuple[str, str, str], int]:
        """Return the request counts by (method, route, status)."""
        with self._lock:
            return dict(self._requests)

    def state(self) -> dict[str, Any]:
        """Return every count as JSON-ready lists: ``requests`` ``[[method, route, status, count]]`` and
        ``durations`` ``[[method, route, [bucket counts..., +Inf count, sum ns]]]``, sorted. The
        inverse of :meth:`add` on an empty Metrics."""
        with self._lock:
            requests = [[*key, count] for key, count in sorted(self._requests.items())]
            durations = [[*key, list(cells)] for key, cells in sorted(self._durations.items())]
        return {"requests": requests, "durations": durations}

    def add(self, state: Mapping[str, Any]) -> None:
        """Add the counts of ``state`` (another Metrics' :meth:`state`) to these. Checks all of it
        first; raises ValueError, adding nothing, if it is not such a state."""
        requests = _state_rows(state, "requests", _count, 3)
        durations = _state_rows(state, "durations", _cells, 2)
        with self._lock:
            for key, count in requests:
                self._requests[key] = self._requests.get(key, 0) + count
            for key, cells in durations:
                mine = self._durations.setdefault(key, [0] * (len(BUCKETS) + 2))
                for i, value in enumerate(cells):
                    mine[i] += value

    def render(self, ledger_entries: int) -> str:
        """Return every metric in the text exposition format, series in sorted order."""
        with self._lock:
            requests = sorted(self._requests.items())
            durations = sorted((k, list(v)) for k, v in self._durations.items())
        lines = [
            "# HELP fairdraw_http_requests_total HTTP requests, by method, route template and status.",
            "# TYPE fairdraw_http_requests_total counter",
        ]
        lines += [
            f"fairdraw_http_requests_total{_labels(zip(('method', 'route', 'status'), key, strict=True))} "
            f"{count}"
            for key, count in requests
        ]
        lines += [
            "# HELP fairdraw_http_request_duration_seconds HTTP request latency, by method and route.",
            "# TYPE fairdraw_http_request_duration_seconds histogram",
        ]
        for (method, route), cells in durations:
            lines += _histogram_lines(method, route, cells)
        lines += [
            "# HELP fairdraw_ledger_entries Entries in the ledger's newest signed checkpoint.",
            "# TYPE fairdraw_ledger_entries gauge",
            f"fairdraw_ledger_entries {ledger_entries}",
        ]
        return "\n".join(lines) + "\n"


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _cells(value: Any) -> bool:
    return isinstance(value, list) and len(value) == len(BUCKETS) + 2 and all(_count(v) for v in value)


def _state_rows(state: Mapping[str, Any], name: str, valid: Callable[[Any], bool], width: int) -> list[Any]:
    """Return ``state[name]`` as (label key, value) pairs: each row is ``width`` label strings and a
    value ``valid`` accepts. Raises ValueError naming the member."""
    rows = state.get(name)
    if not isinstance(rows, list):
        raise ValueError(f"metrics: state member {name!r} must be a list")
    out = []
    for row in rows:
        ok = isinstance(row, list) and len(row) == width + 1 and all(isinstance(x, str) for x in row[:width])
        if not ok or not valid(row[width]):
            raise ValueError(f"metrics: bad {name} row {row!r}")
        out.append((tuple(row[:width]), row[width]))
    return out


def _histogram_lines(method: str, route: str, cells: list[int]) -> list[str]:
    name = "fairdraw_http_request_duration_seconds"
    base = [("method", method), ("route", route)]
    lines = [
        f"{name}_bucket{_labels([*base, ('le', text)])} {cells[i]}" for i, (_b, text) in enumerate(BUCKETS)
    ]
    lines.append(f"{name}_bucket{_labels([*base, ('le', '+Inf')])} {cells[-2]}")
    lines.append(f"{name}_sum{_labels(base)} {_seconds(cells[-1])}")
    lines.append(f"{name}_count{_labels(base)} {cells[-2]}")
    return lines


def route_template(scope: Scope) -> str:
    """Return the template of the route that handled ``scope`` (mount prefixes included), or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or getattr(route, "methods", None) is None:
        return UNMATCHED
    prefix = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
    return prefix + path


class ObservabilityMiddleware:
    """Pure ASGI middleware: count and time every HTTP request, and write its access-log line.

    Metrics go to ``scope["app"].state.service.metrics``. ``timer`` returns nanoseconds.
    ``department_of(scope)`` names the authenticated department, if any, for the log.
    """

    def __init__(
        self,
        app: ASGIApp,
        department_of: Callable[[Scope], str | None],
        timer: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        self.app = app
        self.department_of = department_of
        self.timer = timer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = self.timer()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, status, self.timer() - start)

    def _record(self, scope: Scope, status: int, duration_ns: int) -> None:
        route = route_template(scope)
        service = getattr(getattr(scope.get("app"), "state", None), "service", None)
        if service is not None:
            service.metrics.observe(scope["method"], route, status, duration_ns)
        if not access_log.isEnabledFor(logging.INFO):
            return
        fields = {
            "event": "request",
            "method": scope["method"],
            "route": route,
            "path": scope["path"],
            "status": status,
            "duration_us": duration_ns // 1000,
            "department": self.department_of(scope),
        }
        access_log.info("%s %s %d", scope["method"], scope["path"], status, extra={"fields": fields})


def redact(text: str) -> str:
    """Return ``text`` with anything shaped like a token, bearer credential or private key masked.

    Three substring tests come first: a line that cannot match (nearly every line) is returned as it
    is, without a scan by the pattern.
    """
    if "fdt_" in text or "PRIVATE+KEY+" in text or "bearer" in text.lower():
        return _SECRET.sub("[REDACTED]", text)
    return text


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line; ``extra={"fields": {...}}`` adds members. Masks secrets."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {
            "time": stamp.replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(out, ensure_ascii=False, default=str))


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """Return a ``logging.config.dictConfig`` (also uvicorn's ``log_config``): JSON lines on stderr for
    the root, ``uvicorn`` and ``fairdraw`` loggers; uvicorn's own access log off, Alembic's chatter
    below WARNING dropped."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "draw.service.observability.JsonFormatter"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "alembic": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
