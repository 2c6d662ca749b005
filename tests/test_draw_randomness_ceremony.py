"""Public ceremonies: commitment, reveal, value and the deadline rule (docs/draw-spec-randomness.md §3).

Expected hashes come from ``reference_commitment``/``reference_value`` below, written from the spec
text with hashlib and struct only, never from draw.engine.ceremony.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from draw.engine import ceremony
from draw.engine.ceremony import (
    Ceremony,
    CeremonyComplete,
    CeremonyError,
    CeremonyPending,
    CeremonyVoid,
    Participant,
    Reveal,
)

NONCE_1 = bytes(range(32))
NONCE_2 = bytes(range(32, 64))
NONCE_3 = bytes(range(64, 96))
DEADLINE = 1_764_300_000


def reference_commitment(name: str, contribution: str, nonce: bytes) -> bytes:
    n, c = name.encode("utf-8"), contribution.encode("utf-8")
    data = (
        b"fairdraw-draw/1 ceremony-commit\x00" + struct.pack(">I", len(n)) + n + struct.pack(">I", len(c)) + c
    )
    return hashlib.sha256(data + nonce).digest()


def reference_value(openings: list[tuple[str, str, bytes]]) -> bytes:
    data = b"fairdraw-draw/1 ceremony-value\x00" + struct.pack(">I", len(openings))
    for name, contribution, nonce in openings:
        n, c = name.encode("utf-8"), contribution.encode("utf-8")
        data += struct.pack(">I", len(n)) + n + struct.pack(">I", len(c)) + c + nonce
    return hashlib.sha256(data).digest()


OPENINGS = [("王芳", "3614252316", NONCE_1), ("李明", "5521463", NONCE_2), ("𠀀张", "66", NONCE_3)]
ROLES = ["纪检监察组观察员", "市民代表", "企业代表"]


def make_ceremony(deadline: int = DEADLINE) -> Ceremony:
    participants = tuple(Participant(name, role) for (name, _, _), role in zip(OPENINGS, ROLES, strict=True))
    commitments = tuple(reference_commitment(*opening) for opening in OPENINGS)
    return Ceremony(participants, commitments, deadline)


def reveals_at(*times: int | None) -> list[Reveal]:
    """One reveal per participant, sequenced at the given time; None leaves that participant out."""
    return [Reveal(*opening, at) for opening, at in zip(OPENINGS, times, strict=True) if at is not None]


# ---------------------------------------------------------------------------------------------
# Commitment and reveal


@pytest.mark.parametrize("opening", OPENINGS, ids=["wang", "li", "supplementary-plane"])
def test_commitment_matches_reference(opening: tuple[str, str, bytes]) -> None:
    commitment = ceremony.commit_contribution(*opening)
    assert commitment == reference_commitment(*opening)
    ceremony.check_reveal(commitment, *opening)


REVEAL_MUTATIONS = {
    "nonce-last-bit-flipped": ("王芳", "3614252316", NONCE_1[:-1] + b"\x1e"),
    "nonce-of-another-participant": ("王芳", "3614252316", NONCE_2),
    "contribution-changed": ("王芳", "3614252315", NONCE_1),
    "contribution-extended": ("王芳", "36142523161", NONCE_1),
    "participant-of-another": ("李明", "3614252316", NONCE_1),
    "boundary-moved": ("王芳3", "614252316", NONCE_1),
}


@pytest.mark.parametrize("mutation", sorted(REVEAL_MUTATIONS))
def test_reveal_mutation_is_rejected(mutation: str) -> None:
    commitment = reference_commitment(*OPENINGS[0])
    with pytest.raises(CeremonyError, match=r"^invalid ceremony reveal$"):
        ceremony.check_reveal(commitment, *REVEAL_MUTATIONS[mutation])


def test_framing_separates_name_and_contribution() -> None:
    assert ceremony.commit_contribution("ab", "c", NONCE_1) != ceremony.commit_contribution(
        "a", "bc", NONCE_1
    )


@given(
    name=st.text(st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), min_size=1, max_size=64),
    contribution=st.text(st.characters(categories=["Nd", "Lo"]), min_size=1, max_size=256),
    nonce=st.binary(min_size=32, max_size=32),
    flip=st.integers(min_value=0, max_value=255),
)
def test_any_nonce_bit_flip_breaks_the_reveal(name: str, contribution: str, nonce: bytes, flip: int) -> None:
    name, contribution = unicodedata.normalize("NFC", name), unicodedata.normalize("NFC", contribution)
    if len(name) > 64 or len(contribution) > 256:
        return
    commitment = ceremony.commit_contribution(name, contribution, nonce)
    assert commitment == reference_commitment(name, contribution, nonce)
    changed = bytearray(nonce)
    changed[flip // 8] ^= 1 << (flip % 8)
    with pytest.raises(CeremonyError):
        ceremony.check_reveal(commitment, name, contribution, bytes(changed))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("王芳", "1", NONCE_1[:31]), "ceremony: nonce has 31 bytes, want 32"),
        (("王芳", "1", NONCE_1.hex()), "ceremony: nonce must be bytes"),
        (("", "1", NONCE_1), r"ceremony: participant_name has 0 characters, want 1\.\.64"),
        (("x" * 65, "1", NONCE_1), r"ceremony: participant_name has 65 characters, want 1\.\.64"),
        (("e\u0301", "1", NONCE_1), "ceremony: participant_name is not in Unicode NFC"),
        ((" 王芳", "1", NONCE_1), "ceremony: participant_name has surrounding white space or control"),
        (("王芳\u3000", "1", NONCE_1), "ceremony: participant_name has surrounding white space"),
        (("王芳", "36\n14", NONCE_1), "ceremony: contribution has surrounding white space or control"),
        (("王芳", "1" * 257, NONCE_1), r"ceremony: contribution has 257 characters, want 1\.\.256"),
        (("王芳", 3614, NONCE_1), "ceremony: contribution must be a str"),
    ],
    ids=[
        "nonce-31-bytes",
        "nonce-as-hex",
        "name-empty",
        "name-too-long",
        "name-not-nfc",
        "name-leading-space",
        "name-ideographic-space",
        "contribution-newline",
        "contribution-too-long",
        "contribution-int",
    ],
)
def test_commit_caller_errors(args: tuple[Any, Any, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ceremony.commit_contribution(*args)


def test_check_reveal_needs_a_32_byte_commitment() -> None:
    with pytest.raises(ValueError, match="ceremony: commitment has 31 bytes, want 32"):
        ceremony.check_reveal(bytes(31), *OPENINGS[0])


# ---------------------------------------------------------------------------------------------
# Value


def test_value_matches_reference_in_declared_order() -> None:
    reveals = reveals_at(1, 2, 3)
    assert ceremony.ceremony_value(reveals) == reference_value(OPENINGS)


def test_value_depends_on_order() -> None:
    reveals = reveals_at(1, 2, 3)
    assert ceremony.ceremony_value(reveals[::-1]) == reference_value(OPENINGS[::-1])
    assert ceremony.ceremony_value(reveals[::-1]) != ceremony.ceremony_value(reveals)


def test_value_does_not_depend_on_reveal_time() -> None:
    assert ceremony.ceremony_value(reveals_at(1, 2, 3)) == ceremony.ceremony_value(reveals_at(9, 8, 7))


def test_value_caller_errors() -> None:
    with pytest.raises(ValueError, match=r"ceremony: 0 participants, want 1\.\.32"):
        ceremony.ceremony_value([])
    twice = reveals_at(1, None, None) * 2
    with pytest.raises(ValueError, match="ceremony: participant names must be distinct"):
        ceremony.ceremony_value(twice)


# ---------------------------------------------------------------------------------------------
# Outcome: complete, pending, void


def test_all_revealed_on_time_is_complete_in_declared_order() -> None:
    reveals = reveals_at(DEADLINE - 5, DEADLINE - 9, DEADLINE)[::-1]  # given out of order
    outcome = ceremony.ceremony_outcome(make_ceremony(), reveals, now=DEADLINE)
    assert outcome == CeremonyComplete(reference_value(OPENINGS))


def test_missing_reveal_is_pending_until_the_deadline() -> None:
    outcome = ceremony.ceremony_outcome(make_ceremony(), reveals_at(DEADLINE - 5, None, None), now=DEADLINE)
    assert outcome == CeremonyPending(("李明", "𠀀张"))


def test_missing_reveal_after_the_deadline_is_void() -> None:
    outcome = ceremony.ceremony_outcome(make_ceremony(), reveals_at(DEADLINE - 5, None, 7), now=DEADLINE + 1)
    assert outcome == CeremonyVoid(("李明",))


def test_late_reveal_counts_as_missing() -> None:
    reveals = reveals_at(DEADLINE - 5, DEADLINE + 1, DEADLINE)
    assert ceremony.ceremony_outcome(make_ceremony(), reveals, now=DEADLINE + 1) == CeremonyVoid(("李明",))


def test_reveal_exactly_at_the_deadline_counts() -> None:
    reveals = reveals_at(DEADLINE, DEADLINE, DEADLINE)
    outcome = ceremony.ceremony_outcome(make_ceremony(), reveals, now=DEADLINE + 86400)
    assert isinstance(outcome, CeremonyComplete)


def test_counted_reveal_that_does_not_open_is_an_error() -> None:
    bad = [*reveals_at(1, 2, None), Reveal("𠀀张", "66", NONCE_1, 3)]
    with pytest.raises(CeremonyError, match=r"^invalid ceremony reveal$"):
        ceremony.ceremony_outcome(make_ceremony(), bad, now=DEADLINE)


@pytest.mark.parametrize(
    ("reveals", "now", "message"),
    [
        ([Reveal("赵六", "1", NONCE_1, 1)], DEADLINE, "ceremony: reveal by undeclared participant '赵六'"),
        (reveals_at(1, None, None) * 2, DEADLINE, "ceremony: two reveals by participant '王芳'"),
        (
            reveals_at(DEADLINE + 1, None, None),
            DEADLINE,
            "ceremony: reveal by '王芳' at 1764300001 is after now",
        ),
        (reveals_at(1, 2, 3), -1, r"ceremony: now -1 out of range 0\.\."),
    ],
    ids=["undeclared-participant", "duplicate-reveal", "revealed-after-now", "now-negative"],
)
def test_outcome_caller_errors(reveals: list[Reveal], now: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ceremony.ceremony_outcome(make_ceremony(), reveals, now)


# ---------------------------------------------------------------------------------------------
# Declaration and reveal records


def test_declaration_round_trip() -> None:
    declared = make_ceremony()
    record = ceremony.declaration_record(declared)
    assert record["participants"][0] == {
        "commitment": reference_commitment(*OPENINGS[0]).hex(),
        "name": "王芳",
        "role": "纪检监察组观察员",
    }
    assert record["reveal_deadline"] == DEADLINE
    assert ceremony.parse_declaration(record) == declared


def test_reveal_record_round_trip() -> None:
    reveal = reveals_at(5, None, None)[0]
    record = ceremony.reveal_record(reveal)
    assert record == {"contribution": "3614252316", "nonce": NONCE_1.hex(), "participant": "王芳"}
    assert ceremony.parse_reveal(record, 5) == reveal


def _declaration() -> dict[str, Any]:
    return ceremony.declaration_record(make_ceremony())


DECLARATION_MUTATIONS = {
    "extra-member": (
        lambda d: {**d, "note": ""},
        "ceremony: declaration must be an object with exactly the keys",
    ),
    "participants-not-a-list": (
        lambda d: {**d, "participants": {}},
        "ceremony: declaration.participants must be",
    ),
    "no-participants": (lambda d: {**d, "participants": []}, r"ceremony: 0 participants, want 1\.\.32"),
    "commitment-uppercase": (
        lambda d: {**d, "participants": [{**d["participants"][0], "commitment": "AB" * 32}]},
        r"ceremony: participants\[0\]\.commitment must be 64 lowercase hex digits",
    ),
    "participant-without-role": (
        lambda d: {**d, "participants": [{k: v for k, v in d["participants"][0].items() if k != "role"}]},
        r"ceremony: participants\[0\] must be an object with exactly the keys",
    ),
    "duplicate-participant": (
        lambda d: {**d, "participants": [d["participants"][0]] * 2},
        "ceremony: participant names must be distinct",
    ),
    "deadline-as-string": (
        lambda d: {**d, "reveal_deadline": "1764300000"},
        "ceremony: reveal_deadline must be an int",
    ),
}


@pytest.mark.parametrize("mutation", sorted(DECLARATION_MUTATIONS))
def test_declaration_mutation_is_rejected(mutation: str) -> None:
    change, message = DECLARATION_MUTATIONS[mutation]
    with pytest.raises(ValueError, match=message):
        ceremony.parse_declaration(change(_declaration()))


def test_ceremony_checks_commitment_count() -> None:
    declared = make_ceremony()
    with pytest.raises(ValueError, match="ceremony: 2 commitments for 3 participants"):
        Ceremony(declared.participants, declared.commitments[:2], DEADLINE)


def test_reveal_record_rejects_a_short_nonce() -> None:
    record = {"contribution": "1", "nonce": "00" * 31, "participant": "王芳"}
    with pytest.raises(ValueError, match="ceremony: nonce must be 64 lowercase hex digits"):
        ceremony.parse_reveal(record, 5)
