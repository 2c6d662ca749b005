"""抽查任务 (inspection tasks) and their inspector pools: ``task.publish`` and ``task.pool`` entries.

A task is what a draw is for (domain notes §0, §1.4): its department (the 发起部门), its 任务编号
``ref`` and name, the plan batch it carries out (or none: a 临时任务), ``targeted`` (定向, with the
filter that built the pool) or ``untargeted`` (不定向), its items — "1+X": one ``base_item`` and
further items, each ``{"list", "code"}`` — its cooperating departments (配合部门) for a joint task,
the object roster snapshot the objects are drawn from, the department's inspector roster snapshot,
and its period.

In a joint task each department draws its own inspectors: every 配合部门 attaches its inspector
roster snapshot with ``POST /departments/{code}/tasks/{index}/pool`` (a ``task.pool`` entry). A
department may attach again; its latest attachment counts. The 发起部门's pool is the task's
``inspectors_roster`` until it attaches another. A draw for the task that omits ``matching.pools``
draws from these pools (``draws_inputs``).

Entry types owned here (docs/api.md, "Rosters, item lists, plans and tasks"):

* ``task.publish`` ``{"department", "ref", "name", "plan", "type", "filter", "items", "base_item",
  "cooperators", "objects_roster", "inspectors_roster", "start", "end"[, "request"]}``;
* ``task.pool`` ``{"task", "department", "roster"[, "request"]}``.

For the draw lifecycle: :func:`load_task` returns a :class:`Task` with its record and its pools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pydantic
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.service import db, publishing
from draw.service.auth import CODE_PATTERN, require_department, require_reader, require_self
from draw.service.core import Service, service_of
from draw.service.departments import LedgerReceipt
from draw.service.http import ProblemError, page, page_query
from draw.service.items import ItemRefIn, check_item_ref, check_item_refs, item_refs
from draw.service.plans import REF_PATTERN, TASK_TYPES, ItemRefOut, load_plan
from draw.service.publishing import ApiModel
from draw.service.rosters import load_snapshot
from draw.service.routing import CODE_PARAMETER, PAGING, Operation, Submission, api_get, api_post, created
from ledger import jcs, store
from ledger.entries import EntryType

TASK_ENTRY = "task.publish"
POOL_ENTRY = "task.pool"
MAX_COOPERATORS = 16
_TASK_MEMBERS = (
    "department",
    "ref",
    "name",
    "plan",
    "type",
    "filter",
    "items",
    "base_item",
    "cooperators",
    "objects_roster",
    "inspectors_roster",
    "start",
    "end",
)

tasks = sa.Table(
    "draw_tasks",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
    sa.Column("ref", sa.Text, nullable=False),
    sa.Column("participants", sa.Text, nullable=False),  # " HZ NB ": the department and its cooperators
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("ledger_index", sa.BigInteger, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("ledger_index", name="draw_tasks_ledger_index"),
    sa.Index("draw_tasks_department", "department", "ledger_index"),
)

pools = sa.Table(
    "draw_task_pools",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task", sa.BigInteger, nullable=False),
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
    sa.Column("roster", sa.BigInteger, nullable=False),
    sa.Column("ledger_index", sa.BigInteger, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("ledger_index", name="draw_task_pools_ledger_index"),
    sa.Index("draw_task_pools_task", "task", "ledger_index"),
)


# -- models ---------------------------------------------------------------------------------------

_Code = Annotated[str, pydantic.Field(pattern=f"^{CODE_PATTERN.pattern}$")]
_Date = Annotated[str, pydantic.Field(pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="YYYY-MM-DD")]


class TaskPlanRef(ApiModel):
    """The plan batch a task carries out."""

    index: int = pydantic.Field(ge=0, description="ledger index of the plan.publish entry")
    batch: str = pydantic.Field(pattern=f"^{REF_PATTERN.pattern}$", description="the batch's ref")


class TaskIn(ApiModel):
    """A new 抽查任务."""

    ref: Annotated[str, pydantic.Field(min_length=1, max_length=64)] = pydantic.Field(
        description="任务编号, e.g. 忻市监抽查〔2025〕3号; not reused by the department"
    )
    name: Annotated[str, pydantic.Field(min_length=1, max_length=200)]
    plan: TaskPlanRef | None = pydantic.Field(None, description="null for a 临时任务")
    type: Literal["targeted", "untargeted"] = pydantic.Field(description="定向 or 不定向")
    filter: Annotated[str, pydantic.Field(min_length=1, max_length=1000)] | None = pydantic.Field(
        None, description="定向: how the object pool was chosen (入库对象筛选条件); null for 不定向"
    )
    items: list[ItemRefIn] = pydantic.Field(min_length=1, max_length=64)
    base_item: ItemRefIn | None = pydantic.Field(None, description='"1+X": the one base item, among items')
    cooperators: list[_Code] = pydantic.Field([], max_length=MAX_COOPERATORS, description="配合部门")
    objects_roster: int = pydantic.Field(ge=0, description="ledger index of the objects snapshot")
    inspectors_roster: int = pydantic.Field(ge=0, description="ledger index of the department's inspectors")
    start: _Date
    end: _Date


class TaskPoolIn(ApiModel):
    """A department's inspector pool for a task."""

    roster: int = pydantic.Field(ge=0, description="ledger index of the department's inspectors snapshot")


class PoolOut(ApiModel):
    """The inspector pool a department contributes to a task."""

    department: str
    roster: int = pydantic.Field(description="ledger index of the inspectors snapshot")
    index: int = pydantic.Field(description="ledger index of the entry that attached it")


class PoolCreated(ApiModel):
    """A pool attached to a task, and the receipt of its entry."""

    task: int
    department: str
    roster: int
    index: int
    receipt: LedgerReceipt


class TaskPlanOut(ApiModel):
    """The plan batch of a task."""

    index: int
    batch: str


class TaskOut(ApiModel):
    """A published task, with the latest pool of each department that has one."""

    index: int = pydantic.Field(ge=0, description="ledger index of its task.publish entry")
    department: str
    ref: str
    name: str
    plan: TaskPlanOut | None
    type: Literal["targeted", "untargeted"]
    filter: str | None
    items: list[ItemRefOut]
    base_item: ItemRefOut | None
    cooperators: list[str]
    objects_roster: int
    inspectors_roster: int
    start: str
    end: str
    pools: list[PoolOut]


class TaskCreated(TaskOut):
    """A new task and the receipt of its entry."""

    receipt: LedgerReceipt


class TaskPage(ApiModel):
    """One page of the tasks a department initiates or joins, oldest first."""

    items: list[TaskOut]
    next_cursor: str | None


# -- tasks for the draw lifecycle -----------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A published task: its ledger index, its record (the entry body without ``request``) and the
    latest inspector pool of each department (department -> (roster index, entry index))."""

    index: int
    record: dict[str, Any]
    pools: dict[str, tuple[int, int]]

    def participants(self) -> list[str]:
        """Return the department and its cooperators, sorted."""
        return sorted({self.record["department"], *self.record["cooperators"]})

    def as_json(self) -> dict[str, Any]:
        """Return the TaskOut members."""
        shown = [{"department": d, "roster": r, "index": i} for d, (r, i) in sorted(self.pools.items())]
        return {"index": self.index, **self.record, "pools": shown}


def _pools(conn: sa.Connection, index: int, record: dict[str, Any]) -> dict[str, tuple[int, int]]:
    found = {record["department"]: (record["inspectors_roster"], index)}
    select = sa.select(pools).where(pools.c.task == index, publishing.published(pools))
    for row in conn.execute(select.order_by(pools.c.ledger_index)):
        found[row.department] = (row.roster, row.ledger_index)
    return found


def load_task(service: Service, index: int) -> Task | None:
    """Return the published task whose entry is at ``index``, with its pools, or None. Two queries."""
    with store.reading(service.engine) as conn:
        row = conn.execute(sa.select(tasks).where(tasks.c.ledger_index == index)).first()
        if row is None:
            return None
        record = jcs.loads(bytes(row.content))
        return Task(index, record, _pools(conn, index, record))


# -- publishing -----------------------------------------------------------------------------------


def roster_of(service: Service, index: int, code: str, kind: str, field: str) -> int:
    """Return ``index`` if it is a published ``kind`` snapshot of department ``code``.

    Raises ProblemError ``invalid-field`` (422) naming ``field``.
    """
    found = load_snapshot(service, index)
    if found is None or found.department != code or found.kind != kind:
        raise ProblemError.field(
            "invalid-field", field, f"no {kind} roster snapshot {index} of department {code}"
        )
    return index


def _plan(service: Service, code: str, task: TaskIn) -> dict[str, Any] | None:
    if task.plan is None:
        return None
    plan = load_plan(service, task.plan.index)
    if plan is None or plan.record["department"] != code:
        raise ProblemError.field(
            "invalid-field", "body.plan.index", f"no plan {task.plan.index} of department {code}"
        )
    batch = plan.batch(task.plan.batch)
    if batch is None:
        raise ProblemError.field(
            "invalid-field", "body.plan.batch", f"plan {plan.index} has no batch {task.plan.batch!r}"
        )
    if batch["type"] != task.type:
        raise ProblemError.field("invalid-field", "body.type", f"the plan's batch is {batch['type']}")
    return {"batch": batch["ref"], "index": plan.index}


def _unused_ref(service: Service, code: str, ref: str) -> str:
    select = sa.select(tasks.c.ledger_index).where(
        tasks.c.department == code, tasks.c.ref == ref, publishing.published(tasks)
    )
    with store.reading(service.engine) as conn:
        earlier = conn.execute(select).scalar()
    if earlier is not None:
        raise ProblemError.field("invalid-field", "body.ref", f"task {earlier} already has the ref {ref!r}")
    return ref


def _items(service: Service, task: TaskIn, departments: set[str]) -> tuple[list[Any], dict[str, Any] | None]:
    refs = item_refs(service, task.items, "body.items", departments)
    if task.base_item is None:
        return refs, None
    base = {
        "code": publishing.text(task.base_item.code, "body.base_item.code", 128),
        "list": task.base_item.list,
    }
    if base not in refs:
        raise ProblemError.field("invalid-field", "body.base_item", "the base item must be one of the items")
    return refs, base


def _filter(task: TaskIn) -> str | None:
    if task.type == "targeted" and task.filter is None:
        raise ProblemError.field("invalid-field", "body.filter", "a targeted task (定向) states its filter")
    if task.type == "untargeted" and task.filter is not None:
        raise ProblemError.field("invalid-field", "body.filter", "an untargeted task (不定向) has no filter")
    return publishing.optional_text(task.filter, "body.filter", 1000)


def task_record(service: Service, code: str, task: TaskIn) -> dict[str, Any]:
    """Return the record of ``task`` by department ``code``.

    Raises ProblemError ``invalid-field`` (422) naming the member: a bad text or period, a ref the
    department used before, an unknown plan, batch, cooperator, item list or item, a base item not
    among the items, a filter where it does not belong, or a roster that is not the department's
    snapshot of the right kind.
    """
    start, end = publishing.period(task.start, task.end, "body")
    cooperators = publishing.departments(service, task.cooperators, "body.cooperators", code)
    items, base = _items(service, task, {code, *cooperators})
    return {
        "department": code,
        "ref": _unused_ref(service, code, publishing.text(task.ref, "body.ref", 64)),
        "name": publishing.text(task.name, "body.name", 200),
        "plan": _plan(service, code, task),
        "type": task.type,
        "filter": _filter(task),
        "items": items,
        "base_item": base,
        "cooperators": cooperators,
        "objects_roster": roster_of(service, task.objects_roster, code, "objects", "body.objects_roster"),
        "inspectors_roster": roster_of(
            service, task.inspectors_roster, code, "inspectors", "body.inspectors_roster"
        ),
        "start": start,
        "end": end,
    }


def post_task(submission: Submission) -> Response:
    """POST /departments/{code}/tasks: publish a task."""
    code = submission.request.path_params["code"]
    require_self(submission.department, code)
    record = task_record(submission.service, code, submission.model(TaskIn))
    body = publishing.with_request(record, submission)
    publishing.check_entry(submission.service, TASK_ENTRY, body)
    participants = " " + " ".join([code, *record["cooperators"]]) + " "
    values = {"department": code, "ref": record["ref"], "participants": participants}
    values["content"] = jcs.canonicalize(record)
    index, receipt = publishing.publish(submission.service, tasks, values, TASK_ENTRY, body)
    out = {**Task(index, record, {code: (record["inspectors_roster"], index)}).as_json(), "receipt": receipt}
    return created(out, f"/api/v1/departments/{code}/tasks/{index}")


def _task_of(service: Service, code: str, index: int) -> Task:
    found = load_task(service, index)
    if found is None or code not in found.participants():
        raise ProblemError.field("not-found", "path.index", f"no task {index} of department {code}")
    return found


def post_pool(submission: Submission) -> Response:
    """POST /departments/{code}/tasks/{index}/pool: attach the department's inspector pool to a task."""
    code = submission.request.path_params["code"]
    require_self(submission.department, code)
    task = _task_of(submission.service, code, publishing.path_index(submission.request))
    pool = submission.model(TaskPoolIn)
    roster = roster_of(submission.service, pool.roster, code, "inspectors", "body.roster")
    body = publishing.with_request({"task": task.index, "department": code, "roster": roster}, submission)
    publishing.check_entry(submission.service, POOL_ENTRY, body)
    values = {"task": task.index, "department": code, "roster": roster}
    index, receipt = publishing.publish(submission.service, pools, values, POOL_ENTRY, body)
    out = {"task": task.index, "department": code, "roster": roster, "index": index, "receipt": receipt}
    return created(out, f"/api/v1/departments/{task.record['department']}/tasks/{task.index}")


# -- entry types ----------------------------------------------------------------------------------


def _check_task_entry(body: Any) -> None:
    publishing.members(body, _TASK_MEMBERS)
    publishing.entry_code(body["department"], "department")
    publishing.entry_text(body["ref"], "ref", 64)
    publishing.entry_text(body["name"], "name", 200)
    plan = body["plan"]
    if plan is not None and (not isinstance(plan, dict) or set(plan) != {"index", "batch"}):
        raise ValueError("draw: plan: want null or exactly the members batch, index")
    if plan is not None:
        publishing.entry_int(plan["index"], "plan.index")
        if not isinstance(plan["batch"], str) or not REF_PATTERN.fullmatch(plan["batch"]):
            raise ValueError(f"draw: plan.batch: want {REF_PATTERN.pattern}")
    publishing.entry_choice(body["type"], "type", TASK_TYPES)
    if (body["filter"] is None) != (body["type"] == "untargeted"):
        raise ValueError("draw: filter: a targeted task has one, an untargeted task none")
    publishing.entry_text(body["filter"], "filter", 1000, nullable=True)
    check_item_refs(body["items"], "items")
    if body["base_item"] is not None:
        check_item_ref(body["base_item"], "base_item")
        if body["base_item"] not in body["items"]:
            raise ValueError("draw: base_item: not among the items")
    if len(publishing.entry_codes(body["cooperators"], "cooperators")) > MAX_COOPERATORS:
        raise ValueError(f"draw: cooperators: at most {MAX_COOPERATORS}")
    publishing.entry_int(body["objects_roster"], "objects_roster")
    publishing.entry_int(body["inspectors_roster"], "inspectors_roster")
    if publishing.entry_date(body["start"], "start") > publishing.entry_date(body["end"], "end"):
        raise ValueError("draw: end: before start")


def _check_pool_entry(body: Any) -> None:
    publishing.members(body, ("task", "department", "roster"))
    publishing.entry_int(body["task"], "task")
    publishing.entry_code(body["department"], "department")
    publishing.entry_int(body["roster"], "roster")


ENTRY_TYPES = [
    EntryType(TASK_ENTRY, _check_task_entry, "an inspection task: items, rosters, plan batch, departments"),
    EntryType(POOL_ENTRY, _check_pool_entry, "a department's inspector pool for a (joint) task"),
]


# -- reading --------------------------------------------------------------------------------------


def list_tasks(request: Request) -> Response:
    """GET /departments/{code}/tasks: the tasks the department initiates or joins, oldest first."""
    caller = require_department(request)
    code = request.path_params["code"]
    require_reader(caller, code)
    service = service_of(request)
    query = page_query(request, service.config.page_limit_default, service.config.page_limit_max, (int,))
    mine = tasks.c.participants.contains(f" {code} ", autoescape=True)
    select = sa.select(tasks.c.ledger_index).where(mine, publishing.published(tasks))
    if query.after is not None:
        select = select.where(tasks.c.ledger_index > query.after[0])
    with store.reading(service.engine) as conn:
        indexes = list(conn.execute(select.order_by(tasks.c.ledger_index).limit(query.limit + 1)).scalars())
    found = [task for task in (load_task(service, i) for i in indexes) if task is not None]
    shown, cursor = page(found, query, lambda task: [task.index])
    return JSONResponse({"items": [task.as_json() for task in shown], "next_cursor": cursor})


def get_task(request: Request) -> Response:
    """GET /departments/{code}/tasks/{index}: a task the department initiates or joins."""
    caller = require_department(request)
    code = request.path_params["code"]
    require_reader(caller, code)
    return JSONResponse(_task_of(service_of(request), code, publishing.path_index(request)).as_json())


routes = [
    api_post(
        "/departments/{code}/tasks",
        post_task,
        Operation(
            "Publish a task",
            "Publishes a 抽查任务 as a task.publish entry. The rosters must be the department's own "
            "snapshots; items come from published lists of the department or its cooperators.",
            ("tasks",),
            TaskCreated,
            status=201,
            request_model=TaskIn,
            parameters=(CODE_PARAMETER,),
            errors=publishing.POST_ERRORS,
        ),
    ),
    api_get(
        "/departments/{code}/tasks",
        list_tasks,
        Operation(
            "List tasks",
            "The tasks the department initiates or cooperates in, oldest first. For the department "
            "itself or role oversee.",
            ("tasks",),
            TaskPage,
            parameters=(CODE_PARAMETER, *PAGING),
            errors=(400, 401, 403),
        ),
    ),
    api_get(
        "/departments/{code}/tasks/{index}",
        get_task,
        Operation(
            "One task",
            "A task the department initiates or cooperates in, with the latest inspector pool of each "
            "department.",
            ("tasks",),
            TaskOut,
            parameters=(CODE_PARAMETER, publishing.INDEX_PARAMETER),
            errors=(401, 403, 404),
        ),
    ),
    api_post(
        "/departments/{code}/tasks/{index}/pool",
        post_pool,
        Operation(
            "Attach an inspector pool",
            "A department taking part in a task (in a joint task each 配合部门) attaches its own "
            "inspectors snapshot as a task.pool entry; its latest attachment counts.",
            ("tasks",),
            PoolCreated,
            status=201,
            request_model=TaskPoolIn,
            parameters=(CODE_PARAMETER, publishing.INDEX_PARAMETER),
            errors=(*publishing.POST_ERRORS, 404),
        ),
    ),
]
