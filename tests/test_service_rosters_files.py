"""Roster files and records: personal-data detection (GB 11643 vectors), CSV/XLSX/JSON reading, the
validation report by row and column, and the snapshot root against the RFC 9162 reference."""

from __future__ import annotations

import datetime
import doctest
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from draw.engine import teams
from draw.service import personal_data, roster_files
from draw.service.personal_data import (
    find_personal_data,
    is_resident_id,
    personal_header,
    resident_id_check_char,
)
from draw.service.roster_files import MAX_CELL, FileError, Row, read_table
from draw.service.roster_records import (
    INSPECTOR_COLUMNS,
    OBJECT_COLUMNS,
    REQUIRED,
    RosterError,
    build_snapshot,
    find_columns,
    parse_inspectors,
    parse_objects,
    split_record_list,
)
from tests import reference_merkle

VECTORS = Path(__file__).resolve().parent / "vectors" / "rosters"
OBJECTS_CSV = (VECTORS / "xinzhou-objects.csv").read_bytes()
OBJECTS_XLSX = (VECTORS / "xinzhou-objects.xlsx").read_bytes()
INSPECTORS_CSV = (VECTORS / "xinzhou-inspectors.csv").read_bytes()
IDS = json.loads((VECTORS / "resident-ids.json").read_text(encoding="utf-8"))

# The fixtures' records, written out by hand from the files.
WANT_OBJECTS = [
    {"area": "忻府区局城区所", "id": "91140902MA0GR7K21P", "last_inspected": "2024-05-17",
     "name": "忻州市晋丰食品有限公司", "stratum": "B", "tags": ["食品生产许可"]},
    {"area": "忻府区局城区所", "id": "92140902MA0H3B5N9P", "last_inspected": None,
     "name": "忻府区好味来餐饮店", "stratum": "A", "tags": []},
    {"area": "原平市局崞阳所", "id": "91140981MA0JT8Q18A", "last_inspected": "2023-09-08",
     "name": "原平市宏达建材有限公司", "stratum": "C", "tags": ["工业产品生产许可"]},
    {"area": "定襄县局晋昌所", "id": "91140921MA0K2D6W1A", "last_inspected": "2023-11-02",
     "name": "定襄县法兰锻造有限公司", "stratum": "D", "tags": []},
    {"area": "五台县局台城所", "id": "93140922MA0L9F4CXL", "last_inspected": None,
     "name": "五台县台山杂粮种植农民专业合作社", "stratum": "B", "tags": ["农资经营"]},
    {"area": "忻府区局长征街所", "id": "91140902MA0M1X3P64", "last_inspected": "2024-10-09",
     "name": "忻州市康宁大药房有限公司", "stratum": "C", "tags": ["第二类医疗器械经营备案", "药品经营许可"]},
    {"area": "忻府区局长征街所", "id": "140902000012349", "last_inspected": "2022-06-30",
     "name": "忻府区老城百货商店", "stratum": "A", "tags": []},
]  # fmt: skip
WANT_INSPECTORS = [
    {"area": "忻府区局城区所", "certificate_expiry": "2027-12-31", "department": "XZ", "expert": False,
     "id": "1409020101", "items": ["XZ-001", "XZ-002", "XZ-010"], "status": "active"},
    {"area": "忻府区局城区所", "certificate_expiry": "2026-06-30", "department": "XZ", "expert": False,
     "id": "1409020102", "items": ["XZ-001", "XZ-002"], "status": "active"},
    {"area": "忻府区局长征街所", "certificate_expiry": "2027-03-31", "department": "XZ", "expert": False,
     "id": "1409020103", "items": ["XZ-001", "XZ-020"], "status": "active"},
    {"area": "忻府区局长征街所", "certificate_expiry": "2025-01-31", "department": "XZ", "expert": False,
     "id": "1409020104", "items": ["XZ-002", "XZ-020"], "status": "leave"},
    {"area": "原平市局崞阳所", "certificate_expiry": "2028-12-31", "department": "XZ", "expert": True,
     "id": "1409810201", "items": ["XZ-001", "XZ-002", "XZ-010", "XZ-020"], "status": "active"},
    {"area": "定襄县局晋昌所", "certificate_expiry": "2027-09-30", "department": "XZ", "expert": False,
     "id": "1409210301", "items": ["XZ-001"], "status": "active"},
]  # fmt: skip


def canonical(record: dict[str, Any]) -> bytes:
    """RFC 8785 for these records (ASCII member names, no numbers but small integers): sorted keys."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def problems(exc: pytest.ExceptionInfo[RosterError]) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.message) for p in exc.value.problems]


# -- personal data ----------------------------------------------------------------------------------


def test_resident_id_vectors() -> None:
    for number in IDS["valid"] + IDS["unknown_place"]:
        assert resident_id_check_char(number[:17]) == number[17].upper(), number
        assert is_resident_id(number), number
    for number in IDS["invalid_checksum"] + IDS["invalid_date"]:
        assert not is_resident_id(number), number
    assert resident_id_check_char(IDS["invalid_date"][0][:17]) == IDS["invalid_date"][0][17]  # only the date


def test_resident_id_check_char_refuses_bad_bodies() -> None:
    for body in ("1234", "36042619910101007X", "３６０４２６１９９１０１０１００７"):
        with pytest.raises(ValueError, match="want 17 ASCII digits"):
            resident_id_check_char(body)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("法人 360426199101010071 张三", "a resident ID number (GB 11643)"),
        ("44011320141005001x", "a resident ID number (GB 11643)"),
        ("电话13800000001", "a phone number"),
        ("+86 138-0000-0001", "a phone number"),
        ("0350-3021234", "a phone number"),
        ("(0351) 7654321", "a phone number"),
        ("36042619910102009X", None),  # check character wrong
        ("1360426199101010071", None),  # 19 digits: not an ID number
        ("91140902MA0GR7K21P", None),  # a USCC
        ("140902000012349", None),  # a 注册号
        ("2024-05-17", None),
        ("食品经营许可证JY11409020012345", None),  # a licence number: 14 digits
        ("138000000012", None),  # 12 digits: not a mobile number
    ],
)
def test_find_personal_data(text: str, want: str | None) -> None:
    assert find_personal_data(text) == want


def test_identifier_columns_are_searched_for_id_numbers_only() -> None:
    assert find_personal_data("13800000001", phones=False) is None
    assert find_personal_data("person:110102199101010078", phones=False) == "a resident ID number (GB 11643)"


@pytest.mark.parametrize(
    ("header", "want"),
    [
        ("身份证号码", "resident ID numbers"),
        ("法定代表人身份证号", "resident ID numbers"),
        ("证件号码", "resident ID numbers"),
        ("ID_Number", "resident ID numbers"),
        ("联系电话", "phone numbers"),
        ("手机号码", "phone numbers"),
        ("Mobile Phone", "phone numbers"),
        ("TEL", "phone numbers"),
        ("执法证号", None),
        ("执法证件号", None),
        ("证件有效期至", None),
        ("统一社会信用代码", None),
    ],
)
def test_personal_header(header: str, want: str | None) -> None:
    assert personal_header(header) == want


# -- reading files ----------------------------------------------------------------------------------


def test_csv_fixture_reads_with_bom_crlf_and_quoted_fields() -> None:
    table = read_table(OBJECTS_CSV, "csv")
    assert table.header[:3] == ("序号", "统一社会信用代码", "企业名称") and len(table.header) == 13
    assert [row.number for row in table.rows] == [2, 3, 4, 5, 6, 7, 8]
    assert table.rows[5].cells[11] == "药品经营许可;第二类医疗器械经营备案"
    assert table.rows[1].cells[11] is None  # an empty cell


def test_csv_in_gb18030_needs_its_encoding() -> None:
    data = OBJECTS_CSV.decode("utf-8-sig").encode("gb18030")
    assert read_table(data, "csv", "gb18030").rows == read_table(OBJECTS_CSV, "csv").rows
    with pytest.raises(FileError, match=r"not valid utf-8 text \(byte 0\)"):
        read_table(data, "csv")


def test_csv_blank_lines_are_skipped_but_counted() -> None:
    table = read_table(b"a,b\n\n1,2\n,\n3,4\n", "csv")
    assert table.rows == [Row(3, ("1", "2")), Row(5, ("3", "4"))]


def test_text_is_nfc_and_trimmed() -> None:
    table = read_table("名称\n  Cafe\u0301 \n".encode(), "csv")
    assert table.rows == [Row(2, ("Café",))]


@pytest.mark.parametrize(
    ("mutation", "data", "row", "message"),
    [
        ("ragged-row", b"a,b\n1,2\n3\n", 3, "1 fields, want 2 as in the header"),
        ("bare-quote", b'a,b\n1,"x"y\n', 2, "malformed CSV"),
        ("nul-byte", b"a,b\n1,\x002\n", None, "NUL character"),
        ("header-repeats", b"a,b,a\n1,2,3\n", 1, "column name 'a' repeats columns 1 and 3"),
        ("header-only", b"a,b\r\n", None, "the file has no data rows"),
        ("empty", b"", None, "the file is empty"),
        ("cell-too-long", b"a\n" + b"x" * (MAX_CELL + 1) + b"\n", 2, f"at most {MAX_CELL} allowed"),
    ],
)
def test_malformed_csv(mutation: str, data: bytes, row: int | None, message: str) -> None:
    with pytest.raises(FileError, match=re.escape(message)) as exc:
        read_table(data, "csv")
    assert exc.value.row == row, mutation


def test_unknown_format_and_encoding_are_caller_errors() -> None:
    with pytest.raises(ValueError, match="format 'ods' not one of csv, xlsx, json"):
        read_table(b"", "ods")
    with pytest.raises(ValueError, match="encoding 'latin-1' not one of utf-8, gb18030"):
        read_table(b"", "csv", "latin-1")


def test_xlsx_fixture_reads_typed_cells_from_the_first_sheet() -> None:
    table = read_table(OBJECTS_XLSX, "xlsx")
    assert table.header[1] == "统一社会信用代码" and len(table.rows) == 7
    first = table.rows[0]
    assert first.number == 2 and first.cells[0] == 1 and first.cells[3] == 500.5
    assert first.cells[9] == datetime.datetime(2024, 5, 17)
    assert table.rows[6].cells[1] == "140902000012349"


def _xlsx(rows: list[tuple[Any, ...]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("mutation", "data", "message"),
    [
        ("not-a-zip", b"PK\x03\x04 not really", "not a ZIP archive"),
        ("csv-as-xlsx", OBJECTS_CSV, "not a ZIP archive"),
        ("zip-without-workbook", _zip({"hello.txt": b"hi"}), "not a readable XLSX workbook"),
        ("zip-bomb", _zip({"big.xml": b"\x00" * (65 * 1024 * 1024)}), "expands to 68157440 bytes"),
        ("value-beyond-header", _xlsx([("a", "b"), (1, 2, 3)]), "a value beyond the last named column (3)"),
        ("header-only", _xlsx([("a", "b")]), "no data rows"),
        ("no-header", _xlsx([]), "no header row"),
    ],
)
def test_malformed_xlsx(mutation: str, data: bytes, message: str) -> None:
    with pytest.raises(FileError, match=re.escape(message)):
        read_table(data, "xlsx")


def test_json_rows() -> None:
    data = json.dumps([{"a": "x", "b": ["p", "q"]}, {"b": None, "c": True}, {"a": 5}]).encode()
    table = read_table(data, "json")
    assert table.header == ("a", "b", "c")
    assert table.rows == [
        Row(1, ("x", ("p", "q"), None)),
        Row(2, (None, None, True)),
        Row(3, (5, None, None)),
    ]


@pytest.mark.parametrize(
    ("mutation", "data", "message"),
    [
        ("object-not-array", b'{"a":"x"}', "want a JSON array of objects"),
        ("array-of-arrays", b'[["x"]]', "want a JSON array of objects"),
        ("nested-object", b'[{"a":{"b":1}}]', "want a string, null, true/false, an integer or strings"),
        ("fraction", b'[{"a":1.5}]', "not strict JSON"),
        ("duplicate-member", b'[{"a":"x","a":"y"}]', "not strict JSON"),
        ("empty-array", b"[]", "no header row"),
        ("empty-name", b'[{"":"x"}]', "a member name is empty"),
    ],
)
def test_malformed_json(mutation: str, data: bytes, message: str) -> None:
    with pytest.raises(FileError, match=re.escape(message)):
        read_table(data, "json")


# -- records and snapshots ------------------------------------------------------------------------


def test_csv_objects_snapshot() -> None:
    snapshot = build_snapshot(read_table(OBJECTS_CSV, "csv"), "objects", "XZ")
    want = sorted(canonical(r) for r in WANT_OBJECTS)
    assert split_record_list(snapshot.content) == want
    assert snapshot.content == b"[" + b",".join(want) + b"]"
    assert snapshot.rows == 7 and snapshot.root == reference_merkle.mth(want)
    assert snapshot.stripped == ("联系电话", "法定代表人身份证号码")
    assert snapshot.ignored == ("序号", "市场主体类型", "法定代表人", "成立日期", "登记机关")
    assert snapshot.columns == {
        "id": "统一社会信用代码",
        "name": "企业名称",
        "area": "属地监管所",
        "stratum": "信用风险分类",
        "tags": "专项库",
        "last_inspected": "上次检查日期",
    }
    for number in [*IDS["valid"][:1], "13800000001", "0350-3021234"]:
        assert number.encode() not in snapshot.content
    assert [o.id for o in parse_objects(snapshot.content)] == [json.loads(r)["id"] for r in want]


def test_xlsx_objects_snapshot_equals_the_csv_one() -> None:
    """Typed cells, national class labels (信用风险一般 -> B) and 、-separated tags give the same records."""
    from_xlsx = build_snapshot(read_table(OBJECTS_XLSX, "xlsx"), "objects", "XZ")
    from_csv = build_snapshot(read_table(OBJECTS_CSV, "csv"), "objects", "XZ")
    assert from_xlsx.content == from_csv.content and from_xlsx.root == from_csv.root
    assert from_xlsx.stripped == ("联系电话",) and from_xlsx.ignored == (
        "序号",
        "注册资本(万元)",
        "法定代表人",
    )


def test_json_objects_snapshot_equals_the_csv_one() -> None:
    rows = [{**r, "tags": r["tags"], "联系电话": "13800000001"} for r in WANT_OBJECTS]
    snapshot = build_snapshot(read_table(json.dumps(rows).encode(), "json"), "objects", "XZ")
    assert snapshot.content == build_snapshot(read_table(OBJECTS_CSV, "csv"), "objects", "XZ").content
    assert snapshot.stripped == ("联系电话",)


def test_inspectors_snapshot() -> None:
    snapshot = build_snapshot(read_table(INSPECTORS_CSV, "csv"), "inspectors", "XZ")
    want = sorted(canonical(r) for r in WANT_INSPECTORS)
    assert split_record_list(snapshot.content) == want and snapshot.root == reference_merkle.mth(want)
    assert snapshot.stripped == ("身份证号码", "手机号码")
    assert snapshot.ignored == ("序号", "姓名", "性别", "工作单位")
    inspectors = parse_inspectors(snapshot.content)
    assert all(isinstance(i, teams.Inspector) for i in inspectors)
    assert {i.id: i.status for i in inspectors}["1409020104"] == "leave"


def test_explicit_columns_and_custom_strata() -> None:
    data = "代码,店名,网格,等级\n92140902MA0H3B5N9P,忻府区好味来餐饮店,城区网格,重点\n".encode()
    chosen = {"id": "代码", "name": "店名", "area": "网格", "stratum": "等级"}
    snapshot = build_snapshot(read_table(data, "csv"), "objects", "XZ", ("重点", "一般"), chosen)
    assert json.loads(snapshot.content)[0]["stratum"] == "重点" and snapshot.ignored == ()


def _mutated(row: int, column: str, value: str) -> bytes:
    lines = OBJECTS_CSV.decode("utf-8-sig").split("\r\n")
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    return "\r\n".join(lines).encode()


@pytest.mark.parametrize(
    ("mutation", "row", "column", "value", "message"),
    [
        (
            "uscc-check-char",
            3,
            "统一社会信用代码",
            "92140902MA0H3B5N9Q",
            "uscc: check character 'Q', want 'P'",
        ),
        (
            "uscc-org-code",
            3,
            "统一社会信用代码",
            "92140902MA0H3B5N8P",
            "org code: check character '8', want '9'",
        ),
        ("regno-check-digit", 8, "统一社会信用代码", "140902000012340", "regno: check digit '0', want '9'"),
        ("id-missing", 3, "统一社会信用代码", "", "missing value"),
        ("name-missing", 4, "企业名称", "", "missing value"),
        ("stratum-unknown", 5, "信用风险分类", "E", "unknown stratum 'E', want one of A, B, C, D"),
        ("date-impossible", 2, "上次检查日期", "2024-02-30", "no such date '2024-02-30'"),
        ("date-day-first", 2, "上次检查日期", "17/05/2024", "bad date '17/05/2024'"),
        ("phone-in-name", 2, "企业名称", "晋丰食品13800000001", "holds a phone number"),
        ("id-number-in-tags", 2, "专项库", "110102199101010078", "holds a resident ID number (GB 11643)"),
        ("control-char-in-area", 2, "属地监管所", "城区\x07所", "control character"),
    ],
)
def test_invalid_rows_are_reported_by_row_and_column(
    mutation: str, row: int, column: str, value: str, message: str
) -> None:
    with pytest.raises(RosterError) as exc:
        build_snapshot(read_table(_mutated(row, column, value), "csv"), "objects", "XZ")
    assert exc.value.total == 1, mutation
    assert problems(exc)[0][:2] == (row, column)
    assert message in problems(exc)[0][2]


def test_other_date_spellings_are_accepted() -> None:
    for spelling in ("2024/5/17", "2024年5月17日"):
        snapshot = build_snapshot(read_table(_mutated(2, "上次检查日期", spelling), "csv"), "objects", "XZ")
        assert b'"last_inspected":"2024-05-17"' in snapshot.content


def test_duplicate_id_names_both_rows() -> None:
    data = _mutated(4, "统一社会信用代码", "91140902MA0GR7K21P")
    with pytest.raises(RosterError) as exc:
        build_snapshot(read_table(data, "csv"), "objects", "XZ")
    assert problems(exc) == [(4, "统一社会信用代码", "duplicate id 91140902MA0GR7K21P, first at row 2")]


def test_every_bad_cell_is_reported_up_to_the_limit() -> None:
    lines = ["统一社会信用代码,企业名称,属地监管所,信用风险分类"]
    lines += [f"BAD{n},,所,Z" for n in range(60)]
    with pytest.raises(RosterError) as exc:
        build_snapshot(read_table("\n".join(lines).encode(), "csv"), "objects", "XZ")
    assert exc.value.total == 180 and len(exc.value.problems) == 100
    assert problems(exc)[:3] == [
        (2, "统一社会信用代码", "uscc: length 4, want 18"),
        (2, "企业名称", "missing value"),
        (2, "信用风险分类", "unknown stratum 'Z', want one of A, B, C, D"),
    ]


def test_xlsx_number_and_time_cells_are_refused_where_text_or_dates_belong() -> None:
    header = ("统一社会信用代码", "企业名称", "属地监管所", "信用风险分类", "上次检查日期")
    data = _xlsx([header, (9.1152201078376294e17, "店", "所", "A", datetime.datetime(2024, 5, 17, 10, 30))])
    with pytest.raises(RosterError) as exc:
        build_snapshot(read_table(data, "xlsx"), "objects", "XZ")
    assert problems(exc) == [
        (2, "统一社会信用代码", "a decimal number cell; format the column as text"),
        (2, "上次检查日期", "a date and time 2024-05-17T10:30:00; want a date"),
    ]


HEAD = ["统一社会信用代码", "企业名称", "属地监管所", "信用风险分类"]
LOOKED_FOR = "统一社会信用代码, 统一社会信用代码/注册号, 社会信用代码, 信用代码, 注册号, id"


@pytest.mark.parametrize(
    ("mutation", "header", "chosen", "want"),
    [
        ("column-missing", HEAD[1:], None, [(1, None, f"no column for field id (looked for {LOOKED_FOR})")]),
        ("chosen-column-absent", HEAD, {"area": "网格"}, [(None, None, "the file has no column '网格'")]),
        (
            "chosen-field-unknown",
            HEAD,
            {"owner": "企业名称"},
            [(None, None, "unknown field, want one of id, name, area, stratum, tags, last_inspected")],
        ),
        (
            "column-feeds-two-fields",
            HEAD,
            {"tags": "企业名称"},
            [(1, "企业名称", "column feeds both name and tags")],
        ),
        (
            "personal-column-chosen",
            [*HEAD, "身份证号"],
            {"tags": "身份证号"},
            [
                (
                    1,
                    "身份证号",
                    "the column name says it holds resident ID numbers, which Fairdraw never stores",
                )
            ],
        ),
    ],
)
def test_column_problems(
    mutation: str, header: list[str], chosen: dict[str, str] | None, want: list[tuple[Any, ...]]
) -> None:
    with pytest.raises(RosterError) as exc:
        find_columns(header, "objects", chosen)
    assert problems(exc) == want, mutation
    if mutation.startswith("chosen-"):
        assert exc.value.problems[0].member == f"columns.{next(iter(chosen or {}))}"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("执法证有效期至", "", "missing value"),
        ("是否专家", "也许", "want 是 or 否 (or true/false), got '也许'"),
        ("执法人员状态", "出差", "unknown status '出差': want 在岗/active, 停用/inactive or 休假/leave"),
        (
            "执法证号",
            "110102199101010078",
            "holds a resident ID number (GB 11643), which Fairdraw never stores",
        ),
    ],
)
def test_invalid_inspector_rows(column: str, value: str, message: str) -> None:
    lines = INSPECTORS_CSV.decode("utf-8-sig").split("\r\n")
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index(column)] = value
    lines[2] = ",".join(cells)
    with pytest.raises(RosterError) as exc:
        build_snapshot(read_table("\r\n".join(lines).encode(), "csv"), "inspectors", "XZ")
    assert problems(exc) == [(3, column, message)]


def test_record_list_round_trip_is_strict() -> None:
    content = build_snapshot(read_table(OBJECTS_CSV, "csv"), "objects", "XZ").content
    records = split_record_list(content)
    for mutation, bad in (
        ("reversed", b"[" + b",".join(reversed(records)) + b"]"),
        ("repeated", b"[" + b",".join([records[0], *records]) + b"]"),
        ("spaced", content.replace(b",", b", ", 1)),
        ("not-an-array", records[0]),
    ):
        with pytest.raises(ValueError, match="record list"):
            split_record_list(bad)
        assert mutation


def test_module_doctests() -> None:
    for module in (personal_data, roster_files):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_docs_list_the_usual_column_names() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    for kind, table in (("objects", OBJECT_COLUMNS), ("inspectors", INSPECTOR_COLUMNS)):
        for field, names in table.items():
            required = " (required)" if field in REQUIRED[kind] else ""
            assert f"| {kind} | `{field}`{required} | {', '.join(names)} |" in doc, (kind, field)
