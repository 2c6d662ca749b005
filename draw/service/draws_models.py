"""The JSON bodies of the draw endpoints (docs/api.md § Draws): requests and responses.

Their JSON Schemas go into the OpenAPI document; the draw request itself is
``draws_inputs.DrawIn``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from draw.service import draws_entries as entries_
from draw.service.publishing import ApiModel

_HEX32 = "^[0-9a-f]{64}$"

# -- response models ------------------------------------------------------------------------------

_State = Literal["pending-randomness", "sealed", "revealed", "void"]


class DrawReceipt(ApiModel):
    """An entry a POST appended, with its c2sp.org/tlog-proof@v1 receipt, and the draw's state after it."""

    draw_id: str
    state: _State
    index: int = pydantic.Field(ge=0)
    leaf_hash: str = pydantic.Field(description="base64 of the entry's RFC 9162 leaf hash")
    tlog_proof: str = pydantic.Field(description="c2sp.org/tlog-proof@v1 text")


class DrawCreated(DrawReceipt):
    """The commitment entry of a new draw, and the drand round the draw waits for."""

    drand_round: int = pydantic.Field(ge=1)
    drand_round_time: int = pydantic.Field(description="Unix time (seconds) the round is released")


class StratumOut(ApiModel):
    """A stratum as committed: its name, size and sample size."""

    stratum: str
    size: int
    k: int


class SourceOut(ApiModel):
    """A declared randomness source and how far it is."""

    name: Literal["drand", "ceremony", "lottery"]
    state: Literal["pending", "complete", "void"]
    deadline: int = pydantic.Field(
        description="Unix time (seconds) after which a missing value voids the draw"
    )
    round: int | None = pydantic.Field(description="the drand round (drand only)")
    round_time: int | None = pydantic.Field(description="Unix time the round is released (drand only)")
    missing: list[str] = pydantic.Field(description="ceremony participants or lottery sources still missing")
    entries: list[int] = pydantic.Field(description="ledger indexes of the source's draw.randomness entries")


class VoidOut(ApiModel):
    """Why a draw is void."""

    index: int
    reason: Literal["drand-missing", "ceremony-missing", "lottery-missing", "teams-infeasible", "withdrawn"]
    detail: str
    missing: list[str]


class ReplacementOut(ApiModel):
    """A replacement as the ledger shows it."""

    index: int
    sequence: int
    reason: str
    replacement_hash: str
    record: str | None = pydantic.Field(description="blob digest of the record; null until the reveal")


class DrawStatus(ApiModel):
    """A draw's public status: its state machine and every entry of it."""

    draw_id: str
    department: str
    task: int | None
    state: _State
    overdue: bool = pydantic.Field(description="unrevealed more than 10 minutes after the reveal was due")
    commit: int = pydantic.Field(description="ledger index of the draw.commit entry")
    committed_ms: int
    commitment_hash: str
    disclosure: Literal["confidential", "full"]
    embargo: str
    publish: Literal["embargo", "immediately"]
    reveal_due_ms: int
    inspection_end: str
    strata: list[StratumOut]
    sources: list[SourceOut]
    seal: int | None
    result_hash: str | None
    reveal: int | None
    void: VoidOut | None
    replacements: list[ReplacementOut]


class DrawSummary(ApiModel):
    """One draw of a list."""

    draw_id: str
    department: str
    state: _State
    overdue: bool
    commit: int
    embargo: str


class DrawPage(ApiModel):
    """One page of draws, by commitment index."""

    items: list[DrawSummary]
    next_cursor: str | None


class BundleEntry(ApiModel):
    """An entry of the draw with its inclusion proof in the bundle's checkpoint."""

    index: int
    data: str = pydantic.Field(description="base64 of the entry's bytes")
    proof: list[str] = pydantic.Field(description="base64 of the RFC 9162 inclusion proof hashes")


class BundleBlob(ApiModel):
    """A blob the entries name."""

    digest: str
    data: str = pydantic.Field(description="base64 of the blob's bytes")


class DrawBundle(ApiModel):
    """Everything a verifier needs (docs/bundle.md)."""

    format: Literal["fairdraw-draw-bundle/1"]
    draw_id: str
    state: _State
    checkpoint: str = pydantic.Field(description="the signed checkpoint note the proofs are relative to")
    entries: list[BundleEntry]
    blobs: list[BundleBlob]


class DrawResultOut(ApiModel):
    """A draw's full result: the result record and the replacement records (docs/draw-spec.md §13-§14)."""

    draw_id: str
    state: _State
    result_hash: str
    result: dict[str, Any]
    replacements: list[dict[str, Any]]


# -- request models -------------------------------------------------------------------------------


class BeaconIn(ApiModel):
    """A drand beacon, as drand's HTTP API serves it (randomness spec §2.5)."""

    round: int = pydantic.Field(ge=1, le=2**53 - 1)
    signature: str = pydantic.Field(pattern="^(?:[0-9a-f]{2}){48,96}$")
    previous_signature: str | None = pydantic.Field(None, pattern="^(?:[0-9a-f]{2}){32,96}$")
    randomness: str | None = pydantic.Field(None, pattern=_HEX32)


class RevealIn(ApiModel):
    """A ceremony participant's reveal (randomness spec §3.3)."""

    participant: Annotated[str, pydantic.Field(min_length=1, max_length=64)]
    contribution: Annotated[str, pydantic.Field(min_length=1, max_length=256)]
    nonce: str = pydantic.Field(pattern=_HEX32)


class NumbersIn(ApiModel):
    """The announced numbers of every declared public draw, in declared order (randomness spec §4.4)."""

    numbers: list[list[Annotated[int, pydantic.Field(ge=0, le=2**53 - 1)]]] = pydantic.Field(
        min_length=1, max_length=16
    )


class ReplacementIn(ApiModel):
    """A selected object that cannot be inspected, and why (docs/draw-spec.md §14.1)."""

    object_id: Annotated[str, pydantic.Field(min_length=1, max_length=160)]
    reason: Literal[
        "deregistered", "revoked", "cancelled", "moved-out", "duplicate", "recently-inspected", "out-of-scope"
    ]


class VoidIn(ApiModel):
    """An operator's withdrawal of a draw, with the reason."""

    reason: Annotated[str, pydantic.Field(min_length=1, max_length=entries_.MAX_DETAIL)]


class PublishIn(ApiModel):
    """Publish a sealed draw's result now (the task publishes its list). The body is ``{}``."""
