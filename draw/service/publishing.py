"""What rosters, item lists, plans and tasks share: publishing a row together with its ledger entry,
text fields as docs/draw-spec.md §2 defines them, and strict checks of entry bodies.

Every such write follows one order, so that a failed request leaves nothing behind (docs/api.md §3):

1. everything the client sent is checked (ProblemError on the first mistake);
2. the service row is inserted *pending* (``ledger_index`` NULL, invisible to every read), together
   with any blob it names (``ledger.blobs``, content-addressed, idempotent);
3. the ledger entry is appended: the last fallible step. If it fails the pending row is deleted;
4. the row is activated with the entry's index.

The ledger index of its entry is the public identity of every roster snapshot, item list, plan and
task: entries refer to each other by it, and the API addresses them by it.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic
import sqlalchemy as sa
from starlette.requests import Request

from draw.engine import model
from draw.service import db
from draw.service.auth import CODE_PATTERN
from draw.service.core import Service
from draw.service.departments import receipt_json
from draw.service.http import ProblemError
from draw.service.routing import Parameter, Submission
from ledger import blobs, store

HASH = re.compile(r"[0-9a-f]{64}")
_INDEX = re.compile(r"0|[1-9][0-9]{0,15}")


class ApiModel(pydantic.BaseModel):
    """A strict request or response body: exact types, no unknown members."""

    model_config = pydantic.ConfigDict(strict=True, extra="forbid", frozen=True)


# -- fields of requests ---------------------------------------------------------------------------


def text(value: str, field: str, max_len: int) -> str:
    """Return ``value`` in NFC if it is a text of 1..``max_len`` code points (docs/draw-spec.md §2.1).

    Raises ProblemError ``invalid-field`` (422) naming ``field``.
    """
    normalized = unicodedata.normalize("NFC", value)
    try:
        model.check_text(normalized, field, max_len)
    except ValueError as exc:
        raise ProblemError.field("invalid-field", field, str(exc).removeprefix(f"draw: {field}: ")) from None
    return normalized


def optional_text(value: str | None, field: str, max_len: int) -> str | None:
    """Return None for None, else :func:`text`."""
    return None if value is None else text(value, field, max_len)


def texts(values: Iterable[str], field: str, max_len: int) -> list[str]:
    """Return the texts of ``values`` (each as :func:`text`), sorted and without repeats."""
    return sorted({text(v, f"{field}[{i}]", max_len) for i, v in enumerate(values)})


def date(value: str, field: str) -> str:
    """Return ``value`` if it is a date YYYY-MM-DD that exists. Raises ProblemError 422 naming ``field``."""
    try:
        model.check_date(value, field)
    except ValueError as exc:
        raise ProblemError.field("invalid-field", field, str(exc).removeprefix(f"draw: {field}: ")) from None
    return value


def period(start: str, end: str, field: str) -> tuple[str, str]:
    """Return (start, end) if both are dates and start <= end.

    Raises ProblemError ``invalid-field`` (422) naming ``<field>.start`` or ``<field>.end``.
    """
    date(start, f"{field}.start")
    date(end, f"{field}.end")
    if end < start:
        raise ProblemError.field("invalid-field", f"{field}.end", f"{end} is before {start}")
    return start, end


def departments(service: Service, codes: Iterable[str], field: str, caller: str) -> list[str]:
    """Return ``codes`` sorted if each is a registered department other than ``caller``, without repeats.

    One query. Raises ProblemError ``invalid-field`` (422) naming ``<field>[i]``.
    """
    given = list(codes)
    table = db.departments
    with store.reading(service.engine) as conn:
        known = set(
            conn.execute(
                sa.select(table.c.code).where(table.c.code.in_(given), table.c.ledger_index.is_not(None))
            ).scalars()
        )
    for i, code in enumerate(given):
        if code == caller or code not in known or code in given[:i]:
            why = (
                "is the department itself" if code == caller else "repeats" if code in known else "is unknown"
            )
            raise ProblemError.field("invalid-field", f"{field}[{i}]", f"department {code!r} {why}")
    return sorted(given)


def check_entry(service: Service, type_name: str, body: Mapping[str, Any], field: str = "body") -> None:
    """Check ``body`` as the ledger will before appending it (its type's schema, the 64 KiB limit).

    Raises ProblemError ``invalid-field`` (422) naming ``field``.
    """
    try:
        service.ledger.registry.check(type_name, dict(body))
    except ValueError as exc:
        raise ProblemError.field("invalid-field", field, str(exc)) from None


def with_request(body: dict[str, Any], submission: Submission) -> dict[str, Any]:
    """Return ``body`` with the ``request`` member recording the signed request, if it was signed."""
    record = submission.record()
    return body if record is None else {**body, "request": record}


# -- publishing -----------------------------------------------------------------------------------


def publish(
    service: Service,
    table: sa.Table,
    values: Mapping[str, Any],
    type_name: str,
    body: Mapping[str, Any],
    blob: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """Insert ``values`` into ``table`` pending (with ``blob`` into the blob store), append the entry,
    activate the row; return the entry's index and its LedgerReceipt members.

    ``table`` has an integer ``id`` primary key, ``ledger_index`` and ``created_ms``. If the append
    raises, the pending row is deleted and the exception propagates (LedgerError: a 500).
    """
    with service.engine.begin() as conn:
        if blob is not None:
            blobs.put(conn, blob)
        row = {**values, "ledger_index": None, "created_ms": service.clock()}
        inserted = conn.execute(sa.insert(table).values(**row)).inserted_primary_key
        if inserted is None:  # pragma: no cover - every table here has a primary key
            raise AssertionError("draw: an insert returned no primary key")
        row_id = inserted[0]
    try:
        receipt = service.ledger.append(type_name, body)
    except BaseException:
        with service.engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.id == row_id))
        raise
    with service.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == row_id).values(ledger_index=receipt.index))
    return receipt.index, receipt_json(service, receipt.index, receipt.leaf_hash)


def path_index(request: Request) -> int:
    """Return the ``{index}`` path parameter: a ledger index in decimal without leading zeros.

    Raises ProblemError ``not-found`` (404) naming ``path.index`` for anything else.
    """
    raw = request.path_params["index"]
    if not isinstance(raw, str) or not _INDEX.fullmatch(raw):
        raise ProblemError.field("not-found", "path.index", f"no entry {raw!r}: want a ledger index")
    return int(raw)


def path_code(request: Request) -> str:
    """Return the ``{code}`` path parameter if it is a department code (``CODE_PATTERN``).

    Raises ProblemError ``not-found`` (404) naming ``path.code`` for anything else.
    """
    raw = request.path_params["code"]
    if not isinstance(raw, str) or not CODE_PATTERN.fullmatch(raw):
        raise ProblemError.field("not-found", "path.code", f"no department {raw}")
    return raw


def published(table: sa.Table) -> sa.ColumnElement[bool]:
    """The condition selecting the rows of ``table`` whose entry is in the ledger."""
    return table.c.ledger_index.is_not(None)


# -- entry bodies ---------------------------------------------------------------------------------


def members(body: Mapping[str, Any], required: Iterable[str], optional: Iterable[str] = ("request",)) -> None:
    """Check that ``body`` has every ``required`` member and no member beyond ``optional``; check a
    ``request`` member (a signed-request record). Raises ValueError."""
    want = set(required)
    missing = sorted(want - set(body))
    extra = sorted(set(body) - want - set(optional))
    if missing or extra:
        name = missing[0] if missing else extra[0]
        raise ValueError(f"draw: body member {name!r} is {'missing' if missing else 'unexpected'}")
    if "request" in body:
        record = body["request"]
        ok = isinstance(record, dict) and set(record) == {"note", "content_digest"}
        if not ok or not all(isinstance(v, str) for v in record.values()):
            raise ValueError("draw: request must be {note, content_digest} strings")


def entry_code(value: Any, field: str) -> str:
    """Check a department code in an entry body. Raises ValueError naming ``field``."""
    if not isinstance(value, str) or not CODE_PATTERN.fullmatch(value):
        raise ValueError(f"draw: {field}: want a department code")
    return value


def entry_codes(value: Any, field: str) -> list[str]:
    """Check a sorted list of distinct department codes. Raises ValueError naming ``field``."""
    if not isinstance(value, list) or value != sorted(set(value)):
        raise ValueError(f"draw: {field}: want a sorted list of distinct department codes")
    return [entry_code(v, f"{field}[{i}]") for i, v in enumerate(value)]


def entry_text(value: Any, field: str, max_len: int, *, nullable: bool = False) -> None:
    """Check a text member (docs/draw-spec.md §2.1), or null if ``nullable``. Raises ValueError."""
    if not (nullable and value is None):
        model.check_text(value, field, max_len)


def entry_int(value: Any, field: str, low: int = 0, *, nullable: bool = False) -> None:
    """Check an integer member of at least ``low`` (or null if ``nullable``). Raises ValueError."""
    if not (nullable and value is None):
        model.check_count(value, field, low=low)


def entry_date(value: Any, field: str) -> datetime.date:
    """Check a date member YYYY-MM-DD and return it. Raises ValueError."""
    model.check_date(value, field)
    return datetime.date.fromisoformat(value)


def entry_choice(value: Any, field: str, choices: Iterable[str]) -> None:
    """Check a member that is one of ``choices``. Raises ValueError."""
    allowed = tuple(choices)
    if value not in allowed:
        raise ValueError(f"draw: {field}: {value!r} not one of {', '.join(allowed)}")


def entry_texts(value: Any, field: str, max_len: int) -> None:
    """Check a sorted list of distinct texts. Raises ValueError."""
    if not isinstance(value, list) or value != sorted(set(value)):
        raise ValueError(f"draw: {field}: want a sorted list of distinct texts")
    for i, item in enumerate(value):
        model.check_text(item, f"{field}[{i}]", max_len)


# -- documentation of parameters ------------------------------------------------------------------

INDEX_PARAMETER = Parameter(
    "index",
    "path",
    {"type": "integer", "minimum": 0},
    "ledger index of the entry that published it",
    required=True,
)
POST_ERRORS = (400, 401, 403, 409, 413, 415, 422)
