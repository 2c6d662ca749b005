"""A draw request as a department sends it, and its translation into the engine's DrawRequest.

The body of ``POST /departments/{code}/draws`` (:class:`DrawIn`) names the population (inline
objects and/or an objects roster snapshot), the strata rules, the inspector side (inline inspectors
and/or inspector roster snapshots of the participating departments — by default, in a draw for a
task, the latest pool each of them attached to the task — the team rules, exclusions and history),
the randomness sources (drand quicknet by default; optionally a ceremony and announced lottery
draws), the embargo date and whether the list is published at once.

:func:`plan_draw` checks everything the engine does not (rosters, tasks, deadlines, ceremony
commitments never used before) and builds the engine's request; :func:`commit` runs
``engine.commit_draw``. Both raise ProblemError ``invalid-field`` (422) naming the body member, and
write nothing.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pydantic

from draw import engine
from draw.engine import ceremony, drand, lottery, model, teams
from draw.service import draws_store
from draw.service.core import Service
from draw.service.draws_entries import DRAW_ID
from draw.service.http import ProblemError
from draw.service.publishing import ApiModel, date
from draw.service.rosters import load_snapshot
from draw.service.tasks import Task, load_task

REF_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DATE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_HEX32 = "^[0-9a-f]{64}$"
_ENGINE_FIELD = re.compile(r"draw: ([a-z_]+(?:\[[0-9]+\])?(?:\.[a-z_]+(?:\[[0-9]+\])?)*): ")
_OBJECT_FIELD = re.compile(r"objects\[([0-9]+)\]")

_Date = Annotated[str, pydantic.Field(pattern=_DATE, description="YYYY-MM-DD")]
_Text = Annotated[str, pydantic.Field(min_length=1, max_length=256)]
_Unix = Annotated[int, pydantic.Field(ge=0, le=2**53 - 1, description="Unix time, seconds")]


class ObjectIn(ApiModel):
    """An object of the population (docs/draw-spec.md §4)."""

    id: _Text
    name: _Text
    area: _Text
    stratum: _Text
    tags: list[_Text] = pydantic.Field(default_factory=list, max_length=32)
    last_inspected: _Date | None = None


class StratumIn(ApiModel):
    """A stratum rule (docs/draw-spec.md §5)."""

    stratum: _Text
    take: Literal["ratio", "count", "all"]
    ratio: Annotated[str, pydantic.Field(max_length=40)] | None = pydantic.Field(
        None, description="n/d or Nbp"
    )
    rounding: Literal["floor", "ceil", "half-up"] | None = None
    min: Annotated[int, pydantic.Field(ge=0)] | None = None
    max: Annotated[int, pydantic.Field(ge=0)] | None = None
    count: Annotated[int, pydantic.Field(ge=0)] | None = None
    batch_size: Annotated[int, pydantic.Field(ge=1)] | None = None


class InspectorIn(ApiModel):
    """An inspector of the pool (docs/draw-spec-matching.md §2.1)."""

    id: _Text
    department: _Text
    area: _Text
    certificate_expiry: _Date
    items: list[_Text] = pydantic.Field(default_factory=list, max_length=64)
    expert: bool = False
    status: Literal["active", "inactive", "leave"] = "active"


class ExclusionIn(ApiModel):
    """A declared 回避 pair (docs/draw-spec-matching.md §2.3)."""

    inspector: _Text
    object: _Text
    reason: Literal["kin", "interest", "area", "recent", "other"]


class PastInspectionIn(ApiModel):
    """A past inspection (docs/draw-spec-matching.md §2.4)."""

    inspector: _Text
    object: _Text
    date: _Date


class TeamRulesIn(ApiModel):
    """The team rules (docs/draw-spec-matching.md §3)."""

    departments: list[_Text] = pydantic.Field(min_length=1, max_length=64)
    min_inspectors: int = pydantic.Field(2, ge=2, le=1000)
    per_department: int = pydantic.Field(1, ge=1, le=1000)
    experts: int = pydantic.Field(0, ge=0, le=1000)
    max_load: Annotated[int, pydantic.Field(ge=1)] | None = None
    exclude_same_area: bool = True
    recent_months: int = pydantic.Field(0, ge=0, le=120)


class MatchingIn(ApiModel):
    """The inspector side: the pool (inline and roster snapshots), rules, exclusions, history."""

    as_of: _Date
    items: list[_Text] = pydantic.Field(min_length=1, max_length=64)
    rules: TeamRulesIn
    inspectors: list[InspectorIn] = pydantic.Field(default_factory=list)
    pools: list[Annotated[int, pydantic.Field(ge=0)]] = pydantic.Field(
        default_factory=list,
        max_length=64,
        description="ledger indexes of inspectors roster snapshots; omitted in a draw for a task: the "
        "latest pool each participating department attached to the task",
    )
    exclusions: list[ExclusionIn] = pydantic.Field(default_factory=list)
    history: list[PastInspectionIn] = pydantic.Field(default_factory=list)


class DrandIn(ApiModel):
    """The drand source (randomness spec §2.2)."""

    chain_hash: str = pydantic.Field(drand.QUICKNET.chain_hash.hex(), pattern=_HEX32)
    margin_seconds: int = pydantic.Field(
        drand.DEFAULT_MARGIN_SECONDS, ge=drand.MIN_MARGIN_SECONDS, le=drand.MAX_MARGIN_SECONDS
    )


class ParticipantIn(ApiModel):
    """A ceremony participant and their commitment (randomness spec §3.2)."""

    name: Annotated[str, pydantic.Field(min_length=1, max_length=64)]
    role: Annotated[str, pydantic.Field(min_length=1, max_length=64)]
    commitment: str = pydantic.Field(pattern=_HEX32)


class CeremonyIn(ApiModel):
    """A public ceremony (randomness spec §3)."""

    participants: list[ParticipantIn] = pydantic.Field(min_length=1, max_length=32)
    reveal_deadline: _Unix


class LotterySourceIn(ApiModel):
    """A public lottery draw named in advance (randomness spec §4.1)."""

    description: Annotated[str, pydantic.Field(min_length=1, max_length=200)]
    count: int = pydantic.Field(ge=1, le=64)


class LotteryIn(ApiModel):
    """Announced public numbers (randomness spec §4)."""

    sources: list[LotterySourceIn] = pydantic.Field(min_length=1, max_length=16)
    deadline: _Unix


class SourcesIn(ApiModel):
    """The declared randomness sources: drand always, a ceremony and lottery draws optionally."""

    drand: DrandIn = DrandIn.model_validate({})
    ceremony: CeremonyIn | None = None
    lottery: LotteryIn | None = None


class DrawIn(ApiModel):
    """A draw request."""

    ref: str = pydantic.Field(
        pattern=f"^{REF_PATTERN.pattern}$", description="the department's reference; the draw id is CODE-ref"
    )
    task: Annotated[int, pydantic.Field(ge=0)] | None = pydantic.Field(
        None, description="ledger index of the task.publish entry the draw serves"
    )
    objects: list[ObjectIn] = pydantic.Field(default_factory=list, description="inline population")
    objects_roster: Annotated[int, pydantic.Field(ge=0)] | None = pydantic.Field(
        None, description="ledger index of an objects roster snapshot of the department"
    )
    strata: list[StratumIn] = pydantic.Field(min_length=1, max_length=64)
    disclosure: Literal["confidential", "full"] = "confidential"
    matching: MatchingIn | None = None
    sources: SourcesIn = SourcesIn.model_validate({})
    embargo: _Date = pydantic.Field(description="the reveal is due at 00:00 (UTC+8) of this date")
    publish_immediately: bool = pydantic.Field(False, description="reveal as soon as the result is sealed")
    inspection_end: _Date | None = pydantic.Field(
        None, description="last day of the inspections (default: the task's end, else the embargo)"
    )


@dataclass(frozen=True)
class Plan:
    """A checked draw request: the engine's request and population, and what the service adds."""

    draw_id: str
    request: engine.DrawRequest
    objects: Sequence[model.InspectionObject]  # the roster's Population alone, when no object is inline
    roster_rows: int
    roster_records: bytes  # the record list of the roster's objects, the first roster_rows objects
    task: int | None
    participants: list[str]
    inspection_end: str
    ceremony: tuple[bytes, ...]


def _invalid(field: str, message: str) -> ProblemError:
    return ProblemError.field("invalid-field", field, message)


def plan_draw(service: Service, code: str, given: DrawIn) -> Plan:
    """Return the Plan of department ``code``'s request ``given``. Reads the rosters and the task it
    names. Raises ProblemError ``invalid-field`` (422) naming the body member."""
    draw_id = f"{code}-{given.ref}"
    if not DRAW_ID.fullmatch(draw_id):
        raise _invalid("body.ref", f"draw id {draw_id!r} must match {DRAW_ID.pattern}")
    task, participants, task_end = _task(service, code, given.task)
    roster, records = _roster_objects(service, code, given.objects_roster)
    inline = [_object(o) for o in given.objects]
    objects = [*roster, *inline] if inline else roster
    strata = tuple(model.make_rule(s.stratum, **s.model_dump(exclude={"stratum"})) for s in given.strata)
    sources, commitments = _sources(service, given.sources)
    matching = None if given.matching is None else _matching(service, given.matching, participants, task)
    end = given.inspection_end or task_end or given.embargo
    date(end, "body.inspection_end" if given.inspection_end else "body.embargo")
    request = engine.DrawRequest(draw_id, code, strata, sources, given.embargo, given.disclosure, matching)
    return Plan(draw_id, request, objects, len(roster), records, task, participants, end, commitments)


def commit(plan: Plan, secret: bytes) -> engine.Commitment:
    """Return ``engine.commit_draw`` of the plan under ``secret``. Raises ProblemError 422 naming the
    body member the engine found wrong (feasibility failures name ``body.matching``)."""
    try:
        return engine.commit_draw(plan.request, plan.objects, secret)
    except ValueError as exc:
        raise _invalid(engine_field(str(exc), plan.roster_rows), str(exc)) from None


def engine_field(message: str, roster_rows: int) -> str:
    """Return the body member an engine error message names: ``draw: strata[1].ratio: ...`` names
    ``body.strata[1].ratio``; an object from the roster names ``body.objects_roster``; ``teams:``
    errors name ``body.matching``; ``draw_id`` is ``body.ref``."""
    if message.startswith("teams: "):
        return "body.matching"
    found = _ENGINE_FIELD.match(message)
    if found is None:
        return "body"
    path = found[1]
    if path == "draw_id":
        return "body.ref"
    if (index := _OBJECT_FIELD.match(path)) is not None:
        position = int(index[1])
        if position < roster_rows:
            return "body.objects_roster"
        path = f"objects[{position - roster_rows}]" + path[index.end() :]
    return "body." + path


def _task(service: Service, code: str, index: int | None) -> tuple[int | None, list[str], str | None]:
    if index is None:
        return None, [code], None
    task = load_task(service, index)
    if task is None or task.record["department"] != code:
        raise _invalid("body.task", f"no task {index} of department {code}")
    return index, task.participants(), str(task.record["end"])


def _roster_objects(service: Service, code: str, index: int | None) -> tuple[model.Population, bytes]:
    """Return the objects of roster snapshot ``index`` and its record list (the same objects)."""
    if index is None:
        return model.Population(), b"[]"
    snapshot = load_snapshot(service, index)
    if snapshot is None or snapshot.department != code or snapshot.kind != "objects":
        raise _invalid("body.objects_roster", f"no objects roster snapshot {index} of department {code}")
    return snapshot.objects(), snapshot.content


def _object(given: ObjectIn) -> model.InspectionObject:
    return model.make_object(
        given.id, given.name, given.area, given.stratum, given.tags, given.last_inspected
    )


# -- randomness sources ---------------------------------------------------------------------------


def _sources(service: Service, given: SourcesIn) -> tuple[tuple[model.SourceSlot, ...], tuple[bytes, ...]]:
    now_s = -(-service.clock() // 1000)
    slots = [model.SourceSlot("drand", "drand", _parsed(drand, given.drand.model_dump(), "drand"))]
    commitments: tuple[bytes, ...] = ()
    if given.ceremony is not None:
        declaration = _parsed(ceremony, given.ceremony.model_dump(), "ceremony")
        _future(given.ceremony.reveal_deadline, now_s, "body.sources.ceremony.reveal_deadline")
        commitments = _fresh_commitments(
            service, [bytes.fromhex(p.commitment) for p in given.ceremony.participants]
        )
        slots.append(model.SourceSlot("ceremony", "ceremony", declaration))
    if given.lottery is not None:
        declaration = _parsed(lottery, given.lottery.model_dump(), "lottery")
        _future(given.lottery.deadline, now_s, "body.sources.lottery.deadline")
        slots.append(model.SourceSlot("lottery", "lottery", declaration))
    return tuple(slots), commitments


def _parsed(kind: Any, raw: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the canonical declaration record of source ``name`` (its module's parse, then record)."""
    try:
        record: dict[str, Any] = kind.declaration_record(kind.parse_declaration(raw))
    except ValueError as exc:
        raise _invalid(f"body.sources.{name}", str(exc)) from None
    return record


def _future(deadline: int, now_s: int, field: str) -> None:
    if deadline <= now_s:
        raise _invalid(field, f"{deadline} is not after the current time {now_s}")


def _fresh_commitments(service: Service, commitments: list[bytes]) -> tuple[bytes, ...]:
    used = draws_store.used_commitments(service, commitments)
    for i, commitment in enumerate(commitments):
        if commitment in used or commitment in commitments[:i]:
            where = "an earlier draw" if commitment in used else "another participant"
            field = f"body.sources.ceremony.participants[{i}].commitment"
            raise _invalid(field, f"was declared by {where}; every draw needs fresh commitments")
    return tuple(commitments)


# -- the inspector side ---------------------------------------------------------------------------


def _matching(
    service: Service, given: MatchingIn, participants: Sequence[str], task: int | None
) -> model.Matching:
    if task is None or "pools" in given.model_fields_set:
        pools = _pools(service, given.pools, participants)
    else:  # the task's pools: read again, one query, only when they are used
        pools = _pools(service, _task_pools(load_task(service, task)), participants)
    inspectors = [*pools, *_inspectors(given.inspectors)]
    field = "body.matching"
    try:
        rules = teams.TeamRules(**given.rules.model_dump() | {"departments": tuple(given.rules.departments)})
        exclusions = [teams.Exclusion(e.inspector, e.object, e.reason) for e in given.exclusions]
        history = [teams.PastInspection(h.inspector, h.object, _day(h.date)) for h in given.history]
        items = tuple(sorted({model.nfc(item) for item in given.items}))
        return model.Matching(
            items, tuple(inspectors), rules, _day(given.as_of), tuple(exclusions), tuple(history)
        )
    except ValueError as exc:
        raise _invalid(field, str(exc)) from None


def _task_pools(task: Task | None) -> list[int]:
    """Return the roster index of every participant's latest pool of ``task``, in participant order.
    Raises ProblemError 422 naming ``body.matching.pools`` if a participant attached none."""
    if task is None:  # plan_draw found it a moment ago, and a task is never removed
        raise AssertionError("draws: the task of a draw request vanished")
    missing = [code for code in task.participants() if code not in task.pools]
    if missing:
        raise _invalid(
            "body.matching.pools",
            f"{' and '.join(missing)} attached no inspector pool to task {task.index} "
            f"(POST .../tasks/{task.index}/pool); attach one, or name the pools",
        )
    return [task.pools[code][0] for code in task.participants()]


def _pools(service: Service, indexes: Sequence[int], participants: Sequence[str]) -> list[teams.Inspector]:
    out: list[teams.Inspector] = []
    for i, index in enumerate(indexes):
        snapshot = load_snapshot(service, index)
        if snapshot is None or snapshot.kind != "inspectors" or snapshot.department not in participants:
            who = ", ".join(participants)
            raise _invalid(f"body.matching.pools[{i}]", f"no inspectors roster snapshot {index} of {who}")
        out += snapshot.inspectors()
    return out


def _inspectors(given: Sequence[InspectorIn]) -> list[teams.Inspector]:
    out = []
    for i, x in enumerate(given):
        try:
            expiry = _day(x.certificate_expiry)
            out.append(
                teams.Inspector(x.id, x.department, x.area, expiry, tuple(x.items), x.expert, x.status)
            )
        except ValueError as exc:
            raise _invalid(f"body.matching.inspectors[{i}]", str(exc)) from None
    return out


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)
