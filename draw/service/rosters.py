"""Rosters (两库): uploads of object and inspector rosters, their snapshots and ``roster.snapshot`` entries.

A department uploads the CSV, XLSX or JSON export of a roster (``roster_files``); it is validated
row by row into the draw engine's records (``roster_records``) and, if every row is valid, becomes a
**snapshot**: the record list, kept by the service, and committed to the ledger by its RFC 9162 root.

Entry type owned here (docs/api.md, "Rosters, item lists, plans and tasks"):

* ``roster.snapshot`` ``{"department", "kind", "title", "rows", "root", "records"[, "request"]}``:
  ``root`` is the hex Merkle tree hash over the snapshot's records; ``records`` is the blob name
  (``sha256:<hex>``) of the record list for an inspector roster, whose content is public under
  行政执法公示, and null for an object roster, whose records hold the confidential credit-risk
  class and stay with the service (only the owning department reads them with their strata).

Endpoints (under ``/api/v1``): ``POST /departments/{code}/rosters``, ``GET /departments/{code}/rosters``,
``GET /departments/{code}/rosters/{index}``, ``GET /departments/{code}/rosters/{index}/records``; reads
need the department itself or the ``oversee`` role.

For the draw lifecycle: :func:`load_snapshot` returns a :class:`RosterSnapshot`, whose
``objects()`` and ``inspectors()`` give the engine's ``InspectionObject`` and ``Inspector`` values.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pydantic
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.engine import model, teams
from draw.service import db, publishing
from draw.service.auth import Department, require_department, require_reader, require_self
from draw.service.core import Service, service_of
from draw.service.departments import LedgerReceipt
from draw.service.http import FieldError, ProblemError, page, page_query
from draw.service.publishing import ApiModel
from draw.service.roster_files import ENCODINGS, FORMATS, FileError, read_table
from draw.service.roster_records import (
    DEFAULT_STRATA,
    INSPECTOR_COLUMNS,
    KINDS,
    OBJECT_COLUMNS,
    Problem,
    RosterError,
    Snapshot,
    build_snapshot,
    parse_inspectors,
    parse_objects,
)
from draw.service.routing import CODE_PARAMETER, PAGING, Operation, Submission, api_get, api_post, created
from ledger import blobs, jcs, store
from ledger.cache import Cache
from ledger.entries import EntryType

ENTRY_TYPE = "roster.snapshot"
MAX_TITLE = 200

snapshots = sa.Table(
    "draw_roster_snapshots",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("department", sa.Text, sa.ForeignKey("draw_departments.code"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("records", sa.Text, nullable=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("report", sa.LargeBinary, nullable=False),
    sa.Column("ledger_index", sa.BigInteger, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("ledger_index", name="draw_roster_snapshots_ledger_index"),
    sa.Index("draw_roster_snapshots_department", "department", "ledger_index"),
)


# -- models ---------------------------------------------------------------------------------------

_Text = Annotated[str, pydantic.Field(min_length=1, max_length=MAX_TITLE)]
_Name = Annotated[str, pydantic.Field(min_length=1, max_length=64)]


class RosterIn(ApiModel):
    """A roster file to validate and, if every row is valid, commit as a snapshot."""

    kind: Literal["objects", "inspectors"] = pydantic.Field(
        description="检查对象名录库 or 执法检查人员名录库"
    )
    format: Literal["csv", "xlsx", "json"]
    content: str = pydantic.Field(
        description="the file, standard base64; the request is at most Config.max_roster_body_bytes"
    )
    title: _Text = pydantic.Field(description="what the snapshot is, e.g. 忻府区市场主体名录（2025年3月）")
    encoding: Literal["utf-8", "gb18030"] = pydantic.Field("utf-8", description="CSV text encoding")
    strata: list[_Name] | None = pydantic.Field(
        None, min_length=1, max_length=64, description="objects: the allowed strata (default A, B, C, D)"
    )
    columns: dict[str, Annotated[str, pydantic.Field(min_length=1, max_length=200)]] | None = pydantic.Field(
        None, description="field -> column name, for columns the usual names do not find"
    )


class RosterOut(ApiModel):
    """A roster snapshot: where its entry is, what it holds, and how its columns were read."""

    index: int = pydantic.Field(ge=0, description="ledger index of its roster.snapshot entry")
    department: str
    kind: Literal["objects", "inspectors"]
    title: str
    format: Literal["csv", "xlsx", "json"]
    rows: int = pydantic.Field(ge=1)
    root: str = pydantic.Field(pattern="^[0-9a-f]{64}$", description="RFC 9162 root over the records, hex")
    records: str | None = pydantic.Field(description="blob name of the record list (inspectors), else null")
    columns: dict[str, str] = pydantic.Field(description="field -> the column that fed it")
    stripped_columns: list[str] = pydantic.Field(description="columns of personal data, dropped unread")
    ignored_columns: list[str] = pydantic.Field(description="columns no field uses, dropped unread")


class RosterCreated(RosterOut):
    """A new roster snapshot and the receipt of its entry."""

    receipt: LedgerReceipt


class RosterPage(ApiModel):
    """One page of a department's roster snapshots, oldest first."""

    items: list[RosterOut]
    next_cursor: str | None


class ObjectRecordOut(ApiModel):
    """An object record (docs/draw-spec.md §4); ``stratum`` is null unless the owner reads it."""

    id: str
    name: str
    area: str
    stratum: str | None
    tags: list[str]
    last_inspected: str | None


class InspectorRecordOut(ApiModel):
    """An inspector record (docs/draw-spec-matching.md §2.1)."""

    id: str
    department: str
    area: str
    certificate_expiry: str
    items: list[str]
    expert: bool
    status: Literal["active", "inactive", "leave"]


class RosterRecordPage(ApiModel):
    """One page of a snapshot's records, in record-list order."""

    items: list[ObjectRecordOut | InspectorRecordOut]
    next_cursor: str | None


# -- snapshots for the draw lifecycle -------------------------------------------------------------


@dataclass(frozen=True)
class RosterSnapshot:
    """A published roster snapshot. ``content`` is its record list (docs/draw-spec.md §7)."""

    index: int
    department: str
    kind: str
    title: str
    format: str
    rows: int
    root: bytes
    records: str | None
    content: bytes
    report: dict[str, Any]

    def objects(self) -> model.Population:
        """Return the objects of an ``objects`` snapshot (parsed and checked on first use). Raises
        ValueError for another kind."""
        if self.kind != "objects":
            raise ValueError(f"roster: snapshot {self.index} holds {self.kind}, not objects")
        return self._objects

    def inspectors(self) -> list[teams.Inspector]:
        """Return the inspectors of an ``inspectors`` snapshot (parsed on first use). Raises
        ValueError for another kind."""
        if self.kind != "inspectors":
            raise ValueError(f"roster: snapshot {self.index} holds {self.kind}, not inspectors")
        return list(self._inspectors)

    @functools.cached_property
    def _objects(self) -> model.Population:
        return model.Population(parse_objects(self.content), "records")

    @functools.cached_property
    def _inspectors(self) -> tuple[teams.Inspector, ...]:
        return tuple(parse_inspectors(self.content))

    def as_json(self) -> dict[str, Any]:
        """Return the RosterOut members."""
        return {
            "index": self.index,
            "department": self.department,
            "kind": self.kind,
            "title": self.title,
            "format": self.format,
            "rows": self.rows,
            "root": self.root.hex(),
            "records": self.records,
            **self.report,
        }


def _snapshot(row: Any, content: bytes | None = None) -> RosterSnapshot:
    """Return the snapshot of a table row; ``content`` replaces the row's (for rows read without it)."""
    report = jcs.loads(bytes(row.report))
    return RosterSnapshot(
        row.ledger_index,
        row.department,
        row.kind,
        row.title,
        row.format,
        row.rows,
        bytes(row.root),
        row.records,
        bytes(row.content) if content is None else content,
        report,
    )


SNAPSHOT_CACHE_ROWS = 1_000_000
"""Rows of published snapshots kept in memory per service, parsed records included (a published
snapshot never changes): a draw over a kept roster neither reads nor parses it again."""


def load_snapshot(service: Service, index: int) -> RosterSnapshot | None:
    """Return the published roster snapshot whose entry is at ``index``, or None. One query unless
    the snapshot is kept in memory."""
    cache: Cache[int, RosterSnapshot] = service.cache_of("roster snapshots", SNAPSHOT_CACHE_ROWS, _rows)
    found = cache.get(index)
    if found is not None:
        return found
    with store.reading(service.engine) as conn:
        row = conn.execute(sa.select(snapshots).where(snapshots.c.ledger_index == index)).first()
    return None if row is None else cache.put(index, _snapshot(row))


def _rows(snapshot: RosterSnapshot) -> int:
    return max(1, snapshot.rows)


# -- uploading ------------------------------------------------------------------------------------


def _decode(content: str) -> bytes:
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError.field(
            "invalid-field", "body.content", "not standard base64 (RFC 4648 §4)"
        ) from None
    # Canonical iff re-encoding gives the text back. Only the last quantum can differ (padding,
    # unused bits), so re-encode just that one instead of copying the whole file again.
    tail = len(data) - 3 * (len(content) // 4 - 1) if content else 0
    if len(content) % 4 or base64.b64encode(data[len(data) - tail :]).decode("ascii") != content[-4:]:
        raise ProblemError.field(
            "invalid-field", "body.content", "not canonical base64 (padding, no line breaks)"
        )
    return data


def _problem_field(problem: Problem) -> str:
    if problem.member is not None:
        return f"body.{problem.member}"
    row = "" if problem.row is None else f"[{problem.row}]"
    column = "" if problem.column is None else f".{problem.column}"
    return f"body.content{row}{column}"


def _invalid(problems: tuple[Problem, ...], total: int) -> ProblemError:
    shown = "" if total == len(problems) else f"; the first {len(problems)} are listed"
    detail = f"the roster has {total} problem{'s' if total != 1 else ''}{shown}; nothing was committed"
    return ProblemError(
        "invalid-roster", detail, [FieldError(_problem_field(p), p.message) for p in problems]
    )


def _strata(roster: RosterIn) -> tuple[str, ...]:
    if roster.strata is None:
        return DEFAULT_STRATA if roster.kind == "objects" else ()
    if roster.kind != "objects":
        raise ProblemError.field("invalid-field", "body.strata", "only an objects roster has strata")
    names = [publishing.text(s, f"body.strata[{i}]", 64) for i, s in enumerate(roster.strata)]
    if len(set(names)) != len(names):
        raise ProblemError.field("invalid-field", "body.strata", "strata must be distinct")
    return tuple(names)


def validate_roster(roster: RosterIn, department: str) -> Snapshot:
    """Return the snapshot of an upload by ``department``.

    Linear in the file. Raises ProblemError ``invalid-field`` for a bad member of the request and
    ``invalid-roster`` (422) listing the file's problems by row and column.
    """
    data = _decode(roster.content)
    strata = _strata(roster)
    try:
        table = read_table(data, roster.format, roster.encoding)
        return build_snapshot(table, roster.kind, department, strata, roster.columns)
    except FileError as exc:
        raise _invalid((Problem(exc.row, exc.column, exc.message),), 1) from None
    except RosterError as exc:
        raise _invalid(exc.problems, exc.total) from None


def _entry_body(code: str, title: str, snapshot: Snapshot, submission: Submission) -> dict[str, Any]:
    records = blobs.digest_of(snapshot.content) if snapshot.kind == "inspectors" else None
    body = {"department": code, "kind": snapshot.kind, "title": title, "rows": snapshot.rows}
    body |= {"root": snapshot.root.hex(), "records": records}
    return publishing.with_request(body, submission)


def post_roster(submission: Submission) -> Response:
    """POST /departments/{code}/rosters: validate a roster file and commit its snapshot."""
    code = submission.request.path_params["code"]
    require_self(submission.department, code)
    roster = submission.model(RosterIn)
    title = publishing.text(roster.title, "body.title", MAX_TITLE)
    snapshot = validate_roster(roster, code)
    body = _entry_body(code, title, snapshot, submission)
    publishing.check_entry(submission.service, ENTRY_TYPE, body)
    report = {
        "columns": snapshot.columns,
        "stripped_columns": list(snapshot.stripped),
        "ignored_columns": list(snapshot.ignored),
    }
    out = RosterSnapshot(
        0, code, snapshot.kind, title, roster.format, snapshot.rows, snapshot.root, body["records"],
        snapshot.content, report,
    )  # fmt: skip
    values = {"department": code, "kind": out.kind, "title": title, "format": out.format, "rows": out.rows}
    values |= {
        "root": out.root,
        "records": out.records,
        "content": out.content,
        "report": jcs.canonicalize(report),
    }
    blob = out.content if out.records is not None else None
    index, receipt = publishing.publish(submission.service, snapshots, values, ENTRY_TYPE, body, blob)
    shown = {**out.as_json(), "index": index, "receipt": receipt}
    return created(shown, f"/api/v1/departments/{code}/rosters/{index}")


# -- entry type -----------------------------------------------------------------------------------


def _check_snapshot_entry(body: Any) -> None:
    publishing.members(body, ("department", "kind", "title", "rows", "root", "records"))
    publishing.entry_code(body["department"], "department")
    publishing.entry_choice(body["kind"], "kind", KINDS)
    publishing.entry_text(body["title"], "title", MAX_TITLE)
    publishing.entry_int(body["rows"], "rows", 1)
    if not isinstance(body["root"], str) or not publishing.HASH.fullmatch(body["root"]):
        raise ValueError("draw: root: want 64 lowercase hex digits")
    records = body["records"]
    if body["kind"] == "objects" and records is not None:
        raise ValueError("draw: records: an objects snapshot keeps its records out of the public store")
    if body["kind"] == "inspectors":
        blobs.parse_digest(records)


ENTRY_TYPES = [
    EntryType(
        ENTRY_TYPE, _check_snapshot_entry, "a roster snapshot: department, kind, row count, Merkle root"
    ),
]


# -- reading --------------------------------------------------------------------------------------


def _owned(request: Request) -> tuple[Department, str, Service]:
    caller = require_department(request)
    code = request.path_params["code"]
    require_reader(caller, code)
    return caller, code, service_of(request)


def _find(service: Service, code: str, index: int) -> RosterSnapshot:
    found = load_snapshot(service, index)
    if found is None or found.department != code:
        raise ProblemError.field(
            "not-found", "path.index", f"no roster snapshot {index} of department {code}"
        )
    return found


def list_rosters(request: Request) -> Response:
    """GET /departments/{code}/rosters: the department's snapshots, oldest first, paged."""
    _caller, code, service = _owned(request)
    query = page_query(request, service.config.page_limit_default, service.config.page_limit_max, (int,))
    listed = [c for c in snapshots.c if c.name != "content"]  # a page never reads the records
    select = sa.select(*listed).where(snapshots.c.department == code, publishing.published(snapshots))
    if query.after is not None:
        select = select.where(snapshots.c.ledger_index > query.after[0])
    with store.reading(service.engine) as conn:
        rows = conn.execute(select.order_by(snapshots.c.ledger_index).limit(query.limit + 1)).all()
    shown, cursor = page([_snapshot(r, b"") for r in rows], query, lambda s: [s.index])
    return JSONResponse({"items": [s.as_json() for s in shown], "next_cursor": cursor})


def get_roster(request: Request) -> Response:
    """GET /departments/{code}/rosters/{index}: one snapshot."""
    _caller, code, service = _owned(request)
    return JSONResponse(_find(service, code, publishing.path_index(request)).as_json())


def list_roster_records(request: Request) -> Response:
    """GET /departments/{code}/rosters/{index}/records: a snapshot's records, paged; an object's
    stratum only for the owning department."""
    caller, code, service = _owned(request)
    query = page_query(request, service.config.page_limit_default, service.config.page_limit_max, (int,))
    snapshot = _find(service, code, publishing.path_index(request))
    records = model.load_json(snapshot.content)  # the service's own record list, checked when stored
    start = 0 if query.after is None else query.after[0] + 1
    chosen = list(enumerate(records[start : start + query.limit + 1], start))
    shown, cursor = page(chosen, query, lambda item: [item[0]])
    items = [r for _, r in shown]
    if snapshot.kind == "objects" and caller.code != code:
        items = [{**r, "stratum": None} for r in items]
    return JSONResponse({"items": items, "next_cursor": cursor})


_INDEX = publishing.INDEX_PARAMETER
_CODE = CODE_PARAMETER
_FIELDS = ", ".join(
    f"{kind}: " + "; ".join(f"{name} ({' / '.join(names[:3])})" for name, names in table.items())
    for kind, table in (("objects", OBJECT_COLUMNS), ("inspectors", INSPECTOR_COLUMNS))
)

routes = [
    api_post(
        "/departments/{code}/rosters",
        post_roster,
        Operation(
            "Upload a roster",
            f"Validates a CSV, XLSX or JSON roster ({', '.join(FORMATS)}; CSV in {', '.join(ENCODINGS)}) "
            f"row by row and, if every row is valid, appends a roster.snapshot entry. Fields: {_FIELDS}. "
            "Columns of resident ID or phone numbers are stripped; such a value in a kept column refuses "
            "the roster (422 invalid-roster naming row and column). The request may be as large as "
            "Config.max_roster_body_bytes (64 MiB by default), not only max_body_bytes.",
            ("rosters",),
            RosterCreated,
            status=201,
            request_model=RosterIn,
            parameters=(_CODE,),
            errors=publishing.POST_ERRORS,
        ),
        body_limit=lambda config: config.max_roster_body_bytes,
    ),
    api_get(
        "/departments/{code}/rosters",
        list_rosters,
        Operation(
            "List roster snapshots",
            "The department's roster snapshots, oldest first. For the department itself or role oversee.",
            ("rosters",),
            RosterPage,
            parameters=(_CODE, *PAGING),
            errors=(400, 401, 403),
        ),
    ),
    api_get(
        "/departments/{code}/rosters/{index}",
        get_roster,
        Operation(
            "One roster snapshot",
            "A roster snapshot by the ledger index of its entry.",
            ("rosters",),
            RosterOut,
            parameters=(_CODE, _INDEX),
            errors=(401, 403, 404),
        ),
    ),
    api_get(
        "/departments/{code}/rosters/{index}/records",
        list_roster_records,
        Operation(
            "A roster snapshot's records",
            "The records in record-list order, paged. An object's stratum (its credit-risk class) is "
            "shown to the owning department only; others see null.",
            ("rosters",),
            RosterRecordPage,
            parameters=(_CODE, _INDEX, *PAGING),
            errors=(400, 401, 403, 404),
        ),
    ),
]
