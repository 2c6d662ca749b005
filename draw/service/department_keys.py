"""Department keys: rotation and removal by the administrator (``dept.key`` entries), and their history.

A department registers an Ed25519 key, or none, with its ``dept.register`` entry. The administrator
changes it with ``fairdraw dept key CODE --vkey VKEY`` or removes it with ``--remove``
(:func:`change_key`); each change is a ``dept.key`` entry::

    {"department": "NB", "vkey": "nb.dept.test+6e3f41b2+AX...", "supersedes": 2}

``vkey`` is the new key (null: the department no longer signs); ``supersedes`` is the index of the
department's key entry it replaces (its ``dept.register`` or an earlier ``dept.key``), so the key
entries of a department form a chain anyone can follow.

**The key in force for ledger entry i** is the ``vkey`` of the department's latest ``dept.register``
or ``dept.key`` entry before ``i`` (:func:`key_in_force`). Every signed request recorded in entry
``i`` is signed by that key, and a department with no key in force records no signed request: a
recorded request stays verifiable against the key that was current when it was made, whatever
happens to the department's key later.

The service keeps that rule exact although requests run while the key changes. A change first marks
the department (a pending row): from then on its POSTs are refused with ``409 conflict`` (the
pipeline reads the key afresh after reserving the Idempotency-Key, ``auth.signing_key``). It then
waits until the department's requests already in progress (reserved Idempotency-Keys) have finished,
so none of them lands after the new entry; appends ``dept.key``; and makes the new key current in
the same transaction that clears the mark. A request reserved more than :data:`IN_FLIGHT_BOUND_MS`
ago is taken to have been cut off by a crash and is not waited for. A change cut off by a crash
stays pending until the same command is run again: it then finds its entry in the ledger, or
appends it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.service import db
from draw.service.auth import check_code, check_vkey, require_department, require_reader
from draw.service.core import Service, service_of
from draw.service.http import ProblemError, page, page_query
from draw.service.publishing import ApiModel
from draw.service.routing import CODE_PARAMETER, PAGING, Operation, api_get
from ledger import store
from ledger.entries import EntryType, decode_entry

ENTRY_TYPE = "dept.key"
IN_FLIGHT_BOUND_MS = 10 * 60 * 1000
"""A request of the department reserved longer ago than this is not waited for (a crash cut it off)."""
DEFAULT_WAIT_MS = 60 * 1000
_POLL_SECONDS = 0.05

_keys = db.department_keys


@dataclass(frozen=True)
class KeyRecord:
    """One key entry of a department: the vkey (or None) in force from entry ``index`` + 1 on, until
    the entry ``superseded_by`` (None while it is current)."""

    index: int
    vkey: str | None
    supersedes: int | None
    superseded_by: int | None


class KeyOut(ApiModel):
    """A key entry of a department and the stretch of the ledger it governs."""

    index: int = pydantic.Field(ge=0, description="ledger index of its dept.register or dept.key entry")
    type: str = pydantic.Field(description="dept.register or dept.key")
    vkey: str | None = pydantic.Field(description="the C2SP verifier key in force after it; null: none")
    time_ms: int = pydantic.Field(description="the entry's ledger time, milliseconds since the epoch")
    supersedes: int | None = pydantic.Field(description="the key entry it replaced; null for dept.register")
    superseded_by: int | None = pydantic.Field(description="the next key entry; null while it is current")


class KeyPage(ApiModel):
    """One page of a department's key entries, in ledger order."""

    items: list[KeyOut]
    next_cursor: str | None


# -- the history ----------------------------------------------------------------------------------


def key_history(service: Service, code: str) -> list[KeyRecord]:
    """Return department ``code``'s key entries in ledger order (empty for an unknown department).
    One query."""
    select = (
        sa.select(_keys)
        .where(_keys.c.department == code, _keys.c.ledger_index.is_not(None))
        .order_by(_keys.c.ledger_index)
    )
    with store.reading(service.engine) as conn:
        rows = conn.execute(select).all()
    return _records(rows, None)


def _records(rows: Any, after: int | None) -> list[KeyRecord]:
    nexts = [r.ledger_index for r in rows[1:]] + [after]
    return [KeyRecord(r.ledger_index, r.vkey, r.supersedes, n) for r, n in zip(rows, nexts, strict=True)]


def key_in_force(service: Service, code: str, index: int) -> str | None:
    """Return the vkey department ``code`` had to sign with for a request recorded in entry ``index``
    (None: it had no key then). One query. Raises ValueError if the department was not registered
    before ``index``."""
    select = (
        sa.select(_keys.c.vkey)
        .where(_keys.c.department == code, _keys.c.ledger_index < index)
        .order_by(_keys.c.ledger_index.desc())
        .limit(1)
    )
    with store.reading(service.engine) as conn:
        row = conn.execute(select).first()
    if row is None:
        raise ValueError(f"department {code} was not registered before entry {index}")
    vkey: str | None = row.vkey
    return vkey


# -- changing the key -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    id: int
    vkey: str | None
    supersedes: int
    ledger_size: int


def change_key(
    service: Service,
    code: str,
    vkey: str | None,
    *,
    wait_ms: int = DEFAULT_WAIT_MS,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Make ``vkey`` (None: no key) department ``code``'s key; append its ``dept.key`` entry and return
    the entry's index (module docstring for the order of steps).

    Waits up to ``wait_ms`` (service clock) for the department's requests in progress, polling with
    ``sleep``. Resumes a change of the same department to the same key that a crash cut off (reading
    the entries appended since it began). Raises ValueError for an unregistered department, a bad
    vkey, a key that is already the department's, an unfinished change to another key, or requests
    still in progress after ``wait_ms`` (then nothing was changed); LedgerError if the append fails
    (then nothing was changed either).
    """
    check_code(code)
    check_vkey(vkey)
    change = _begin(service, code, vkey)
    index = _logged(service, code, change)
    if index is None:
        try:
            _drain(service, code, wait_ms, sleep)
            body = {"department": code, "vkey": vkey, "supersedes": change.supersedes}
            index = service.ledger.append(ENTRY_TYPE, body).index
        except BaseException:
            _abandon(service, change)
            raise
    _activate(service, code, change, index)
    return index


def _begin(service: Service, code: str, vkey: str | None) -> _Change:
    departments = db.departments
    with service.engine.begin() as conn:
        current = conn.execute(
            sa.select(departments.c.vkey).where(
                departments.c.code == code, departments.c.ledger_index.is_not(None)
            )
        ).first()
        if current is None:
            raise ValueError(f"no registered department {code}")
        pending = conn.execute(
            sa.select(_keys).where(_keys.c.department == code, _keys.c.pending.is_(True))
        ).first()
        if pending is not None:
            if pending.vkey != vkey:
                raise ValueError(
                    f"department {code} has an unfinished change to another key; "
                    "run the command again with that key first"
                )
            return _Change(pending.id, pending.vkey, pending.supersedes, pending.ledger_size)
        if current.vkey == vkey:
            raise ValueError(f"department {code} has {'no key' if vkey is None else 'this key already'}")
        supersedes = conn.execute(
            sa.select(sa.func.max(_keys.c.ledger_index)).where(_keys.c.department == code)
        ).scalar_one()
    size = service.ledger.size()
    try:
        with service.engine.begin() as conn:
            new_id = conn.execute(
                sa.insert(_keys)
                .values(
                    department=code,
                    vkey=vkey,
                    supersedes=supersedes,
                    ledger_size=size,
                    pending=True,
                    created_ms=service.clock(),
                )
                .returning(_keys.c.id)
            ).scalar_one()
    except IntegrityError:
        raise ValueError(f"a change of department {code}'s key is under way") from None
    return _Change(new_id, vkey, int(supersedes), size)


def _logged(service: Service, code: str, change: _Change) -> int | None:
    """Return the index of ``change``'s entry if an earlier run appended it, else None."""
    want = {"department": code, "vkey": change.vkey, "supersedes": change.supersedes}
    for index in range(change.ledger_size, service.ledger.size()):
        entry = decode_entry(service.ledger.entry(index))
        if entry.type == ENTRY_TYPE and entry.body == want:
            return index
    return None


def _in_progress(service: Service, code: str) -> int:
    table = db.idempotency_keys
    since = service.clock() - IN_FLIGHT_BOUND_MS
    select = sa.select(sa.func.count()).where(
        table.c.department == code, table.c.status.is_(None), table.c.created_ms >= since
    )
    with store.reading(service.engine) as conn:
        count: int = conn.execute(select).scalar_one()
    return count


def _drain(service: Service, code: str, wait_ms: int, sleep: Callable[[float], None]) -> None:
    deadline = service.clock() + wait_ms
    while (running := _in_progress(service, code)) > 0:
        if service.clock() >= deadline:
            raise ValueError(
                f"department {code} still has {running} request{'s' if running != 1 else ''} in "
                "progress; its key was not changed (try again, or wait longer with --wait)"
            )
        sleep(_POLL_SECONDS)


def _abandon(service: Service, change: _Change) -> None:
    with service.engine.begin() as conn:
        conn.execute(sa.delete(_keys).where(_keys.c.id == change.id, _keys.c.pending.is_(True)))


def _activate(service: Service, code: str, change: _Change, index: int) -> None:
    with service.engine.begin() as conn:
        conn.execute(
            sa.update(_keys).where(_keys.c.id == change.id).values(ledger_index=index, pending=None)
        )
        conn.execute(sa.update(db.departments).where(db.departments.c.code == code).values(vkey=change.vkey))


# -- entry type -----------------------------------------------------------------------------------


def _check_key_entry(body: Any) -> None:
    if not isinstance(body, dict) or set(body) != {"department", "vkey", "supersedes"}:
        raise ValueError("draw: dept.key body must be {department, vkey, supersedes}")
    check_code(body["department"])
    if body["vkey"] is not None and not isinstance(body["vkey"], str):
        raise ValueError("draw: dept.key vkey must be a string or null")
    check_vkey(body["vkey"])
    supersedes = body["supersedes"]
    if type(supersedes) is not int or supersedes < 0:
        raise ValueError("draw: dept.key supersedes must be a ledger index")


ENTRY_TYPES = [
    EntryType(ENTRY_TYPE, _check_key_entry, "a department's new key (or none), replacing the one before"),
]


# -- endpoint -------------------------------------------------------------------------------------


def list_keys(request: Request) -> Response:
    """GET /departments/{code}/keys: the department's key entries, in ledger order (itself or oversee)."""
    caller = require_department(request)
    code = request.path_params["code"]
    require_reader(caller, code)
    service = service_of(request)
    query = page_query(request, service.config.page_limit_default, service.config.page_limit_max, (int,))
    select = sa.select(_keys).where(_keys.c.department == code, _keys.c.ledger_index.is_not(None))
    if query.after is not None:
        select = select.where(_keys.c.ledger_index > query.after[0])
    with store.reading(service.engine) as conn:
        rows = conn.execute(select.order_by(_keys.c.ledger_index).limit(query.limit + 1)).all()
    if not rows and query.after is None:
        raise ProblemError.field("not-found", "path.code", f"no department {code}")
    shown, cursor = page(_records(rows, None), query, lambda k: [k.index])
    return JSONResponse({"items": [_key_json(service, k) for k in shown], "next_cursor": cursor})


def _key_json(service: Service, record: KeyRecord) -> dict[str, Any]:
    entry = decode_entry(service.ledger.entry(record.index))
    return {
        "index": record.index,
        "type": entry.type,
        "vkey": record.vkey,
        "time_ms": entry.time_ms,
        "supersedes": record.supersedes,
        "superseded_by": record.superseded_by,
    }


routes = [
    api_get(
        "/departments/{code}/keys",
        list_keys,
        Operation(
            "A department's keys",
            "The department's dept.register entry and every dept.key entry after it, oldest first: "
            "which key (or none) was in force for which stretch of the ledger. For the department "
            "itself or role oversee.",
            ("departments",),
            KeyPage,
            parameters=(CODE_PARAMETER, *PAGING),
            errors=(400, 401, 403, 404),
        ),
    ),
]
