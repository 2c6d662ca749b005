"""The 抽查事项清单 (list of inspection items): versioned lists published as ``items.publish`` entries.

A department publishes its whole list at once; a new version is a new entry and nothing is ever
edited. A list's identity is the ledger index of its entry; its **version** is its ordinal among
the department's lists in ledger order (1, 2, ...), so anyone reading the ledger derives the same
numbers. Tasks and plans name an item by ``{"list": <index>, "code": <code>}``.

An item record has the columns of the real lists (domain notes §1.2; docs/api.md, "Item lists"):
``code`` (编号), ``category`` (抽查类别 / 抽查领域), ``name`` (抽查事项), ``kind`` (``general``
一般检查事项 or ``key`` 重点检查事项), ``objects`` (检查对象), ``basis`` (检查依据), ``subject``
(检查主体), ``methods`` (检查方式), ``content`` (检查内容), ``max_ratio`` (the cap on the ratio of a
general item, a ratio of docs/draw-spec.md §5.1; a key item has none), ``frequency`` (抽查频次),
``inspector_requirements`` (检查人员要求), ``initiator`` and ``cooperators`` (发起部门 / 配合部门 of
joint lists), ``remark`` (备注).

Entry type owned here:

* ``items.publish`` ``{"department", "title", "label", "effective", "count", "items"[, "request"]}``:
  ``items`` is the blob name of the list's content, the canonical JSON array of its item records
  ordered by code.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pydantic
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.engine import model
from draw.service import db, publishing
from draw.service.auth import require_department, require_self
from draw.service.core import Service, service_of
from draw.service.departments import LedgerReceipt
from draw.service.http import ProblemError, page, page_query
from draw.service.publishing import ApiModel
from draw.service.routing import CODE_PARAMETER, PAGING, Operation, Submission, api_get, api_post, created
from ledger import blobs, jcs, store
from ledger.entries import EntryType

ENTRY_TYPE = "items.publish"
KINDS = ("general", "key")
MAX_ITEMS = 1000
# member -> (max length, required)
_TEXTS = {
    "code": (128, True),
    "category": (128, True),
    "name": (256, True),
    "objects": (500, True),
    "basis": (4000, True),
    "subject": (200, True),
    "content": (4000, False),
    "frequency": (64, False),
    "inspector_requirements": (1000, False),
    "initiator": (128, False),
    "remark": (1000, False),
}

item_lists = sa.Table(
    "draw_item_lists",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("effective", sa.Text, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("items", sa.Text, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("ledger_index", sa.BigInteger, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("ledger_index", name="draw_item_lists_ledger_index"),
    sa.Index("draw_item_lists_department", "department", "ledger_index"),
)


# -- models ---------------------------------------------------------------------------------------


_T40 = Annotated[str, pydantic.Field(min_length=1, max_length=40)]
_T64 = Annotated[str, pydantic.Field(min_length=1, max_length=64)]
_T128 = Annotated[str, pydantic.Field(min_length=1, max_length=128)]
_T200 = Annotated[str, pydantic.Field(min_length=1, max_length=200)]
_T256 = Annotated[str, pydantic.Field(min_length=1, max_length=256)]
_T500 = Annotated[str, pydantic.Field(min_length=1, max_length=500)]
_T1000 = Annotated[str, pydantic.Field(min_length=1, max_length=1000)]
_T4000 = Annotated[str, pydantic.Field(min_length=1, max_length=4000)]


class ItemIn(ApiModel):
    """One 抽查事项 of a list."""

    code: _T128 = pydantic.Field(description="编号, unique in the list")
    category: _T128 = pydantic.Field(description="抽查类别 / 抽查领域")
    name: _T256 = pydantic.Field(description="抽查事项")
    kind: Literal["general", "key"] = pydantic.Field(description="一般检查事项 or 重点检查事项")
    objects: _T500 = pydantic.Field(description="检查对象")
    basis: _T4000 = pydantic.Field(description="检查依据")
    subject: _T200 = pydantic.Field(description="检查主体")
    methods: list[_T64] = pydantic.Field(min_length=1, max_length=8, description="检查方式")
    content: _T4000 | None = pydantic.Field(None, description="检查内容")
    max_ratio: _T40 | None = pydantic.Field(None, description="general items: the cap, n/d or Nbp")
    frequency: _T64 | None = pydantic.Field(None, description="抽查频次")
    inspector_requirements: _T1000 | None = pydantic.Field(None, description="检查人员要求")
    initiator: _T128 | None = pydantic.Field(None, description="发起部门 (joint lists)")
    cooperators: list[_T128] = pydantic.Field([], max_length=32, description="配合部门 (joint lists)")
    remark: _T1000 | None = pydantic.Field(None, description="备注")


class ItemListIn(ApiModel):
    """A new version of the department's 抽查事项清单."""

    title: _T200 = pydantic.Field(description="e.g. 忻州市市场监督管理局双随机抽查事项清单")
    label: _T64 | None = pydantic.Field(None, description="the version as the department names it")
    effective: str = pydantic.Field(description="the date the list takes effect, YYYY-MM-DD")
    items: list[ItemIn] = pydantic.Field(min_length=1, max_length=MAX_ITEMS)


class ItemOut(ApiModel):
    """An item record."""

    code: str
    category: str
    name: str
    kind: Literal["general", "key"]
    objects: str
    basis: str
    subject: str
    methods: list[str]
    content: str | None
    max_ratio: str | None
    frequency: str | None
    inspector_requirements: str | None
    initiator: str | None
    cooperators: list[str]
    remark: str | None


class ItemRefIn(ApiModel):
    """An item of a published list: the list's ledger index and the item's code."""

    list: int = pydantic.Field(ge=0, description="ledger index of the items.publish entry")
    code: _T128


class ItemListSummary(ApiModel):
    """A published item list without its items."""

    index: int = pydantic.Field(ge=0, description="ledger index of its items.publish entry")
    department: str
    version: int = pydantic.Field(ge=1, description="its ordinal among the department's lists")
    title: str
    label: str | None
    effective: str
    count: int = pydantic.Field(ge=1)
    items: str = pydantic.Field(description="blob name of the list's content")


class ItemListOut(ItemListSummary):
    """A published item list with its items, ordered by code."""

    records: list[ItemOut]


class ItemListCreated(ItemListOut):
    """A new item list and the receipt of its entry."""

    receipt: LedgerReceipt


class ItemListPage(ApiModel):
    """One page of a department's item lists, oldest first."""

    items: list[ItemListSummary]
    next_cursor: str | None


# -- item lists for tasks and plans ---------------------------------------------------------------


@dataclass(frozen=True)
class ItemList:
    """A published item list. ``records`` are its item records ordered by code."""

    index: int
    department: str
    version: int
    title: str
    label: str | None
    effective: str
    digest: str
    records: list[dict[str, Any]]

    def codes(self) -> set[str]:
        """Return the codes of the list's items."""
        return {r["code"] for r in self.records}

    def summary(self) -> dict[str, Any]:
        """Return the ItemListSummary members."""
        return {
            "index": self.index,
            "department": self.department,
            "version": self.version,
            "title": self.title,
            "label": self.label,
            "effective": self.effective,
            "count": len(self.records),
            "items": self.digest,
        }


def _version(conn: sa.Connection, department: str, index: int) -> int:
    table = item_lists
    where = (table.c.department == department, table.c.ledger_index <= index, publishing.published(table))
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def _summary(row: Any, version: int) -> dict[str, Any]:
    """Return the ItemListSummary members of a table row (read with or without its content)."""
    return {
        "index": row.ledger_index,
        "department": row.department,
        "version": version,
        "title": row.title,
        "label": row.label,
        "effective": row.effective,
        "count": row.count,
        "items": row.items,
    }


def _item_list(row: Any, version: int) -> ItemList:
    records = jcs.loads(bytes(row.content))
    return ItemList(
        row.ledger_index, row.department, version, row.title, row.label, row.effective, row.items, records
    )


def load_item_list(service: Service, index: int) -> ItemList | None:
    """Return the published item list whose entry is at ``index``, or None. Two queries."""
    with store.reading(service.engine) as conn:
        row = conn.execute(sa.select(item_lists).where(item_lists.c.ledger_index == index)).first()
        return None if row is None else _item_list(row, _version(conn, row.department, index))


def item_refs(
    service: Service, refs: Sequence[ItemRefIn], field: str, departments: Collection[str]
) -> list[dict[str, Any]]:
    """Return ``refs`` as ``{"list", "code"}`` records, ordered by list and code.

    Each must name an item of a published list of one of ``departments``. One query per list.
    Raises ProblemError ``invalid-field`` (422) naming ``<field>[i]`` for an unknown list or code, a
    list of another department, or a repeated item.
    """
    lists: dict[int, ItemList | None] = {}
    found: set[tuple[int, str]] = set()
    for i, ref in enumerate(refs):
        where = f"{field}[{i}]"
        if ref.list not in lists:
            lists[ref.list] = load_item_list(service, ref.list)
        item_list = lists[ref.list]
        if item_list is None or item_list.department not in departments:
            owners = ", ".join(sorted(departments))
            raise ProblemError.field("invalid-field", f"{where}.list", f"no item list {ref.list} of {owners}")
        code = publishing.text(ref.code, f"{where}.code", 128)
        if code not in item_list.codes():
            raise ProblemError.field("invalid-field", f"{where}.code", f"no item {code!r} in list {ref.list}")
        if (ref.list, code) in found:
            raise ProblemError.field("invalid-field", where, "the item repeats")
        found.add((ref.list, code))
    return [{"code": code, "list": index} for index, code in sorted(found)]


def check_item_ref(value: Any, field: str) -> None:
    """Check an item reference ``{"list", "code"}`` in an entry body. Raises ValueError."""
    if not isinstance(value, dict) or set(value) != {"list", "code"}:
        raise ValueError(f"draw: {field}: want exactly the members code, list")
    publishing.entry_int(value["list"], f"{field}.list")
    publishing.entry_text(value["code"], f"{field}.code", 128)


def check_item_refs(value: Any, field: str) -> None:
    """Check a list of 1..64 item references ordered by list and code, no repeats. Raises ValueError."""
    if not isinstance(value, list) or not 1 <= len(value) <= 64:
        raise ValueError(f"draw: {field}: want 1 to 64 item references")
    for i, ref in enumerate(value):
        check_item_ref(ref, f"{field}[{i}]")
    keys = [(ref["list"], ref["code"]) for ref in value]
    if keys != sorted(set(keys)):
        raise ValueError(f"draw: {field}: want references ordered by list and code, without repeats")


# -- publishing -----------------------------------------------------------------------------------


def _item_record(item: ItemIn, field: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, (max_len, _required) in _TEXTS.items():
        record[name] = publishing.optional_text(getattr(item, name), f"{field}.{name}", max_len)
    record["kind"] = item.kind
    record["methods"] = publishing.texts(item.methods, f"{field}.methods", 64)
    record["cooperators"] = publishing.texts(item.cooperators, f"{field}.cooperators", 128)
    record["max_ratio"] = item.max_ratio
    if item.max_ratio is not None:
        if item.kind == "key":
            raise ProblemError.field(
                "invalid-field", f"{field}.max_ratio", "a key item (重点) has no upper limit"
            )
        try:
            model.parse_ratio(item.max_ratio)
        except ValueError as exc:
            raise ProblemError.field("invalid-field", f"{field}.max_ratio", str(exc)) from None
    return record


def item_records(items: list[ItemIn]) -> list[dict[str, Any]]:
    """Return the item records of ``items`` ordered by code.

    Raises ProblemError ``invalid-field`` (422) naming ``body.items[i].<member>`` for a bad text, a
    ratio on a key item, a malformed ratio, or a repeated code.
    """
    records: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        record = _item_record(item, f"body.items[{i}]")
        if record["code"] in records:
            raise ProblemError.field(
                "invalid-field", f"body.items[{i}].code", f"code {record['code']!r} repeats"
            )
        records[record["code"]] = record
    return [records[code] for code in sorted(records)]


def post_items(submission: Submission) -> Response:
    """POST /departments/{code}/items: publish a new version of the department's item list."""
    code = submission.request.path_params["code"]
    require_self(submission.department, code)
    new = submission.model(ItemListIn)
    title = publishing.text(new.title, "body.title", 200)
    label = publishing.optional_text(new.label, "body.label", 64)
    effective = publishing.date(new.effective, "body.effective")
    records = item_records(new.items)
    content = jcs.canonicalize(records)
    digest = blobs.digest_of(content)
    body = {"department": code, "title": title, "label": label, "effective": effective}
    body = publishing.with_request({**body, "count": len(records), "items": digest}, submission)
    publishing.check_entry(submission.service, ENTRY_TYPE, body)
    values = {"department": code, "title": title, "label": label, "effective": effective}
    values |= {"count": len(records), "items": digest, "content": content}
    index, receipt = publishing.publish(submission.service, item_lists, values, ENTRY_TYPE, body, content)
    found = load_item_list(submission.service, index)
    if found is None:  # pragma: no cover - the row was just activated
        raise AssertionError("draw: a published item list is missing")
    out = {**found.summary(), "records": found.records, "receipt": receipt}
    return created(out, f"/api/v1/departments/{code}/items/{index}")


def _check_items_entry(body: Any) -> None:
    publishing.members(body, ("department", "title", "label", "effective", "count", "items"))
    publishing.entry_code(body["department"], "department")
    publishing.entry_text(body["title"], "title", 200)
    publishing.entry_text(body["label"], "label", 64, nullable=True)
    publishing.entry_date(body["effective"], "effective")
    publishing.entry_int(body["count"], "count", 1)
    blobs.parse_digest(body["items"])


ENTRY_TYPES = [
    EntryType(ENTRY_TYPE, _check_items_entry, "a version of a department's list of inspection items"),
]


# -- reading --------------------------------------------------------------------------------------


def list_items(request: Request) -> Response:
    """GET /departments/{code}/items: the department's item lists, oldest first, paged."""
    require_department(request)
    code = publishing.path_code(request)
    service = service_of(request)
    query = page_query(request, service.config.page_limit_default, service.config.page_limit_max, (int,))
    listed = [c for c in item_lists.c if c.name != "content"]  # a page never reads the items
    select = sa.select(*listed).where(item_lists.c.department == code, publishing.published(item_lists))
    after = -1 if query.after is None else query.after[0]
    with store.reading(service.engine) as conn:
        rows = conn.execute(
            select.where(item_lists.c.ledger_index > after)
            .order_by(item_lists.c.ledger_index)
            .limit(query.limit + 1)
        ).all()
        before = _version(conn, code, after) if after >= 0 else 0
    summaries = [_summary(row, before + n) for n, row in enumerate(rows, 1)]
    shown, cursor = page(summaries, query, lambda summary: [summary["index"]])
    return JSONResponse({"items": shown, "next_cursor": cursor})


def get_items(request: Request) -> Response:
    """GET /departments/{code}/items/{index}: one item list with its items."""
    require_department(request)
    code = request.path_params["code"]
    index = publishing.path_index(request)
    found = load_item_list(service_of(request), index)
    if found is None or found.department != code:
        raise ProblemError.field("not-found", "path.index", f"no item list {index} of department {code}")
    return JSONResponse({**found.summary(), "records": found.records})


routes = [
    api_post(
        "/departments/{code}/items",
        post_items,
        Operation(
            "Publish an item list",
            "Publishes a new version of the department's 抽查事项清单 as an items.publish entry; the items "
            "are stored as a blob. Nothing is edited: a new version is a new entry.",
            ("items",),
            ItemListCreated,
            status=201,
            request_model=ItemListIn,
            parameters=(CODE_PARAMETER,),
            errors=publishing.POST_ERRORS,
        ),
    ),
    api_get(
        "/departments/{code}/items",
        list_items,
        Operation(
            "List item lists",
            "The department's item lists (without their items), oldest first. Published lists are public: "
            "any department may read them.",
            ("items",),
            ItemListPage,
            parameters=(CODE_PARAMETER, *PAGING),
            errors=(400, 401),
        ),
    ),
    api_get(
        "/departments/{code}/items/{index}",
        get_items,
        Operation(
            "One item list",
            "An item list with its items, by the ledger index of its entry.",
            ("items",),
            ItemListOut,
            parameters=(CODE_PARAMETER, publishing.INDEX_PARAMETER),
            errors=(401, 404),
        ),
    ),
]
