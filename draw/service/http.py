"""HTTP conventions of the ``/api/v1`` service: RFC 9457 problem details, strict JSON bodies, cursors.

Every error the API returns is an RFC 9457 problem document (``application/problem+json``)::

    {"type": "/api/v1/docs#problem-invalid-field", "title": "Invalid field", "status": 422,
     "detail": "the request body does not match the schema", "instance": "/api/v1/departments/X/notes",
     "errors": [{"field": "body.text", "message": "String should have at most 4000 characters"}]}

``type`` is a relative URI reference into the API's documentation page (or ``about:blank`` for plain
HTTP errors such as 404 and 405, whose ``title`` is then the HTTP reason phrase); ``title`` is fixed
per type; ``instance`` is the request path; ``errors`` names each offending input. A ``field`` is a
header by its name (``Idempotency-Key``), a query parameter as ``query.<name>``, a path parameter as
``path.<name>``, or a place in the JSON body as ``body`` followed by ``.member`` and ``[index]`` steps.

Request bodies are read through :func:`read_body` (size limit, 413) and parsed with
:func:`parse_json` (``ledger.jcs.loads``: UTF-8, no duplicate names, integers only) and
:func:`validate` (a strict pydantic model, 422). Lists are paged with opaque cursors
(:func:`encode_cursor` / :func:`decode_cursor`, :func:`page_query`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

import pydantic
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ledger import jcs

API_PREFIX = "/api/v1"
PROBLEM_MEDIA_TYPE = "application/problem+json"
DOCS_PATH = API_PREFIX + "/docs"

# slug -> (status, title). The title never varies between occurrences of a type (RFC 9457 §3.1.3).
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "malformed-request": (400, "Malformed request"),
    "idempotency-key-missing": (400, "Idempotency-Key is missing"),
    "unauthorized": (401, "Authentication required"),
    "forbidden": (403, "Forbidden"),
    "invalid-signature": (403, "Invalid request signature"),
    "not-found": (404, "Not found"),
    "idempotency-key-outstanding": (409, "A request is outstanding for this Idempotency-Key"),
    "conflict": (409, "Conflict"),
    "content-too-large": (413, "Content too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "invalid-field": (422, "Invalid field"),
    "invalid-roster": (422, "Invalid roster"),
    "idempotency-key-reused": (422, "Idempotency-Key is already used"),
    "internal-error": (500, "Internal server error"),
    "calendar-data-missing": (503, "Working-day calendar data is missing"),
}

_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,512}")
_LIMIT = re.compile(r"[1-9][0-9]{0,3}")

M = TypeVar("M", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class FieldError:
    """One offending input: ``field`` as described in the module docstring, and what is wrong with it."""

    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        """Return the ``{"field", "message"}`` member of a problem's ``errors`` list."""
        return {"field": self.field, "message": self.message}


class ProblemError(Exception):
    """An error the API reports as a problem document of the registered type ``slug``.

    ``detail`` explains this occurrence; ``errors`` names the offending inputs; ``headers`` are sent
    with the response (``WWW-Authenticate`` on 401, ``Retry-After`` on 409). Raises KeyError for an
    unregistered slug, so every type a client can see is documented.
    """

    def __init__(
        self,
        slug: str,
        detail: str,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status, self.title = PROBLEM_TYPES[slug]
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})

    @classmethod
    def field(cls, slug: str, field: str, message: str, **kwargs: Any) -> ProblemError:
        """Return the problem ``slug`` about one input: ``detail`` is ``"<field>: <message>"``."""
        return cls(slug, f"{field}: {message}", [FieldError(field, message)], **kwargs)


def problem_type_uri(slug: str) -> str:
    """Return the ``type`` URI reference of problem ``slug``: its anchor on the documentation page."""
    return f"{DOCS_PATH}#problem-{slug}"


class ProblemResponse(JSONResponse):
    """A JSONResponse carrying an RFC 9457 problem document."""

    media_type = PROBLEM_MEDIA_TYPE


def problem_document(
    request: Request, type_uri: str, title: str, status: int, detail: str, errors: Sequence[FieldError]
) -> dict[str, Any]:
    """Return the problem document's members, with ``instance`` the request path."""
    return {
        "type": type_uri,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "errors": [e.as_json() for e in errors],
    }


def problem_response(request: Request, exc: ProblemError) -> Response:
    """Render ``exc`` as a ProblemResponse with its headers and ``Cache-Control: no-store``."""
    content = problem_document(
        request, problem_type_uri(exc.slug), exc.title, exc.status, exc.detail, exc.errors
    )
    headers = {"Cache-Control": "no-store", **exc.headers}
    return ProblemResponse(content, status_code=exc.status, headers=headers)


def handle_problem(request: Request, exc: Exception) -> Response:
    """Exception handler for ProblemError."""
    if not isinstance(exc, ProblemError):  # pragma: no cover - registered for ProblemError only
        raise exc
    return problem_response(request, exc)


def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Exception handler for Starlette's HTTPException (404, 405, ...): an ``about:blank`` problem.

    Passes ``exc.headers`` through, so a 405 keeps its ``Allow`` header (RFC 9110 §15.5.6).
    """
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for HTTPException only
        raise exc
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if exc.detail != phrase else f"{request.method} {request.url.path}: {phrase.lower()}"
    content = problem_document(request, "about:blank", phrase, exc.status_code, detail, ())
    headers = {"Cache-Control": "no-store", **(exc.headers or {})}
    return ProblemResponse(content, status_code=exc.status_code, headers=headers)


def handle_server_error(request: Request, exc: Exception) -> Response:
    """Handler for any unexpected exception: a 500 problem that reveals nothing about the cause."""
    return problem_response(
        request, ProblemError("internal-error", "the server failed to handle the request")
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ProblemError: handle_problem,
    HTTPException: handle_http_exception,
    Exception: handle_server_error,
}


# -- request bodies -------------------------------------------------------------------------------


async def read_body(request: Request, limit: int) -> bytes:
    """Return the request body, refusing more than ``limit`` bytes.

    Checks ``Content-Length`` first, then counts while streaming, so at most ``limit`` + one chunk is
    held in memory. Raises ProblemError ``content-too-large`` (413) naming ``body``.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ProblemError:
    return ProblemError.field("content-too-large", "body", f"the body exceeds the {limit}-byte limit")


def require_json_content_type(request: Request) -> None:
    """Require ``Content-Type: application/json`` (parameters allowed). Raises ProblemError 415."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ProblemError.field("unsupported-media-type", "Content-Type", "must be application/json")


def parse_json(body: bytes) -> dict[str, Any]:
    """Parse ``body`` as one strict JSON object (``ledger.jcs.loads``).

    Raises ProblemError ``malformed-request`` (400) naming ``body`` for invalid UTF-8 or JSON, a
    duplicate member name, a non-integer number, or a top level that is not an object.
    """
    try:
        value = jcs.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProblemError.field(
            "malformed-request", "body", f"not strict JSON ({_first_line(exc)})"
        ) from None
    if not isinstance(value, dict):
        raise ProblemError.field("malformed-request", "body", "must be a JSON object")
    return value


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def validate(model: type[M], data: Any) -> M:
    """Return ``data`` validated by the pydantic ``model``.

    Raises ProblemError ``invalid-field`` (422) with one FieldError per failure, fields named
    ``body.<path>``.
    """
    try:
        return model.model_validate(data, strict=True)
    except pydantic.ValidationError as exc:
        errors = [FieldError(field_path("body", err["loc"]), err["msg"]) for err in exc.errors()]
        raise ProblemError("invalid-field", "the request body does not match the schema", errors) from None


def field_path(root: str, loc: Sequence[int | str]) -> str:
    """Return ``root`` followed by ``.name`` / ``[index]`` steps: ``field_path("body", ("a", 0))``
    is ``"body.a[0]"``."""
    return root + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in loc)


# -- pagination -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageQuery:
    """A page request: at most ``limit`` items strictly after position ``after`` (None: from the start)."""

    after: list[Any] | None
    limit: int


def encode_cursor(position: Sequence[Any]) -> str:
    """Return the opaque cursor for the sort-key ``position`` of the last item of a page.

    The cursor is unpadded base64url of the canonical JSON array; clients must treat it as opaque.
    The inverse of :func:`decode_cursor`.
    """
    return base64.urlsafe_b64encode(jcs.canonicalize(list(position))).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> list[Any]:
    """Return the sort-key position inside ``cursor``. Raises ValueError for anything
    :func:`encode_cursor` cannot have produced."""
    if not _CURSOR.fullmatch(cursor):
        raise ValueError("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = jcs.loads_canonical(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError("malformed cursor") from None
    if not isinstance(value, list) or encode_cursor(value) != cursor:
        raise ValueError("malformed cursor")
    return value


def page_query(
    request: Request, default_limit: int, max_limit: int, shape: tuple[type, ...] = (str,)
) -> PageQuery:
    """Read ``?limit=`` (1..max_limit, default ``default_limit``) and ``?cursor=`` from the request.

    A cursor's position must hold one value of each type in ``shape``, in order. Raises ProblemError
    ``malformed-request`` (400) naming ``query.limit`` or ``query.cursor``, and for any other query
    parameter.
    """
    params = request.query_params
    unknown = sorted(set(params) - {"limit", "cursor"})
    if unknown:
        raise ProblemError.field("malformed-request", f"query.{unknown[0]}", "unknown query parameter")
    if len(params.getlist("limit")) > 1 or len(params.getlist("cursor")) > 1:
        name = "limit" if len(params.getlist("limit")) > 1 else "cursor"
        raise ProblemError.field("malformed-request", f"query.{name}", "given more than once")
    raw_limit = params.get("limit")
    limit = default_limit
    if raw_limit is not None:
        if not _LIMIT.fullmatch(raw_limit) or int(raw_limit) > max_limit:
            raise ProblemError.field("malformed-request", "query.limit", f"must be an integer 1..{max_limit}")
        limit = int(raw_limit)
    raw_cursor = params.get("cursor")
    try:
        after = None if raw_cursor is None else _position(decode_cursor(raw_cursor), shape)
    except ValueError as exc:
        raise ProblemError.field("malformed-request", "query.cursor", str(exc)) from None
    return PageQuery(after, limit)


def _position(value: list[Any], shape: tuple[type, ...]) -> list[Any]:
    if len(value) != len(shape) or any(type(v) is not t for v, t in zip(value, shape, strict=False)):
        raise ValueError("malformed cursor")
    return value


def page(items: Sequence[Any], query: PageQuery, position: Any) -> tuple[list[Any], str | None]:
    """Split ``items`` (fetched with ``limit + 1`` rows) into the page and the next cursor.

    ``position(item)`` returns the item's sort key. The next cursor is None on the last page.
    """
    shown = list(items[: query.limit])
    more = len(items) > query.limit
    return shown, (encode_cursor(position(shown[-1])) if more and shown else None)
