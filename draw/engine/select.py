"""Tickets, selection, teams and replacement (docs/draw-spec.md §11-§14).

Every leaf of a stratum ``S`` gets a ticket, read as a 256-bit big-endian integer::

    ticket = SHA-256("fairdraw-draw/1 ticket" || 0x00 || seed || u32be(len(S)) || UTF-8(S) || leaf)

The stratum's leaves in ascending (ticket, leaf) order are its *ticket order*. The first k are
selected, and their place in it is their batch order (position 1 is inspected first). The j-th
replacement in a stratum takes position k + j. No modulo, no floating point, no language RNG: the
smallest tickets of uniformly random 256-bit values are a uniformly random k-subset in random order.

>>> seed = bytes(32)
>>> leaves = [bytes([i]) * 32 for i in range(5)]
>>> [leaves.index(leaf) for _, leaf in lowest_tickets(seed, "A", leaves, 3)]
[2, 3, 1]
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
import struct
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from draw.engine import commit as commitment_
from draw.engine import model, teams
from draw.engine import seed as seed_
from draw.engine.commit import Commitment, StratumPopulation
from draw.engine.model import InspectionObject, Matching
from ledger import jcs

REASONS = {
    "deregistered": "已注销",
    "revoked": "已吊销营业执照",
    "cancelled": "已撤销登记",
    "moved-out": "已迁出",
    "duplicate": "同一主体重复入库",
    "recently-inspected": "近期已被检查",
    "out-of-scope": "不属于本次抽查范围",
}
"""Reason codes of an object replacement (spec §14), with their Chinese labels."""

_Salter = Callable[[str], bytes]
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_TICKET_TAG = model.domain_tag("ticket")
_TEAMS_TAG = model.domain_tag("teams")
_REPLACEMENT_TEAMS_TAG = model.domain_tag("replacement-teams")
_RESULT_TAG = model.domain_tag("result")
_REPLACEMENT_TAG = model.domain_tag("replacement")


class Pick(NamedTuple):
    """One selected object: its place in the ticket order, its ticket, and the opening of its leaf."""

    position: int
    batch: int | None
    ticket: bytes
    leaf: bytes
    salt: bytes
    obj: InspectionObject


class StratumSelection(NamedTuple):
    """The selection in one stratum: N, k, and the k picks in ticket order."""

    stratum: str
    size: int
    k: int
    picks: tuple[Pick, ...]


class DrawResult(NamedTuple):
    """A draw's result: the seed, the selection, the teams, and the result record's bytes and hash."""

    seed: bytes
    source_values: tuple[bytes, ...]
    strata: tuple[StratumSelection, ...]
    assignment: teams.Assignment | None
    encoded: bytes
    hash: bytes


# ---------------------------------------------------------------------------
# Tickets (spec §11).


def ticket_prefix(seed: bytes, stratum: str) -> bytes:
    """Return the bytes every ticket of ``stratum`` starts its hash input with."""
    name = stratum.encode("utf-8")
    return _TICKET_TAG + seed + struct.pack(">I", len(name)) + name


def ticket(seed: bytes, stratum: str, leaf: bytes) -> bytes:
    """Return the 32-byte ticket of ``leaf`` in ``stratum`` under ``seed`` (spec §11.1)."""
    return hashlib.sha256(ticket_prefix(seed, stratum) + leaf).digest()


def lowest_tickets(
    seed: bytes, stratum: str, leaves: Sequence[bytes], count: int
) -> list[tuple[bytes, bytes]]:
    """Return the ``count`` first (ticket, leaf) pairs of the stratum's ticket order, ascending.

    Requires 0 <= count <= len(leaves). One SHA-256 per leaf; only tickets below a bound that
    leaves at least ``count`` of them (with overwhelming probability, else all) are kept and sorted,
    so memory and sorting are O(count). The answer is exact either way.
    """
    if not 0 <= count <= len(leaves):
        raise ValueError(f"draw: count {count} out of range for {len(leaves)} leaves")
    if count == 0:
        return []
    prefix, sha256 = ticket_prefix(seed, stratum), hashlib.sha256
    bound = _ticket_bound(count, len(leaves))
    kept = [(t, leaf) for leaf in leaves if (t := sha256(prefix + leaf).digest()) < bound]
    if len(kept) < count:
        kept = [(sha256(prefix + leaf).digest(), leaf) for leaf in leaves]
    kept.sort()
    del kept[count:]
    return kept


def _ticket_bound(count: int, size: int) -> bytes:
    # A ticket prefix bound b with P[fewer than `count` tickets below b] negligible: the count below
    # b is binomial with mean size·b/2^64; aim 8 standard deviations (plus 64) above `count`.
    want = count + 8 * math.isqrt(count) + 64
    if want >= size:
        return b"\xff" * 33
    return ((want << 64) // size).to_bytes(8, "big")


# ---------------------------------------------------------------------------
# The draw (spec §10-§13).


def draw(
    commitment: Commitment,
    objects: Sequence[InspectionObject],
    operator_secret: bytes,
    source_values: Sequence[bytes],
) -> DrawResult:
    """Return the result of a committed draw once every declared source has its value.

    ``objects`` and ``operator_secret`` are the ones the commitment was built from; ``source_values``
    are the sources' verified outputs, in declared order. Costs one SHA-256 per object plus the
    openings of the k selected objects and one ``teams.assign``. Raises ValueError on a wrong number
    of values, a changed population or a wrong secret; ``teams.Infeasible`` (a ValueError) when no
    teams satisfy the rules, which voids the draw ("teams-infeasible").
    """
    declared = len(commitment.request.sources)
    if len(source_values) != declared:
        raise ValueError(f"draw: {len(source_values)} source values for {declared} declared sources")
    if commitment_.secret_hash(operator_secret).hex() != commitment.record["secret_hash"]:
        raise ValueError("draw: operator secret does not match the commitment")
    seed = seed_.derive_seed(commitment.hash, source_values)
    salt = commitment_.salter(operator_secret)
    strata = tuple(_select(seed, population, objects, salt) for population in commitment.strata)
    matching = commitment.request.matching
    assignment = None if matching is None else assign_teams(seed, strata, matching)
    encoded = format_result(commitment.hash, source_values, seed, strata, assignment)
    return DrawResult(seed, tuple(source_values), strata, assignment, encoded, result_hash(encoded))


def _select(
    seed: bytes, population: StratumPopulation, objects: Sequence[InspectionObject], salt: _Salter
) -> StratumSelection:
    rule, leaves = population.rule, population.leaves
    chosen = lowest_tickets(seed, rule.stratum, leaves, population.k)
    picks = tuple(
        _open(position, rule.batch_size, t, leaf, population, objects, salt)
        for position, (t, leaf) in enumerate(chosen, 1)
    )
    return StratumSelection(rule.stratum, len(leaves), population.k, picks)


def _open(
    position: int,
    batch_size: int | None,
    ticket_: bytes,
    leaf: bytes,
    population: StratumPopulation,
    objects: Sequence[InspectionObject],
    salt: _Salter,
) -> Pick:
    # Open a selected leaf through the committed population, and check that it still opens it.
    obj = objects[population.origin[bisect.bisect_left(population.leaves, leaf)]]
    object_salt = salt(obj.id)
    if commitment_.leaf_commitment(object_salt, commitment_.encode_object(obj)) != leaf:
        raise ValueError(f"draw: object {obj.id!r} changed since the commitment")
    return Pick(position, batch_of(position, batch_size), ticket_, leaf, object_salt, obj)


def batch_of(position: int, batch_size: int | None) -> int | None:
    """Return the batch of the object at ``position`` (1-based): ceil(position / batch_size)."""
    return None if batch_size is None else -(-position // batch_size)


# ---------------------------------------------------------------------------
# Teams (spec §12).


def team_seed(seed: bytes) -> bytes:
    """Return the seed handed to ``teams.assign``: SHA-256("fairdraw-draw/1 teams" || 0x00 || seed)."""
    return hashlib.sha256(_TEAMS_TAG + seed).digest()


def targets(strata: Sequence[StratumSelection], items: tuple[str, ...]) -> list[teams.Target]:
    """Return the selected objects as matching targets, in the draw's batch order (spec §12).

    The batch order of the whole draw is every pick in ascending (ticket, leaf) order, whatever its
    stratum; ``order`` is the place in it, from 0.
    """
    picks = sorted((p for s in strata for p in s.picks), key=lambda p: (p.ticket, p.leaf))
    return [teams.Target(p.obj.id, p.obj.area, items, order) for order, p in enumerate(picks)]


def assign_teams(seed: bytes, strata: Sequence[StratumSelection], matching: Matching) -> teams.Assignment:
    """Return ``teams.assign`` over the draw's targets with the committed matching inputs.

    Raises teams.Infeasible when no assignment satisfies the rules.
    """
    return assign_targets(seed, targets(strata, matching.items), matching)


def assign_targets(seed: bytes, targets: list[teams.Target], matching: Matching) -> teams.Assignment:
    """Return ``teams.assign`` over ``targets`` (``targets(...)`` of the draw's selection) with the
    committed matching inputs and the team seed of ``seed``. Raises teams.Infeasible.
    """
    return teams.assign(
        targets,
        matching.inspectors,
        matching.rules,
        matching.exclusions,
        matching.history,
        team_seed(seed),
        matching.as_of,
    )


# ---------------------------------------------------------------------------
# The result record (spec §13).


def format_pick(pick: Pick) -> bytes:
    """Return the canonical JSON of one selected-object entry (spec §13)."""
    batch = "null" if pick.batch is None else str(pick.batch)
    return b"".join(
        (
            f'{{"batch":{batch},"leaf":"{pick.leaf.hex()}","position":{pick.position},"record":'.encode(),
            commitment_.encode_object(pick.obj),
            f',"salt":"{pick.salt.hex()}","ticket":"{pick.ticket.hex()}"}}'.encode(),
        )
    )


def format_result(
    commitment_hash: bytes,
    source_values: Sequence[bytes],
    seed: bytes,
    strata: Sequence[StratumSelection],
    assignment: teams.Assignment | None,
) -> bytes:
    """Return the canonical JSON of the result record (spec §13), written directly.

    Equal to ``jcs.canonicalize`` of the record; linear in its size.
    """
    sources = ",".join(f'"{v.hex()}"' for v in source_values)
    head = f'{{"commitment":"{commitment_hash.hex()}","seed":"{seed.hex()}","sources":[{sources}],'
    parts = [head.encode(), f'"spec":"{model.SPEC}","strata":['.encode()]
    for i, s in enumerate(strata):
        selected = b",".join(format_pick(p) for p in s.picks)
        name = jcs.canonicalize(s.stratum)
        parts += (b"," if i else b"", f'{{"k":{s.k},"selected":['.encode(), selected)
        parts += (f'],"size":{s.size},"stratum":'.encode(), name, b"}")
    teams_json = b"null" if assignment is None else teams.encode_assignment(assignment)
    parts += (b'],"teams":', teams_json, b"}")
    return b"".join(parts)


def result_hash(encoded: bytes) -> bytes:
    """Return SHA-256("fairdraw-draw/1 result" || 0x00 || encoded): what the sealed entry carries."""
    return hashlib.sha256(_RESULT_TAG + encoded).digest()


class ResultRecord(NamedTuple):
    """A parsed result record (spec §13)."""

    commitment: bytes
    seed: bytes
    source_values: tuple[bytes, ...]
    strata: tuple[StratumSelection, ...]
    assignment: teams.Assignment | None


_RESULT_KEYS = frozenset(("commitment", "seed", "sources", "spec", "strata", "teams"))
_SELECTION_KEYS = frozenset(("k", "selected", "size", "stratum"))
_PICK_KEYS = frozenset(("batch", "leaf", "position", "record", "salt", "ticket"))


def parse_result(data: bytes) -> ResultRecord:
    """Parse a result record strictly: JSON with exactly the members of spec §13, and
    ``format_result`` of what was read gives ``data`` back (so ``data`` is canonical).
    Raises ValueError naming the member.

    Picks, their object records and teams are parsed as the JSON parser meets them, so that no
    tree of their JSON objects is built up (for 30,000 picks, hundreds of thousands of objects the
    garbage collector would walk); a record that does not parse that way is read again the plain
    way, whose error names the problem.
    """
    try:
        return _read_result(model.load_json(data, _parse_early), data, _parsed_pick, _parsed_team)
    except ValueError:
        pass
    return _read_result(model.load_json(data), data, _parse_pick, teams.Team.from_record)


def _read_result(
    value: object, data: bytes, pick: Callable[[object, str], Pick], team: Callable[[object], teams.Team]
) -> ResultRecord:
    # parse_result once the JSON is read; ``pick`` and ``team`` parse the entries of those kinds.
    r = model.record_members(value, _RESULT_KEYS, "result")
    if r["spec"] != model.SPEC:
        raise ValueError(f"draw: result.spec: {r['spec']!r}, want {model.SPEC!r}")
    listed = model.record_list(r["sources"], "result.sources")
    values = tuple(_parse_value(v, i) for i, v in enumerate(listed))
    listed = model.record_list(r["strata"], "result.strata")
    strata = tuple(_parse_selection(s, i, pick) for i, s in enumerate(listed))
    assignment = None if r["teams"] is None else teams.Assignment.from_record(r["teams"], team)
    commitment = commitment_.parse_hex(r["commitment"], "result.commitment")
    seed = commitment_.parse_hex(r["seed"], "result.seed")
    if format_result(commitment, values, seed, strata, assignment) != data:
        raise ValueError("draw: result: does not round-trip")
    return ResultRecord(commitment, seed, values, strata, assignment)


_OBJECT_RECORD_KEYS = frozenset(model.object_record(InspectionObject("x", "x", "x", "x")))
_TEAM_KEYS = frozenset(teams.Team("x", 0, (), "x").to_record())


def _parse_early(obj: dict[str, Any]) -> object:
    # Parse a JSON object of a pick, an object record or a team as soon as it is read (the members
    # decide which it is: no other object of a result record has the same); keep any other.
    keys = obj.keys()
    if keys == _OBJECT_RECORD_KEYS:
        return model.parse_object_record(obj)
    if keys == _PICK_KEYS:
        return _parse_pick(obj, "pick", _parsed_object)
    if keys == _TEAM_KEYS:
        return teams.Team.from_record(obj)
    return obj


def opened_objects(data: bytes) -> list[list[InspectionObject]]:
    """Return the object record of every pick of a result record, stratum by stratum, as objects
    that are not checked: for comparing ``data`` with a result recomputed around them.

    Reads the JSON once and keeps no tree of it (teams are dropped as they are read). Raises
    ValueError unless ``data`` is JSON with ``strata`` of picks whose ``record`` has the members of
    an object record.
    """
    strata = model.record_members(model.load_json(data, _keep_records), _RESULT_KEYS, "result")["strata"]
    opened = [model.record_members(s, _SELECTION_KEYS, "selection")["selected"] for s in strata]
    if not all(type(obj) is InspectionObject for objects in opened for obj in objects):
        raise ValueError("draw: result: a pick without an object record")
    return opened


def _keep_records(obj: dict[str, Any]) -> object:
    # An object record as an unchecked object and a pick as its record; teams dropped; others kept.
    keys = obj.keys()
    if keys == _OBJECT_RECORD_KEYS:
        fields = obj["id"], obj["name"], obj["area"], obj["stratum"]
        return InspectionObject(*fields, tuple(model.record_list(obj["tags"], "tags")), obj["last_inspected"])
    if keys == _PICK_KEYS:
        return obj["record"]
    return None if keys == _TEAM_KEYS else obj


def _parsed_object(value: object, field: str) -> InspectionObject:
    if type(value) is not InspectionObject:
        raise ValueError(f"draw: {field}: want an object record")
    return value


def _parsed_pick(value: object, field: str) -> Pick:
    if type(value) is not Pick:
        raise ValueError(f"draw: {field}: want a pick")
    return value


def _parsed_team(value: object) -> teams.Team:
    if type(value) is not teams.Team:
        raise ValueError("teams: team: want a team record")
    return value


def _parse_value(value: object, index: int) -> bytes:
    limit = seed_.MAX_VALUE_SIZE
    if not (isinstance(value, str) and _HEX.fullmatch(value) and len(value) <= 2 * limit):
        raise ValueError(f"draw: result.sources[{index}]: want 1..{limit} bytes in lowercase hex")
    return bytes.fromhex(value)


def _parse_selection(value: object, index: int, pick: Callable[[object, str], Pick]) -> StratumSelection:
    field = f"result.strata[{index}]"
    r = model.record_members(value, _SELECTION_KEYS, field)
    model.check_text(r["stratum"], f"{field}.stratum", 64)
    for member in ("size", "k"):
        model.check_count(r[member], f"{field}.{member}")
    listed = model.record_list(r["selected"], f"{field}.selected")
    picks = tuple(pick(p, f"{field}.selected[{i}]") for i, p in enumerate(listed))
    return StratumSelection(r["stratum"], r["size"], r["k"], picks)


def _parse_pick(
    value: object, field: str, record: Callable[[object, str], InspectionObject] = model.parse_object_record
) -> Pick:
    r = model.record_members(value, _PICK_KEYS, field)
    model.check_count(r["position"], f"{field}.position", low=1)
    if r["batch"] is not None:
        model.check_count(r["batch"], f"{field}.batch", low=1)
    obj = record(r["record"], f"{field}.record")
    leaf = commitment_.parse_hex(r["leaf"], f"{field}.leaf")
    salt = commitment_.parse_hex(r["salt"], f"{field}.salt")
    ticket_ = commitment_.parse_hex(r["ticket"], f"{field}.ticket")
    return Pick(r["position"], r["batch"], ticket_, leaf, salt, obj)


# ---------------------------------------------------------------------------
# Replacement (spec §14).


class Replacement(NamedTuple):
    """The j-th replacement in a stratum: who leaves, why, who takes the place, and their team.

    ``result`` is the hash of the result record it follows.
    """

    result: bytes
    stratum: str
    sequence: int
    replaced: str
    reason: str
    pick: Pick
    assignment: teams.Assignment | None
    encoded: bytes
    hash: bytes


def replace(
    commitment: Commitment,
    objects: Sequence[InspectionObject],
    operator_secret: bytes,
    result: DrawResult,
    prior: Sequence[Replacement],
    replaced: str,
    reason: str,
) -> Replacement:
    """Return the replacement of the selected object ``replaced``, for ``reason`` (a REASONS code).

    ``prior`` are the draw's earlier replacements, in order. The j-th replacement in a stratum takes
    the object at position k + j of its ticket order and the replaced object's batch; its team is
    ``teams.assign`` for that one object under ``replacement_team_seed``. Raises ValueError if the
    object is not (or no longer) selected, the reason is unknown or the stratum has no object left.
    """
    if reason not in REASONS:
        raise ValueError(f"draw: reason: {reason!r} not one of {', '.join(REASONS)}")
    selection, leaving = active_pick(result, prior, replaced)
    population = next(p for p in commitment.strata if p.rule.stratum == selection.stratum)
    sequence = 1 + sum(r.stratum == selection.stratum for r in prior)
    position = selection.k + sequence
    if position > selection.size:
        raise ValueError(f"draw: stratum {selection.stratum!r} has no object left to draw")
    ticket_, leaf = lowest_tickets(result.seed, selection.stratum, population.leaves, position)[-1]
    salt = commitment_.salter(operator_secret)
    pick = _open(position, None, ticket_, leaf, population, objects, salt)._replace(batch=leaving.batch)
    matching = commitment.request.matching
    assignment = None if matching is None else assign_replacement_team(result.seed, pick, matching)
    args = (selection.stratum, sequence, replaced, reason, pick, assignment)
    encoded = format_replacement(result.hash, *args)
    return Replacement(result.hash, *args, encoded, replacement_hash(encoded))


def active_pick(
    result: DrawResult | ResultRecord, prior: Sequence[Replacement], object_id: str
) -> tuple[StratumSelection, Pick]:
    """Return the stratum selection and the pick of ``object_id`` if it is selected now (drawn, or
    brought in by one of the ``prior`` replacements, and not replaced since). Raises ValueError.
    """
    gone = {r.replaced for r in prior}
    for selection in result.strata:
        active = [*selection.picks, *(r.pick for r in prior if r.stratum == selection.stratum)]
        for pick in active:
            if pick.obj.id == object_id and object_id not in gone:
                return selection, pick
    raise ValueError(f"draw: replaced: {object_id!r} is not a selected object (or was replaced already)")


def replacement_team_seed(seed: bytes, leaf: bytes) -> bytes:
    """Return SHA-256("fairdraw-draw/1 replacement-teams" || 0x00 || seed || leaf)."""
    return hashlib.sha256(_REPLACEMENT_TEAMS_TAG + seed + leaf).digest()


def assign_replacement_team(seed: bytes, pick: Pick, matching: Matching) -> teams.Assignment:
    """Return the team of a replacement: ``teams.assign`` for the one object, order 0."""
    return teams.assign(
        [teams.Target(pick.obj.id, pick.obj.area, matching.items, 0)],
        matching.inspectors,
        matching.rules,
        matching.exclusions,
        matching.history,
        replacement_team_seed(seed, pick.leaf),
        matching.as_of,
    )


def format_replacement(
    result_hash_: bytes,
    stratum: str,
    sequence: int,
    replaced: str,
    reason: str,
    pick: Pick,
    assignment: teams.Assignment | None,
) -> bytes:
    """Return the canonical JSON of a replacement record (spec §14)."""
    head = jcs.canonicalize({"reason": reason, "replaced": replaced})[:-1]
    tail = jcs.canonicalize(
        {
            "result": result_hash_.hex(),
            "sequence": sequence,
            "spec": model.SPEC,
            "stratum": stratum,
            "teams": None if assignment is None else assignment.to_record(),
        }
    )[1:]
    return head + b',"replacement":' + format_pick(pick) + b"," + tail


def replacement_hash(encoded: bytes) -> bytes:
    """Return SHA-256("fairdraw-draw/1 replacement" || 0x00 || encoded)."""
    return hashlib.sha256(_REPLACEMENT_TAG + encoded).digest()


_REPLACEMENT_KEYS = frozenset(
    ("reason", "replaced", "replacement", "result", "sequence", "spec", "stratum", "teams")
)


def parse_replacement(data: bytes) -> Replacement:
    """Parse a replacement record strictly (spec §14); the inverse of ``format_replacement``.

    Raises ValueError naming the member.
    """
    r = model.record_members(jcs.loads_canonical(data), _REPLACEMENT_KEYS, "replacement")
    if r["spec"] != model.SPEC:
        raise ValueError(f"draw: replacement.spec: {r['spec']!r}, want {model.SPEC!r}")
    if r["reason"] not in REASONS:
        raise ValueError(f"draw: replacement.reason: {r['reason']!r} not one of {', '.join(REASONS)}")
    model.check_text(r["replaced"], "replacement.replaced", 160)
    model.check_text(r["stratum"], "replacement.stratum", 64)
    model.check_count(r["sequence"], "replacement.sequence", low=1)
    pick = _parse_pick(r["replacement"], "replacement.replacement")
    assignment = None if r["teams"] is None else teams.Assignment.from_record(r["teams"])
    result = commitment_.parse_hex(r["result"], "replacement.result")
    args = (r["stratum"], r["sequence"], r["replaced"], r["reason"], pick, assignment)
    if format_replacement(result, *args) != data:
        raise ValueError("draw: replacement: does not round-trip")
    return Replacement(result, *args, data, replacement_hash(data))
