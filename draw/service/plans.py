"""年度抽查计划 (annual inspection plans), published as ``plan.publish`` entries.

A county-level or higher department sets out, for one year, the batches of random inspections it
will run: for each, the items, the range of objects, the ratio and frequency as the plan writes
them, the period and the departments that join it; the plan is filed with the next level up
(备案) [domain notes §1.1, §1.4]. A plan is published whole; a revised plan is a new entry that names
the plan it ``supersedes``. Tasks (``tasks``) refer to a plan's batch by the plan's ledger index and
the batch's ``ref``.

Entry type owned here (docs/api.md, "Rosters, item lists, plans and tasks"):

* ``plan.publish`` ``{"department", "year", "title", "start", "end", "filed_with", "supersedes",
  "batches"[, "request"]}``, each batch ``{"ref", "name", "type", "items", "scope", "ratio",
  "start", "end", "cooperators"}``; ``type`` is ``targeted`` (定向) or ``untargeted`` (不定向),
  ``items`` are item references ``{"list", "code"}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pydantic
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.service import db, publishing
from draw.service.auth import CODE_PATTERN, require_department, require_self
from draw.service.core import Service, service_of
from draw.service.departments import LedgerReceipt
from draw.service.http import ProblemError, page, page_query
from draw.service.items import ItemRefIn, check_item_refs, item_refs
from draw.service.publishing import ApiModel
from draw.service.routing import CODE_PARAMETER, PAGING, Operation, Submission, api_get, api_post, created
from ledger import jcs, store
from ledger.entries import EntryType

ENTRY_TYPE = "plan.publish"
TASK_TYPES = ("targeted", "untargeted")
MAX_BATCHES = 100
MIN_YEAR, MAX_YEAR = 2000, 2100
REF_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_BATCH_MEMBERS = ("ref", "name", "type", "items", "scope", "ratio", "start", "end", "cooperators")
_PLAN_MEMBERS = ("department", "year", "title", "start", "end", "filed_with", "supersedes", "batches")

plans = sa.Table(
    "draw_plans",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("ledger_index", sa.BigInteger, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("ledger_index", name="draw_plans_ledger_index"),
    sa.Index("draw_plans_department", "department", "ledger_index"),
)


# -- models ---------------------------------------------------------------------------------------

_Code = Annotated[str, pydantic.Field(pattern=f"^{CODE_PATTERN.pattern}$")]
_T200 = Annotated[str, pydantic.Field(min_length=1, max_length=200)]
_T1000 = Annotated[str, pydantic.Field(min_length=1, max_length=1000)]
_Date = Annotated[str, pydantic.Field(pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="YYYY-MM-DD")]


class PlanBatchIn(ApiModel):
    """One batch (批次) of the plan: a planned random inspection."""

    ref: str = pydantic.Field(pattern=f"^{REF_PATTERN.pattern}$", description="the batch's id in the plan")
    name: _T200
    type: Literal["targeted", "untargeted"] = pydantic.Field(description="定向 or 不定向")
    items: list[ItemRefIn] = pydantic.Field(min_length=1, max_length=64)
    scope: _T1000 = pydantic.Field(description="抽查对象范围")
    ratio: _T200 = pydantic.Field(description="抽查比例及频次, as the plan writes it")
    start: _Date
    end: _Date
    cooperators: list[_Code] = pydantic.Field([], max_length=16, description="配合部门")


class PlanIn(ApiModel):
    """An annual plan (年度抽查工作计划)."""

    year: int = pydantic.Field(ge=MIN_YEAR, le=MAX_YEAR)
    title: _T200
    start: _Date
    end: _Date
    filed_with: _T200 | None = pydantic.Field(None, description="the authority it is filed with (备案)")
    supersedes: int | None = pydantic.Field(None, ge=0, description="ledger index of the plan it revises")
    batches: list[PlanBatchIn] = pydantic.Field(min_length=1, max_length=MAX_BATCHES)


class ItemRefOut(ApiModel):
    """An item reference."""

    list: int
    code: str


class PlanBatchOut(ApiModel):
    """A batch of a published plan."""

    ref: str
    name: str
    type: Literal["targeted", "untargeted"]
    items: list[ItemRefOut]
    scope: str
    ratio: str
    start: str
    end: str
    cooperators: list[str]


class PlanOut(ApiModel):
    """A published plan."""

    index: int = pydantic.Field(ge=0, description="ledger index of its plan.publish entry")
    department: str
    year: int
    title: str
    start: str
    end: str
    filed_with: str | None
    supersedes: int | None
    batches: list[PlanBatchOut]


class PlanCreated(PlanOut):
    """A new plan and the receipt of its entry."""

    receipt: LedgerReceipt


class PlanPage(ApiModel):
    """One page of a department's plans, oldest first."""

    items: list[PlanOut]
    next_cursor: str | None


# -- plans for tasks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A published plan: its ledger index and its record (the entry body without ``request``)."""

    index: int
    record: dict[str, Any]

    def batch(self, ref: str) -> dict[str, Any] | None:
        """Return the batch ``ref``, or None."""
        return next((b for b in self.record["batches"] if b["ref"] == ref), None)

    def as_json(self) -> dict[str, Any]:
        """Return the PlanOut members."""
        return {"index": self.index, **self.record}


def load_plan(service: Service, index: int) -> Plan | None:
    """Return the published plan whose entry is at ``index``, or None. One query."""
    with store.reading(service.engine) as conn:
        row = conn.execute(sa.select(plans).where(plans.c.ledger_index == index)).first()
    return None if row is None else Plan(row.ledger_index, jcs.loads(bytes(row.content)))


# -- publishing -----------------------------------------------------------------------------------


def _batch(
    service: Service, code: str, batch: PlanBatchIn, field: str, span: tuple[str, str]
) -> dict[str, Any]:
    start, end = publishing.period(batch.start, batch.end, field)
    if start < span[0] or end > span[1]:
        raise ProblemError.field(
            "invalid-field", f"{field}.start", f"outside the plan's period {span[0]}..{span[1]}"
        )
    cooperators = publishing.departments(service, batch.cooperators, f"{field}.cooperators", code)
    return {
        "ref": batch.ref,
        "name": publishing.text(batch.name, f"{field}.name", 200),
        "type": batch.type,
        "items": item_refs(service, batch.items, f"{field}.items", {code, *cooperators}),
        "scope": publishing.text(batch.scope, f"{field}.scope", 1000),
        "ratio": publishing.text(batch.ratio, f"{field}.ratio", 200),
        "start": start,
        "end": end,
        "cooperators": cooperators,
    }


def _supersedes(service: Service, code: str, plan: PlanIn) -> int | None:
    if plan.supersedes is None:
        return None
    earlier = load_plan(service, plan.supersedes)
    if earlier is None or earlier.record["department"] != code:
        raise ProblemError.field(
            "invalid-field", "body.supersedes", f"no plan {plan.supersedes} of department {code}"
        )
    if earlier.record["year"] != plan.year:
        raise ProblemError.field(
            "invalid-field", "body.supersedes", f"plan {earlier.index} is for {earlier.record['year']}"
        )
    return earlier.index


def plan_record(service: Service, code: str, plan: PlanIn) -> dict[str, Any]:
    """Return the record of ``plan`` by department ``code``.

    Raises ProblemError ``invalid-field`` (422) naming the member: a bad text or date, a batch
    outside the plan's period, a repeated batch ref, an unknown cooperator or item, a plan to
    supersede that is not the department's plan of the same year.
    """
    span = publishing.period(plan.start, plan.end, "body")
    if not plan.start.startswith(str(plan.year)):
        raise ProblemError.field(
            "invalid-field", "body.start", f"the plan for {plan.year} starts in another year"
        )
    refs = [b.ref for b in plan.batches]
    for i, ref in enumerate(refs):
        if ref in refs[:i]:
            raise ProblemError.field("invalid-field", f"body.batches[{i}].ref", f"batch ref {ref!r} repeats")
    return {
        "department": code,
        "year": plan.year,
        "title": publishing.text(plan.title, "body.title", 200),
        "start": span[0],
        "end": span[1],
        "filed_with": publishing.optional_text(plan.filed_with, "body.filed_with", 200),
        "supersedes": _supersedes(service, code, plan),
        "batches": [_batch(service, code, b, f"body.batches[{i}]", span) for i, b in enumerate(plan.batches)],
    }


def post_plan(submission: Submission) -> Response:
    """POST /departments/{code}/plans: publish an annual plan."""
    code = submission.request.path_params["code"]
    require_self(submission.department, code)
    record = plan_record(submission.service, code, submission.model(PlanIn))
    body = publishing.with_request(record, submission)
    publishing.check_entry(submission.service, ENTRY_TYPE, body)
    values = {"department": code, "year": record["year"], "content": jcs.canonicalize(record)}
    index, receipt = publishing.publish(submission.service, plans, values, ENTRY_TYPE, body)
    out = {**Plan(index, record).as_json(), "receipt": receipt}
    return created(out, f"/api/v1/departments/{code}/plans/{index}")


# -- entry type -----------------------------------------------------------------------------------


def _check_batch(batch: Any, field: str) -> None:
    if not isinstance(batch, dict) or set(batch) != set(_BATCH_MEMBERS):
        raise ValueError(f"draw: {field}: want exactly the members {', '.join(sorted(_BATCH_MEMBERS))}")
    if not isinstance(batch["ref"], str) or not REF_PATTERN.fullmatch(batch["ref"]):
        raise ValueError(f"draw: {field}.ref: want {REF_PATTERN.pattern}")
    publishing.entry_text(batch["name"], f"{field}.name", 200)
    publishing.entry_choice(batch["type"], f"{field}.type", TASK_TYPES)
    check_item_refs(batch["items"], f"{field}.items")
    publishing.entry_text(batch["scope"], f"{field}.scope", 1000)
    publishing.entry_text(batch["ratio"], f"{field}.ratio", 200)
    if publishing.entry_date(batch["start"], f"{field}.start") > publishing.entry_date(
        batch["end"], f"{field}.end"
    ):
        raise ValueError(f"draw: {field}.end: before start")
    publishing.entry_codes(batch["cooperators"], f"{field}.cooperators")


def _check_plan_entry(body: Any) -> None:
    publishing.members(body, _PLAN_MEMBERS)
    publishing.entry_code(body["department"], "department")
    publishing.entry_int(body["year"], "year", MIN_YEAR)
    publishing.entry_text(body["title"], "title", 200)
    if publishing.entry_date(body["start"], "start") > publishing.entry_date(body["end"], "end"):
        raise ValueError("draw: end: before start")
    publishing.entry_text(body["filed_with"], "filed_with", 200, nullable=True)
    publishing.entry_int(body["supersedes"], "supersedes", nullable=True)
    batches = body["batches"]
    if not isinstance(batches, list) or not 1 <= len(batches) <= MAX_BATCHES:
        raise ValueError(f"draw: batches: want 1 to {MAX_BATCHES} batches")
    for i, batch in enumerate(batches):
        _check_batch(batch, f"batches[{i}]")
    refs = [b["ref"] for b in batches]
    if len(set(refs)) != len(refs):
        raise ValueError("draw: batches: refs repeat")


ENTRY_TYPES = [EntryType(ENTRY_TYPE, _check_plan_entry, "an annual inspection plan and its batches")]


# -- reading --------------------------------------------------------------------------------------


def list_plans(request: Request) -> Response:
    """GET /departments/{code}/plans: the department's plans, oldest first, paged."""
    require_department(request)
    code = publishing.path_code(request)
    service = service_of(request)
    query = page_query(request, service.config.page_limit_default, service.config.page_limit_max, (int,))
    select = sa.select(plans).where(plans.c.department == code, publishing.published(plans))
    if query.after is not None:
        select = select.where(plans.c.ledger_index > query.after[0])
    with store.reading(service.engine) as conn:
        rows = conn.execute(select.order_by(plans.c.ledger_index).limit(query.limit + 1)).all()
    found = [Plan(row.ledger_index, jcs.loads(bytes(row.content))) for row in rows]
    shown, cursor = page(found, query, lambda plan: [plan.index])
    return JSONResponse({"items": [plan.as_json() for plan in shown], "next_cursor": cursor})


def get_plan(request: Request) -> Response:
    """GET /departments/{code}/plans/{index}: one plan."""
    require_department(request)
    code = request.path_params["code"]
    index = publishing.path_index(request)
    found = load_plan(service_of(request), index)
    if found is None or found.record["department"] != code:
        raise ProblemError.field("not-found", "path.index", f"no plan {index} of department {code}")
    return JSONResponse(found.as_json())


routes = [
    api_post(
        "/departments/{code}/plans",
        post_plan,
        Operation(
            "Publish an annual plan",
            "Publishes a 年度抽查工作计划 with its batches as a plan.publish entry. Batch items must be in "
            "published item lists of the department or of the batch's cooperating departments.",
            ("plans",),
            PlanCreated,
            status=201,
            request_model=PlanIn,
            parameters=(CODE_PARAMETER,),
            errors=publishing.POST_ERRORS,
        ),
    ),
    api_get(
        "/departments/{code}/plans",
        list_plans,
        Operation(
            "List plans",
            "The department's published plans, oldest first. Any department may read them.",
            ("plans",),
            PlanPage,
            parameters=(CODE_PARAMETER, *PAGING),
            errors=(400, 401),
        ),
    ),
    api_get(
        "/departments/{code}/plans/{index}",
        get_plan,
        Operation(
            "One plan",
            "A published plan by the ledger index of its entry.",
            ("plans",),
            PlanOut,
            parameters=(CODE_PARAMETER, publishing.INDEX_PARAMETER),
            errors=(401, 404),
        ),
    ),
]
