"""The inspector side of a draw: pools, team rules, 回避 (recusal) and seed-driven teams.

Normative text: docs/draw-spec-matching.md (part of spec ``fairdraw-draw/1``). The algorithm lives
in ``draw.engine.matching``; this module holds the records, derives every exclusion from committed
inputs, and offers the four calls the draw engine uses:

- ``check_feasible`` before the commitment: the worst case over every selection the strata allow;
- ``assign`` after the seed: the teams, or ``Infeasible`` (the draw is void, ``teams-infeasible``);
- ``check_assignment``: recompute and compare, raising one opaque ``AssignmentError``;
- ``to_record``/``from_record`` on every type: canonical-JSON-able dicts, text in NFC.

Nothing here reads a clock or a random source: ``seed`` and ``as_of`` come in as arguments.

>>> rules = TeamRules(departments=("市场监管局",), exclude_same_area=False)
>>> pool = [Inspector(f"A{k}", "市场监管局", "忻府区", date(2030, 1, 1), ("I1",)) for k in range(3)]
>>> result = assign([Target("OBJ-1", "忻府区", ("I1",), 0)], pool, rules, [], [], bytes(32), date(2025, 3, 1))
>>> result.cap, len(result.teams[0].members), result.teams[0].leader in result.teams[0].members
(1, 2, True)
"""

from __future__ import annotations

import calendar
import functools
import itertools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, Protocol, TypeGuard, TypeVar

from draw.engine.matching import Infeasible, Problem, Solution, leader_key, leaders, solve
from ledger import jcs

__all__ = [
    "Assignment",
    "AssignmentError",
    "Candidate",
    "Exclusion",
    "Ineligibility",
    "Infeasible",
    "Inspector",
    "PastInspection",
    "Target",
    "Team",
    "TeamRules",
    "assign",
    "check_assignment",
    "check_feasible",
    "encode_assignment",
]

SPEC = "fairdraw-draw/1"
STATUSES = ("active", "inactive", "leave")
PAIR_REASONS = ("area", "interest", "kin", "other", "recent")
INELIGIBLE_REASONS = ("certificate", "department", "status")
MAX_ID = 160
MAX_NAME = 128
MAX_ITEMS = 64
MAX_COUNT = 2**53 - 1
MAX_RECENT_MONTHS = 120
EXPERTS_NAME = "experts"

_R = TypeVar("_R", bound="_Recorded")

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLEAN_LIMIT = 10_000
_CLEAN_TEXTS: set[str] = set()  # text _text accepted as it was, so that its next check is one lookup
_CLEAN_ITEMS: set[tuple[str, ...]] = set()  # the same for item lists
_JSON_ESCAPED = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')  # what RFC 8785 writes other than as is


class _Recorded(Protocol):
    """Anything with a record: what ``_round_trip`` compares."""

    def to_record(self) -> dict[str, Any]: ...


class AssignmentError(Exception):
    """An assignment does not follow from its inputs (the one verification failure of this part).

    ``reason`` names the first difference found, e.g. ``object X: Y is excluded (kin)``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid assignment: {reason}")
        self.reason = reason


# ---------------------------------------------------------------------------
# Field checks. Each returns the NFC form of a valid value or raises ValueError naming the field.


def _text(value: object, field: str, max_len: int = MAX_NAME) -> str:
    if _clean(value, max_len):
        return value
    if not isinstance(value, str):
        raise ValueError(f"teams: {field}: want a string, got {type(value).__name__}")
    text = unicodedata.normalize("NFC", value)
    if not 1 <= len(text) <= max_len:
        raise ValueError(f"teams: {field}: length {len(text)}, want 1..{max_len}")
    if _CONTROL.search(text) or text != text.strip():
        raise ValueError(f"teams: {field}: control character or surrounding space in {text!r}")
    if text == value and len(_CLEAN_TEXTS) < _CLEAN_LIMIT:
        _CLEAN_TEXTS.add(text)
    return text


def _clean(value: object, max_len: int = MAX_NAME) -> TypeGuard[str]:
    # Fast path of _text: whether it returns ``value`` as it is. Printable ASCII is already NFC and
    # has no white space but U+0020; other text counts once _text has accepted it unchanged.
    if type(value) is not str or not 0 < len(value) <= max_len:
        return False
    if value in _CLEAN_TEXTS:
        return True
    return value.isascii() and value.isprintable() and value[0] != " " and value[-1] != " "


def _items(value: object, field: str, *, empty: bool) -> tuple[str, ...]:
    if _clean_items(value, empty):
        return value
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"teams: {field}: want a sequence of item codes")
    items = tuple(sorted({_text(v, f"{field}[]") for v in value}))
    if not (empty or items) or len(items) > MAX_ITEMS:
        raise ValueError(f"teams: {field}: {len(items)} items, want {0 if empty else 1}..{MAX_ITEMS}")
    if items and type(value) is tuple and items == value and len(_CLEAN_ITEMS) < _CLEAN_LIMIT:
        _CLEAN_ITEMS.add(items)
    return items


def _clean_items(value: object, empty: bool) -> TypeGuard[tuple[str, ...]]:
    # Fast path of _items: a tuple it has accepted as it is before (or the empty one, if allowed).
    if type(value) is not tuple:
        return False
    try:
        return value in _CLEAN_ITEMS or (empty and not value)
    except TypeError:  # unhashable members: let _items report them
        return False


def _count(value: object, field: str, low: int, high: int = MAX_COUNT) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"teams: {field}: want an integer in {low}..{high}, got {value!r}")
    return value


def _day(value: object, field: str) -> date:
    if type(value) is not date:
        raise ValueError(f"teams: {field}: want a datetime.date, got {type(value).__name__}")
    return value


def _parse_day(value: object, field: str) -> date:
    if not (isinstance(value, str) and _DATE.fullmatch(value)):
        raise ValueError(f"teams: {field}: want a date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"teams: {field}: no such date {value!r}") from None


def _fields(record: object, names: tuple[str, ...], what: str) -> dict[str, Any]:
    # ``names`` are distinct, so the member sets are equal exactly when the sizes are and each is in.
    if not isinstance(record, dict) or len(record) != len(names) or not all(n in record for n in names):
        raise ValueError(f"teams: {what} record: want exactly the members {', '.join(sorted(names))}")
    return record


def _round_trip(obj: _R, record: dict[str, Any], what: str) -> _R:
    if obj.to_record() != record:
        raise ValueError(f"teams: {what} record is not canonical (NFC text, sorted distinct lists)")
    return obj


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


# ---------------------------------------------------------------------------
# Inputs (spec §2).


@dataclass(frozen=True)
class Inspector:
    """One entry of the 执法检查人员名录库 (spec §2.1): id is the 执法证号.

    Text is NFC-normalized and items sorted and deduplicated on construction. Raises ValueError
    naming the field on a bad value.
    """

    id: str
    department: str
    area: str
    certificate_expiry: date
    items: tuple[str, ...]
    expert: bool = False
    status: str = "active"

    def __post_init__(self) -> None:
        clean = _clean(self.id, MAX_ID) and _clean(self.department) and _clean(self.area)
        clean = clean and _clean_items(self.items, True) and type(self.certificate_expiry) is date
        if clean and type(self.expert) is bool and self.status in STATUSES:
            return  # already valid and canonical: nothing to normalize
        _set(self, "id", _text(self.id, "inspector.id", MAX_ID))
        where = f"inspector {self.id!r}"
        _set(self, "department", _text(self.department, f"{where}.department"))
        _set(self, "area", _text(self.area, f"{where}.area"))
        _day(self.certificate_expiry, f"{where}.certificate_expiry")
        _set(self, "items", _items(self.items, f"{where}.items", empty=True))
        if type(self.expert) is not bool:
            raise ValueError(f"teams: {where}.expert: want true or false")
        if self.status not in STATUSES:
            raise ValueError(f"teams: {where}.status: {self.status!r} not one of {', '.join(STATUSES)}")

    def to_record(self) -> dict[str, Any]:
        """Return the canonical-JSON-able record of spec §2.1."""
        return {
            "area": self.area,
            "certificate_expiry": self.certificate_expiry.isoformat(),
            "department": self.department,
            "expert": self.expert,
            "id": self.id,
            "items": list(self.items),
            "status": self.status,
        }

    @classmethod
    def from_record(cls, record: object) -> Inspector:
        """Parse a record strictly (exact members, NFC, sorted items). Raises ValueError."""
        names = ("area", "certificate_expiry", "department", "expert", "id", "items", "status")
        r = _fields(record, names, "inspector")
        expiry = _parse_day(r["certificate_expiry"], "inspector.certificate_expiry")
        items = tuple(_list(r["items"], "inspector.items"))
        obj = cls(r["id"], r["department"], r["area"], expiry, items, r["expert"], r["status"])
        return _round_trip(obj, r, "inspector")


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"teams: {field}: want a list")
    return value


@dataclass(frozen=True)
class TeamRules:
    """How teams are formed (spec §3).

    A team has exactly ``min_inspectors`` (at least 2) regular inspectors, of whom at least
    ``per_department`` come from each participating department, plus ``experts`` experts who never
    count toward the minimum; one member leads. ``max_load`` caps the teams per inspector (None: no
    cap). ``exclude_same_area`` is the 属地 rule; ``recent_months`` > 0 excludes an inspector who
    inspected the object within that many months. Raises ValueError naming the field.
    """

    departments: tuple[str, ...]
    min_inspectors: int = 2
    per_department: int = 1
    experts: int = 0
    max_load: int | None = None
    exclude_same_area: bool = True
    recent_months: int = 0

    def __post_init__(self) -> None:
        names = [_text(d, "rules.departments[]") for d in _sequence(self.departments, "rules.departments")]
        if not names or len(set(names)) != len(names):
            raise ValueError("teams: rules.departments: want one or more distinct departments")
        _set(self, "departments", tuple(sorted(names)))
        _count(self.min_inspectors, "rules.min_inspectors", 2, 1000)
        _count(self.per_department, "rules.per_department", 1, 1000)
        _count(self.experts, "rules.experts", 0, 1000)
        if self.max_load is not None:
            _count(self.max_load, "rules.max_load", 1)
        if type(self.exclude_same_area) is not bool:
            raise ValueError("teams: rules.exclude_same_area: want true or false")
        _count(self.recent_months, "rules.recent_months", 0, MAX_RECENT_MONTHS)
        need = len(names) * self.per_department
        if need > self.min_inspectors:
            raise ValueError(
                f"teams: rules.min_inspectors: {len(names)} departments × per_department "
                f"{self.per_department} = {need} exceeds min_inspectors {self.min_inspectors}"
            )

    def to_record(self) -> dict[str, Any]:
        """Return the canonical-JSON-able record of spec §3."""
        return {
            "departments": list(self.departments),
            "exclude_same_area": self.exclude_same_area,
            "experts": self.experts,
            "max_load": self.max_load,
            "min_inspectors": self.min_inspectors,
            "per_department": self.per_department,
            "recent_months": self.recent_months,
        }

    @classmethod
    def from_record(cls, record: object) -> TeamRules:
        """Parse a record strictly. Raises ValueError."""
        names = ("departments", "exclude_same_area", "experts", "max_load", "min_inspectors")
        r = _fields(record, (*names, "per_department", "recent_months"), "rules")
        obj = cls(
            tuple(_list(r["departments"], "rules.departments")),
            r["min_inspectors"],
            r["per_department"],
            r["experts"],
            r["max_load"],
            r["exclude_same_area"],
            r["recent_months"],
        )
        return _round_trip(obj, r, "rules")


def _sequence(value: object, field: str) -> Sequence[object]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"teams: {field}: want a sequence")
    return value


@dataclass(frozen=True)
class Exclusion:
    """A declared 回避 pair (spec §2.3): the inspector may not inspect the object, and why.

    ``reason`` is one of PAIR_REASONS: kin 近亲属关系, interest 其他利害关系, area 属地关系,
    recent 近期检查过, other. Raises ValueError naming the field.
    """

    inspector_id: str
    object_id: str
    reason: str

    def __post_init__(self) -> None:
        clean = _clean(self.inspector_id, MAX_ID) and _clean(self.object_id, MAX_ID)
        if clean and self.reason in PAIR_REASONS:
            return  # already valid and canonical: nothing to normalize
        _set(self, "inspector_id", _text(self.inspector_id, "exclusion.inspector", MAX_ID))
        _set(self, "object_id", _text(self.object_id, "exclusion.object", MAX_ID))
        if self.reason not in PAIR_REASONS:
            raise ValueError(f"teams: exclusion.reason: {self.reason!r} not one of {', '.join(PAIR_REASONS)}")

    def to_record(self) -> dict[str, Any]:
        """Return the canonical-JSON-able record of spec §2.3."""
        return {"inspector": self.inspector_id, "object": self.object_id, "reason": self.reason}

    @classmethod
    def from_record(cls, record: object) -> Exclusion:
        """Parse a record strictly. Raises ValueError."""
        r = _fields(record, ("inspector", "object", "reason"), "exclusion")
        return _round_trip(cls(r["inspector"], r["object"], r["reason"]), r, "exclusion")


@dataclass(frozen=True)
class PastInspection:
    """One past inspection (spec §2.4): who inspected which object on which day."""

    inspector_id: str
    object_id: str
    date: date

    def __post_init__(self) -> None:
        _set(self, "inspector_id", _text(self.inspector_id, "history.inspector", MAX_ID))
        _set(self, "object_id", _text(self.object_id, "history.object", MAX_ID))
        _day(self.date, "history.date")

    def to_record(self) -> dict[str, Any]:
        """Return the canonical-JSON-able record of spec §2.4."""
        return {"date": self.date.isoformat(), "inspector": self.inspector_id, "object": self.object_id}

    @classmethod
    def from_record(cls, record: object) -> PastInspection:
        """Parse a record strictly. Raises ValueError."""
        r = _fields(record, ("date", "inspector", "object"), "history")
        obj = cls(r["inspector"], r["object"], _parse_day(r["date"], "history.date"))
        return _round_trip(obj, r, "history")


@dataclass(frozen=True)
class Target:
    """What matching needs of a selected object (spec §2.2): id, area, items, batch order.

    ``order`` is the object's position in the selection's batch order (0-based, distinct).
    """

    id: str
    area: str
    items: tuple[str, ...]
    order: int

    def __post_init__(self) -> None:
        valid = _clean(self.id, MAX_ID) and _clean(self.area) and _clean_items(self.items, False)
        if valid and type(self.order) is int and 0 <= self.order <= MAX_COUNT:
            return  # already valid and canonical: nothing to normalize
        _set(self, "id", _text(self.id, "target.id", MAX_ID))
        _set(self, "area", _text(self.area, f"target {self.id!r}.area"))
        _set(self, "items", _items(self.items, f"target {self.id!r}.items", empty=False))
        _count(self.order, f"target {self.id!r}.order", 0)

    def to_record(self) -> dict[str, Any]:
        """Return the canonical-JSON-able record of spec §2.2."""
        return {"area": self.area, "id": self.id, "items": list(self.items), "order": self.order}

    @classmethod
    def from_record(cls, record: object) -> Target:
        """Parse a record strictly. Raises ValueError."""
        r = _fields(record, ("area", "id", "items", "order"), "target")
        obj = cls(r["id"], r["area"], tuple(_list(r["items"], "target.items")), r["order"])
        return _round_trip(obj, r, "target")


class Candidate(NamedTuple):
    """An object that may be drawn, as ``check_feasible`` sees it (spec §10).

    Plain data, cheap to build for millions of objects: ``check_feasible`` checks each distinct
    (stratum, area, items) once and requires its text in NFC, as the object roster already is.
    """

    id: str
    stratum: str
    area: str
    items: tuple[str, ...]


# ---------------------------------------------------------------------------
# Output (spec §11).


@dataclass(frozen=True)
class Team:
    """The team of one object: regular members and experts (each sorted by id) and the leader."""

    object_id: str
    order: int
    members: tuple[str, ...]
    leader: str
    experts: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """Return the canonical-JSON-able record of spec §11."""
        return {
            "experts": list(self.experts),
            "leader": self.leader,
            "members": list(self.members),
            "object": self.object_id,
            "order": self.order,
        }

    @classmethod
    def from_record(cls, record: object) -> Team:
        """Parse a record strictly: member lists sorted and distinct. Raises ValueError."""
        r = _fields(record, ("experts", "leader", "members", "object", "order"), "team")
        plain = _plain_team(r)
        if plain is not None:
            return plain
        members = tuple(_text(m, "team.members[]", MAX_ID) for m in _list(r["members"], "team.members"))
        experts = tuple(_text(m, "team.experts[]", MAX_ID) for m in _list(r["experts"], "team.experts"))
        for name, ids in (("members", members), ("experts", experts)):
            if list(ids) != sorted(set(ids)):
                raise ValueError(f"teams: team.{name}: want sorted distinct ids")
        obj = cls(
            _text(r["object"], "team.object", MAX_ID),
            _count(r["order"], "team.order", 0),
            members,
            _text(r["leader"], "team.leader", MAX_ID),
            experts,
        )
        return _round_trip(obj, r, "team")


def _plain_team(r: dict[str, Any]) -> Team | None:
    # Fast path of Team.from_record: the team when every value is already as the record should be
    # (ids that _text keeps as they are, sorted distinct lists, an order in range), else None.
    members, experts, order = r["members"], r["experts"], r["order"]
    if type(members) is not list or type(experts) is not list or type(order) is not int:
        return None
    if not (
        0 <= order <= MAX_COUNT
        and all(_clean(v, MAX_ID) for v in (r["object"], r["leader"], *members, *experts))
    ):
        return None
    if members != sorted(set(members)) or experts != sorted(set(experts)):
        return None
    return Team(r["object"], order, tuple(members), r["leader"], tuple(experts))


@dataclass(frozen=True)
class Ineligibility:
    """An inspector left out of the draw, and why: certificate, department or status (spec §4.1)."""

    inspector_id: str
    reason: str

    def to_record(self) -> dict[str, Any]:
        """Return the canonical-JSON-able record of spec §11."""
        return {"inspector": self.inspector_id, "reason": self.reason}

    @classmethod
    def from_record(cls, record: object) -> Ineligibility:
        """Parse a record strictly. Raises ValueError."""
        r = _fields(record, ("inspector", "reason"), "ineligible")
        if r["reason"] not in INELIGIBLE_REASONS:
            want = ", ".join(INELIGIBLE_REASONS)
            raise ValueError(f"teams: ineligible.reason: {r['reason']!r} not one of {want}")
        obj = cls(_text(r["inspector"], "ineligible.inspector", MAX_ID), r["reason"])
        return _round_trip(obj, r, "ineligible")


@dataclass(frozen=True)
class Assignment:
    """The teams of a draw (spec §11), with every exclusion applied and the load caps reached.

    ``cap`` is the largest number of teams any regular inspector sits in (the least possible),
    ``expert_cap`` the same for experts. ``excluded`` lists the declared and history-derived pairs
    that touch this draw, ``ineligible`` the inspectors left out altogether.
    """

    as_of: date
    cap: int
    expert_cap: int
    teams: tuple[Team, ...]
    excluded: tuple[Exclusion, ...]
    ineligible: tuple[Ineligibility, ...]

    def to_record(self) -> dict[str, Any]:
        """Return the canonical-JSON-able record of spec §11."""
        return {
            "as_of": self.as_of.isoformat(),
            "cap": self.cap,
            "excluded": [e.to_record() for e in self.excluded],
            "expert_cap": self.expert_cap,
            "ineligible": [e.to_record() for e in self.ineligible],
            "spec": SPEC,
            "teams": [t.to_record() for t in self.teams],
        }

    @classmethod
    def from_record(cls, record: object, team: Callable[[object], Team] | None = None) -> Assignment:
        """Parse a record strictly: exact members, lists in canonical order. Raises ValueError.

        ``team`` parses each entry of ``teams`` (default ``Team.from_record``; a caller that has
        parsed them as it read the JSON passes one that checks what it made).
        """
        team = Team.from_record if team is None else team
        names = ("as_of", "cap", "excluded", "expert_cap", "ineligible", "spec", "teams")
        r = _fields(record, names, "assignment")
        if r["spec"] != SPEC:
            raise ValueError(f"teams: assignment.spec: {r['spec']!r}, want {SPEC!r}")
        obj = cls(
            _parse_day(r["as_of"], "assignment.as_of"),
            _count(r["cap"], "assignment.cap", 0),
            _count(r["expert_cap"], "assignment.expert_cap", 0),
            tuple(team(t) for t in _list(r["teams"], "assignment.teams")),
            tuple(Exclusion.from_record(e) for e in _list(r["excluded"], "assignment.excluded")),
            tuple(Ineligibility.from_record(e) for e in _list(r["ineligible"], "assignment.ineligible")),
        )
        _check_canonical_order(obj)  # every member was parsed strictly and checked round trip
        return obj


def encode_assignment(assignment: Assignment) -> bytes:
    """Return JCS(assignment.to_record()) (RFC 8785), written directly with the members in order.

    Equal to ``jcs.canonicalize(assignment.to_record())`` for every assignment: one whose text
    JCS would escape (quote, backslash, control character, lone surrogate), or whose values are
    of other types than those ``assign`` and ``from_record`` give, goes through jcs. Linear in the
    record's size. Raises ValueError where jcs does.
    """
    a = assignment
    if not _plain_assignment(a):
        return jcs.canonicalize(a.to_record())
    teams = ",".join(
        f'{{"experts":[{_id_list(t.experts)}],"leader":"{t.leader}","members":[{_id_list(t.members)}],'
        f'"object":"{t.object_id}","order":{t.order}}}'
        for t in a.teams
    )
    excluded = ",".join(
        f'{{"inspector":"{e.inspector_id}","object":"{e.object_id}","reason":"{e.reason}"}}'
        for e in a.excluded
    )
    ineligible = ",".join(f'{{"inspector":"{e.inspector_id}","reason":"{e.reason}"}}' for e in a.ineligible)
    return (
        f'{{"as_of":"{a.as_of.isoformat()}","cap":{a.cap},"excluded":[{excluded}],'
        f'"expert_cap":{a.expert_cap},"ineligible":[{ineligible}],"spec":"{SPEC}","teams":[{teams}]}}'
    ).encode()


def _id_list(ids: tuple[str, ...]) -> str:
    return '"' + '","'.join(ids) + '"' if ids else ""


def _plain_assignment(a: Assignment) -> bool:
    # Whether every value is one that encode_assignment writes as JCS does: exact int counts in
    # range, tuples of ids, a date, and text without anything JCS escapes.
    counts = [a.cap, a.expert_cap, *(t.order for t in a.teams)]
    if not all(type(n) is int and 0 <= n <= MAX_COUNT for n in counts) or type(a.as_of) is not date:
        return False
    if not all(type(t.members) is tuple and type(t.experts) is tuple for t in a.teams):
        return False
    texts = [(t.object_id, t.leader, *t.members, *t.experts) for t in a.teams]
    texts += [(e.inspector_id, e.object_id, e.reason) for e in a.excluded]
    texts += [(e.inspector_id, e.reason) for e in a.ineligible]
    try:
        joined = " ".join(itertools.chain.from_iterable(texts))
    except TypeError:
        return False
    return _JSON_ESCAPED.search(joined) is None


def _check_canonical_order(a: Assignment) -> None:
    orders = [t.order for t in a.teams]
    if orders != sorted(set(orders)):
        raise ValueError("teams: assignment.teams: want ascending distinct order")
    excluded = [(e.inspector_id, e.object_id, e.reason) for e in a.excluded]
    if excluded != sorted(set(excluded)):
        raise ValueError("teams: assignment.excluded: want sorted distinct entries")
    ineligible = [(e.inspector_id, e.reason) for e in a.ineligible]
    if ineligible != sorted(set(ineligible)):
        raise ValueError("teams: assignment.ineligible: want sorted distinct entries")


# ---------------------------------------------------------------------------
# Derived exclusions (spec §4).


def months_before(day: date, months: int) -> date:
    """Return the day ``months`` calendar months before ``day``, clamped to the month's end (spec §4.3).

    >>> months_before(date(2025, 3, 31), 1), months_before(date(2024, 2, 29), 12)
    (datetime.date(2025, 2, 28), datetime.date(2023, 2, 28))
    """
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        raise ValueError(f"teams: {months} months before {day} is before year 1")
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _ineligible(pool: Mapping[str, Inspector], rules: TeamRules, as_of: date) -> list[Ineligibility]:
    """Return the inspector-level exclusions (spec §4.1), sorted by (inspector, reason)."""
    out = []
    for inspector in pool.values():
        if inspector.status != "active":
            out.append(Ineligibility(inspector.id, "status"))
        if inspector.certificate_expiry < as_of:
            out.append(Ineligibility(inspector.id, "certificate"))
        if not inspector.expert and inspector.department not in rules.departments:
            out.append(Ineligibility(inspector.id, "department"))
    return sorted(out, key=lambda e: (e.inspector_id, e.reason))


def _recent(history: Iterable[PastInspection], rules: TeamRules, as_of: date) -> set[Exclusion]:
    """Return the 'recent' pairs of spec §4.3 (all of them; the caller keeps those of the draw)."""
    out = set()
    start = months_before(as_of, rules.recent_months) if rules.recent_months else None
    for past in history:
        if not isinstance(past, PastInspection):
            raise ValueError(f"teams: history: want PastInspection, got {type(past).__name__}")
        if past.date > as_of:
            raise ValueError(
                f"teams: history: inspection of {past.object_id} dated {past.date}, after as_of {as_of}"
            )
        if start is not None and past.date >= start:
            out.add(Exclusion(past.inspector_id, past.object_id, "recent"))
    return out


def _declared(exclusions: Iterable[Exclusion]) -> set[Exclusion]:
    return set(_checked(exclusions, Exclusion, "exclusions"))


def _applied(
    targets: Mapping[str, int], pool: Mapping[str, Inspector], pairs: set[Exclusion]
) -> list[Exclusion]:
    """Return the pairs whose inspector and object are in the draw, sorted (spec §4.4)."""
    keep = {e for e in pairs if e.inspector_id in pool and e.object_id in targets}
    return sorted(keep, key=lambda e: (e.inspector_id, e.object_id, e.reason))


@dataclass(frozen=True)
class _Inputs:
    """The checked, canonically ordered inputs of one matching (spec §2, §4)."""

    targets: tuple[Target, ...]
    position: dict[str, int]
    pool: dict[str, Inspector]
    rules: TeamRules
    excluded: tuple[Exclusion, ...]
    ineligible: tuple[Ineligibility, ...]
    as_of: date


def _inputs(
    targets: Iterable[Target],
    inspectors: Iterable[Inspector],
    rules: TeamRules,
    exclusions: Iterable[Exclusion],
    history: Iterable[PastInspection],
    as_of: date,
) -> _Inputs:
    if not isinstance(rules, TeamRules):
        raise ValueError(f"teams: rules: want TeamRules, got {type(rules).__name__}")
    _day(as_of, "as_of")
    ordered = tuple(sorted(_checked(targets, Target, "targets"), key=lambda t: t.order))
    position = {t.id: k for k, t in enumerate(ordered)}
    if len(position) != len(ordered) or len({t.order for t in ordered}) != len(ordered):
        raise ValueError("teams: targets: ids and orders must be distinct")
    listed = _checked(inspectors, Inspector, "inspectors")
    pool = {i.id: i for i in listed}
    if len(pool) != len(listed):
        raise ValueError("teams: inspectors: ids must be distinct")
    applied = tuple(_applied(position, pool, _declared(exclusions) | _recent(history, rules, as_of)))
    return _Inputs(ordered, position, pool, rules, applied, tuple(_ineligible(pool, rules, as_of)), as_of)


def _checked(values: Iterable[Any], kind: type, field: str) -> list[Any]:
    out = list(values)
    for v in out:
        if not isinstance(v, kind):
            raise ValueError(f"teams: {field}: want {kind.__name__}, got {type(v).__name__}")
    return out


# ---------------------------------------------------------------------------
# The indexed problems (spec §6).


def _pools(inp: _Inputs) -> tuple[list[Inspector], list[Inspector]]:
    """Return the regular and the expert pool, each in ascending id order (spec §4.1)."""
    left_out = {e.inspector_id for e in inp.ineligible}
    eligible = sorted((i for i in inp.pool.values() if i.id not in left_out), key=lambda i: i.id)
    return [i for i in eligible if not i.expert], [i for i in eligible if i.expert]


def _problem(inp: _Inputs, pool: list[Inspector], seed: bytes, expert: bool) -> Problem:
    """Return the indexed problem of one pool (spec §6): the regular or the expert seats."""
    rules, areas, sets = inp.rules, dict[str, int](), dict[tuple[str, ...], int]()
    names = [EXPERTS_NAME] if expert else list(rules.departments)
    index = {inspector.id: k for k, inspector in enumerate(pool)}
    excluded: defaultdict[int, set[int]] = defaultdict(set)
    for e in inp.excluded:
        if e.inspector_id in index:
            excluded[inp.position[e.object_id]].add(index[e.inspector_id])
    inspector_sets = [sets.setdefault(i.items, len(sets)) for i in pool]
    target_sets = [sets.setdefault(t.items, len(sets)) for t in inp.targets]
    covers = frozenset((s, u) for a, s in sets.items() for b, u in sets.items() if set(b) <= set(a))
    return Problem(
        seed=seed,
        ids=[i.id for i in pool],
        department=[0 if expert else names.index(i.department) for i in pool],
        area=[areas.setdefault(i.area, len(areas)) for i in pool],
        items=inspector_sets,
        department_names=names,
        target_ids=[t.id for t in inp.targets],
        target_area=[areas.setdefault(t.area, len(areas)) for t in inp.targets],
        target_items=target_sets,
        covers=covers,
        excluded={t: frozenset(s) for t, s in excluded.items()},
        same_area=rules.exclude_same_area,
        per_department=0 if expert else rules.per_department,
        free=rules.experts if expert else rules.min_inspectors - len(names) * rules.per_department,
        noun="expert" if expert else "inspector",
        area_names=list(areas),
        item_names=[", ".join(items) for items in sets],
    )


# ---------------------------------------------------------------------------
# The calls (spec §9-§12).


def _check_seed(seed: object) -> bytes:
    if not isinstance(seed, bytes) or not 16 <= len(seed) <= 64:
        raise ValueError("teams: seed: want 16..64 bytes")
    return seed


def _solve(inp: _Inputs, seed: bytes) -> tuple[Assignment, Solution, Solution]:
    regular_pool, expert_pool = _pools(inp)
    regular = solve(_problem(inp, regular_pool, seed, expert=False), inp.rules.max_load)
    if inp.rules.experts:
        experts = solve(_problem(inp, expert_pool, seed, expert=True), inp.rules.max_load)
    else:  # what solve gives a problem without seats, built for nothing
        experts = Solution(0, [[] for _ in inp.targets], 0, 0)
    ids, expert_ids = [i.id for i in regular_pool], [i.id for i in expert_pool]
    heads = leaders(regular.teams, [leader_key(seed, i) for i in ids])
    teams = tuple(
        Team(
            t.id,
            t.order,
            tuple(sorted([ids[i] for i in regular.teams[k]])),
            ids[heads[k]],
            tuple(sorted([expert_ids[i] for i in experts.teams[k]])) if experts.teams[k] else (),
        )
        for k, t in enumerate(inp.targets)
    )
    assignment = Assignment(inp.as_of, regular.cap, experts.cap, teams, inp.excluded, inp.ineligible)
    return assignment, regular, experts


def assign(
    targets: Iterable[Target],
    inspectors: Iterable[Inspector],
    rules: TeamRules,
    exclusions: Iterable[Exclusion],
    history: Iterable[PastInspection],
    seed: bytes,
    as_of: date,
) -> Assignment:
    """Return the teams of the selected ``targets`` (spec §6-§9).

    The result depends only on the inputs' values, never on their order. Inspectors are eligible
    on ``as_of`` (certificate valid through its expiry day). ``seed`` is 16..64 bytes. Cost: one
    pass of O((T·seats)·log n) when the least load cap is the counting bound (the usual case), at
    most O(log T) passes. Raises ValueError on bad input and Infeasible (a ValueError) when no
    assignment satisfies the rules: the draw is then void with reason ``teams-infeasible``.
    """
    return _solve(_inputs(targets, inspectors, rules, exclusions, history, as_of), _check_seed(seed))[0]


def check_assignment(
    assignment: Assignment,
    targets: Iterable[Target],
    inspectors: Iterable[Inspector],
    rules: TeamRules,
    exclusions: Iterable[Exclusion],
    history: Iterable[PastInspection],
    seed: bytes,
    as_of: date,
    want: Assignment | None = None,
) -> None:
    """Check that ``assignment`` is exactly what ``assign`` gives for these inputs (spec §12).

    First checks every rule on its own (eligibility, 回避, team make-up, leader, loads), so the reason
    names the broken rule; then recomputes the teams and compares. Costs one ``assign``, or none when
    the caller passes ``want``, what ``assign`` gave it for these same inputs. Raises
    AssignmentError with the first reason found, ValueError on bad inputs.
    """
    if not isinstance(assignment, Assignment):
        raise ValueError(f"teams: assignment: want Assignment, got {type(assignment).__name__}")
    inp = _inputs(targets, inspectors, rules, exclusions, history, as_of)
    seed = _check_seed(seed)
    _check_lists(assignment, inp)
    _check_teams(assignment, inp)
    try:
        want = _solve(inp, seed)[0] if want is None else want
    except Infeasible:
        raise AssignmentError("no assignment satisfies the rules (teams-infeasible)") from None
    _compare(assignment, want)


def _check_lists(a: Assignment, inp: _Inputs) -> None:
    if a.as_of != inp.as_of:
        raise AssignmentError(f"as_of {a.as_of}, want {inp.as_of}")
    if a.ineligible != inp.ineligible:
        raise AssignmentError("ineligible list differs from the one the inputs give")
    if a.excluded != inp.excluded:
        raise AssignmentError("excluded list differs from the one the inputs give")
    if len(a.teams) != len(inp.targets):
        raise AssignmentError(f"{len(a.teams)} teams, want {len(inp.targets)}")
    for team, target in zip(a.teams, inp.targets, strict=True):
        if (team.object_id, team.order) != (target.id, target.order):
            raise AssignmentError(f"team {team.order} is for object {team.object_id}, want {target.id}")


def _check_teams(a: Assignment, inp: _Inputs) -> None:
    pairs = {(e.inspector_id, e.object_id): e.reason for e in reversed(inp.excluded)}
    left_out = {e.inspector_id: e.reason for e in reversed(inp.ineligible)}
    for team, target in zip(a.teams, inp.targets, strict=True):
        _check_team(team, target, inp, pairs, left_out)
    loads = Counter(itertools.chain.from_iterable(t.members for t in a.teams))
    expert_loads = Counter(itertools.chain.from_iterable(t.experts for t in a.teams))
    for name, cap, load in (("cap", a.cap, loads), ("expert_cap", a.expert_cap, expert_loads)):
        if inp.rules.max_load is not None and cap > inp.rules.max_load:
            raise AssignmentError(f"{name} {cap} above max_load {inp.rules.max_load}")
        if max(load.values(), default=0) != cap:
            raise AssignmentError(f"{name} {cap}, but the largest load is {max(load.values(), default=0)}")


def _check_team(
    team: Team, target: Target, inp: _Inputs, pairs: dict[tuple[str, str], str], left_out: dict[str, str]
) -> None:
    rules, oid = inp.rules, target.id
    for role, ids, want in (
        ("members", team.members, rules.min_inspectors),
        ("experts", team.experts, rules.experts),
    ):
        if len(ids) != want:
            raise AssignmentError(f"object {oid}: wrong number of {role}: {len(ids)}, want {want}")
        if len(set(ids)) != len(ids):
            raise AssignmentError(f"object {oid}: an inspector is listed twice among the {role}")
        for m in ids:
            _check_member(m, role == "experts", target, inp, pairs, left_out)
    departments = [inp.pool[m].department for m in team.members]
    for d in rules.departments:
        if departments.count(d) < rules.per_department:
            got, want = departments.count(d), rules.per_department
            raise AssignmentError(f"object {oid}: {got} members of department {d}, want at least {want}")
    if team.leader not in team.members:
        raise AssignmentError(f"object {oid}: leader {team.leader} is not a member")


def _check_member(
    m: str,
    expert: bool,
    target: Target,
    inp: _Inputs,
    pairs: dict[tuple[str, str], str],
    left_out: dict[str, str],
) -> None:
    oid, inspector = target.id, inp.pool.get(m)
    if inspector is None:
        raise AssignmentError(f"object {oid}: {m} is not in the inspector pool")
    if m in left_out:
        raise AssignmentError(f"object {oid}: {m} is ineligible ({left_out[m]})")
    if inspector.expert != expert:
        raise AssignmentError(f"object {oid}: {m} {'is not' if expert else 'is'} an expert")
    if not _covers(inspector.items, target.items):
        raise AssignmentError(f"object {oid}: {m} is excluded (items)")
    if inp.rules.exclude_same_area and inspector.area == target.area:
        raise AssignmentError(f"object {oid}: {m} is excluded (area)")
    if (m, oid) in pairs:
        raise AssignmentError(f"object {oid}: {m} is excluded ({pairs[m, oid]})")


@functools.lru_cache(maxsize=1024)
def _covers(held: tuple[str, ...], needed: tuple[str, ...]) -> bool:
    return set(needed) <= set(held)


def _compare(got: Assignment, want: Assignment) -> None:
    if got.cap != want.cap:
        raise AssignmentError(f"cap {got.cap}, want {want.cap} (the least possible)")
    if got.expert_cap != want.expert_cap:
        raise AssignmentError(f"expert_cap {got.expert_cap}, want {want.expert_cap} (the least possible)")
    for g, w in zip(got.teams, want.teams, strict=True):
        if g.members != w.members:
            raise AssignmentError(f"object {g.object_id}: members differ from the recomputed team")
        if g.experts != w.experts:
            raise AssignmentError(f"object {g.object_id}: experts differ from the recomputed team")
        if g.leader != w.leader:
            raise AssignmentError(f"object {g.object_id}: leader {g.leader}, want {w.leader}")
    if got != want:
        raise AssertionError("teams: _compare missed a difference")


# ---------------------------------------------------------------------------
# Before the commitment (spec §10).


def check_feasible(
    candidates: Iterable[Candidate],
    quotas: Mapping[str, int],
    inspectors: Iterable[Inspector],
    rules: TeamRules,
    exclusions: Iterable[Exclusion],
    history: Iterable[PastInspection],
    as_of: date,
) -> None:
    """Check that every selection the strata allow can still be given teams (spec §10).

    ``candidates`` are the objects that may be drawn, ``quotas`` how many each stratum draws. The
    checks are necessary conditions, each met by some possible selection: every candidate can get a
    team, and for each area and item set, each area, and the whole draw, the most objects a
    selection can put there fit the eligible inspectors' seats under ``max_load``. Passing does not
    guarantee the teams (then ``assign`` raises Infeasible and the draw is void). Cost: the N
    candidates are counted in C, then each distinct one is looked at once; O(k) per distinct
    (area, items) and O(k·p) per area for k inspector kinds and p places. Raises ValueError naming
    the binding constraint, e.g. "teams: stratum D in 忻府区所 (items I1) needs 40 teams of 2
    inspectors; only 31 eligible inspectors remain after 回避 (max_load 2: 62 seats)".
    """
    inp = _inputs((), inspectors, rules, (), (), as_of)
    named = _pairs_by_object(_declared(exclusions) | _recent(history, rules, as_of), inp.pool)
    counts = {_text(k, "quotas[]"): _count(q, f"quotas[{k!r}]", 0) for k, q in quotas.items()}
    census = _Census(_pools(inp), rules)
    classes: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for c, n in _distinct(candidates):
        if type(c) is not Candidate:
            raise ValueError(f"teams: candidates: want Candidate, got {type(c).__name__}")
        if counts.get(c.stratum, 0) > 0:
            classes[c.stratum, c.area, c.items] += n
            if c.id in named:
                where = f"object {c.id} (stratum {c.stratum}, {c.area})"
                census.check_team(where, c.area, c.items, named[c.id])
    classes = _candidate_classes(classes)
    for stratum, area, items in sorted(classes):
        census.check_team(f"an object of stratum {stratum} in {area}", area, items, frozenset())
    if rules.max_load is not None:
        census.check_loads(classes, counts)


def _distinct(candidates: Iterable[Candidate]) -> Iterable[tuple[Candidate, int]]:
    """Return each distinct candidate with its number of repeats, in order of first appearance.

    The outcome of ``check_feasible`` for a candidate depends only on its value, so repeats need
    no second look. The count runs in C; values other than Candidate, or unhashable ones, are
    passed one by one (count 1) so that they are reported where they stand.
    """
    listed = list(candidates)
    try:
        if set(map(type, listed)) == {Candidate}:
            return Counter(listed).items()
    except TypeError:
        pass
    return ((c, 1) for c in listed)


def _candidate_classes(
    raw: Counter[tuple[str, str, tuple[str, ...]]],
) -> Counter[tuple[str, str, tuple[str, ...]]]:
    """Return the candidate counts per (stratum, area, items), each class checked once."""
    out: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for (stratum, area, items), n in raw.items():
        key = (_text(stratum, "candidate.stratum"), _text(area, "candidate.area"))
        clean = (*key, _items(items, "candidate.items", empty=False))
        if clean != (stratum, area, tuple(items)):
            raise ValueError(f"teams: candidates {clean}: want NFC text and sorted distinct items")
        out[clean] += n
    return out


def _pairs_by_object(pairs: set[Exclusion], pool: Mapping[str, Inspector]) -> dict[str, frozenset[str]]:
    out: defaultdict[str, set[str]] = defaultdict(set)
    for e in pairs:
        if e.inspector_id in pool:
            out[e.object_id].add(e.inspector_id)
    return {k: frozenset(v) for k, v in out.items()}


_Items = tuple[str, ...]
_Kind = tuple[str, str, _Items, bool]  # department, area, items, expert


class _Census:
    """Counts of eligible inspectors and experts per (area, items) class of objects (spec §10).

    Inspectors are counted by kind (department, area, items, expert): two of one kind are
    eligible for the same objects. The counts of each (area, items) are kept once made.
    """

    def __init__(self, pools: tuple[list[Inspector], list[Inspector]], rules: TeamRules) -> None:
        self.rules = rules
        self.regular, self.experts = pools
        self.by_id = {i.id: i for i in self.regular + self.experts}
        self.kinds: Counter[_Kind] = Counter(
            (i.department, i.area, i.items, i.expert) for i in self.by_id.values()
        )
        self.names = (*rules.departments, EXPERTS_NAME)
        self.counted: dict[tuple[str, tuple[str, ...]], dict[str, int]] = {}

    def eligible(self, area: str, items: tuple[str, ...], left_out: frozenset[str]) -> dict[str, int]:
        """Return eligible inspectors per department (experts under EXPERTS_NAME) for one object.

        O(k) for k kinds the first time an (area, items) is asked, then O(len(left_out)).
        """
        base = self.counted.get((area, items))
        if base is None:
            base = self._count(lambda home, held: self._fits(home, held, area, items))
            self.counted[area, items] = base
        out = base.copy()
        for i in (self.by_id[k] for k in left_out if k in self.by_id):
            if self._fits(i.area, i.items, area, items):
                out[EXPERTS_NAME if i.expert else i.department] -= 1
        return out

    def _count(self, fits: Callable[[str, tuple[str, ...]], bool]) -> dict[str, int]:
        # Eligible inspectors per department (experts under EXPERTS_NAME) of the kinds that fit;
        # every pool inspector is of one of the rules' departments or an expert.
        out = dict.fromkeys(self.names, 0)
        for (department, home, held, expert), n in self.kinds.items():
            if fits(home, held):
                out[EXPERTS_NAME if expert else department] += n
        return out

    def _fits(self, home: str, held: tuple[str, ...], area: str, items: tuple[str, ...]) -> bool:
        # Whether an inspector of ``home`` holding ``held`` may take an object at ``area`` needing ``items``.
        if self.rules.exclude_same_area and home == area:
            return False
        return set(items) <= set(held)

    def check_team(self, where: str, area: str, items: tuple[str, ...], left_out: frozenset[str]) -> None:
        """Raise ValueError unless one object at ``area`` needing ``items`` can get a team."""
        rules, have = self.rules, self.eligible(area, items, left_out)
        for d in rules.departments:
            if have[d] < rules.per_department:
                raise ValueError(
                    f"teams: {where} has {have[d]} eligible inspectors of department {d} after 回避; "
                    f"each team needs {rules.per_department}"
                )
        total = sum(have[d] for d in rules.departments)
        if total < rules.min_inspectors:
            raise ValueError(
                f"teams: {where} has {total} eligible inspectors after 回避; "
                f"each team needs {rules.min_inspectors}"
            )
        if have[EXPERTS_NAME] < rules.experts:
            raise ValueError(
                f"teams: {where} has {have[EXPERTS_NAME]} eligible experts after 回避; "
                f"each team needs {rules.experts}"
            )

    def check_loads(self, classes: Counter[tuple[str, str, tuple[str, ...]]], quotas: dict[str, int]) -> None:
        """Raise ValueError if the most objects a selection can put in one place outrun the seats."""
        groups: defaultdict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        item_sets: defaultdict[str, set[tuple[str, ...]]] = defaultdict(set)
        for (stratum, area, items), n in classes.items():
            groups[area, *items][stratum] += n
            groups[area,][stratum] += n
            groups[()][stratum] += n
            item_sets[area].add(items)
        for key in sorted(groups, key=lambda k: (-len(k), k)):
            worst = sum(min(n, quotas[s]) for s, n in groups[key].items())
            self._check_load(_place(key, groups[key]), worst, self._capacity(key, item_sets))

    def _capacity(self, key: tuple[str, ...], item_sets: Mapping[str, set[_Items]]) -> dict[str, int]:
        # The inspectors eligible for at least one class of the group ``key``, counted by kind.
        if len(key) > 1:
            return self.eligible(key[0], key[1:], frozenset())
        areas = [key[0]] if key else sorted(item_sets)
        places = [(a, s) for a in areas for s in item_sets[a]]
        return self._count(lambda home, held: any(self._fits(home, held, a, s) for a, s in places))

    def _check_load(self, where: str, worst: int, have: Mapping[str, int]) -> None:
        rules, m = self.rules, _need_int(self.rules.max_load)
        checks = [(rules.min_inspectors, sum(have[d] for d in rules.departments), "inspector", "")]
        for d in rules.departments:
            checks.append((rules.per_department, have[d], "inspector", f" of department {d}"))
        checks.append((rules.experts, have[EXPERTS_NAME], "expert", ""))
        for per_team, n, noun, whose in checks:
            if worst * per_team > n * m:
                raise ValueError(
                    f"teams: {where} needs {worst} teams of {per_team} {noun}{'s' * (per_team != 1)}{whose}; "
                    f"only {n} eligible {noun}s{whose} remain after 回避 (max_load {m}: {n * m} seats)"
                )


def _need_int(value: int | None) -> int:
    if value is None:
        raise AssertionError("teams: max_load needed")
    return value


def _place(key: tuple[str, ...], strata: Counter[str]) -> str:
    names = sorted(strata)
    who = f"stratum {names[0]}" if len(names) == 1 else f"strata {', '.join(names)}"
    if not key:
        return "the draw"
    if len(key) == 1:
        return f"{who} in {key[0]}"
    return f"{who} in {key[0]} (items {', '.join(key[1:])})"
