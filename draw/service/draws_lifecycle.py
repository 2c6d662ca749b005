"""A committed draw's life: its sources, the seal, the reveal, replacements and voids.

The state of a draw is a function of its ledger entries (docs/api.md § Draws)::

    pending-randomness --(every source complete)--> sealed --(embargo, or at once)--> revealed
            |                       |                  |
            +--(a source void)--> void <--(withdrawn)--+         (teams infeasible: void at sealing)

:func:`advance` moves a draw as far as the clock and its entries allow: it voids a draw whose source
missed its deadline, computes and seals the result as soon as every declared source is complete, and
reveals a sealed draw whose reveal is due. It is called after each randomness entry and by the worker;
it holds the draw's lease (``draws_store.claimed``). Every computation is the engine's: the service
keeps the operator secret and the population, and rebuilds the engine's commitment from them and the
logged commitment record (:func:`rebuild`), checking it is byte for byte the logged one.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from draw import engine
from draw.engine import ceremony, drand, lottery, model, teams
from draw.engine import commit as engine_commit
from draw.engine import select as engine_select
from draw.engine.commit import parse_record_list
from draw.service import draws_entries as entries_
from draw.service import draws_store
from draw.service.core import Service
from draw.service.draws_store import DrawLog, Logged
from ledger import blobs, store
from ledger.log import Receipt

BEIJING_OFFSET_MS = 8 * 3600 * 1000
REVEAL_GRACE_MS = 10 * 60 * 1000
"""How long after its due time a reveal may take before the draw is flagged overdue."""


def seconds(time_ms: int) -> int:
    """Return ``time_ms`` in whole Unix seconds, rounded up: a ledger time as the randomness spec
    compares it with deadlines (as ``drand.declared_round`` does for the commitment)."""
    return -(-time_ms // 1000)


# -- the population and the engine's commitment -----------------------------------------------------


def format_population(objects: Sequence[model.InspectionObject], records: bytes = b"[]") -> bytes:
    """Return the service's copy of a population: the JSON array of the object records, in order.

    ``records`` is a record list (docs/draw-spec.md §7) whose objects come first, such as a roster
    snapshot's content: its bytes are the records of its objects already, so only ``objects`` are
    encoded after it.
    """
    encoded = b",".join(engine_commit.encode_object(o) for o in objects)
    if records == b"[]":
        return b"[" + encoded + b"]"
    return records[:-1] + b"," + encoded + b"]" if encoded else records


def parse_population(data: bytes) -> list[model.InspectionObject]:
    """Return the objects of :func:`format_population`. Raises ValueError."""
    return [model.parse_object_record(r, f"objects[{i}]") for i, r in enumerate(model.load_json(data))]


@dataclass(frozen=True)
class Built:
    """A committed draw as the engine sees it: the commitment, the population and the secret."""

    commitment: engine.Commitment
    objects: list[model.InspectionObject]
    secret: bytes


def rebuild(service: Service, log: DrawLog) -> Built:
    """Return the engine's commitment of ``log``, rebuilt from the logged record, its blobs and the
    kept population and secret. Costs one ``engine.commit_draw``. Raises AssertionError if the
    rebuilt record differs from the logged one (the service's state was damaged)."""
    encoded = entries_.commitment_bytes(log.commit.body)
    record = engine.parse_commitment(encoded)
    rules = tuple(entry.rule for entry in record.strata)
    matching = None if record.matching is None else _matching(service, record.matching)
    request = engine.DrawRequest(
        record.draw_id, record.department, rules, record.sources, record.embargo, record.disclosure, matching
    )
    objects = parse_population(bytes(log.row.population))
    secret = bytes(log.row.secret)
    commitment = engine.commit_draw(request, objects, secret)
    if commitment.encoded != encoded:
        raise AssertionError(f"draw: the rebuilt commitment of {log.draw_id} differs from the logged one")
    return Built(commitment, objects, secret)


def _matching(service: Service, entry: engine_commit.MatchingEntry) -> model.Matching:
    return model.Matching(
        entry.items,
        tuple(parse_record_list(_blob(service, entry.inspectors), teams.Inspector.from_record)),
        entry.rules,
        entry.as_of,
        tuple(parse_record_list(_blob(service, entry.exclusions), teams.Exclusion.from_record)),
        tuple(parse_record_list(_blob(service, entry.history), teams.PastInspection.from_record)),
    )


def _blob(service: Service, address: str) -> bytes:
    with store.reading(service.engine) as conn:
        data = blobs.get(conn, "sha256:" + address)
    if data is None:
        raise AssertionError(f"draw: committed blob {address} is missing")
    return data


def commitment_record(log: DrawLog) -> engine_commit.CommitmentRecord:
    """Return the parsed commitment record of ``log``."""
    return log.commit.commitment


# -- sources --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceState:
    """One declared source at some time: ``complete`` (with its value), ``pending`` or ``void``.

    ``deadline`` is the Unix second after which a missing value voids the draw; ``round`` the drand
    round and ``round_time`` the Unix second it is released; ``missing`` the ceremony participants
    (or lottery sources) still missing.
    """

    name: str
    state: str
    deadline: int
    value: bytes | None = None
    round: int | None = None
    missing: tuple[str, ...] = ()
    entries: tuple[int, ...] = field(default=())
    round_time: int | None = None


def drand_round(log: DrawLog) -> tuple[drand.ChainInfo, int]:
    """Return the pinned chain and the round the draw uses (randomness spec §2.3)."""
    slot = commitment_record(log).sources[0]
    declaration = drand.parse_declaration(slot.declaration)
    return declaration.chain, drand.declared_round(declaration, log.commit.time_ms)


def source_states(log: DrawLog, now_ms: int) -> list[SourceState]:
    """Return the state of each declared source at ``now_ms``, in declared order."""
    logged = log.of_type(entries_.RANDOMNESS)
    now_s = max([seconds(now_ms), *(seconds(e.time_ms) for e in logged)])
    out = []
    for slot in commitment_record(log).sources:
        mine = [e for e in logged if e.body["source"] == slot.name]
        if slot.name == "drand":
            out.append(_drand_state(log, mine, now_s))
        elif slot.name == "ceremony":
            out.append(_ceremony_state(slot, mine, now_s))
        else:
            out.append(_lottery_state(slot, mine, now_s))
    return out


def _drand_state(log: DrawLog, mine: list[Logged], now_s: int) -> SourceState:
    chain, round_ = drand_round(log)
    deadline, released = drand.beacon_deadline(chain, round_), drand.round_time(chain, round_)
    if mine:
        value = bytes.fromhex(mine[0].body["beacon"]["randomness"])
        return SourceState("drand", "complete", deadline, value, round_, (), (mine[0].index,), released)
    state = "pending" if now_s <= deadline else "void"
    return SourceState("drand", state, deadline, round=round_, round_time=released)


def _ceremony_state(slot: model.SourceSlot, mine: list[Logged], now_s: int) -> SourceState:
    declared = ceremony.parse_declaration(slot.declaration)
    reveals = [ceremony.parse_reveal(e.body["reveal"], seconds(e.time_ms)) for e in mine]
    outcome = ceremony.ceremony_outcome(declared, reveals, now_s)
    indexes = tuple(e.index for e in mine)
    deadline = declared.reveal_deadline
    if isinstance(outcome, ceremony.CeremonyComplete):
        return SourceState("ceremony", "complete", deadline, outcome.value, entries=indexes)
    state = "pending" if isinstance(outcome, ceremony.CeremonyPending) else "void"
    return SourceState("ceremony", state, deadline, missing=outcome.missing, entries=indexes)


def _lottery_state(slot: model.SourceSlot, mine: list[Logged], now_s: int) -> SourceState:
    declared = lottery.parse_declaration(slot.declaration)
    results: list[Any] = mine[0].body["numbers"] if mine else [None] * len(declared.sources)
    outcome = lottery.lottery_outcome(declared, results, now_s)
    indexes = tuple(e.index for e in mine)
    if isinstance(outcome, lottery.LotteryComplete):
        return SourceState("lottery", "complete", declared.deadline, outcome.value, entries=indexes)
    state = "pending" if isinstance(outcome, lottery.LotteryPending) else "void"
    missing = tuple(sorted(f"source {i}" for i in outcome.missing))
    return SourceState("lottery", state, declared.deadline, missing=missing, entries=indexes)


# -- moving a draw on -----------------------------------------------------------------------------


def advance(service: Service, draw_id: str) -> None:
    """Move draw ``draw_id`` as far as it goes now (module docstring), holding its lease.

    Raises draws_store.BusyError if another writer holds the draw too long.
    """
    with draws_store.claimed(service, draw_id):
        advance_claimed(service, draw_id)


def advance_claimed(service: Service, draw_id: str) -> None:
    """:func:`advance` for a caller that holds the lease."""
    log = _reload(service, draw_id)
    if log.row.state == "pending-randomness":
        _settle_sources(service, log)
        log = _reload(service, draw_id)
    if log.row.state == "sealed" and reveal_due_ms(log) <= service.clock():
        reveal(service, log, None, None)


def _reload(service: Service, draw_id: str) -> DrawLog:
    log = draws_store.load(service, draw_id)
    if log is None:
        raise LookupError(f"draw: no draw {draw_id}")
    return log


def _settle_sources(service: Service, log: DrawLog) -> None:
    states = source_states(log, service.clock())
    void = next((s for s in states if s.state == "void"), None)
    if void is not None:
        detail = f"the {void.name} source is missing after its deadline {void.deadline}"
        void_draw(service, log, f"{void.name}-missing", detail, void.missing, None, None)
    elif all(s.state == "complete" for s in states):
        _seal(service, log, [s.value for s in states if s.value is not None])


def _seal(service: Service, log: DrawLog, values: list[bytes]) -> None:
    built = rebuild(service, log)
    try:
        result = engine.draw(built.commitment, built.objects, built.secret, values)
    except teams.Infeasible as exc:
        void_draw(service, log, "teams-infeasible", str(exc)[: entries_.MAX_DETAIL], (), None, None)
        return
    body = {"draw_id": log.draw_id, "commit": log.commit.index, "result_hash": result.hash.hex()}
    draws_store.append(service, log.draw_id, entries_.SEAL, body, payload=result.encoded)


def embargo_ms(embargo: str) -> int:
    """Return when a reveal with ``embargo`` (YYYY-MM-DD) is due: 00:00 of that date in UTC+8."""
    day = datetime.date.fromisoformat(embargo)
    return (day - datetime.date(1970, 1, 1)).days * 86_400_000 - BEIJING_OFFSET_MS


def reveal_due_ms(log: DrawLog) -> int:
    """Return when the reveal of ``log`` is due: :func:`embargo_ms`, or, for a draw published at once,
    the time of its seal if that is earlier (``draws_store`` keeps it in ``reveal_due_ms``)."""
    return int(log.row.reveal_due_ms)


def is_overdue(row: Any, now_ms: int) -> bool:
    """Report whether the draw of service row ``row`` is still unrevealed (and not void)
    REVEAL_GRACE_MS after its reveal was due."""
    return row.state in ("pending-randomness", "sealed") and now_ms > row.reveal_due_ms + REVEAL_GRACE_MS


def next_change_ms(row: Any, states: Sequence[SourceState], now_ms: int) -> int | None:
    """Return the first millisecond after ``now_ms`` at which :func:`is_overdue` of ``row`` or one of
    ``states`` (:func:`source_states` at ``now_ms``) changes with the clock alone, or None if none
    will: a pending source turns void once :func:`seconds` of the time passes its deadline, an
    unflagged draw becomes overdue once the time passes its due time and the grace."""
    bounds = [s.deadline * 1000 + 1 for s in states if s.state == "pending"]
    if row.state in ("pending-randomness", "sealed") and not is_overdue(row, now_ms):
        bounds.append(row.reveal_due_ms + REVEAL_GRACE_MS + 1)
    return min(bounds, default=None)


def reveal(service: Service, log: DrawLog, department: str | None, request: dict[str, str] | None) -> Receipt:
    """Append the reveal entry of sealed draw ``log``: the secret, the result record and the sealed
    replacement records go public (as blobs). Requires the lease and state ``sealed``."""
    result = _sealed_result(log)
    sealed = [e.payload for e in log.of_type(entries_.REPLACE) if e.body["record"] is None]
    records = [p for p in sealed if p is not None]
    seal = log.first(entries_.SEAL)
    body: dict[str, Any] = {
        "draw_id": log.draw_id,
        "commit": log.commit.index,
        "seal": seal.index if seal else None,
        "operator_secret": bytes(log.row.secret).hex(),
        "result": blobs.digest_of(result),
        "replacements": [blobs.digest_of(r) for r in records],
        "department": department,
    }
    if request is not None:
        body["request"] = request
    return draws_store.append(service, log.draw_id, entries_.REVEAL, body, blob_data=[result, *records])


def _sealed_result(log: DrawLog) -> bytes:
    if log.row.result is None:
        raise AssertionError(f"draw: sealed draw {log.draw_id} has no result")
    return bytes(log.row.result)


def void_draw(
    service: Service,
    log: DrawLog,
    reason: str,
    detail: str,
    missing: Sequence[str],
    department: str | None,
    request: dict[str, str] | None,
) -> Receipt:
    """Append the void entry of ``log`` with ``reason`` (a VOID_REASONS code). Requires the lease."""
    body: dict[str, Any] = {
        "draw_id": log.draw_id,
        "commit": log.commit.index,
        "reason": reason,
        "detail": detail,
        "missing": sorted(set(missing)),
        "department": department,
    }
    if request is not None:
        body["request"] = request
    return draws_store.append(service, log.draw_id, entries_.VOID, body)


# -- results and replacements ---------------------------------------------------------------------


def draw_result(log: DrawLog) -> engine.DrawResult:
    """Return the sealed result of ``log`` as the engine's DrawResult."""
    encoded = _sealed_result(log)
    parsed = engine.parse_result(encoded)
    return engine.DrawResult(
        parsed.seed,
        parsed.source_values,
        parsed.strata,
        parsed.assignment,
        encoded,
        engine.result_hash(encoded),
    )


def replacements(log: DrawLog) -> list[engine.Replacement]:
    """Return the draw's replacements, in ledger order."""
    return [
        engine.parse_replacement(e.payload) for e in log.of_type(entries_.REPLACE) if e.payload is not None
    ]


def replace(
    service: Service,
    log: DrawLog,
    object_id: str,
    reason: str,
    department: str,
    request: dict[str, str] | None,
) -> Receipt:
    """Append the replacement of selected object ``object_id`` for ``reason``. Requires the lease and
    state ``sealed`` or ``revealed``; before the reveal the record stays with the service. Raises
    ValueError (from ``engine.replace``) if the object is not selected now or nothing is left."""
    built = rebuild(service, log)
    prior = replacements(log)
    found = engine.replace(
        built.commitment, built.objects, built.secret, draw_result(log), prior, object_id, reason
    )
    revealed = log.row.state == "revealed"
    seal = log.first(entries_.SEAL)
    body: dict[str, Any] = {
        "draw_id": log.draw_id,
        "commit": log.commit.index,
        "seal": seal.index if seal else None,
        "sequence": len(prior) + 1,
        "reason": reason,
        "replacement_hash": found.hash.hex(),
        "record": blobs.digest_of(found.encoded) if revealed else None,
        "department": department,
    }
    if request is not None:
        body["request"] = request
    blob_data = [found.encoded] if revealed else []
    return draws_store.append(
        service, log.draw_id, entries_.REPLACE, body, payload=found.encoded, blob_data=blob_data
    )


def active_picks(log: DrawLog) -> list[engine_select.Pick]:
    """Return the picks selected now, as :func:`active_objects` lists them."""
    result = engine.parse_result(_sealed_result(log))
    prior = replacements(log)
    gone = {r.replaced for r in prior}
    picks = [p for s in result.strata for p in s.picks] + [r.pick for r in prior]
    return [p for p in picks if p.obj.id not in gone]
