"""The pure draw engine of docs/draw-spec.md (``fairdraw-draw/1``).

No database, no web, no clock and no operating-system randomness: the operator secret, the
sources' values and every date come in as arguments. A draw goes

1. ``commit_draw(request, objects, operator_secret[, executor]) -> Commitment``: checks the request
   (ValueError naming the field), salts and commits every object, builds the commitment record and
   its blobs;
2. ``draw(commitment, objects, operator_secret, source_values) -> DrawResult``: the seed, the
   tickets, the selection per stratum, the teams, the result record and its hash (the seal);
3. ``replace(commitment, objects, operator_secret, result, prior, replaced, reason) -> Replacement``;
4. ``verify_draw(commitment_bytes, blobs, source_values, operator_secret, result_bytes, sealed_hash,
   replacements[, executor])``: recomputes everything from public data and raises
   ``DrawVerificationError`` naming the first failed check.

``commit_draw`` and ``verify_draw`` take an optional ``executor``: given a process pool, they hash
the stratum roots (two of the SHA-256 per object) on it while they go on with the rest; the bytes
and verdicts are the same with or without one. Concurrency, like time and randomness, is passed in.

The package names ``commit`` and ``verify`` are the modules; their entry points are
``commit_draw`` and ``verify_draw``. The randomness sources (``drand``, ``ceremony``, ``lottery``)
and the inspector side (``teams``) are sibling modules with their own spec parts.
"""

from draw.engine.commit import (
    Commitment,
    commit_draw,
    derive_salt,
    leaf_commitment,
    parse_commitment,
    secret_hash,
    stratum_root,
)
from draw.engine.model import (
    SPEC,
    DrawRequest,
    InspectionObject,
    Matching,
    SourceSlot,
    StratumRule,
    make_object,
    make_rule,
    sample_size,
)
from draw.engine.seed import derive_seed
from draw.engine.select import (
    REASONS,
    DrawResult,
    Replacement,
    draw,
    lowest_tickets,
    parse_replacement,
    parse_result,
    replace,
    result_hash,
    ticket,
)
from draw.engine.uscc import check_org_code, check_regno, check_uscc, object_id_kind
from draw.engine.verify import DrawVerificationError, verify_draw

__all__ = [
    "REASONS",
    "SPEC",
    "Commitment",
    "DrawRequest",
    "DrawResult",
    "DrawVerificationError",
    "InspectionObject",
    "Matching",
    "Replacement",
    "SourceSlot",
    "StratumRule",
    "check_org_code",
    "check_regno",
    "check_uscc",
    "commit_draw",
    "derive_salt",
    "derive_seed",
    "draw",
    "leaf_commitment",
    "lowest_tickets",
    "make_object",
    "make_rule",
    "object_id_kind",
    "parse_commitment",
    "parse_replacement",
    "parse_result",
    "replace",
    "result_hash",
    "sample_size",
    "secret_hash",
    "stratum_root",
    "ticket",
    "verify_draw",
]
