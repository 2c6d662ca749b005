"""Departments: registration (``dept.register`` entries), the department endpoints and signed notes.

Entry types owned here (bodies are canonical JSON, see docs/api.md):

* ``dept.register`` ``{"code", "name", "roles": [...], "vkey": str | null}``: a department's
  registration. Never the token or its hash.
* ``dept.note`` ``{"department", "text"[, "request": {"note", "content_digest"}]}``: a statement a
  department publishes; ``request`` records the signed request when the department signed it, and
  ``{"text": text}`` is then the signed body.

Endpoints (under ``/api/v1``): ``GET /departments/me``, ``GET /departments`` (role ``oversee``),
``GET /departments/{code}`` (itself or ``oversee``), ``POST /departments/{code}/notes`` (itself,
role ``submit``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.service import db
from draw.service.auth import (
    CODE_PATTERN,
    DEFAULT_ROLES,
    MAX_NAME_LENGTH,
    Department,
    check_code,
    check_name,
    check_roles,
    check_vkey,
    department_from_row,
    new_token,
    require_department,
    require_reader,
    require_role,
    require_self,
    token_hash,
)
from draw.service.core import Service, service_of
from draw.service.http import ProblemError, page, page_query
from draw.service.routing import (
    CODE_PARAMETER,
    PAGING,
    Operation,
    Submission,
    api_get,
    api_post,
    created,
)
from ledger import store
from ledger.entries import EntryType

MAX_NOTE_TEXT = 4000


# -- models (request and response bodies; their JSON Schemas go into the OpenAPI document) ---------


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="forbid", frozen=True)


class DepartmentOut(_Model):
    """A registered department."""

    code: Annotated[str, pydantic.Field(pattern=f"^{CODE_PATTERN.pattern}$")]
    name: str
    vkey: str | None = pydantic.Field(description="C2SP Ed25519 verifier key, or null")
    roles: list[str]
    ledger_index: int = pydantic.Field(ge=0, description="index of its dept.register ledger entry")


class DepartmentPage(_Model):
    """One page of departments, ordered by code."""

    items: list[DepartmentOut]
    next_cursor: str | None = pydantic.Field(
        description="pass as ?cursor= for the next page; null on the last"
    )


class NoteIn(_Model):
    """A statement to publish in the ledger."""

    text: Annotated[str, pydantic.Field(min_length=1, max_length=MAX_NOTE_TEXT)]


class LedgerReceipt(_Model):
    """Where a write landed in the ledger, with a c2sp.org/tlog-proof@v1 receipt for it."""

    index: int = pydantic.Field(ge=0)
    leaf_hash: str = pydantic.Field(description="base64 of the entry's RFC 9162 leaf hash")
    tlog_proof: str = pydantic.Field(description="c2sp.org/tlog-proof@v1 text")


# -- registration -------------------------------------------------------------------------------


def register_department(
    service: Service, code: str, name: str, vkey: str | None = None, roles: Iterable[str] = DEFAULT_ROLES
) -> tuple[Department, str]:
    """Register a department; append its ``dept.register`` entry; return it and its new API token.

    The token is returned once and stored only as a hash. The row is written first, inactive; the
    ledger append activates it and starts the department's key history with ``vkey``. If the append
    fails, the row is removed again. Raises ValueError for a bad code, name, vkey or role, or a code
    already registered; LedgerError if the append fails.
    """
    check_code(code)
    check_name(name)
    check_vkey(vkey)
    role_set = check_roles(roles)
    token = new_token(service.randbytes)
    _insert_pending(service, code, name, vkey, role_set, token_hash(token))
    body = {"code": code, "name": name, "roles": sorted(role_set), "vkey": vkey}
    try:
        receipt = service.ledger.append("dept.register", body)
    except BaseException:
        _delete_pending(service, code)
        raise
    table = db.departments
    with service.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.code == code).values(ledger_index=receipt.index))
        conn.execute(  # the first row of its key history (draw.service.department_keys)
            sa.insert(db.department_keys).values(
                department=code,
                vkey=vkey,
                ledger_index=receipt.index,
                ledger_size=receipt.index,
                created_ms=service.clock(),
            )
        )
    return Department(code, name, vkey, role_set, receipt.index), token


def reissue_token(service: Service, code: str) -> str:
    """Replace department ``code``'s API token with a new one and return it (the old one stops working).

    Writes only the token's hash; the ledger is not involved. Raises ValueError for an unknown or
    unregistered department.
    """
    token = new_token(service.randbytes)
    table = db.departments
    with service.engine.begin() as conn:
        updated = conn.execute(
            sa.update(table)
            .where(table.c.code == code, table.c.ledger_index.is_not(None))
            .values(token_hash=token_hash(token))
        ).rowcount
    if updated != 1:
        raise ValueError(f"no registered department {code}")
    return token


def _insert_pending(
    service: Service, code: str, name: str, vkey: str | None, roles: frozenset[str], digest: bytes
) -> None:
    table = db.departments
    try:
        with service.engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.code == code, table.c.ledger_index.is_(None)))
            conn.execute(
                sa.insert(table).values(
                    code=code,
                    name=name,
                    vkey=vkey,
                    roles=" ".join(sorted(roles)),
                    token_hash=digest,
                    created_ms=service.clock(),
                )
            )
    except IntegrityError:
        raise ValueError(f"department {code} is already registered") from None


def _delete_pending(service: Service, code: str) -> None:
    table = db.departments
    with service.engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.code == code, table.c.ledger_index.is_(None)))


# -- entry types ----------------------------------------------------------------------------------


def _only(body: Mapping[str, Any], required: set[str], optional: Iterable[str] = ()) -> None:
    missing = sorted(required - set(body))
    extra = sorted(set(body) - required - set(optional))
    if missing or extra:
        name = missing[0] if missing else extra[0]
        raise ValueError(f"draw: body member {name!r} is {'missing' if missing else 'unexpected'}")


def _check_register(body: Mapping[str, Any]) -> None:
    _only(body, {"code", "name", "roles", "vkey"})
    check_code(body["code"])
    check_name(body["name"])
    if not isinstance(body["roles"], list) or body["roles"] != sorted(set(body["roles"])):
        raise ValueError("draw: dept.register roles must be a sorted list without repeats")
    check_roles(body["roles"])
    if body["vkey"] is not None and not isinstance(body["vkey"], str):
        raise ValueError("draw: dept.register vkey must be a string or null")
    check_vkey(body["vkey"])


def _check_note(body: Mapping[str, Any]) -> None:
    _only(body, {"department", "text"}, {"request"})
    check_code(body["department"])
    text = body["text"]
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_NOTE_TEXT:
        raise ValueError(f"draw: dept.note text must be 1 to {MAX_NOTE_TEXT} characters")
    if "request" in body:
        _check_record(body["request"])


def _check_record(record: Any) -> None:
    ok = isinstance(record, dict) and set(record) == {"note", "content_digest"}
    if not ok or not all(isinstance(v, str) for v in record.values()):
        raise ValueError("draw: dept.note request must be {note, content_digest} strings")


ENTRY_TYPES = [
    EntryType("dept.register", _check_register, "a department's registration: code, name, roles, key"),
    EntryType("dept.note", _check_note, "a statement published by a department, with its signed request"),
]


# -- endpoints ------------------------------------------------------------------------------------


def _department(service: Service, code: str) -> Department | None:
    table = db.departments
    with store.reading(service.engine) as conn:
        row = conn.execute(
            sa.select(table).where(table.c.code == code, table.c.ledger_index.is_not(None))
        ).first()
    return None if row is None else department_from_row(row)


def get_me(request: Request) -> Response:
    """GET /departments/me: the department the token belongs to."""
    return JSONResponse(require_department(request).as_json())


def get_department(request: Request) -> Response:
    """GET /departments/{code}: a department, for itself or an ``oversee`` department."""
    caller = require_department(request)
    code = request.path_params["code"]
    require_reader(caller, code)
    found = _department(service_of(request), code)
    if found is None:
        raise ProblemError.field("not-found", "path.code", f"no department {code}")
    return JSONResponse(found.as_json())


def list_departments(request: Request) -> Response:
    """GET /departments: every registered department, by code, paged (role ``oversee``)."""
    require_role(require_department(request), "oversee")
    service = service_of(request)
    query = page_query(request, service.config.page_limit_default, service.config.page_limit_max)
    table = db.departments
    select = sa.select(table).where(table.c.ledger_index.is_not(None)).order_by(table.c.code)
    if query.after is not None:
        select = select.where(table.c.code > query.after[0])
    with store.reading(service.engine) as conn:
        rows = conn.execute(select.limit(query.limit + 1)).all()
    shown, cursor = page([department_from_row(r) for r in rows], query, lambda d: [d.code])
    return JSONResponse({"items": [d.as_json() for d in shown], "next_cursor": cursor})


def post_note(submission: Submission) -> Response:
    """POST /departments/{code}/notes: publish a statement of the department in the ledger."""
    code = submission.request.path_params["code"]
    require_self(submission.department, code)
    note = submission.model(NoteIn)
    body: dict[str, Any] = {"department": code, "text": note.text}
    record = submission.record()
    if record is not None:
        body["request"] = record
    log = submission.service.ledger
    receipt = log.append("dept.note", body)
    return created(receipt_json(submission.service, receipt.index, receipt.leaf_hash))


def receipt_json(service: Service, index: int, leaf_hash: bytes) -> dict[str, Any]:
    """Return the LedgerReceipt members of entry ``index``; its tlog-proof is under the newest checkpoint."""
    return {
        "index": index,
        "leaf_hash": base64.b64encode(leaf_hash).decode("ascii"),
        "tlog_proof": service.ledger.tlog_proof(index),
    }


_CODE = CODE_PARAMETER
_PAGING = PAGING

routes = [
    api_get(
        "/departments/me",
        get_me,
        Operation(
            "The calling department",
            "The department whose token authenticates the request.",
            ("departments",),
            DepartmentOut,
            errors=(401,),
        ),
    ),
    api_get(
        "/departments",
        list_departments,
        Operation(
            "List departments",
            "Every registered department, ordered by code. Needs the oversee role.",
            ("departments",),
            DepartmentPage,
            parameters=_PAGING,
            errors=(400, 401, 403),
        ),
    ),
    api_get(
        "/departments/{code}",
        get_department,
        Operation(
            "One department",
            "A department, readable by itself and by departments with the oversee role.",
            ("departments",),
            DepartmentOut,
            parameters=(_CODE,),
            errors=(401, 403, 404),
        ),
    ),
    api_post(
        "/departments/{code}/notes",
        post_note,
        Operation(
            "Publish a statement",
            f"Appends a dept.note entry with the text (1 to {MAX_NOTE_TEXT} characters). "
            "Only the department itself may post; a signed request is recorded verbatim.",
            ("departments",),
            LedgerReceipt,
            status=201,
            request_model=NoteIn,
            parameters=(_CODE,),
            errors=(400, 401, 403, 409, 413, 415, 422),
        ),
    ),
]

__all__ = ["ENTRY_TYPES", "MAX_NAME_LENGTH", "register_department", "reissue_token", "routes"]
