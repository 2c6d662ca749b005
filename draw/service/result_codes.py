"""The versioned code table of inspection results (抽查检查结果) and follow-up measures (后续处置措施).

A disclosure names the version of the table it uses and picks, from that version:

* ``results``: one or more result codes, no repeats. A code marked ``exclusive`` (``1`` 未发现问题)
  stands alone: it cannot be combined with any other code.
* ``measures``: zero or more follow-up measures, no repeats; an ``exclusive`` measure (无需后续处置)
  stands alone too. A measure marked ``text`` (其他) needs the free text ``other_measure``, which is
  given only then.

Labels have changed over the years, so the table is data (``draw/service/result-codes.json``), never
code: a new wording is a new version, and a code keeps its meaning within a version. The file also
lists the reason codes of a withdrawal; ``GET /api/v1/result-codes`` serves it. Its format
(``fairdraw-result-codes/v1``)::

    {"format": "fairdraw-result-codes/v1",
     "tables": [{"version": 2, "title": ..., "source": ...,
                 "results": [{"code": "1", "label": "未发现问题", "exclusive": true}, ...],
                 "measures": [{"code": "M6", "label": "其他", "text": true}, ...]}],
     "withdrawal_reasons": [{"code": "annulled", "label": ...}, ...]}

A code object has ``code`` and ``label`` and, only when they apply, ``parent`` (the code it refines),
``group``, ``exclusive: true`` and ``text: true``. The file is exactly what :func:`format_code_book`
writes; :func:`parse_code_book` checks the round trip.

>>> book = load_code_book()
>>> check_outcome(book, Outcome(2, ("B", "E"), ("M3",), None))
>>> try:
...     check_outcome(book, Outcome(2, ("1", "B"), (), None))
... except CodeError as exc:
...     print(exc)
results: result code 1 (未发现问题) cannot be combined with other codes
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pydantic
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.service.routing import Operation, api_get
from ledger import jcs

FORMAT = "fairdraw-result-codes/v1"
DATA_FILE = "result-codes.json"
MAX_OTHER_MEASURE = 500
MAX_DATA_BYTES = 1 << 20
CODE_PATTERN = re.compile(r"[0-9A-Z][0-9A-Z]{0,7}")
REASON_PATTERN = re.compile(r"[a-z][a-z-]{0,31}")
_CODE_MEMBERS = ("code", "label", "parent", "group", "exclusive", "text")


class CodeError(ValueError):
    """A disclosure's choice of codes breaks the table's rules. ``field`` names the offending member
    (``code_table``, ``results``, ``results[2]``, ``measures[0]``, ``other_measure``, ``reason``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Code:
    """One entry of a code list: ``parent`` is the code it refines, ``group`` a heading for display,
    ``exclusive`` makes it stand alone, ``text`` asks for free text with it."""

    code: str
    label: str
    parent: str | None = None
    group: str | None = None
    exclusive: bool = False
    text: bool = False

    def as_json(self) -> dict[str, Any]:
        """Return the code object, with optional members only when they apply."""
        out: dict[str, Any] = {"code": self.code, "label": self.label}
        optional = (("parent", self.parent), ("group", self.group), ("exclusive", self.exclusive))
        out.update({k: v for k, v in (*optional, ("text", self.text)) if v})
        return out


@dataclass(frozen=True)
class CodeTable:
    """One version of the table."""

    version: int
    title: str
    source: str
    results: tuple[Code, ...]
    measures: tuple[Code, ...]

    def as_json(self) -> dict[str, Any]:
        """Return the table as the data file holds it."""
        return {
            "version": self.version,
            "title": self.title,
            "source": self.source,
            "results": [c.as_json() for c in self.results],
            "measures": [c.as_json() for c in self.measures],
        }


@dataclass(frozen=True)
class CodeBook:
    """Every version of the table, and the reason codes of a withdrawal."""

    tables: tuple[CodeTable, ...]
    withdrawal_reasons: tuple[Code, ...]

    def table(self, version: int) -> CodeTable:
        """Return table ``version``. Raises CodeError naming ``code_table`` if there is none."""
        for table in self.tables:
            if table.version == version:
                return table
        known = ", ".join(str(t.version) for t in self.tables)
        raise CodeError("code_table", f"unknown code table {version}; known: {known}")

    def reason(self, code: str) -> Code:
        """Return withdrawal reason ``code``. Raises CodeError naming ``reason`` if there is none."""
        for reason in self.withdrawal_reasons:
            if reason.code == code:
                return reason
        known = ", ".join(r.code for r in self.withdrawal_reasons)
        raise CodeError("reason", f"unknown withdrawal reason {code!r}; known: {known}")

    def as_json(self) -> dict[str, Any]:
        """Return the code book as the data file holds it."""
        return {
            "format": FORMAT,
            "tables": [t.as_json() for t in self.tables],
            "withdrawal_reasons": [r.as_json() for r in self.withdrawal_reasons],
        }


@dataclass(frozen=True)
class Outcome:
    """What a disclosure reports: the table version, result codes, measures and the 其他 text."""

    code_table: int
    results: tuple[str, ...]
    measures: tuple[str, ...]
    other_measure: str | None


def check_outcome(book: CodeBook, outcome: Outcome) -> None:
    """Check ``outcome`` against its table's rules (module docstring). O(codes).

    Raises CodeError naming the first offending member: an unknown table; an empty result list; a
    code the table does not have (saying which other versions have it); a repeated code; an
    exclusive code with others; ``other_measure`` missing, empty, longer than 500 characters, or given
    without the measure that asks for it.
    """
    table = book.table(outcome.code_table)
    if not outcome.results:
        raise CodeError("results", "at least one result code is required")
    _check_codes(book, table, "results", "result", outcome.results)
    _check_codes(book, table, "measures", "measure", outcome.measures)
    wants_text = any(_find(table.measures, m).text for m in outcome.measures)
    other = outcome.other_measure
    if wants_text and (other is None or not other.strip()):
        raise CodeError("other_measure", "the measure 其他 needs its text in other_measure")
    if not wants_text and other is not None:
        raise CodeError("other_measure", "is given only with the measure 其他")
    if other is not None and len(other) > MAX_OTHER_MEASURE:
        raise CodeError("other_measure", f"is {len(other)} characters, at most {MAX_OTHER_MEASURE}")


def _check_codes(book: CodeBook, table: CodeTable, field: str, kind: str, picked: Sequence[str]) -> None:
    listed = table.results if kind == "result" else table.measures
    seen: set[str] = set()
    for k, code in enumerate(picked):
        if not any(c.code == code for c in listed):
            raise CodeError(f"{field}[{k}]", _not_in_table(book, table.version, kind, code))
        if code in seen:
            raise CodeError(f"{field}[{k}]", f"repeats {kind} code {code}")
        seen.add(code)
        found = _find(listed, code)
        if found.exclusive and len(picked) > 1:
            raise CodeError(field, f"{kind} code {code} ({found.label}) cannot be combined with other codes")


def _not_in_table(book: CodeBook, version: int, kind: str, code: str) -> str:
    others = [
        str(t.version)
        for t in book.tables
        if any(c.code == code for c in (t.results if kind == "result" else t.measures))
    ]
    where = f" (it is in code table {', '.join(others)})" if others else ""
    return f"{kind} code {code!r} is not in code table {version}{where}"


def _find(codes: Sequence[Code], code: str) -> Code:
    for found in codes:
        if found.code == code:
            return found
    raise AssertionError(f"result_codes: {code} checked but not found")


# -- the data file --------------------------------------------------------------------------------


def parse_code_book(data: bytes) -> CodeBook:
    """Parse a ``fairdraw-result-codes/v1`` file (at most 1 MiB).

    Strict: exact members; versions strictly increasing from 1; codes matching ``[0-9A-Z]{1,8}``
    (reasons ``[a-z][a-z-]{0,31}``), unique within their list; a parent that is an earlier code of the
    same list; exactly the bytes :func:`format_code_book` writes. Raises ValueError.
    """
    if len(data) > MAX_DATA_BYTES:
        raise ValueError(f"result codes: data of {len(data)} bytes exceeds {MAX_DATA_BYTES}")
    try:
        doc = jcs.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"result codes: not strict JSON ({exc})") from None
    _members(doc, "result codes", {"format", "tables", "withdrawal_reasons"}, set())
    if doc["format"] != FORMAT:
        raise ValueError(f"result codes: format {doc['format']!r}, want {FORMAT!r}")
    tables = tuple(_table(item) for item in _list(doc["tables"], "tables"))
    if [t.version for t in tables] != list(range(1, len(tables) + 1)):
        raise ValueError("result codes: table versions must be 1, 2, 3, ... in order")
    reasons = _codes(doc["withdrawal_reasons"], "withdrawal_reasons", REASON_PATTERN)
    book = CodeBook(tables, reasons)
    if format_code_book(book) != data:
        raise ValueError("result codes: data is not in the canonical layout (format_code_book)")
    return book


def format_code_book(book: CodeBook) -> bytes:
    """Return the data file of ``book``: UTF-8 JSON, one code per line. The inverse of
    :func:`parse_code_book`."""
    lines = ["{", f'  "format": {_one(FORMAT)},', '  "tables": [']
    for k, table in enumerate(book.tables):
        lines += ["    {", f'      "version": {table.version},', f'      "title": {_one(table.title)},']
        lines += [f'      "source": {_one(table.source)},', '      "results": [']
        lines += [*_rows(table.results, "        "), "      ],", '      "measures": [']
        lines += [*_rows(table.measures, "        "), "      ]"]
        lines.append("    }" + ("," if k + 1 < len(book.tables) else ""))
    lines += ["  ],", '  "withdrawal_reasons": [', *_rows(book.withdrawal_reasons, "    "), "  ]", "}", ""]
    return "\n".join(lines).encode("utf-8")


def _one(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _rows(codes: Sequence[Code], indent: str) -> list[str]:
    items = [indent + _one(c.as_json()) for c in codes]
    return [line + ("," if k + 1 < len(items) else "") for k, line in enumerate(items)]


def _table(item: Any) -> CodeTable:
    _members(item, "tables[]", {"version", "title", "source", "results", "measures"}, set())
    version, title, source = item["version"], item["title"], item["source"]
    if type(version) is not int:
        raise ValueError(f"result codes: table version {version!r} must be an integer")
    for name, text in (("title", title), ("source", source)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"result codes: table {version} needs a {name}")
    results = _codes(item["results"], f"table {version} results", CODE_PATTERN)
    measures = _codes(item["measures"], f"table {version} measures", CODE_PATTERN)
    if not results:
        raise ValueError(f"result codes: table {version} has no result codes")
    return CodeTable(version, title, source, results, measures)


def _codes(value: Any, where: str, pattern: re.Pattern[str]) -> tuple[Code, ...]:
    codes: list[Code] = []
    for item in _list(value, where):
        _members(item, where, {"code", "label"}, set(_CODE_MEMBERS[2:]))
        code, label = item["code"], item["label"]
        if not isinstance(code, str) or not pattern.fullmatch(code) or any(c.code == code for c in codes):
            raise ValueError(f"result codes: {where}: code {code!r} is malformed or repeated")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"result codes: {where}: code {code} needs a label")
        codes.append(_code(item, where, codes))
    return tuple(codes)


def _code(item: Mapping[str, Any], where: str, earlier: Sequence[Code]) -> Code:
    code = item["code"]
    parent, group = item.get("parent"), item.get("group")
    if parent is not None and not any(c.code == parent for c in earlier):
        raise ValueError(f"result codes: {where}: code {code}'s parent {parent!r} is not an earlier code")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        raise ValueError(f"result codes: {where}: code {code}'s group must be non-empty text")
    flags = {name: item.get(name, False) for name in ("exclusive", "text")}
    if any(type(v) is not bool for v in flags.values()):
        raise ValueError(f"result codes: {where}: code {code}'s exclusive and text must be true or false")
    return Code(code, item["label"], parent, group, flags["exclusive"], flags["text"])


def _members(value: Any, where: str, required: set[str], optional: set[str]) -> None:
    if not isinstance(value, dict) or not required <= set(value) <= required | optional:
        got = sorted(value) if isinstance(value, Mapping) else type(value).__name__
        raise ValueError(f"result codes: {where} has members {got}, want {sorted(required)}")


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"result codes: {where} must be a list")
    return value


@functools.cache
def _packaged() -> tuple[CodeBook, str]:
    data = resources.files("draw.service").joinpath(DATA_FILE).read_bytes()
    return parse_code_book(data), "sha256:" + hashlib.sha256(data).hexdigest()


def load_code_book() -> CodeBook:
    """Return the code book shipped in ``draw/service/result-codes.json`` (parsed once)."""
    return _packaged()[0]


def code_book_digest() -> str:
    """Return ``sha256:<hex>`` of the shipped data file, so a reader can pin the data it used."""
    return _packaged()[1]


# -- the public endpoint (GET /api/v1/result-codes) -----------------------------------------------


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="forbid", frozen=True)


class CodeOut(_Model):
    """One code of a list; optional members appear only when they apply."""

    code: str
    label: str
    parent: str | None = None
    group: str | None = None
    exclusive: bool | None = None
    text: bool | None = None


class CodeTableOut(_Model):
    """One version of the code table."""

    version: int
    title: str
    source: str
    results: list[CodeOut]
    measures: list[CodeOut]


class CodeBookOut(_Model):
    """Every version of the code table and the withdrawal reasons (the shipped data file)."""

    format: str
    sha256: str = pydantic.Field(description="sha256:<hex> of the data file")
    tables: list[CodeTableOut]
    withdrawal_reasons: list[CodeOut]


def get_result_codes(_request: Request) -> Response:
    """GET /result-codes: every version of the code table and the withdrawal reasons (public)."""
    body = {**load_code_book().as_json(), "sha256": code_book_digest()}
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})


routes = [
    api_get(
        "/result-codes",
        get_result_codes,
        Operation(
            "Result code table",
            "Every version of the result and measure codes, and the withdrawal reasons. Public.",
            ("disclosures",),
            CodeBookOut,
            authenticated=False,
        ),
    ),
]
