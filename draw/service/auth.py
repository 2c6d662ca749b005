"""Departments, their API tokens and roles: who is calling, and what they may do.

A department is registered by the operator (``fairdraw dept add``) and gets one API token, shown
once and stored only as its SHA-256. Requests authenticate with ``Authorization: Bearer <token>``
(RFC 6750 §2.1). A token is ``fdt_`` followed by 43 base64url characters (32 random bytes), so
secret scanners and the log filter can recognize it.

Roles:

* ``submit``: the department may make write requests (POST) for itself;
* ``oversee``: the department may read every department's records (never write for them).

A department acts only for itself: :func:`require_self` for writes, :func:`require_reader` (itself
or ``oversee``) for reads. :func:`require_department` runs a database query, so call it from a plain
``def`` endpoint (Starlette runs those in its threadpool), never inside ``async def``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request

from draw.service import db
from draw.service.core import Service, service_of
from draw.service.http import ProblemError
from keys import Ed25519Verifier, new_verifier
from ledger import store

ROLES = ("oversee", "submit")
DEFAULT_ROLES = ("submit",)
TOKEN_PREFIX = "fdt_"  # noqa: S105 - a prefix that makes tokens recognizable, not a secret
TOKEN_PATTERN = re.compile(r"fdt_[A-Za-z0-9_-]{43}")
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
MAX_NAME_LENGTH = 200
REALM = "fairdraw"
_STATE_KEY = "fairdraw_department"


@dataclass(frozen=True)
class Department:
    """A registered department. ``ledger_index`` is the index of its ``dept.register`` entry."""

    code: str
    name: str
    vkey: str | None
    roles: frozenset[str]
    ledger_index: int

    def verifier(self) -> Ed25519Verifier | None:
        """Return the verifier of the department's key, or None if it registered none."""
        return None if self.vkey is None else new_verifier(self.vkey)

    def as_json(self) -> dict[str, Any]:
        """Return the department's public description (never anything about its token)."""
        return {
            "code": self.code,
            "name": self.name,
            "vkey": self.vkey,
            "roles": sorted(self.roles),
            "ledger_index": self.ledger_index,
        }


def new_token(randbytes: Callable[[int], bytes]) -> str:
    """Return a new API token from 32 bytes of ``randbytes``."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(randbytes(32)).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> bytes:
    """Return SHA-256 of the token: all the service ever stores of it."""
    return hashlib.sha256(token.encode("ascii")).digest()


def check_code(code: str) -> str:
    """Return ``code`` if it is a department code (``[A-Z0-9][A-Z0-9_-]{0,31}``); else raise ValueError."""
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise ValueError("department code must match [A-Z0-9][A-Z0-9_-]{0,31}")
    return code


def check_name(name: str) -> str:
    """Return ``name`` if it is 1..200 characters of NFC text, no control character; else ValueError."""
    ok = (
        isinstance(name, str)
        and 1 <= len(name) <= MAX_NAME_LENGTH
        and name == name.strip()
        and unicodedata.is_normalized("NFC", name)
        and not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name)
    )
    if not ok:
        raise ValueError(
            f"department name must be 1 to {MAX_NAME_LENGTH} characters of NFC text, "
            "no control characters, no edge spaces"
        )
    return name


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    """Return ``roles`` as a set if every one is known, else raise ValueError naming the first unknown."""
    found = frozenset(roles)
    unknown = sorted(found - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}, want one of {', '.join(ROLES)}")
    return found


def check_vkey(vkey: str | None) -> str | None:
    """Return ``vkey`` if it is None or an Ed25519 C2SP verifier key, else raise ValueError."""
    if vkey is not None:
        new_verifier(vkey)
    return vkey


def department_from_row(row: Any) -> Department:
    """Return the Department stored in a ``draw_departments`` row."""
    return Department(row.code, row.name, row.vkey, frozenset(row.roles.split()), row.ledger_index)


def _challenge(error: str | None = None) -> dict[str, str]:
    value = f'Bearer realm="{REALM}"' + ("" if error is None else f', error="{error}"')
    return {"WWW-Authenticate": value}


def _bearer_token(request: Request) -> str:
    values = request.headers.getlist("authorization")
    if not values:
        raise ProblemError.field(
            "unauthorized", "Authorization", "send Authorization: Bearer <token>", headers=_challenge()
        )
    scheme, _, token = values[0].partition(" ")
    if len(values) > 1 or scheme.lower() != "bearer" or not TOKEN_PATTERN.fullmatch(token):
        raise ProblemError.field(
            "unauthorized", "Authorization", "invalid token", headers=_challenge("invalid_token")
        )
    return token


def require_department(request: Request) -> Department:
    """Return the department whose token the request carries; cached on the request.

    One indexed query. Raises ProblemError ``unauthorized`` (401, with ``WWW-Authenticate``) for a
    missing, malformed or unknown token, or a department whose registration is not in the ledger.
    """
    cached = request.scope.get(_STATE_KEY)
    if isinstance(cached, Department):
        return cached
    digest = token_hash(_bearer_token(request))
    table = db.departments
    with store.reading(service_of(request).engine) as conn:
        row = conn.execute(
            sa.select(table).where(table.c.token_hash == digest, table.c.ledger_index.is_not(None))
        ).first()
    if row is None:
        raise ProblemError.field(
            "unauthorized", "Authorization", "invalid token", headers=_challenge("invalid_token")
        )
    department = department_from_row(row)
    request.scope[_STATE_KEY] = department
    return department


def authenticated_code(scope: MutableMapping[str, Any]) -> str | None:
    """Return the code of the department a request authenticated as, if any (for logs)."""
    found = scope.get(_STATE_KEY)
    return found.code if isinstance(found, Department) else None


def require_role(department: Department, role: str) -> None:
    """Raise ProblemError ``forbidden`` (403) unless ``department`` has ``role``."""
    if role not in department.roles:
        raise ProblemError("forbidden", f"department {department.code} lacks the {role!r} role")


def require_self(department: Department, code: str) -> None:
    """Raise ProblemError ``forbidden`` (403) unless ``department`` is ``code`` (writes are for oneself)."""
    if department.code != code:
        raise ProblemError.field(
            "forbidden", "path.code", f"department {department.code} may act only for itself"
        )


def require_reader(department: Department, code: str) -> None:
    """Raise ProblemError ``forbidden`` (403) unless ``department`` is ``code`` or has ``oversee``;
    ``not-found`` (404) naming ``path.code`` first if ``code`` is not a department code at all."""
    if not CODE_PATTERN.fullmatch(code):
        raise ProblemError.field("not-found", "path.code", f"no department {code}")
    if department.code != code and "oversee" not in department.roles:
        raise ProblemError.field(
            "forbidden", "path.code", f"department {department.code} may read only its own records"
        )


def signing_key(service: Service, code: str) -> str | None:
    """Return the vkey department ``code`` signs its requests with now (None: it must not sign).

    Read afresh for every POST, after its Idempotency-Key is reserved, so that a key change
    (``draw.service.department_keys``) either sees the request in progress and waits for it, or the
    request sees the change. One query. Raises ProblemError ``conflict`` (409, ``Retry-After: 1``)
    naming ``Fairdraw-Signature`` while a change of the department's key is under way.
    """
    table, changes = db.departments, db.department_keys
    changing = (
        sa.select(changes.c.id).where(changes.c.department == code, changes.c.pending.is_(True)).exists()
    )
    with store.reading(service.engine) as conn:
        select = sa.select(table.c.vkey, changing.label("changing")).where(table.c.code == code)
        row = conn.execute(select).one()
    if row.changing:
        raise ProblemError.field(
            "conflict",
            "Fairdraw-Signature",
            f"the key of department {code} is being changed; retry in a moment",
            headers={"Retry-After": "1"},
        )
    vkey: str | None = row.vkey
    return vkey
