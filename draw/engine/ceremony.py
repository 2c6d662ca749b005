"""Public ceremonies: named participants commit to a contribution before the draw and reveal it after.

Normative text: docs/draw-spec-randomness.md §3 (spec ``fairdraw-draw/1``).

Each participant (for example the discipline-inspection observer, or a citizen representative)
rolls dice, writes the result as text, and picks a secret 32-byte nonce. Before the draw is
committed they hand over only the commitment::

    commitment = SHA-256("fairdraw-draw/1 ceremony-commit" || 0x00 || frame(name) || frame(contribution)
                         || nonce)
    frame(x)   = u32be(len(x)) || x            # x is UTF-8 text in NFC

After the commitment entry is logged, each reveals (contribution, nonce); anyone can check the
reveal against the commitment. The ceremony's value combines every reveal in the declared order::

    value = SHA-256("fairdraw-draw/1 ceremony-value" || 0x00 || u32be(n)
                    || for each participant in order: frame(name) || frame(contribution) || nonce)

The nonce keeps a dice roll (a few million possibilities) from being found by trying them all
against the commitment. A participant who has not revealed by the deadline voids the draw,
visibly (``ceremony_outcome``).

>>> nonce = bytes(range(32))
>>> commitment = commit_contribution("王芳", "3614252316", nonce)
>>> check_reveal(commitment, "王芳", "3614252316", nonce)
>>> check_reveal(commitment, "王芳", "3614252315", nonce)
Traceback (most recent call last):
  ...
draw.engine.ceremony.CeremonyError: invalid ceremony reveal
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

COMMIT_LABEL = b"fairdraw-draw/1 ceremony-commit\x00"
VALUE_LABEL = b"fairdraw-draw/1 ceremony-value\x00"
NONCE_SIZE = 32
COMMITMENT_SIZE = 32
MAX_PARTICIPANTS = 32
MAX_NAME_LENGTH = 64
MAX_CONTRIBUTION_LENGTH = 256
MAX_UNIX_TIME = 2**53 - 1

_FORBIDDEN_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
_HEX32 = re.compile(r"[0-9a-f]{64}")


class CeremonyError(Exception):
    """A ceremony reveal does not open its commitment. Raised for every mismatch, with one message."""

    def __init__(self) -> None:
        super().__init__("invalid ceremony reveal")


@dataclass(frozen=True)
class Participant:
    """A named ceremony participant and the role they hold (e.g. "纪检监察组观察员").

    Names and roles are NFC text of 1 to MAX_NAME_LENGTH characters, without control characters
    or surrounding white space. Raises ValueError naming the field otherwise.
    """

    name: str
    role: str

    def __post_init__(self) -> None:
        _check_text("name", self.name, MAX_NAME_LENGTH)
        _check_text("role", self.role, MAX_NAME_LENGTH)


@dataclass(frozen=True)
class Reveal:
    """A participant's reveal, and the Unix time (seconds) at which the ledger sequenced it.

    ``revealed_at`` decides only whether the reveal was on time; it is not part of any hash.
    Raises ValueError naming the field for malformed values.
    """

    participant_name: str
    contribution: str
    nonce: bytes
    revealed_at: int

    def __post_init__(self) -> None:
        _check_opening(self.participant_name, self.contribution, self.nonce)
        _check_time("revealed_at", self.revealed_at)


@dataclass(frozen=True)
class Ceremony:
    """A ceremony as the draw commitment declares it: participants in order, their commitments in
    the same order, and the reveal deadline (Unix seconds, inclusive).

    Requires 1 to MAX_PARTICIPANTS participants with distinct names and one 32-byte commitment
    each. Raises ValueError naming the field otherwise.
    """

    participants: tuple[Participant, ...]
    commitments: tuple[bytes, ...]
    reveal_deadline: int

    def __post_init__(self) -> None:
        if not all(isinstance(p, Participant) for p in self.participants):
            raise ValueError("ceremony: participants must be Participant values")
        _check_names([p.name for p in self.participants])
        if len(self.commitments) != len(self.participants):
            raise ValueError(
                f"ceremony: {len(self.commitments)} commitments for {len(self.participants)} participants"
            )
        for commitment in self.commitments:
            _check_bytes("commitment", commitment, COMMITMENT_SIZE)
        _check_time("reveal_deadline", self.reveal_deadline)


@dataclass(frozen=True)
class CeremonyComplete:
    """Every participant revealed on time; ``value`` is the ceremony's 32-byte output."""

    value: bytes


@dataclass(frozen=True)
class CeremonyPending:
    """The deadline has not passed and these participants (in declared order) have yet to reveal."""

    missing: tuple[str, ...]


@dataclass(frozen=True)
class CeremonyVoid:
    """The deadline passed without a reveal from these participants: the draw is void."""

    missing: tuple[str, ...]


CeremonyOutcome = CeremonyComplete | CeremonyPending | CeremonyVoid


def commit_contribution(participant_name: str, contribution: str, nonce: bytes) -> bytes:
    """Return the 32-byte commitment to ``contribution`` by ``participant_name`` under ``nonce``.

    ``nonce`` is 32 secret random bytes the participant keeps until the reveal. Raises ValueError
    naming the field for malformed text or a nonce of the wrong size.
    """
    _check_opening(participant_name, contribution, nonce)
    return hashlib.sha256(COMMIT_LABEL + _opening_bytes(participant_name, contribution, nonce)).digest()


def check_reveal(commitment: bytes, participant_name: str, contribution: str, nonce: bytes) -> None:
    """Check that (participant_name, contribution, nonce) opens ``commitment``.

    Raises ValueError naming the field for malformed arguments, and CeremonyError if the reveal
    does not open the commitment.
    """
    _check_bytes("commitment", commitment, COMMITMENT_SIZE)
    if not hmac.compare_digest(commit_contribution(participant_name, contribution, nonce), commitment):
        raise CeremonyError


def ceremony_value(reveals: Sequence[Reveal]) -> bytes:
    """Return the ceremony's 32-byte value from ``reveals``, given in the declared participant order.

    The caller has checked each reveal against its commitment (``ceremony_outcome`` does).
    Requires 1 to MAX_PARTICIPANTS reveals from distinct participants; raises ValueError otherwise.
    """
    _check_names([reveal.participant_name for reveal in reveals])
    parts = [VALUE_LABEL, struct.pack(">I", len(reveals))]
    for reveal in reveals:
        parts.append(_opening_bytes(reveal.participant_name, reveal.contribution, reveal.nonce))
    return hashlib.sha256(b"".join(parts)).digest()


def ceremony_outcome(ceremony: Ceremony, reveals: Sequence[Reveal], now: int) -> CeremonyOutcome:
    """Return the ceremony's outcome at Unix time ``now`` (docs/draw-spec-randomness.md §3.4).

    A reveal counts if it was sequenced at or before the deadline; a late reveal counts as missing.
    All counted: CeremonyComplete. Some missing: CeremonyPending until the deadline, CeremonyVoid
    after it. Raises ValueError for a reveal by an unknown participant, two reveals by one
    participant, or a reveal sequenced after ``now``; raises CeremonyError if a counted reveal
    does not open its commitment.
    """
    _check_time("now", now)
    by_name = _index_reveals(ceremony, reveals, now)
    counted: list[Reveal] = []
    missing: list[str] = []
    for participant, commitment in zip(ceremony.participants, ceremony.commitments, strict=True):
        reveal = by_name.get(participant.name)
        if reveal is None or reveal.revealed_at > ceremony.reveal_deadline:
            missing.append(participant.name)
            continue
        check_reveal(commitment, reveal.participant_name, reveal.contribution, reveal.nonce)
        counted.append(reveal)
    if not missing:
        return CeremonyComplete(ceremony_value(counted))
    if now <= ceremony.reveal_deadline:
        return CeremonyPending(tuple(missing))
    return CeremonyVoid(tuple(missing))


# ---------------------------------------------------------------------------------------------
# Records: the ceremony's declaration in the draw commitment, and a reveal (spec §3.2, §3.3)


def parse_declaration(obj: Mapping[str, Any]) -> Ceremony:
    """Parse ``{"participants": [{"name", "role", "commitment"}, ...], "reveal_deadline": <int>}``.

    Commitments are lowercase hex; the deadline is in Unix seconds. Raises ValueError naming the
    member for other keys or malformed values.
    """
    _check_keys("declaration", obj, {"participants", "reveal_deadline"})
    entries = obj["participants"]
    if not isinstance(entries, list):
        raise ValueError("ceremony: declaration.participants must be a list")
    participants, commitments = [], []
    for index, entry in enumerate(entries):
        _check_keys(f"participants[{index}]", entry, {"name", "role", "commitment"})
        participants.append(Participant(entry["name"], entry["role"]))
        commitments.append(_parse_hex32(f"participants[{index}].commitment", entry["commitment"]))
    return Ceremony(tuple(participants), tuple(commitments), obj["reveal_deadline"])


def declaration_record(ceremony: Ceremony) -> dict[str, Any]:
    """Return the declaration object of ``ceremony``: the inverse of ``parse_declaration``."""
    participants = [
        {"commitment": commitment.hex(), "name": participant.name, "role": participant.role}
        for participant, commitment in zip(ceremony.participants, ceremony.commitments, strict=True)
    ]
    return {"participants": participants, "reveal_deadline": ceremony.reveal_deadline}


def parse_reveal(obj: Mapping[str, Any], revealed_at: int) -> Reveal:
    """Parse ``{"participant": <name>, "contribution": <text>, "nonce": <64 hex digits>}``, sequenced
    by the ledger at Unix time ``revealed_at``. Raises ValueError naming the member.
    """
    _check_keys("reveal", obj, {"participant", "contribution", "nonce"})
    return Reveal(obj["participant"], obj["contribution"], _parse_hex32("nonce", obj["nonce"]), revealed_at)


def reveal_record(reveal: Reveal) -> dict[str, Any]:
    """Return the reveal object of ``reveal``: the inverse of ``parse_reveal``."""
    return {
        "contribution": reveal.contribution,
        "nonce": reveal.nonce.hex(),
        "participant": reveal.participant_name,
    }


def _check_keys(field: str, obj: object, keys: set[str]) -> None:
    if not isinstance(obj, Mapping) or set(obj) != keys:
        raise ValueError(f"ceremony: {field} must be an object with exactly the keys {sorted(keys)}")


def _parse_hex32(field: str, value: object) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValueError(f"ceremony: {field} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _index_reveals(ceremony: Ceremony, reveals: Sequence[Reveal], now: int) -> dict[str, Reveal]:
    declared = {participant.name for participant in ceremony.participants}
    by_name: dict[str, Reveal] = {}
    for reveal in reveals:
        name = reveal.participant_name
        if name not in declared:
            raise ValueError(f"ceremony: reveal by undeclared participant {name!r}")
        if name in by_name:
            raise ValueError(f"ceremony: two reveals by participant {name!r}")
        if reveal.revealed_at > now:
            raise ValueError(f"ceremony: reveal by {name!r} at {reveal.revealed_at} is after now {now}")
        by_name[name] = reveal
    return by_name


def _opening_bytes(participant_name: str, contribution: str, nonce: bytes) -> bytes:
    """frame(name) || frame(contribution) || nonce."""
    return _frame(participant_name.encode("utf-8")) + _frame(contribution.encode("utf-8")) + nonce


def _frame(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _check_opening(participant_name: str, contribution: str, nonce: bytes) -> None:
    _check_text("participant_name", participant_name, MAX_NAME_LENGTH)
    _check_text("contribution", contribution, MAX_CONTRIBUTION_LENGTH)
    _check_bytes("nonce", nonce, NONCE_SIZE)


def _check_names(names: Sequence[str]) -> None:
    if not 1 <= len(names) <= MAX_PARTICIPANTS:
        raise ValueError(f"ceremony: {len(names)} participants, want 1..{MAX_PARTICIPANTS}")
    if len(set(names)) != len(names):
        raise ValueError("ceremony: participant names must be distinct")


def _check_text(field: str, value: object, max_length: int) -> None:
    if not isinstance(value, str):
        raise ValueError(f"ceremony: {field} must be a str")
    if not 1 <= len(value) <= max_length:
        raise ValueError(f"ceremony: {field} has {len(value)} characters, want 1..{max_length}")
    if unicodedata.normalize("NFC", value) != value:
        raise ValueError(f"ceremony: {field} is not in Unicode NFC")
    if value != value.strip() or any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in value):
        raise ValueError(f"ceremony: {field} has surrounding white space or control characters")


def _check_bytes(field: str, value: object, size: int) -> None:
    if not isinstance(value, bytes):
        raise ValueError(f"ceremony: {field} must be bytes")
    if len(value) != size:
        raise ValueError(f"ceremony: {field} has {len(value)} bytes, want {size}")


def _check_time(field: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"ceremony: {field} must be an int")
    if not 0 <= value <= MAX_UNIX_TIME:
        raise ValueError(f"ceremony: {field} {value} out of range 0..{MAX_UNIX_TIME}")
