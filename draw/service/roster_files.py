"""Roster files read into a table of cells: CSV (RFC 4180), XLSX (ECMA-376) and JSON.

A department uploads the export of its provincial platform. Whatever the format, it becomes a
:class:`Table`: column names (the header) and numbered rows of cells. A cell is text (NFC, without
surrounding white space), None for an empty cell, or, from XLSX only, the typed value of a number,
date or boolean cell, so that the record layer can tell a date cell from a date written as text and
refuse a number cell where an identifier belongs (Excel turns an all-digit 统一社会信用代码 into a
floating-point number and loses its last digits).

Row numbers are what the department sees: in CSV and XLSX the header is row 1 and the first data
row is row 2, as a spreadsheet shows them; in JSON the n-th record of the array is row n.

* **CSV**: RFC 4180 (comma, double quotes, CRLF or LF), UTF-8 (a byte-order mark is skipped) or
  GB 18030 (``encoding="gb18030"``, the encoding of Chinese-language Excel exports). Every row has
  as many fields as the header. Rows with every field empty are skipped.
* **XLSX**: the first worksheet of the workbook; the first row is the header. The archive may
  expand to at most :data:`MAX_XLSX_EXPANDED` bytes.
* **JSON**: strict JSON (``ledger.jcs.loads``): an array of objects whose member names are the
  column names and whose values are strings, null, true/false, integers or arrays of strings.

Limits: :data:`MAX_ROWS` data rows, :data:`MAX_COLUMNS` columns, :data:`MAX_CELL` code points a cell.
Every failure raises :class:`FileError` naming the row (None for the file as a whole) and column.

>>> table = read_table(b"id,name\\r\\n1,\\xe5\\xba\\x97\\r\\n", "csv")
>>> table.header, table.rows
(('id', 'name'), [Row(number=2, cells=('1', '店'))])
"""

from __future__ import annotations

import csv
import datetime
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple
from xml.etree.ElementTree import ParseError

from ledger import jcs

FORMATS = ("csv", "xlsx", "json")
ENCODINGS = ("utf-8", "gb18030")
MAX_ROWS = 50_000
MAX_COLUMNS = 256
MAX_CELL = 4096
MAX_XLSX_EXPANDED = 64 * 1024 * 1024

Cell = str | int | float | bool | datetime.date | datetime.datetime | tuple[str, ...] | None


class Row(NamedTuple):
    """One data row: its number as the department sees it, and one cell per column of the header."""

    number: int
    cells: tuple[Cell, ...]


class Table(NamedTuple):
    """A roster file as read: the column names and the non-empty data rows."""

    header: tuple[str, ...]
    rows: list[Row]


class FileError(ValueError):
    """The file cannot be read as a roster table: ``row`` (None: the whole file), ``column`` (None:
    the whole row) and what is wrong."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


def read_table(data: bytes, file_format: str, encoding: str = "utf-8") -> Table:
    """Return the table in ``data`` of ``file_format`` (csv, xlsx or json).

    Linear in the size of the file. Raises FileError for a file that is malformed, breaks a limit,
    has no header or no data row, or repeats a column name; ValueError for an unknown format or
    encoding (a caller error).
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"roster file: encoding {encoding!r} not one of {', '.join(ENCODINGS)}")
    if file_format == "csv":
        header, rows = _csv_rows(data, encoding)
    elif file_format == "xlsx":
        header, rows = _xlsx_rows(data)
    elif file_format == "json":
        header, rows = _json_rows(data)
    else:
        raise ValueError(f"roster file: format {file_format!r} not one of {', '.join(FORMATS)}")
    if not rows:
        raise FileError("the file has no data rows")
    return Table(header, rows)


def _header(names: Sequence[Cell]) -> tuple[str, ...]:
    if not names:
        raise FileError("the file has no header row", 1)
    if len(names) > MAX_COLUMNS:
        raise FileError(f"{len(names)} columns, at most {MAX_COLUMNS} allowed", 1)
    header = tuple("" if name is None else _text(str(name), 1, None) for name in names)
    seen: dict[str, int] = {}
    for position, name in enumerate(header, 1):
        if name and name in seen:
            raise FileError(f"column name {name!r} repeats columns {seen[name]} and {position}", 1, name)
        seen.setdefault(name, position)
    return header


def _text(value: str, row: int | None, column: str | None) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > MAX_CELL:
        raise FileError(f"a cell of {len(text)} characters, at most {MAX_CELL} allowed", row, column)
    return text


def _row(number: int, header: tuple[str, ...], values: Sequence[Cell]) -> Row | None:
    if len(values) != len(header):
        raise FileError(f"{len(values)} fields, want {len(header)} as in the header", number)
    cells = tuple(
        (_text(v, number, name) or None) if isinstance(v, str) else v
        for v, name in zip(values, header, strict=True)
    )
    return None if all(c is None for c in cells) else Row(number, cells)


def _collect(header: tuple[str, ...], numbered: Iterable[tuple[int, Sequence[Cell]]]) -> list[Row]:
    rows: list[Row] = []
    for number, values in numbered:
        row = _row(number, header, values)
        if row is None:
            continue
        if len(rows) == MAX_ROWS:
            raise FileError(f"more than {MAX_ROWS} data rows", number)
        rows.append(row)
    return rows


# -- CSV --------------------------------------------------------------------------------------------


def _csv_rows(data: bytes, encoding: str) -> tuple[tuple[str, ...], list[Row]]:
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise FileError(f"not valid {encoding} text (byte {exc.start})") from None
    if "\x00" in text:
        raise FileError("the file holds a NUL character: not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise FileError(f"malformed CSV: {exc}", reader.line_num or None) from None
    if not records:
        raise FileError("the file is empty")
    header = _header(records[0])
    return header, _collect(header, _csv_numbered(records))


def _csv_numbered(records: list[list[str]]) -> Iterable[tuple[int, Sequence[Cell]]]:
    for number, values in enumerate(records[1:], 2):
        yield number, (values if values else [""] * len(records[0]))


# -- XLSX -------------------------------------------------------------------------------------------


def _xlsx_rows(data: bytes) -> tuple[tuple[str, ...], list[Row]]:
    _check_archive(data)
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, ParseError, OSError):
        raise FileError("not a readable XLSX workbook") from None
    try:
        if not workbook.worksheets:
            raise FileError("the workbook has no worksheet")
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        first = next(rows, None)
        header = _header(_trimmed(first or ()))
        numbered = ((n, _xlsx_cells(values, len(header), n)) for n, values in enumerate(rows, 2))
        return header, _collect(header, numbered)
    except (ValueError, TypeError, KeyError, ParseError, OSError, zipfile.BadZipFile) as exc:
        if isinstance(exc, FileError):
            raise
        raise FileError("not a readable XLSX workbook") from None
    finally:
        workbook.close()


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileError("not an XLSX workbook (not a ZIP archive)") from None
    if expanded > MAX_XLSX_EXPANDED:
        raise FileError(f"the workbook expands to {expanded} bytes, at most {MAX_XLSX_EXPANDED} allowed")


def _trimmed(values: Sequence[Any]) -> list[Any]:
    out = list(values)
    while out and (out[-1] is None or out[-1] == ""):
        out.pop()
    return out


def _xlsx_cells(values: Sequence[Any], width: int, number: int) -> list[Cell]:
    out = [_xlsx_value(v, number) for v in values[:width]] + [None] * max(0, width - len(values))
    extra = [v for v in values[width:] if v not in (None, "")]
    if extra:
        raise FileError(f"a value beyond the last named column ({extra[0]!r})", number)
    return out


def _xlsx_value(value: Any, number: int) -> Cell:
    if value is None or isinstance(value, str | bool | int | float | datetime.datetime | datetime.date):
        return value
    if isinstance(value, datetime.time | datetime.timedelta):
        return str(value)
    raise FileError(f"a cell of unsupported type {type(value).__name__}", number)


# -- JSON -------------------------------------------------------------------------------------------


def _json_rows(data: bytes) -> tuple[tuple[str, ...], list[Row]]:
    try:
        value = jcs.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileError(f"not strict JSON ({str(exc).splitlines()[0] if str(exc) else 'invalid'})") from None
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise FileError("want a JSON array of objects, one a row")
    names: dict[str, None] = {}
    for record in value:
        names.update(dict.fromkeys(record))
    raw = tuple(names)
    header = _header(raw)
    if "" in header:
        raise FileError("a member name is empty")
    numbered = ((n, _json_cells(r, raw, header, n)) for n, r in enumerate(value, 1))
    return header, _collect(header, numbered)


def _json_cells(
    record: dict[str, Any], raw: tuple[str, ...], header: tuple[str, ...], number: int
) -> list[Cell]:
    cells: list[Cell] = []
    for member, name in zip(raw, header, strict=True):
        value = record.get(member)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            cells.append(tuple(_text(v, number, name) for v in value))
        elif value is None or isinstance(value, str | bool | int):
            cells.append(value)
        else:
            raise FileError("want a string, null, true/false, an integer or strings", number, name)
    return cells
