"""Roster tables turned into the draw engine's records, with a validation report, and back.

A roster is one of two kinds (docs/api.md, "Rosters, item lists, plans and tasks"):

* ``objects``, the 检查对象名录库: each row becomes an object record of docs/draw-spec.md §4
  (``id``, ``name``, ``area``, ``stratum``, ``tags``, ``last_inspected``);
* ``inspectors``, the 执法检查人员名录库: each row becomes an inspector record of
  docs/draw-spec-matching.md §2.1 (``id`` = 执法证号, ``area``, ``certificate_expiry``, ``items``,
  ``expert``, ``status``; ``department`` is the department that uploads the roster).

Columns are found by name (:data:`OBJECT_COLUMNS`, :data:`INSPECTOR_COLUMNS`: the names of the
provincial exports, compared after NFKC and case folding), or named explicitly per field. Columns
whose name says they hold resident ID or phone numbers are stripped; other columns no field uses are
ignored; neither is read or kept. A kept value that holds such a number refuses the roster.

The snapshot is the **record list** of docs/draw-spec.md §7: the canonical JSON of every record,
sorted by its bytes, joined into one JSON array. Its **root** is the RFC 9162 Merkle tree hash with
one leaf per record, in that order: leaf hash = SHA-256(0x00 || JCS(record)).
"""

from __future__ import annotations

import datetime
import itertools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from draw.engine import model, teams, uscc
from draw.service.personal_data import find_personal_data, personal_header
from draw.service.roster_files import Cell, Row, Table
from ledger import jcs, tree

KINDS = ("objects", "inspectors")
DEFAULT_STRATA = ("A", "B", "C", "D")
MAX_REPORTED = 100

OBJECT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("统一社会信用代码", "统一社会信用代码/注册号", "社会信用代码", "信用代码", "注册号", "id"),
    "name": ("企业名称", "主体名称", "市场主体名称", "对象名称", "名称", "name"),
    "area": ("属地监管所", "属地监管工商所", "监管所", "管辖单位", "属地", "area"),
    "stratum": ("信用风险分类", "信用风险等级", "风险分类", "风险等级", "分类", "stratum"),
    "tags": ("标签", "专项库", "专项库名称", "tags"),
    "last_inspected": ("上次检查日期", "最近检查日期", "上次检查时间", "last_inspected"),
}
INSPECTOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("执法证号", "执法证编号", "行政执法证号", "执法证件号", "工商执法证编号", "id"),
    "area": ("岗位管辖片区", "管辖片区", "片区", "属地", "area"),
    "certificate_expiry": ("执法证有效期至", "执法证有效期", "有效期至", "certificate_expiry"),
    "items": ("执法事项范围", "执法事项清单范围", "可检查事项", "检查事项", "items"),
    "expert": ("是否属于专家", "是否专家", "专家", "expert"),
    "status": ("执法人员状态", "人员状态", "状态", "status"),
}
REQUIRED = {
    "objects": ("id", "name", "area", "stratum"),
    "inspectors": ("id", "area", "certificate_expiry"),
}
# The national labels of the credit-risk classes (国市监信发〔2022〕6号), accepted for A-D strata.
STRATUM_LABELS = {"信用风险低": "A", "信用风险一般": "B", "信用风险较高": "C", "信用风险高": "D"}
_BOOLEANS = {"是": True, "否": False, "true": True, "false": False, "y": True, "n": False}
_BOOLEANS |= {"yes": True, "no": False, "1": True, "0": False}
_STATUSES = {"在岗": "active", "在职": "active", "正常": "active", "有效": "active", "active": "active"}
_STATUSES |= {"停用": "inactive", "无效": "inactive", "离职": "inactive", "调离": "inactive"}
_STATUSES |= {"注销": "inactive", "退休": "inactive", "inactive": "inactive"}
_STATUSES |= {"休假": "leave", "请假": "leave", "病假": "leave", "产假": "leave", "leave": "leave"}
_LIST_SEPARATORS = re.compile(r"[;；,，、|\n]")
_DATES = (
    re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})"),
    re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})"),
    re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日"),
)


@dataclass(frozen=True)
class Problem:
    """One finding of the validation: the row (None: the file), the column (None: the row) and why;
    ``member`` instead names the member of the upload request at fault (``columns.id``)."""

    row: int | None
    column: str | None
    message: str
    member: str | None = None


class RosterError(ValueError):
    """The roster is refused; ``problems`` lists the first :data:`MAX_REPORTED` findings, ``total``
    counts them all."""

    def __init__(self, problems: Sequence[Problem], total: int) -> None:
        super().__init__(f"{total} problems in the roster")
        self.problems = tuple(problems)
        self.total = total


@dataclass(frozen=True)
class Columns:
    """Which column of ``header`` feeds each field (by position), and the columns left out."""

    header: tuple[str, ...]
    fields: dict[str, int]
    stripped: tuple[str, ...]
    ignored: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """An accepted roster: its record list (``content``), row count, RFC 9162 root and report."""

    kind: str
    content: bytes
    rows: int
    root: bytes
    columns: dict[str, str]
    stripped: tuple[str, ...]
    ignored: tuple[str, ...]


@dataclass
class _Findings:
    problems: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, row: int | None, column: str | None, message: str, member: str | None = None) -> None:
        self.total += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(Problem(row, column, message, member))


class _CellError(ValueError):
    pass


def folded(name: str) -> str:
    """Return a column name as columns are compared: NFKC, case-folded, without white space."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if not ch.isspace())


# -- columns --------------------------------------------------------------------------------------


def find_columns(header: Sequence[str], kind: str, chosen: Mapping[str, str] | None = None) -> Columns:
    """Return the columns of ``header`` that feed the fields of ``kind``.

    ``chosen`` names a column explicitly for some fields (field -> column name); the others take the
    first of their usual names that the header has. Raises RosterError (row 1) for an unknown field
    in ``chosen``, a chosen column the header lacks, a column that names personal data or feeds two
    fields, or a required field without a column.
    """
    known = OBJECT_COLUMNS if kind == "objects" else INSPECTOR_COLUMNS
    by_name = {folded(name): position for position, name in enumerate(header) if name}
    findings = _Findings()
    fields: dict[str, int] = {}
    for name, aliases in known.items():
        wanted = [chosen[name]] if chosen and name in chosen else list(aliases)
        position = next((by_name[folded(a)] for a in wanted if folded(a) in by_name), None)
        if position is not None:
            fields[name] = position
        elif chosen and name in chosen:
            findings.add(None, None, f"the file has no column {chosen[name]!r}", f"columns.{name}")
        elif name in REQUIRED[kind]:
            findings.add(1, None, f"no column for field {name} (looked for {', '.join(aliases)})")
    for name in sorted(set(chosen or ()) - set(known)):
        findings.add(None, None, f"unknown field, want one of {', '.join(known)}", f"columns.{name}")
    _check_claims(header, fields, findings)
    if findings.total:
        raise RosterError(findings.problems, findings.total)
    used = set(fields.values())
    stripped = tuple(h for h in header if h and personal_header(h))
    ignored = tuple(h for p, h in enumerate(header) if h and p not in used and h not in stripped)
    return Columns(tuple(header), fields, stripped, ignored)


def _check_claims(header: Sequence[str], fields: dict[str, int], findings: _Findings) -> None:
    claimed: dict[int, str] = {}
    for name, position in fields.items():
        column = header[position]
        if position in claimed:
            findings.add(1, column, f"column feeds both {claimed[position]} and {name}")
        claimed[position] = name
        kind = personal_header(column)
        if kind is not None:
            findings.add(1, column, f"the column name says it holds {kind}, which Fairdraw never stores")


# -- cells ----------------------------------------------------------------------------------------


def _text(cell: Cell, max_len: int, *, phones: bool = True) -> str:
    if isinstance(cell, bool) or cell is None or isinstance(cell, tuple):
        raise _CellError("want text" if cell is not None else "missing value")
    if isinstance(cell, float):
        raise _CellError("a decimal number cell; format the column as text")
    if isinstance(cell, datetime.date):
        raise _CellError("a date cell; want text")
    text = unicodedata.normalize("NFC", str(cell)).strip()
    try:
        model.check_text(text, "value", max_len)
    except ValueError as exc:
        raise _CellError(str(exc).removeprefix("draw: value: ")) from None
    found = find_personal_data(text, phones=phones)
    if found is not None:
        raise _CellError(f"holds {found}, which Fairdraw never stores")
    return text


def _date(cell: Cell) -> datetime.date:
    if isinstance(cell, datetime.datetime):
        if cell.time() != datetime.time(0):
            raise _CellError(f"a date and time {cell.isoformat()}; want a date")
        return cell.date()
    if isinstance(cell, datetime.date):
        return cell
    if not isinstance(cell, str):
        raise _CellError("missing value" if cell is None else "want a date YYYY-MM-DD")
    for pattern in _DATES:
        if match := pattern.fullmatch(cell):
            try:
                return datetime.date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                raise _CellError(f"no such date {cell!r}") from None
    raise _CellError(f"bad date {cell!r}: want YYYY-MM-DD, YYYY/M/D or YYYY年M月D日")


def _list(cell: Cell, max_len: int) -> tuple[str, ...]:
    if cell is None:
        return ()
    parts = cell if isinstance(cell, tuple) else _LIST_SEPARATORS.split(_text(cell, 1 << 16))
    values = {_text(part.strip(), max_len) for part in parts if part.strip()}
    return tuple(sorted(values))


def _flag(cell: Cell) -> bool:
    if cell is None:
        return False
    if isinstance(cell, bool):
        return cell
    found = _BOOLEANS.get(folded(str(cell))) if isinstance(cell, str | int) else None
    if found is None:
        raise _CellError(f"want 是 or 否 (or true/false), got {cell!r}")
    return found


def _status(cell: Cell) -> str:
    if cell is None:
        return "active"
    found = _STATUSES.get(folded(cell)) if isinstance(cell, str) else None
    if found is None:
        raise _CellError(f"unknown status {cell!r}: want 在岗/active, 停用/inactive or 休假/leave")
    return found


# -- rows -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    kind: str
    department: str
    strata: tuple[str, ...]


def _cell(row: Row, columns: Columns, name: str) -> Cell:
    position = columns.fields.get(name)
    return None if position is None else row.cells[position]


def _object_id(cell: Cell) -> str:
    ident = _text(cell, 160, phones=False)
    try:
        uscc.object_id_kind(ident)
    except ValueError as exc:
        raise _CellError(str(exc)) from None
    return ident


def _stratum(cell: Cell, strata: tuple[str, ...]) -> str:
    value = _text(cell, 64)
    value = STRATUM_LABELS.get(value, value) if STRATUM_LABELS.get(value) in strata else value
    if value not in strata:
        raise _CellError(f"unknown stratum {value!r}, want one of {', '.join(strata)}")
    return value


def _object_fields(row: Row, columns: Columns, context: _Context) -> dict[str, Callable[[], Any]]:
    def last() -> str | None:
        cell = _cell(row, columns, "last_inspected")
        return None if cell is None else _date(cell).isoformat()

    return {
        "id": lambda: _object_id(_cell(row, columns, "id")),
        "name": lambda: _text(_cell(row, columns, "name"), 256),
        "area": lambda: _text(_cell(row, columns, "area"), 128),
        "stratum": lambda: _stratum(_cell(row, columns, "stratum"), context.strata),
        "tags": lambda: _list(_cell(row, columns, "tags"), 64),
        "last_inspected": last,
    }


def _inspector_fields(row: Row, columns: Columns, context: _Context) -> dict[str, Callable[[], Any]]:
    return {
        "id": lambda: _text(_cell(row, columns, "id"), teams.MAX_ID, phones=False),
        "area": lambda: _text(_cell(row, columns, "area"), teams.MAX_NAME),
        "certificate_expiry": lambda: _date(_cell(row, columns, "certificate_expiry")),
        "items": lambda: _list(_cell(row, columns, "items"), 128),
        "expert": lambda: _flag(_cell(row, columns, "expert")),
        "status": lambda: _status(_cell(row, columns, "status")),
    }


def _row_record(row: Row, columns: Columns, context: _Context, findings: _Findings) -> dict[str, Any] | None:
    """Return the record of ``row``, or None after adding one finding per bad cell."""
    makers = (_object_fields if context.kind == "objects" else _inspector_fields)(row, columns, context)
    values: dict[str, Any] = {}
    for name, make in makers.items():
        try:
            values[name] = make()
        except _CellError as exc:
            position = columns.fields.get(name)
            findings.add(row.number, None if position is None else columns.header[position], str(exc))
    if len(values) != len(makers):
        return None
    try:
        return _record(values, context)
    except ValueError as exc:
        findings.add(row.number, None, str(exc))
        return None


def _record(values: dict[str, Any], context: _Context) -> dict[str, Any]:
    if context.kind == "objects":
        names = ("id", "name", "area", "stratum", "tags", "last_inspected")
        obj = model.make_object(*(values[name] for name in names))
        model.check_object(obj, "record")
        return model.object_record(obj)
    inspector = teams.Inspector(
        values["id"],
        context.department,
        values["area"],
        values["certificate_expiry"],
        values["items"],
        values["expert"],
        values["status"],
    )
    return inspector.to_record()


# -- snapshots ------------------------------------------------------------------------------------


def build_snapshot(
    table: Table,
    kind: str,
    department: str,
    strata: Sequence[str] = DEFAULT_STRATA,
    chosen: Mapping[str, str] | None = None,
) -> Snapshot:
    """Return the snapshot of ``table`` as a roster of ``kind`` uploaded by ``department``.

    ``strata`` are the stratum names an object may have (objects only). Linear in the table; holds
    every record in memory. Raises RosterError listing every bad cell (row and column), duplicate
    id and personal-data value, or the column problems of :func:`find_columns`.
    """
    if kind not in KINDS:
        raise ValueError(f"roster: kind {kind!r} not one of {', '.join(KINDS)}")
    columns = find_columns(table.header, kind, chosen)
    findings = _Findings()
    records = _records(table, columns, _Context(kind, department, tuple(strata)), findings)
    if findings.total:
        raise RosterError(findings.problems, findings.total)
    records.sort()
    named = {name: table.header[position] for name, position in columns.fields.items()}
    root = records_root(records)
    return Snapshot(kind, record_list(records), len(records), root, named, columns.stripped, columns.ignored)


def _records(table: Table, columns: Columns, context: _Context, findings: _Findings) -> list[bytes]:
    """Return the canonical record of every valid row; add a finding for each bad cell and repeated id."""
    records: list[bytes] = []
    first_row: dict[str, int] = {}
    for row in table.rows:
        record = _row_record(row, columns, context, findings)
        if record is None:
            continue
        ident = record["id"]
        if ident in first_row:
            column = table.header[columns.fields["id"]]
            findings.add(row.number, column, f"duplicate id {ident}, first at row {first_row[ident]}")
            continue
        first_row[ident] = row.number
        records.append(jcs.canonicalize(record))
    return records


def record_list(records: Sequence[bytes]) -> bytes:
    """Return the record list (docs/draw-spec.md §7) of canonical ``records`` already sorted."""
    return b"[" + b",".join(records) + b"]"


def records_root(records: Sequence[bytes]) -> bytes:
    """Return the RFC 9162 Merkle tree hash over ``records``, one leaf each, in order."""
    return tree.root_hash(tree.leaf_hash(r) for r in records)


def split_record_list(content: bytes) -> list[bytes]:
    """Return the canonical records of a record list, checking it is one (canonical JSON, sorted by
    bytes, no repeats). The inverse of :func:`record_list`. Raises ValueError."""
    return _parse_record_list(content)[1]


def _parse_record_list(content: bytes) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Return the parsed records of a record list and their canonical bytes; one parse of
    ``content``. Raises ValueError as :func:`split_record_list` does."""
    value = model.load_json(content)
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise ValueError("roster: a record list is a JSON array of objects")
    records = [jcs.canonicalize(r) for r in value]
    if record_list(records) != content or any(a >= b for a, b in itertools.pairwise(records)):
        raise ValueError("roster: record list not canonical, sorted and free of repeats")
    return value, records


def parse_objects(content: bytes) -> list[model.InspectionObject]:
    """Return the objects of an ``objects`` snapshot's record list. Raises ValueError."""
    records = _parse_record_list(content)[0]
    return [model.parse_object_record(r, f"records[{i}]") for i, r in enumerate(records)]


def parse_inspectors(content: bytes) -> list[teams.Inspector]:
    """Return the inspectors of an ``inspectors`` snapshot's record list. Raises ValueError."""
    return [teams.Inspector.from_record(r) for r in _parse_record_list(content)[0]]
