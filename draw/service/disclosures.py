"""Result disclosures (一公开): each drawn object's inspection result, its corrections and withdrawal.

After a draw the department that owns it discloses, per inspected object, the result codes and the
follow-up measures, from one version of the code table (:mod:`draw.service.result_codes`). Nothing is
ever edited: a correction or a withdrawal is a further ledger entry naming the disclosure it changes.
A result is due within 20 working days of the end of the inspection (:mod:`draw.service.calendar`);
a disclosure recorded later is flagged ``late``, and a missing one shows on the overdue list.

**Payloads.** The result itself, the *payload*, is the request body as RFC 8785 canonical JSON (for
a signed request exactly the signed bytes). A result is a statement about the inspected party, who
may be a person (个体工商户, domain notes §5.2), so the payload lives in the blob store
(:mod:`ledger.blobs`) and the entry holds only its digest. A withdrawal may erase the payloads: the
digests stay in the ledger, the bytes are gone. The payload carries a fresh random ``salt``, so its
digest cannot be matched against the few possible results once the bytes are erased.

Entry types (bodies are canonical JSON; ``request`` is the signed request's record when signed):

* ``disclosure.result`` ``{"department", "draw_id", "object_id", "payload": "sha256:<hex>",
  "inspection_end": "YYYY-MM-DD"[, "request"]}``
* ``disclosure.correct`` ``{"department", "draw_id", "object_id", "corrects": <index of the
  disclosure.result>, "payload"[, "request"]}``: the payload replaces the one before.
* ``disclosure.withdraw`` ``{"department", "draw_id", "object_id", "withdraws": <index of the
  disclosure.result>, "reason": <withdrawal reason code>, "erase": bool[, "request"]}``.

When ``request`` is present its ``content_digest`` is the SHA-256 of the payload (of the canonical
``{"erase", "reason"}`` for a withdrawal), which the entry check enforces.

**Write order.** A write (1) settles what a stopped writer may have left for the same object
(:func:`settle_pending`), (2) in one transaction reserves its row, *pending*, and stores the payload,
(3) appends the entry, the last fallible step, and (4) records the entry's index (a withdrawal also
closes the disclosure and erases its payloads). A failed append removes the row again.

**The seam to the draw lifecycle.** Which objects a department may disclose, and when their
inspection ended, is the lifecycle's knowledge. It provides a :class:`TargetSource` (a module with the
two functions will do) as ``app.state.disclosure_targets``; without one the service knows no draws.

Endpoints (under ``/api/v1``): ``POST /draws/{draw_id}/disclosures/{object_id}`` (and
``.../corrections``, ``.../withdrawal``), ``GET /draws/{draw_id}/disclosures`` and
``GET /draws/{draw_id}/disclosures/{object_id}`` (public),
``GET /departments/{code}/disclosures/overdue``, ``GET /result-codes``, ``GET /calendar`` and
``GET /calendar/deadline`` (public). The routes under ``/draws/{draw_id}/disclosures`` are
:class:`~draw.service.segments.SegmentRoute` objects: ``{object_id}`` is one segment of the path as
sent, percent-decoded, so every object id can be named, ``/`` (as ``%2F``) included.
"""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import pydantic
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.engine.uscc import object_id_kind
from draw.service import calendar, db, result_codes
from draw.service.auth import CODE_PATTERN, check_code, require_department, require_reader
from draw.service.calendar import (
    MissingYearError,
    beijing_date,
    deadline,
    is_overdue,
    load_calendar,
)
from draw.service.core import Service, service_of
from draw.service.departments import receipt_json
from draw.service.draws_entries import DRAW_ID
from draw.service.http import ProblemError, page, page_query
from draw.service.personal_data import find_personal_data
from draw.service.result_codes import (
    CODE_PATTERN as RESULT_CODE,
)
from draw.service.result_codes import (
    MAX_OTHER_MEASURE,
    REASON_PATTERN,
    CodeError,
    Outcome,
    check_outcome,
    load_code_book,
)
from draw.service.routing import (
    CODE_PARAMETER,
    PAGING,
    Operation,
    Parameter,
    Submission,
    api_get,
    api_post,
    created,
)
from draw.service.segments import SegmentRoute
from draw.service.signature import content_digest
from ledger import blobs, jcs, store
from ledger.entries import EntryType, decode_entry

TARGETS_STATE = "disclosure_targets"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_SALT = r"^(?:[0-9a-f]{2}){16,64}$"
_TYPES = {"result": "disclosure.result", "correct": "disclosure.correct", "withdraw": "disclosure.withdraw"}
PENDING_MS = 5 * 60 * 1000  # a pending row without its entry this old belongs to a writer that stopped

disclosures = sa.Table(
    "draw_disclosures",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("draw_id", sa.Text, nullable=False),
    sa.Column("object_id", sa.Text, nullable=False),
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("result_id", sa.Integer, sa.ForeignKey("draw_disclosures.id"), nullable=True),
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("inspection_end", sa.Date, nullable=False),
    sa.Column("recorded_ms", sa.BigInteger, nullable=False),
    sa.Column("ledger_index", sa.BigInteger, nullable=True),
    sa.Column("ledger_size", sa.BigInteger, nullable=False),
    sa.Column("is_open", sa.Boolean, nullable=True),
    sa.UniqueConstraint("ledger_index", name="draw_disclosures_ledger_index"),
    sa.UniqueConstraint("draw_id", "object_id", "department", "is_open", name="draw_disclosures_open"),
    sa.Index("draw_disclosures_result", "result_id"),
    sa.Index("draw_disclosures_payload", "payload"),
)
"""One row per disclosure entry: ``kind`` result, correct or withdraw; ``result_id`` links a change to
its result row; ``ledger_index`` is NULL while the entry is being appended, ``ledger_size`` the ledger's
size before; ``is_open`` is TRUE on a result row until it is withdrawn (else NULL), so one department
has at most one open disclosure of an object in a draw."""


# -- the seam to the draw lifecycle ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A drawn object ``department`` may disclose, and the day its inspection ended."""

    draw_id: str
    object_id: str
    department: str
    inspection_end: datetime.date


class TargetError(LookupError):
    """Raised by a TargetSource. ``reason`` is ``no-draw`` (no such draw), ``not-owner`` (the
    department may not disclose in it), ``not-in-draw`` (the object was not drawn) or ``not-ready``
    (the draw has not reached the point where results are disclosed)."""

    REASONS = ("no-draw", "not-owner", "not-in-draw", "not-ready")

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"disclosures: unknown target error reason {reason!r}")
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class TargetSource(Protocol):
    """What the draw lifecycle provides to disclosures (as ``app.state.disclosure_targets``)."""

    def disclosure_target(self, service: Service, draw_id: str, object_id: str, department: str) -> Target:
        """Return the target for ``department``'s disclosure of ``object_id`` drawn in ``draw_id``,
        with ``target.department == department``. Raises TargetError."""
        ...

    def disclosure_targets(self, service: Service, department: str) -> Iterable[Target]:
        """Return every object drawn for ``department`` whose result is due: its draw reached the
        point where results are disclosed, and the object was not replaced or voided."""
        ...


class _NoDraws:
    """The TargetSource of a service composed without the draw lifecycle: it knows no draw."""

    def disclosure_target(self, service: Service, draw_id: str, object_id: str, department: str) -> Target:
        raise TargetError("no-draw", f"no draw {draw_id}")

    def disclosure_targets(self, service: Service, department: str) -> Iterable[Target]:
        return ()


def target_source(request: Request) -> TargetSource:
    """Return the application's TargetSource (``app.state.disclosure_targets``), or one knowing no draw."""
    found: TargetSource | None = getattr(request.app.state, TARGETS_STATE, None)
    return _NoDraws() if found is None else found


_TARGET_PROBLEMS = {
    "no-draw": ("not-found", "path.draw_id"),
    "not-owner": ("forbidden", "path.draw_id"),
    "not-in-draw": ("not-found", "path.object_id"),
    "not-ready": ("conflict", "path.draw_id"),
}


# -- models (request and response bodies; their JSON Schemas go into the OpenAPI document) ---------


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="forbid", frozen=True)


_Code = Annotated[str, pydantic.Field(pattern=f"^{RESULT_CODE.pattern}$")]


class DisclosureIn(_Model):
    """An object's inspection result, from one version of the code table (GET /result-codes)."""

    code_table: int = pydantic.Field(ge=1, description="version of the code table the codes are from")
    results: list[_Code] = pydantic.Field(min_length=1, max_length=32, description="result codes")
    measures: list[_Code] = pydantic.Field(default_factory=list, max_length=32, description="measures")
    other_measure: str | None = pydantic.Field(
        default=None, min_length=1, max_length=MAX_OTHER_MEASURE, description="text of the measure 其他"
    )
    inspected_on: str = pydantic.Field(
        pattern=_DATE, json_schema_extra={"format": "date"}, description="检查日期: the day of the inspection"
    )
    salt: str = pydantic.Field(pattern=_SALT, description="16 to 64 fresh random bytes, lowercase hex")


class WithdrawalIn(_Model):
    """A withdrawal: its reason code (GET /result-codes) and whether to erase the payloads."""

    reason: str = pydantic.Field(pattern=f"^{REASON_PATTERN.pattern}$")
    erase: bool = pydantic.Field(description="erase the payloads from the blob store (irreversible)")


class DisclosureReceipt(_Model):
    """Where the entry landed, with a c2sp.org/tlog-proof@v1 receipt, and the disclosure it belongs to."""

    disclosure: int = pydantic.Field(ge=0, description="ledger index of the disclosure.result entry")
    index: int = pydantic.Field(ge=0)
    leaf_hash: str = pydantic.Field(description="base64 of the entry's RFC 9162 leaf hash")
    tlog_proof: str = pydantic.Field(description="c2sp.org/tlog-proof@v1 text")


class HistoryItem(_Model):
    """One entry of a disclosure."""

    index: int = pydantic.Field(ge=0)
    type: Literal["disclosure.result", "disclosure.correct", "disclosure.withdraw"]
    payload: str | None = pydantic.Field(description="sha256:<hex> of the payload, null for a withdrawal")
    reason: str | None = pydantic.Field(description="the withdrawal's reason code, else null")


class DisclosureOut(_Model):
    """One disclosure of a drawn object, with its corrections and withdrawal."""

    draw_id: str
    object_id: str
    department: str
    disclosure: int = pydantic.Field(ge=0, description="ledger index of the disclosure.result entry")
    state: Literal["disclosed", "corrected", "withdrawn"]
    history: list[HistoryItem]
    payload: str = pydantic.Field(description="sha256:<hex> of the current payload")
    content: DisclosureIn | None = pydantic.Field(description="the current payload; null once withdrawn")
    erased: bool = pydantic.Field(description="the payloads were erased from the blob store")
    inspection_end: str
    deadline: str | None = pydantic.Field(description="null if the calendar lacks the year")
    disclosed_on: str = pydantic.Field(description="Beijing date the result was recorded")
    late: bool | None = pydantic.Field(description="recorded after the deadline; null if unknown")


class DisclosurePage(_Model):
    """One page of a draw's disclosures, by object, department and ledger index."""

    items: list[DisclosureOut]
    next_cursor: str | None


class OverdueOut(_Model):
    """A drawn object whose result is past its deadline and not disclosed."""

    draw_id: str
    object_id: str
    inspection_end: str
    deadline: str


class OverduePage(_Model):
    """One page of overdue disclosures, by deadline, draw and object, as of a Beijing date."""

    as_of: str
    items: list[OverdueOut]
    next_cursor: str | None


# -- entry types ----------------------------------------------------------------------------------


def _members(body: Mapping[str, Any], required: set[str]) -> None:
    extra = sorted(set(body) - required - {"request"})
    missing = sorted(required - set(body))
    if missing or extra:
        name = missing[0] if missing else extra[0]
        raise ValueError(f"draw: body member {name!r} is {'missing' if missing else 'unexpected'}")


def _check_common(body: Mapping[str, Any], required: set[str]) -> None:
    _members(body, {"department", "draw_id", "object_id", *required})
    check_code(body["department"])
    for name in ("draw_id", "object_id"):
        if not isinstance(body[name], str) or not _well_formed(name, body[name]):
            raise ValueError(f"draw: disclosure {name} {body[name]!r} is malformed")


def _check_index(value: Any, name: str) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"draw: disclosure {name} must be a ledger index")


def _check_request(body: Mapping[str, Any], signed_digest: str) -> None:
    if "request" not in body:
        return
    record = body["request"]
    ok = isinstance(record, dict) and set(record) == {"note", "content_digest"}
    if not ok or not all(isinstance(v, str) for v in record.values()):
        raise ValueError("draw: disclosure request must be {note, content_digest} strings")
    if record["content_digest"] != signed_digest:
        raise ValueError("draw: disclosure request content_digest is not that of the payload")


def _blob_content_digest(digest: str) -> str:
    """Return the RFC 9530 ``sha-256`` Content-Digest value of the blob named ``sha256:<hex>``."""
    raw = bytes.fromhex(blobs.parse_digest(digest).removeprefix("sha256:"))
    return "sha-256=:" + base64.b64encode(raw).decode("ascii") + ":"


def _check_result(body: Mapping[str, Any]) -> None:
    _check_common(body, {"payload", "inspection_end"})
    end = body["inspection_end"]
    if not isinstance(end, str) or not re.fullmatch(_DATE[1:-1], end) or not _is_date(end):
        raise ValueError("draw: disclosure.result inspection_end must be a YYYY-MM-DD date")
    _check_request(body, _blob_content_digest(body["payload"]))


def _check_correct(body: Mapping[str, Any]) -> None:
    _check_common(body, {"corrects", "payload"})
    _check_index(body["corrects"], "corrects")
    _check_request(body, _blob_content_digest(body["payload"]))


def _check_withdraw(body: Mapping[str, Any]) -> None:
    _check_common(body, {"withdraws", "reason", "erase"})
    _check_index(body["withdraws"], "withdraws")
    if not isinstance(body["reason"], str) or not REASON_PATTERN.fullmatch(body["reason"]):
        raise ValueError("draw: disclosure.withdraw reason must be a reason code")
    if type(body["erase"]) is not bool:
        raise ValueError("draw: disclosure.withdraw erase must be true or false")
    signed = jcs.canonicalize({"erase": body["erase"], "reason": body["reason"]})
    _check_request(body, content_digest(signed))


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


ENTRY_TYPES = [
    EntryType("disclosure.result", _check_result, "an inspected object's result: the digest of its payload"),
    EntryType("disclosure.correct", _check_correct, "a corrected result replacing the disclosure's payload"),
    EntryType("disclosure.withdraw", _check_withdraw, "a withdrawn disclosure, its reason, and erasure"),
]


# -- writing --------------------------------------------------------------------------------------


def _ids(request: Request) -> tuple[str, str]:
    draw_id, object_id = request.path_params["draw_id"], request.path_params["object_id"]
    if not _well_formed("draw_id", draw_id):
        raise ProblemError.field("not-found", "path.draw_id", f"no draw {draw_id}")
    if not _well_formed("object_id", object_id):
        raise ProblemError.field("not-found", "path.object_id", f"{object_id!r} is not an object id")
    return draw_id, object_id


def _well_formed(name: str, value: str) -> bool:
    """Return whether ``value`` is a draw id (docs/api.md) or an object id (docs/draw-spec.md §3)."""
    if name == "draw_id":
        return DRAW_ID.fullmatch(value) is not None
    try:
        object_id_kind(value)
    except ValueError:
        return False
    return True


def _check_content(service: Service, content: DisclosureIn) -> None:
    """Raise ProblemError 422 naming the body member if the codes, the date or the text are wrong."""
    outcome = Outcome(
        content.code_table, tuple(content.results), tuple(content.measures), content.other_measure
    )
    try:
        check_outcome(load_code_book(), outcome)
    except CodeError as exc:
        raise ProblemError.field("invalid-field", f"body.{exc.field}", exc.message) from None
    if not _is_date(content.inspected_on):
        raise ProblemError.field("invalid-field", "body.inspected_on", "is not a date")
    today = beijing_date(service.clock())
    if datetime.date.fromisoformat(content.inspected_on) > today:
        raise ProblemError.field("invalid-field", "body.inspected_on", f"is after today ({today}, Beijing)")
    found = find_personal_data(content.other_measure or "")
    if found is not None:
        raise ProblemError.field("invalid-field", "body.other_measure", f"holds {found}; leave it out")


def _target(submission: Submission, draw_id: str, object_id: str) -> Target:
    code = submission.department.code
    source = target_source(submission.request)
    try:
        target = source.disclosure_target(submission.service, draw_id, object_id, code)
    except TargetError as exc:
        slug, field = _TARGET_PROBLEMS[exc.reason]
        raise ProblemError.field(slug, field, exc.detail) from None
    if (target.draw_id, target.object_id, target.department) != (draw_id, object_id, code):
        raise AssertionError("disclosures: the TargetSource returned another target")
    return target


def _open_result(conn: Connection, draw_id: str, object_id: str, department: str) -> Any:
    table = disclosures
    query = sa.select(table).where(
        table.c.draw_id == draw_id,
        table.c.object_id == object_id,
        table.c.department == department,
        table.c.is_open.is_(True),
    )
    return conn.execute(query.with_for_update()).first()


def _store_payload(conn: Connection, payload: bytes) -> str:
    digest = blobs.digest_of(payload)
    used = conn.execute(sa.select(disclosures.c.id).where(disclosures.c.payload == digest)).first()
    if used is not None:
        raise ProblemError.field("invalid-field", "body.salt", "was used before; send a fresh random salt")
    try:
        return blobs.put(conn, payload)
    except ValueError as exc:
        raise ProblemError.field("invalid-field", "body.salt", str(exc)) from None


def _insert(conn: Connection, **values: Any) -> int:
    inserted = conn.execute(sa.insert(disclosures).values(**values).returning(disclosures.c.id))
    row_id: int = inserted.scalar_one()
    return row_id


def _reserve_result(service: Service, target: Target, payload: bytes) -> tuple[int, str]:
    """Insert the pending result row and store its payload (one transaction); return (row id, digest).

    Raises ProblemError 409 if the department already has an open disclosure of the object, 422 if
    the payload's salt was used before.
    """
    where = (target.draw_id, target.object_id, target.department)
    settle_pending(service, *where)
    size = service.ledger.size()  # before the transaction: SQLite allows one writer at a time
    with service.engine.begin() as conn:
        found = _open_result(conn, *where)
        if found is not None:
            raise _already_disclosed(found)
        digest = _store_payload(conn, payload)
        try:
            row_id = _insert(
                conn,
                draw_id=where[0],
                object_id=where[1],
                department=where[2],
                kind="result",
                payload=digest,
                inspection_end=target.inspection_end,
                recorded_ms=service.clock(),
                ledger_size=size,
                is_open=True,
            )
        except IntegrityError:
            raise ProblemError.field(
                "conflict", "path.object_id", "a disclosure is being recorded; retry"
            ) from None
    return row_id, digest


def _already_disclosed(found: Any) -> ProblemError:
    if found.ledger_index is None:
        return ProblemError.field("conflict", "path.object_id", "a disclosure is being recorded; retry")
    return ProblemError.field(
        "conflict",
        "path.object_id",
        f"already disclosed (entry {found.ledger_index}); POST a correction or a withdrawal instead",
    )


def _reserve_change(
    submission: Submission, kind: str, payload: bytes | None, reason: str | None
) -> tuple[Any, int, str | None]:
    """Insert a pending correction or withdrawal row of the open disclosure (one transaction, the
    result row locked); return (result row, row id, payload digest or None).

    Raises ProblemError 404 naming ``path.object_id`` if there is no disclosure to change, 409 while
    another change of it is being recorded, 422 for a reused salt.
    """
    draw_id, object_id = _ids(submission.request)
    department, service = submission.department.code, submission.service
    settle_pending(service, draw_id, object_id, department)
    size = service.ledger.size()  # before the transaction: SQLite allows one writer at a time
    with service.engine.begin() as conn:
        result = _open_result(conn, draw_id, object_id, department)
        if result is None:
            raise ProblemError.field(
                "not-found", "path.object_id", f"{department} has no disclosure of {object_id} in {draw_id}"
            )
        if result.ledger_index is None or _pending_change(conn, result.id):
            raise ProblemError.field("conflict", "path.object_id", "another change is being recorded; retry")
        digest = None if payload is None else _store_payload(conn, payload)
        row_id = _insert(
            conn,
            draw_id=draw_id,
            object_id=object_id,
            department=department,
            kind=kind,
            result_id=result.id,
            payload=digest,
            reason=reason,
            inspection_end=result.inspection_end,
            recorded_ms=service.clock(),
            ledger_size=size,
        )
    return result, row_id, digest


def _pending_change(conn: Connection, result_id: int) -> bool:
    table = disclosures
    query = sa.select(table.c.id).where(table.c.result_id == result_id, table.c.ledger_index.is_(None))
    return conn.execute(query).first() is not None


def _append(
    submission: Submission,
    row_id: int,
    kind: str,
    body: dict[str, Any],
    disclosure: int | None,
    then: Callable[[Connection], None] | None = None,
) -> Response:
    """Append the entry (the last fallible step), then record its index and run ``then`` in one
    transaction; return the 201 receipt.

    If the append fails the pending row is removed (its payload blob stays, unreferenced).
    """
    service = submission.service
    record = submission.record()
    if record is not None:
        body["request"] = record
    try:
        receipt = service.ledger.append(_TYPES[kind], body)
    except BaseException:
        with service.engine.begin() as conn:
            conn.execute(sa.delete(disclosures).where(disclosures.c.id == row_id))
        raise
    with service.engine.begin() as conn:
        table = disclosures
        conn.execute(sa.update(table).where(table.c.id == row_id).values(ledger_index=receipt.index))
        if then is not None:
            then(conn)
    first = receipt.index if disclosure is None else disclosure
    return created({"disclosure": first, **receipt_json(service, receipt.index, receipt.leaf_hash)})


def post_disclosure(submission: Submission) -> Response:
    """POST /draws/{draw_id}/disclosures/{object_id}: disclose an object's result (disclosure.result)."""
    draw_id, object_id = _ids(submission.request)
    content = submission.model(DisclosureIn)
    _check_content(submission.service, content)
    target = _target(submission, draw_id, object_id)
    payload = jcs.canonicalize(submission.json())
    row_id, digest = _reserve_result(submission.service, target, payload)
    body = {
        "department": target.department,
        "draw_id": draw_id,
        "object_id": object_id,
        "payload": digest,
        "inspection_end": target.inspection_end.isoformat(),
    }
    return _append(submission, row_id, "result", body, None)


def post_correction(submission: Submission) -> Response:
    """POST /draws/{draw_id}/disclosures/{object_id}/corrections: replace the result (disclosure.correct)."""
    draw_id, object_id = _ids(submission.request)
    content = submission.model(DisclosureIn)
    _check_content(submission.service, content)
    payload = jcs.canonicalize(submission.json())
    result, row_id, digest = _reserve_change(submission, "correct", payload, None)
    body = {
        "department": submission.department.code,
        "draw_id": draw_id,
        "object_id": object_id,
        "corrects": result.ledger_index,
        "payload": digest,
    }
    return _append(submission, row_id, "correct", body, result.ledger_index)


def post_withdrawal(submission: Submission) -> Response:
    """POST /draws/{draw_id}/disclosures/{object_id}/withdrawal: withdraw it (disclosure.withdraw), then
    close it and, if asked, erase its payloads."""
    draw_id, object_id = _ids(submission.request)
    withdrawal = submission.model(WithdrawalIn)
    try:
        load_code_book().reason(withdrawal.reason)
    except CodeError as exc:
        raise ProblemError.field("invalid-field", f"body.{exc.field}", exc.message) from None
    result, row_id, _ = _reserve_change(submission, "withdraw", None, withdrawal.reason)
    body = {
        "department": submission.department.code,
        "draw_id": draw_id,
        "object_id": object_id,
        "withdraws": result.ledger_index,
        "reason": withdrawal.reason,
        "erase": withdrawal.erase,
    }
    why = f"disclosure {result.ledger_index} withdrawn: {withdrawal.reason}"

    def close(conn: Connection) -> None:
        _close(conn, result.id, withdrawal.erase, why)

    return _append(submission, row_id, "withdraw", body, result.ledger_index, close)


def _close(conn: Connection, result_id: int, erase: bool, why: str) -> None:
    """Mark the disclosure withdrawn and, if ``erase``, erase every payload of it."""
    table = disclosures
    conn.execute(sa.update(table).where(table.c.id == result_id).values(is_open=None))
    if not erase:
        return
    mine = sa.or_(table.c.id == result_id, table.c.result_id == result_id)
    for row in conn.execute(sa.select(table.c.payload).where(mine, table.c.payload.is_not(None))).all():
        blobs.erase(conn, row.payload, why)


# -- settling what a stopped writer left ---------------------------------------------------------


def settle_pending(service: Service, draw_id: str, object_id: str, department: str) -> None:
    """Settle the pending rows of ``department``'s disclosures of ``object_id`` in ``draw_id`` whose
    writer may have stopped between reserving and recording: a row whose entry is in the ledger is
    activated (a withdrawal also closes and, if asked, erases); a row older than PENDING_MS without
    an entry is deleted; a younger one is left to its writer. Reads the ledger entries appended since
    each row was reserved.
    """
    table = disclosures
    query = sa.select(table).where(
        table.c.draw_id == draw_id,
        table.c.object_id == object_id,
        table.c.department == department,
        table.c.ledger_index.is_(None),
    )
    with store.reading(service.engine) as conn:
        pending = conn.execute(query.order_by(table.c.id)).all()
    for row in pending:
        found = _find_entry(service, row)
        if found is not None:
            with service.engine.begin() as conn:
                _activate(conn, row, *found)
        elif service.clock() - row.recorded_ms > PENDING_MS:
            with service.engine.begin() as conn:
                conn.execute(sa.delete(table).where(table.c.id == row.id, table.c.ledger_index.is_(None)))


def _find_entry(service: Service, row: Any) -> tuple[int, dict[str, Any]] | None:
    """Return the index and body of the entry ``row`` was reserved for, if the ledger holds it."""
    want: dict[str, Any] = {"department": row.department, "draw_id": row.draw_id, "object_id": row.object_id}
    if row.kind == "withdraw":
        want.update(withdraws=_result_index(service, row.result_id), reason=row.reason)
    else:
        want["payload"] = row.payload
    for index in range(row.ledger_size, service.ledger.size()):
        entry = decode_entry(service.ledger.entry(index))
        if entry.type == _TYPES[row.kind] and all(entry.body.get(k) == v for k, v in want.items()):
            return index, entry.body
    return None


def _result_index(service: Service, result_id: int) -> int | None:
    with store.reading(service.engine) as conn:
        found: int | None = conn.execute(
            sa.select(disclosures.c.ledger_index).where(disclosures.c.id == result_id)
        ).scalar_one()
    return found


def _activate(conn: Connection, row: Any, index: int, body: dict[str, Any]) -> None:
    table = disclosures
    done = conn.execute(
        sa.update(table)
        .where(table.c.id == row.id, table.c.ledger_index.is_(None))
        .values(ledger_index=index)
    ).rowcount
    if done and row.kind == "withdraw":
        _close(conn, row.result_id, body["erase"], f"disclosure {body['withdraws']} withdrawn: {row.reason}")


# -- reading --------------------------------------------------------------------------------------


def list_draw_disclosures(request: Request) -> Response:
    """GET /draws/{draw_id}/disclosures: every disclosure of a draw, public, paged."""
    draw_id = request.path_params["draw_id"]
    if not _well_formed("draw_id", draw_id):
        raise ProblemError.field("not-found", "path.draw_id", f"no draw {draw_id}")
    return _disclosure_page(request, draw_id, None)


def list_object_disclosures(request: Request) -> Response:
    """GET /draws/{draw_id}/disclosures/{object_id}: the disclosures of one object of a draw, public,
    paged like the draw's list (an empty page if there are none)."""
    return _disclosure_page(request, *_ids(request))


def _disclosure_page(request: Request, draw_id: str, object_id: str | None) -> Response:
    """Return the page of ``draw_id``'s disclosures (of ``object_id`` only, unless None) the query asks
    for. Raises ProblemError 400 for a bad limit or cursor."""
    service = service_of(request)
    config = service.config
    query = page_query(request, config.page_limit_default, config.page_limit_max, (str, str, int))
    table = disclosures
    key = (table.c.object_id, table.c.department, table.c.ledger_index)
    select = sa.select(table).where(
        table.c.draw_id == draw_id, table.c.kind == "result", table.c.ledger_index.is_not(None)
    )
    if object_id is not None:
        select = select.where(table.c.object_id == object_id)
    if query.after is not None:
        select = select.where(sa.tuple_(*key) > sa.tuple_(*query.after))
    with store.reading(service.engine) as conn:
        rows = conn.execute(select.order_by(*key).limit(query.limit + 1)).all()
        shown, cursor = page(rows, query, lambda r: [r.object_id, r.department, r.ledger_index])
        changes = _changes(conn, [r.id for r in shown])
        items = [_disclosure_json(conn, r, changes.get(r.id, [])) for r in shown]
    return JSONResponse({"items": items, "next_cursor": cursor})


def _changes(conn: Connection, result_ids: Sequence[int]) -> dict[int, list[Any]]:
    table = disclosures
    out: dict[int, list[Any]] = {}
    if not result_ids:
        return out
    query = sa.select(table).where(table.c.result_id.in_(result_ids), table.c.ledger_index.is_not(None))
    for row in conn.execute(query.order_by(table.c.ledger_index)):
        out.setdefault(row.result_id, []).append(row)
    return out


def _disclosure_json(conn: Connection, result: Any, changes: list[Any]) -> dict[str, Any]:
    rows = [result, *changes]
    withdrawn = any(r.kind == "withdraw" for r in rows)
    current = [r for r in rows if r.payload is not None][-1]
    info = blobs.info(conn, current.payload)
    data = None if withdrawn else blobs.get(conn, current.payload)
    state = "withdrawn" if withdrawn else "corrected" if len(rows) > 1 else "disclosed"
    return {
        "draw_id": result.draw_id,
        "object_id": result.object_id,
        "department": result.department,
        "disclosure": result.ledger_index,
        "state": state,
        "history": [_history_json(r) for r in rows],
        "payload": current.payload,
        "content": None if data is None else jcs.loads(data),
        "erased": info is not None and info.erased is not None,
        **_timeliness(result.inspection_end, beijing_date(result.recorded_ms)),
    }


def _history_json(row: Any) -> dict[str, Any]:
    return {"index": row.ledger_index, "type": _TYPES[row.kind], "payload": row.payload, "reason": row.reason}


def _timeliness(end: datetime.date, disclosed_on: datetime.date) -> dict[str, Any]:
    """Return inspection_end, deadline, disclosed_on and late; deadline and late are None where the
    calendar lacks a year they need."""
    calendar = load_calendar()
    try:
        due: str | None = deadline(calendar, end).isoformat()
    except MissingYearError:
        due = None
    try:
        late: bool | None = is_overdue(calendar, end, disclosed_on)
    except MissingYearError:
        late = None
    return {
        "inspection_end": end.isoformat(),
        "deadline": due,
        "disclosed_on": disclosed_on.isoformat(),
        "late": late,
    }


def list_overdue(request: Request) -> Response:
    """GET /departments/{code}/disclosures/overdue: the department's drawn objects whose result is past
    its deadline and has no open disclosure, by deadline (itself, or role ``oversee``)."""
    caller = require_department(request)
    code = request.path_params["code"]
    require_reader(caller, code)
    service = service_of(request)
    if not _registered(service, code):
        raise ProblemError.field("not-found", "path.code", f"no department {code}")
    config = service.config
    query = page_query(request, config.page_limit_default, config.page_limit_max, (str, str, str))
    today = beijing_date(service.clock())
    try:
        found = _overdue(service, target_source(request), code, today)
    except MissingYearError as exc:
        raise ProblemError("calendar-data-missing", str(exc)) from None
    after = query.after
    items = sorted(i for i in found if after is None or i[:3] > tuple(after))[: query.limit + 1]
    shown, cursor = page(items, query, lambda item: list(item[:3]))
    rows = [{"draw_id": d, "object_id": o, "inspection_end": e, "deadline": due} for due, d, o, e in shown]
    return JSONResponse({"as_of": today.isoformat(), "items": rows, "next_cursor": cursor})


def _registered(service: Service, code: str) -> bool:
    table = db.departments
    query = sa.select(table.c.code).where(table.c.code == code, table.c.ledger_index.is_not(None))
    with store.reading(service.engine) as conn:
        return CODE_PATTERN.fullmatch(code) is not None and conn.execute(query).first() is not None


def _overdue(
    service: Service, source: TargetSource, department: str, today: datetime.date
) -> list[tuple[str, str, str, str]]:
    """Return (deadline, draw_id, object_id, inspection_end) of every overdue target. Raises
    MissingYearError if the calendar lacks a year before ``today``."""
    table = disclosures
    query = sa.select(table.c.draw_id, table.c.object_id).where(
        table.c.department == department, table.c.is_open.is_(True), table.c.ledger_index.is_not(None)
    )
    with store.reading(service.engine) as conn:
        disclosed = {(r.draw_id, r.object_id) for r in conn.execute(query)}
    calendar = load_calendar()
    out = []
    for target in source.disclosure_targets(service, department):
        end = target.inspection_end
        if (target.draw_id, target.object_id) in disclosed or not is_overdue(calendar, end, today):
            continue
        out.append((deadline(calendar, end).isoformat(), target.draw_id, target.object_id, end.isoformat()))
    return out


# -- routes ---------------------------------------------------------------------------------------

_DRAW = Parameter("draw_id", "path", {"type": "string", "pattern": f"^{DRAW_ID.pattern}$"}, "draw id", True)
_OBJECT = Parameter(
    "object_id",
    "path",
    {"type": "string", "minLength": 1, "maxLength": 161},
    "the drawn object's id (docs/draw-spec.md §3: a USCC, a 注册号 or kind:local) as one path segment, "
    "percent-encoded as UTF-8 (RFC 3986): '/' as %2F, '%' as %25, a space as %20",
    True,
)
_CODE = CODE_PARAMETER
_PAGING = PAGING
_POST_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


def _post(path: str, handler: Any, summary: str, description: str, model: type[pydantic.BaseModel]) -> Any:
    return SegmentRoute(
        api_post(
            path,
            handler,
            Operation(
                summary,
                description,
                ("disclosures",),
                DisclosureReceipt,
                status=201,
                request_model=model,
                parameters=(_DRAW, _OBJECT),
                errors=_POST_ERRORS,
            ),
        )
    )


routes = [
    *calendar.routes,
    *result_codes.routes,
    _post(
        "/draws/{draw_id}/disclosures/{object_id}",
        post_disclosure,
        "Disclose an object's result",
        "Appends a disclosure.result entry; the payload (the body) goes to the blob store. Only the "
        "department the draw lifecycle lets disclose the object may post; one open disclosure per object.",
        DisclosureIn,
    ),
    _post(
        "/draws/{draw_id}/disclosures/{object_id}/corrections",
        post_correction,
        "Correct a disclosure",
        "Appends a disclosure.correct entry whose payload replaces the current one.",
        DisclosureIn,
    ),
    _post(
        "/draws/{draw_id}/disclosures/{object_id}/withdrawal",
        post_withdrawal,
        "Withdraw a disclosure",
        "Appends a disclosure.withdraw entry with a reason code; with erase, the payloads are erased "
        "from the blob store (their digests stay in the ledger). The object may then be disclosed anew.",
        WithdrawalIn,
    ),
    SegmentRoute(
        api_get(
            "/draws/{draw_id}/disclosures",
            list_draw_disclosures,
            Operation(
                "A draw's disclosures",
                "Every disclosure of the draw with its history, current payload, deadline and lateness. "
                "Public.",
                ("disclosures",),
                DisclosurePage,
                parameters=(_DRAW, *_PAGING),
                errors=(400, 404),
                authenticated=False,
            ),
        )
    ),
    SegmentRoute(
        api_get(
            "/draws/{draw_id}/disclosures/{object_id}",
            list_object_disclosures,
            Operation(
                "An object's disclosures",
                "The disclosures of one object of the draw (one per department that disclosed it, and "
                "any withdrawn before), as in the draw's list. Public.",
                ("disclosures",),
                DisclosurePage,
                parameters=(_DRAW, _OBJECT, *_PAGING),
                errors=(400, 404),
                authenticated=False,
            ),
        )
    ),
    api_get(
        "/departments/{code}/disclosures/overdue",
        list_overdue,
        Operation(
            "Overdue disclosures",
            "Drawn objects of the department past their 20-working-day deadline without an open "
            "disclosure, by deadline. For the department itself or the oversee role.",
            ("disclosures",),
            OverduePage,
            parameters=(_CODE, *_PAGING),
            errors=(400, 401, 403, 404, 503),
        ),
    ),
]

__all__ = [
    "ENTRY_TYPES",
    "TARGETS_STATE",
    "DisclosureIn",
    "Target",
    "TargetError",
    "TargetSource",
    "WithdrawalIn",
    "disclosures",
    "routes",
    "target_source",
]
