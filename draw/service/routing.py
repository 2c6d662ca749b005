"""Declaring API endpoints: routes that carry their OpenAPI description, and the one POST pipeline.

Every ``/api/v1`` endpoint is an :class:`ApiRoute` built by :func:`api_get` or :func:`api_post`; the
OpenAPI document is generated from them, so an endpoint cannot be served undocumented.

``api_get(path, handler, operation)``: ``handler(request) -> Response`` is a plain ``def`` (it runs
in Starlette's threadpool and may use the synchronous engine), or an ``async def`` for a hot public
read of one short query (``ledger.rawread``), run on the event loop. It calls
``require_department`` and the role checks itself.

``api_post(path, handler, operation)``: ``handler(submission) -> Response`` is a plain ``def`` that
receives a :class:`Submission` only after, in this order:

1. the body was read (at most ``Config.max_body_bytes``, or what the route's ``body_limit`` says, else
   413);
2. the token was checked (401), the department has the ``submit`` role (403), and the body is
   ``Content-Type: application/json`` (415);
3. ``Idempotency-Key`` was read (400); a completed request with the same key and fingerprint is
   replayed at once, a different fingerprint is refused (422), a running one answers 409; otherwise
   the key is reserved;
4. the signature was verified against the department's key as it is now, read after the
   reservation (409 while an administrator changes it): required when the department has a key,
   refused when it has none (403 ``invalid-signature``); a signed body must be canonical JSON (400).

The handler must raise (ProblemError for the client's mistakes) before any durable write, and make
its ledger append its last fallible step: a 2xx response (which must have a body, not a stream) is
stored for replay, anything else releases the key. ``submission.model(Model)`` parses and validates
the body (400/422).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from draw.service import idempotency
from draw.service.auth import CODE_PATTERN, Department, require_department, require_role, signing_key
from draw.service.core import Config, Service, service_of
from draw.service.http import ProblemError, parse_json, read_body, require_json_content_type, validate
from draw.service.signature import HEADER as SIGNATURE_HEADER
from draw.service.signature import (
    RequestSignatureError,
    SignedFields,
    SignedRequest,
    request_record,
    verify_request_signature,
)
from keys import new_verifier
from ledger import jcs

M = TypeVar("M", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class Parameter:
    """A documented query or path parameter: its JSON Schema and description."""

    name: str
    location: str  # "query" or "path"
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """The OpenAPI description of one endpoint.

    ``response_model`` describes the body of the ``status`` response; ``errors`` lists the problem
    statuses worth documenting (every operation also documents a ``default`` problem response).
    ``authenticated`` adds the bearer-token requirement; ``request_model`` the JSON request body.
    """

    summary: str
    description: str
    tags: tuple[str, ...]
    response_model: type[pydantic.BaseModel] | None
    status: int = 200
    request_model: type[pydantic.BaseModel] | None = None
    parameters: tuple[Parameter, ...] = ()
    errors: tuple[int, ...] = ()
    authenticated: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class ApiRoute(Route):
    """A Starlette Route for one method, carrying its :class:`Operation`."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        method: str,
        operation: Operation,
        handler: Callable[[Submission], Response] | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.method = method
        self.operation = operation
        self.handler = handler  # the POST handler behind the pipeline, None for GET


CODE_PARAMETER = Parameter(
    "code",
    "path",
    {"type": "string", "pattern": f"^{CODE_PATTERN.pattern}$"},
    "department code",
    required=True,
)
"""The ``{code}`` path parameter of department-scoped endpoints."""

PAGING = (
    Parameter("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}, "page size (default 50)"),
    Parameter(
        "cursor",
        "query",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,512}$"},
        "opaque cursor from next_cursor",
    ),
)
"""The ``limit`` and ``cursor`` query parameters of every paged list."""


def api_get(
    path: str, handler: Callable[[Request], Response | Awaitable[Response]], operation: Operation
) -> ApiRoute:
    """Return the GET route of ``handler``, described by ``operation``: a plain ``def`` runs in a
    worker thread; an ``async def`` on the event loop, for hot reads of one short query, where the
    hand-off to a thread would cost more than the work."""
    return ApiRoute(path, handler, "GET", operation)


@dataclass(frozen=True)
class Submission:
    """A POST that passed the pipeline (see the module docstring)."""

    request: Request
    service: Service
    department: Department
    idempotency_key: str
    body: bytes
    signed: SignedRequest | None

    def json(self) -> dict[str, Any]:
        """Return the body parsed strictly. Raises ProblemError 400."""
        return parse_json(self.body)

    def model(self, model: type[M]) -> M:
        """Return the body validated by ``model``. Raises ProblemError 400 or 422."""
        return validate(model, self.json())

    def record(self) -> dict[str, str] | None:
        """Return the ledger record of the request's signature (``request_record``), or None if unsigned."""
        return None if self.signed is None else request_record(self.signed)


def api_post(
    path: str,
    handler: Callable[[Submission], Response],
    operation: Operation,
    body_limit: Callable[[Config], int] | None = None,
) -> ApiRoute:
    """Return the POST route of ``handler``, behind the pipeline of the module docstring.

    ``body_limit(config)`` is the route's largest body (default ``config.max_body_bytes``).
    """
    limit_of = body_limit or _default_body_limit

    async def endpoint(request: Request) -> Response:
        body = await read_body(request, limit_of(service_of(request).config))
        return await run_in_threadpool(_process, request, body, handler)

    endpoint.__name__ = getattr(handler, "__name__", "endpoint")
    endpoint.__doc__ = handler.__doc__
    return ApiRoute(path, endpoint, "POST", operation, handler)


def _default_body_limit(config: Config) -> int:
    return config.max_body_bytes


def request_target(request: Request) -> str:
    """Return the path as the client sent it (percent-encoded), with ``?query`` if there is one."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    query = request.scope.get("query_string", b"")
    return path + ("?" + query.decode("latin-1") if query else "")


def _process(request: Request, body: bytes, handler: Callable[[Submission], Response]) -> Response:
    service = service_of(request)
    department = require_department(request)
    require_role(department, "submit")
    require_json_content_type(request)
    key = idempotency.idempotency_key(request)
    target = request_target(request)
    print_ = idempotency.fingerprint(request.method, target, body)
    retention = service.config.idempotency_retention_ms
    stored = idempotency.reserve(service.engine, department.code, key, print_, service.clock(), retention)
    if stored is not None:
        return stored.response()
    try:
        signed = _signature(request, service, department, key, target, body)
        response = handler(Submission(request, service, department, key, body, signed))
    except BaseException:
        idempotency.release(service.engine, department.code, key)
        raise
    if 200 <= response.status_code < 300:
        idempotency.complete(service.engine, department.code, key, response)
    else:
        idempotency.release(service.engine, department.code, key)
    return response


def _signature(
    request: Request, service: Service, department: Department, key: str, target: str, body: bytes
) -> SignedRequest | None:
    values = request.headers.getlist(SIGNATURE_HEADER)
    vkey = signing_key(service, department.code)  # read after the reservation: see department_keys
    verifier = None if vkey is None else new_verifier(vkey)
    if verifier is None and not values:
        return None
    if verifier is None or len(values) != 1:
        detail = "required once" if verifier is not None else f"department {department.code} has no key"
        raise ProblemError.field("invalid-signature", SIGNATURE_HEADER, detail)
    want = SignedFields(
        service.origin(), department.code, request.method, target, key, 0, hashlib.sha256(body).digest()
    )
    try:
        signed = verify_request_signature(
            values[0], verifier, want, service.clock(), service.config.signature_window_ms
        )
    except RequestSignatureError as exc:
        raise ProblemError.field("invalid-signature", SIGNATURE_HEADER, str(exc)) from None
    try:
        jcs.loads_canonical(body)
    except (ValueError, UnicodeDecodeError):
        raise ProblemError.field(
            "malformed-request", "body", "a signed body must be RFC 8785 canonical JSON"
        ) from None
    return signed


def created(content: Any, location: str | None = None) -> Response:
    """Return a 201 JSON response (with ``Location`` if given)."""
    headers = {"Cache-Control": "no-store"} | ({} if location is None else {"Location": location})
    return JSONResponse(content, status_code=201, headers=headers)
