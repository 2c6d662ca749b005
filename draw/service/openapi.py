"""The OpenAPI 3.1 document of ``/api/v1``, generated from the mounted ApiRoutes, and its HTML page.

``GET /api/v1/openapi.json`` walks the application's routes (through every Mount), takes each
:class:`~draw.service.routing.ApiRoute` and describes it from its Operation; request and response
bodies are the JSON Schemas (2020-12, as OAS 3.1 uses) of their pydantic models under
``components.schemas``. Every operation documents an ``application/problem+json`` ``default``
response; POSTs document the ``Idempotency-Key`` and ``Fairdraw-Signature`` headers.

``GET /api/v1/docs`` renders the same document as one self-contained HTML page (no script, no
external resource; a stylesheet of its own) under the Content-Security-Policy :data:`DOCS_CSP`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any

import pydantic
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from draw.service.core import service_of
from draw.service.http import API_PREFIX, PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, problem_type_uri
from draw.service.idempotency import HEADER as IDEMPOTENCY_HEADER
from draw.service.idempotency import MAX_KEY_LENGTH
from draw.service.routing import ApiRoute, Operation
from draw.service.signature import HEADER as SIGNATURE_HEADER

TITLE = "Fairdraw certified-draw API"
VERSION = "1"
DOCS_CSP = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'none'"
)
_SF_STRING = r'^ *"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x22\x5c]){1,' + str(MAX_KEY_LENGTH) + '}" *$'


class FieldErrorModel(pydantic.BaseModel):
    """One offending input of a problem."""

    model_config = pydantic.ConfigDict(title="FieldError", extra="forbid")
    field: str
    message: str


class Problem(pydantic.BaseModel):
    """An RFC 9457 problem document with the offending inputs in ``errors``."""

    model_config = pydantic.ConfigDict(extra="forbid")
    type: str
    title: str
    status: int = pydantic.Field(ge=400, le=599)
    detail: str
    instance: str
    errors: list[FieldErrorModel]


def api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, ApiRoute]]:
    """Yield (full path template, route) for every ApiRoute in ``routes``, descending into Mounts."""
    for route in routes:
        if isinstance(route, ApiRoute):
            yield prefix + route.path, route
        elif isinstance(route, Mount):
            yield from api_routes(route.routes, prefix + route.path)


def openapi_document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document describing every ApiRoute under ``/api/v1`` in ``routes``."""
    found = [
        (path[len(API_PREFIX) :], route)
        for path, route in api_routes(routes)
        if path.startswith(API_PREFIX + "/")
    ]
    models = _models(route.operation for _path, route in found)
    refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for path, route in sorted(found, key=lambda item: (item[0], item[1].method)):
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": f"Conventions: see {API_PREFIX}/docs and docs/api.md.",
        },
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the department's API token (fdt_...)",
                }
            },
        },
    }


def _models(operations: Iterable[Operation]) -> list[tuple[type[pydantic.BaseModel], Any]]:
    models: dict[tuple[type[pydantic.BaseModel], str], None] = {(Problem, "serialization"): None}
    for op in operations:
        if op.request_model is not None:
            models[(op.request_model, "validation")] = None
        if op.response_model is not None:
            models[(op.response_model, "serialization")] = None
    return list(models)


def _operation(route: ApiRoute, refs: dict[Any, Any]) -> dict[str, Any]:
    op = route.operation
    problem = {
        "description": "a problem document (RFC 9457)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": refs[(Problem, "serialization")]}},
    }
    success: dict[str, Any] = {"description": op.summary}
    if op.response_model is not None:
        success["content"] = {"application/json": {"schema": refs[(op.response_model, "serialization")]}}
    out: dict[str, Any] = {
        "operationId": route.name,
        "summary": op.summary,
        "description": op.description,
        "tags": list(op.tags),
        "parameters": [
            _parameter(p.name, p.location, p.schema, p.description, p.required) for p in op.parameters
        ]
        + (_post_headers() if route.method == "POST" else []),
        "responses": {str(op.status): success, **{str(s): problem for s in op.errors}, "default": problem},
        **op.extra,
    }
    if op.authenticated:
        out["security"] = [{"bearer": []}]
    if op.request_model is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.request_model, "validation")]}},
        }
    return out


def _parameter(
    name: str, location: str, schema: dict[str, Any], description: str, required: bool
) -> dict[str, Any]:
    return {"name": name, "in": location, "required": required, "description": description, "schema": schema}


def _post_headers() -> list[dict[str, Any]]:
    return [
        _parameter(
            IDEMPOTENCY_HEADER,
            "header",
            {"type": "string", "pattern": _SF_STRING},
            'an RFC 9651 sf-string, unique per request, e.g. "2d0c8f5e-..."',
            True,
        ),
        _parameter(
            SIGNATURE_HEADER,
            "header",
            {"type": "string", "pattern": "^[A-Za-z0-9+/]+={0,2}$"},
            "base64 of a fairdraw-request/v1 signed note; required if the department has a key",
            False,
        ),
    ]


def cached_document(request: Request) -> dict[str, Any]:
    """Return the application's OpenAPI document, generated on first use and cached on the Service."""
    service = service_of(request)
    document = service.cache.get("openapi")
    if not isinstance(document, dict):
        document = openapi_document(request.app.routes)
        service.cache["openapi"] = document
    return document


def openapi_json(request: Request) -> Response:
    """GET /openapi.json: the OpenAPI 3.1 document."""
    return JSONResponse(cached_document(request))


# -- the HTML page --------------------------------------------------------------------------------


def docs_page(request: Request) -> Response:
    """GET /docs: the API reference as one HTML page (CSP ``DOCS_CSP``)."""
    body = render_docs(cached_document(request))
    return HTMLResponse(
        body, headers={"Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff"}
    )


def docs_css(_request: Request) -> Response:
    """GET /docs/docs.css: the page's stylesheet."""
    css = resources.files("draw.service").joinpath("docs.css").read_text(encoding="utf-8")
    return Response(
        css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"}
    )


def render_docs(document: dict[str, Any]) -> str:
    """Return the HTML page for ``document``: operations, problem types (anchored) and schemas."""
    esc = html.escape
    parts = [
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(document['info']['title'])}</title>",
        f'<link rel="stylesheet" href="{API_PREFIX}/docs/docs.css"></head><body><main>',
        f"<h1>{esc(document['info']['title'])}</h1>",
        f"<p>Base path <code>{API_PREFIX}</code>. Machine-readable: "
        f'<a href="{API_PREFIX}/openapi.json">openapi.json</a> (OpenAPI 3.1).</p>',
        "<h2>Operations</h2>",
    ]
    for path, item in document["paths"].items():
        for method, op in item.items():
            parts.append(_render_operation(method, path, op))
    parts.append('<h2 id="problems">Problem types</h2><dl>')
    for slug, (status, title) in PROBLEM_TYPES.items():
        parts.append(
            f'<dt id="problem-{esc(slug)}"><code>{esc(problem_type_uri(slug))}</code></dt>'
            f"<dd>{status} {esc(title)}</dd>"
        )
    parts.append('</dl><h2 id="schemas">Schemas</h2>')
    for name, schema in document["components"]["schemas"].items():
        parts.append(
            f'<h3 id="schema-{esc(name)}">{esc(name)}</h3><pre>{esc(json.dumps(schema, indent=2))}</pre>'
        )
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _render_operation(method: str, path: str, op: dict[str, Any]) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td><code>{esc(p['name'])}</code></td><td>{esc(p['in'])}</td>"
        f"<td>{'yes' if p['required'] else 'no'}</td><td>{esc(p['description'])}</td></tr>"
        for p in op["parameters"]
    )
    auth = "bearer token" if op.get("security") else "none"
    responses = ", ".join(esc(status) for status in op["responses"])
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    request = f"<p>Request body: <code>{esc(body['$ref'].rsplit('/', 1)[-1])}</code></p>" if body else ""
    return (
        f'<section id="{esc(op["operationId"])}">'
        f"<h3><code>{method.upper()} {esc(API_PREFIX + path)}</code></h3>"
        f"<p>{esc(op['summary'])}. {esc(op['description'])}</p><p>Authentication: {auth}. "
        f"Responses: {responses}.</p>{request}"
        + (
            f"<table><tr><th>name</th><th>in</th><th>required</th><th>meaning</th></tr>{rows}</table>"
            if rows
            else ""
        )
        + "</section>"
    )


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
    Route("/docs/docs.css", docs_css, methods=["GET"]),
]
