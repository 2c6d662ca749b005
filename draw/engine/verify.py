"""End-to-end verification of a draw (docs/draw-spec.md §15).

``verify_draw`` recomputes a draw from public data — the commitment record, the blobs it names, the
sources' values, the revealed operator secret and the result record — and compares every byte.
The result is first recomputed around the object records it opens and compared whole; only when
the bytes differ are the checks run one at a time. Any difference raises one exception type,
:class:`DrawVerificationError`, whose ``reason`` names the first check that failed (spec §15 lists
them in order), e.g. ``seed mismatch``. The replacement records that follow a result are checked
the same way, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from typing import TypeVar

from draw.engine import commit as commitment_
from draw.engine import model, select, teams
from draw.engine import seed as seed_
from draw.engine.commit import CommitmentRecord, StratumEntry
from draw.engine.model import InspectionObject, Matching
from ledger import jcs

_V = TypeVar("_V")


class DrawVerificationError(Exception):
    """A draw does not verify. ``reason`` names the first failed check (spec §15)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid draw: {reason}")
        self.reason = reason


class _Roots:
    """The stratum roots (check 7), each computed on an executor while the later checks run.

    ``settle`` compares those submitted so far, in order. The check of a stratum's root comes
    before every check after it, so when the later checks end, passed or failed, a root mismatch
    is what is reported; without an executor each root is compared at once.
    """

    def __init__(self, executor: Executor | None) -> None:
        self.executor = executor
        self.pending: list[tuple[Future[bytes], bytes]] = []

    def check(self, leaves: list[bytes], blob: bytes, root: bytes) -> None:
        self.pending.append((commitment_.submit_root(self.executor, leaves, blob), root))
        if self.executor is None:
            self.settle()

    def settle(self) -> None:
        pending, self.pending = self.pending, []
        for future, root in pending:
            if future.result() != root:
                raise DrawVerificationError("root mismatch") from None


class _Public:
    """The commitment as read back: the record, its hash, each stratum's leaves, the matching inputs."""

    def __init__(self, record: CommitmentRecord, digest: bytes) -> None:
        self.record = record
        self.hash = digest
        self.leaves: list[list[bytes]] = []
        self.matching: Matching | None = None


def verify_draw(
    commitment: bytes,
    blobs: Mapping[str, bytes],
    source_values: Sequence[bytes],
    operator_secret: bytes,
    result: bytes,
    sealed_hash: bytes | None = None,
    replacements: Sequence[bytes] = (),
    executor: Executor | None = None,
) -> None:
    """Check a draw end to end; return None or raise DrawVerificationError naming what differs.

    ``blobs`` maps each address the commitment names to its bytes; ``source_values`` are the
    sources' verified outputs in declared order; ``sealed_hash`` (optional) is the result hash the
    sealed entry carries; ``replacements`` are the draw's replacement records, in order. Costs
    about two SHA-256 per object for the leaf lists and roots, one per object for the tickets, the
    openings of the selected objects, one JSON parse of the result and one ``teams.assign`` (plus
    one per replacement); a result that differs from the recomputed one is then parsed and checked
    again one check at a time. Given an ``executor`` (a process pool), the roots (two of those
    SHA-256 per object) are computed on it beside the rest; the outcome is the same either way.
    """
    roots = _Roots(executor)
    try:
        public = _read_commitment(commitment, blobs, operator_secret, roots)
        if sealed_hash is not None and select.result_hash(result) != sealed_hash:
            raise DrawVerificationError("sealed hash mismatch")
        salt = commitment_.salter(operator_secret)
        got = _recomputed(result, public, source_values, salt) or _check_result(
            result, public, source_values, salt
        )
        prior: list[select.Replacement] = []
        for data in replacements:
            prior.append(_check_replacement(data, public, got, select.result_hash(result), prior, salt))
    except DrawVerificationError:
        roots.settle()
        raise
    roots.settle()


def _check_result(
    result: bytes, public: _Public, source_values: Sequence[bytes], salt: Callable[[str], bytes]
) -> select.ResultRecord:
    """Check the result record against the commitment one check at a time (spec §15, 12-22) and
    return it parsed. Raises DrawVerificationError naming the first check that fails.
    """
    got = _guard("result malformed", select.parse_result, result)
    if got.commitment != public.hash:
        raise DrawVerificationError("commitment mismatch")
    if list(got.source_values) != list(source_values) or len(source_values) != len(public.record.sources):
        raise DrawVerificationError("source mismatch")
    if got.seed != _guard("source mismatch", seed_.derive_seed, public.hash, source_values):
        raise DrawVerificationError("seed mismatch")
    committed = [(e.rule.stratum, e.size, e.k) for e in public.record.strata]
    if [(s.stratum, s.size, s.k) for s in got.strata] != committed:
        raise DrawVerificationError("strata mismatch")
    for selection, entry, leaves in zip(got.strata, public.record.strata, public.leaves, strict=True):
        _check_selection(got.seed, selection, entry, leaves, salt)
    _check_teams(got, public.matching)
    return got


# ---------------------------------------------------------------------------
# Compute, then compare: the result recomputed from the commitment and the records it opens.


class _Differs(Exception):
    """The result is not the recomputed one; ``_check_result`` then names the difference."""


def _recomputed(
    result: bytes, public: _Public, source_values: Sequence[bytes], salt: Callable[[str], bytes]
) -> select.ResultRecord | None:
    """Return the result record if ``result`` is byte for byte the one recomputed, else None.

    Recomputed are the seed, every selection (tickets, positions, batches), the salts and the
    teams (whose rules ``teams.check_rules`` checks as well); only the object records are read from
    ``result``, and each must be valid and open its leaf. Equal bytes pass checks 12-22 of spec §15
    at once, as ``format_result`` writes canonical JSON that ``parse_result`` reads back. Costs one
    JSON parse of ``result``, the tickets, the openings and one ``teams.assign``.
    """
    try:
        opened = _opened_records(result, len(public.record.strata))
        if len(source_values) != len(public.record.sources):
            raise _Differs
        seed = seed_.derive_seed(public.hash, source_values)
        strata = tuple(
            _recomputed_selection(seed, objects, entry, leaves, salt)
            for objects, entry, leaves in zip(opened, public.record.strata, public.leaves, strict=True)
        )
        assignment = _recomputed_teams(seed, strata, public.matching)
    except (_Differs, ValueError):
        return None
    encoded = select.format_result(public.hash, source_values, seed, strata, assignment)
    return (
        select.ResultRecord(public.hash, seed, tuple(source_values), strata, assignment)
        if encoded == result
        else None
    )


def _opened_records(result: bytes, count: int) -> list[list[InspectionObject]]:
    # The object records of each stratum's picks, checked as objects (spec §4). Raises _Differs when
    # ``result`` is not JSON of that shape with ``count`` strata or a record is not a valid object.
    try:
        opened = select.opened_objects(result)
    except (TypeError, ValueError):
        raise _Differs from None
    every = [obj for objects in opened for obj in objects]
    if len(opened) != count or not (model.are_plain_objects(every) or _all_valid(every)):
        raise _Differs
    return opened


def _all_valid(objects: list[InspectionObject]) -> bool:
    try:
        for obj in objects:
            model.check_object(obj)
    except ValueError:
        return False
    return True


def _recomputed_selection(
    seed: bytes,
    objects: list[InspectionObject],
    entry: StratumEntry,
    leaves: list[bytes],
    salt: Callable[[str], bytes],
) -> select.StratumSelection:
    # The stratum's selection with the records read; raises _Differs unless each opens its leaf.
    stratum, batch_size = entry.rule.stratum, entry.rule.batch_size
    want = select.lowest_tickets(seed, stratum, leaves, entry.k)
    if len(objects) != len(want):
        raise _Differs
    picks = tuple(
        select.Pick(position, select.batch_of(position, batch_size), ticket, leaf, salt(obj.id), obj)
        for position, ((ticket, leaf), obj) in enumerate(zip(want, objects, strict=True), 1)
    )
    if not all(_opens(pick, stratum) for pick in picks):
        raise _Differs
    return select.StratumSelection(stratum, entry.size, entry.k, picks)


def _recomputed_teams(
    seed: bytes, strata: Sequence[select.StratumSelection], matching: Matching | None
) -> teams.Assignment | None:
    # The teams of the recomputed selection, their rules checked; raises _Differs if there are none.
    if matching is None:
        return None
    try:
        targets = select.targets(strata, matching.items)
        assignment = select.assign_targets(seed, targets, matching)
        _check_assignment(assignment, targets, matching, select.team_seed(seed), want=assignment)
    except (DrawVerificationError, ValueError):
        raise _Differs from None
    return assignment


# ---------------------------------------------------------------------------
# Replacements (spec §14).


def _check_replacement(
    data: bytes,
    public: _Public,
    got: select.ResultRecord,
    result_hash: bytes,
    prior: list[select.Replacement],
    salt: Callable[[str], bytes],
) -> select.Replacement:
    rep = _guard("replacement malformed", select.parse_replacement, data)
    if rep.result != result_hash:
        raise DrawVerificationError("replacement result mismatch")
    selection, leaving = _guard("replaced object not selected", select.active_pick, got, prior, rep.replaced)
    index = [s.stratum for s in got.strata].index(selection.stratum)
    if rep.stratum != selection.stratum or rep.sequence != 1 + sum(r.stratum == rep.stratum for r in prior):
        raise DrawVerificationError("replacement sequence mismatch")
    position = selection.k + rep.sequence
    leaves = public.leaves[index]
    if position > len(leaves):
        raise DrawVerificationError("replacement mismatch")
    want = select.lowest_tickets(got.seed, rep.stratum, leaves, position)[-1]
    pick = rep.pick
    if (pick.ticket, pick.leaf, pick.position, pick.batch) != (*want, position, leaving.batch):
        raise DrawVerificationError("replacement mismatch")
    _check_opening(rep.pick, rep.stratum, salt)
    _check_replacement_team(rep, got.seed, public.matching)
    return rep


def _check_replacement_team(rep: select.Replacement, seed: bytes, matching: Matching | None) -> None:
    target = teams.Target(rep.pick.obj.id, rep.pick.obj.area, matching.items, 0) if matching else None
    seed = select.replacement_team_seed(seed, rep.pick.leaf)
    _check_assignment(rep.assignment, [target] if target else [], matching, seed)


def _read_commitment(
    commitment: bytes, blobs: Mapping[str, bytes], operator_secret: bytes, roots: _Roots
) -> _Public:
    """Parse a commitment and check it against its blobs and the revealed secret (spec §15, 1-10).

    Raises DrawVerificationError: commitment malformed, secret mismatch, blob missing, blob
    mismatch, leaf list malformed, stratum size mismatch, root mismatch (or leaves the root to
    ``roots``), sample size mismatch, records mismatch, matching inputs malformed.
    """
    record = _guard("commitment malformed", commitment_.parse_commitment, commitment)
    public = _Public(record, commitment_.commitment_hash(commitment))
    if _guard("secret mismatch", commitment_.secret_hash, operator_secret) != record.secret_hash:
        raise DrawVerificationError("secret mismatch")
    salt = commitment_.salter(operator_secret)
    for entry in record.strata:
        public.leaves.append(_check_stratum(entry, blobs, salt, roots))
    if record.matching is not None:
        m = record.matching
        inspectors = _record_list(blobs, m.inspectors, teams.Inspector.from_record)
        exclusions = _record_list(blobs, m.exclusions, teams.Exclusion.from_record)
        history = _record_list(blobs, m.history, teams.PastInspection.from_record)
        lists = (tuple(exclusions), tuple(history))
        public.matching = Matching(m.items, tuple(inspectors), m.rules, m.as_of, *lists)
    return public


def _guard(reason: str, f: Callable[..., _V], *args: object) -> _V:
    # Call a parser or helper; turn its ValueError into the named verification failure.
    try:
        return f(*args)
    except ValueError:
        raise DrawVerificationError(reason) from None


def _blob(blobs: Mapping[str, bytes], address: str) -> bytes:
    blob = blobs.get(address)
    if blob is None:
        raise DrawVerificationError("blob missing")
    if commitment_.blob_address(blob) != address:
        raise DrawVerificationError("blob mismatch")
    return blob


def _check_stratum(
    entry: StratumEntry, blobs: Mapping[str, bytes], salt: Callable[[str], bytes], roots: _Roots
) -> list[bytes]:
    blob = _blob(blobs, entry.leaves)
    leaves = _guard("leaf list malformed", commitment_.parse_leaves, blob)
    if len(leaves) != entry.size:
        raise DrawVerificationError("stratum size mismatch")
    roots.check(leaves, blob, entry.root)
    if model.sample_size(entry.rule, entry.size) != entry.k:
        raise DrawVerificationError("sample size mismatch")
    if entry.records is not None:
        _check_records(_blob(blobs, entry.records), entry.rule.stratum, leaves, salt)
    return leaves


def _check_records(blob: bytes, stratum: str, leaves: list[bytes], salt: Callable[[str], bytes]) -> None:
    # Full disclosure: the i-th record, salted as derived from the secret, opens the i-th leaf.
    records = _guard("records mismatch", jcs.loads_canonical, blob)
    if not isinstance(records, list) or len(records) != len(leaves):
        raise DrawVerificationError("records mismatch")
    for record, leaf in zip(records, leaves, strict=True):
        obj = _guard("records mismatch", model.parse_object_record, record)
        encoded = commitment_.encode_object(obj)
        if obj.stratum != stratum or commitment_.leaf_commitment(salt(obj.id), encoded) != leaf:
            raise DrawVerificationError("records mismatch")


def _record_list(blobs: Mapping[str, bytes], address: str, parse: Callable[[object], _V]) -> list[_V]:
    return _guard("matching inputs malformed", commitment_.parse_record_list, _blob(blobs, address), parse)


def _check_selection(
    seed: bytes,
    selection: select.StratumSelection,
    entry: StratumEntry,
    leaves: list[bytes],
    salt: Callable[[str], bytes],
) -> None:
    want = select.lowest_tickets(seed, entry.rule.stratum, leaves, entry.k)
    if [p.leaf for p in selection.picks] != [leaf for _, leaf in want]:
        raise DrawVerificationError("selection mismatch")
    if [p.ticket for p in selection.picks] != [t for t, _ in want]:
        raise DrawVerificationError("ticket mismatch")
    for position, pick in enumerate(selection.picks, 1):
        if (pick.position, pick.batch) != (position, select.batch_of(position, entry.rule.batch_size)):
            raise DrawVerificationError("batch mismatch")
        _check_opening(pick, entry.rule.stratum, salt)


def _check_opening(pick: select.Pick, stratum: str, salt: Callable[[str], bytes]) -> None:
    if pick.salt != salt(pick.obj.id):
        raise DrawVerificationError("salt mismatch")
    if not _opens(pick, stratum):
        raise DrawVerificationError("opening mismatch")


def _opens(pick: select.Pick, stratum: str) -> bool:
    # Whether the pick's record is of the stratum and, with the pick's salt, opens its leaf (§6.2).
    leaf = commitment_.leaf_commitment(pick.salt, commitment_.encode_object(pick.obj))
    return leaf == pick.leaf and pick.obj.stratum == stratum


def _check_teams(got: select.ResultRecord, matching: Matching | None) -> None:
    targets = select.targets(got.strata, matching.items) if matching else []
    _check_assignment(got.assignment, targets, matching, select.team_seed(got.seed))


def _check_assignment(
    assignment: teams.Assignment | None,
    targets: list[teams.Target],
    matching: Matching | None,
    seed: bytes,
    want: teams.Assignment | None = None,
) -> None:
    # Matching spec §12 for these targets; no assignment exactly when there are no matching inputs.
    # ``want``, if given, is what teams.assign gave for them (see teams.check_assignment).
    if matching is None or assignment is None:
        if (matching is None) != (assignment is None):
            raise DrawVerificationError("teams mismatch")
        return
    try:
        teams.check_assignment(
            assignment,
            targets,
            matching.inspectors,
            matching.rules,
            matching.exclusions,
            matching.history,
            seed,
            matching.as_of,
            want,
        )
    except (teams.AssignmentError, ValueError):
        raise DrawVerificationError("teams mismatch") from None
