"""C2SP tlog-cosignature: the spec's signed message, Sigsum's cosignature lines (timestamp 1234)."""

import base64
import json
import re
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keys import (
    CosignatureSigner,
    CosignatureVerifier,
    InvalidSignatureError,
    UnverifiedNoteError,
    cosignature_timestamp,
    cosigned_message,
    cosigner_verifier_key,
    format_signature_line,
    generate,
    new_cosignature_verifier,
    new_verifier,
    open_note,
    parse_signature_line,
    sign_note,
)

VECTORS = Path(__file__).parent / "vectors" / "notes"
C2SP = json.loads((VECTORS / "c2sp-spec-examples.json").read_text(encoding="utf-8"))
SIGSUM = json.loads((VECTORS / "sigsum-checkpoint.json").read_text(encoding="utf-8"))

LINES = SIGSUM["cosignature_lines"]
CHECKPOINT = "{origin}\n{size}\n{root_hash_base64}\n".format(**LINES["cosigned_checkpoint"])
SEED = bytes.fromhex(SIGSUM["test_key"]["ed25519_seed_hex"])
WITNESS = generate("example.org/witness", randbytes=lambda n: SEED[:n])
WITNESS_2 = generate("example.org/witness-2", randbytes=lambda n: SEED[:n])
SIGSUM_LINES = LINES["text"].splitlines(keepends=True)


def test_spec_signed_message() -> None:
    example = C2SP["cosignature_signed_message_example"]["message"]
    header, time_line, body = example.split("\n", 2)
    assert (header, time_line) == ("cosignature/v1", "time 1679315147")
    assert cosigned_message(body.encode(), 1679315147) == example.encode()


def test_spec_cosigned_checkpoint_carries_the_spec_timestamp() -> None:
    note = C2SP["cosigned_checkpoint_example"]["note"]
    with pytest.raises(UnverifiedNoteError) as caught:
        open_note(note.encode(), [new_verifier(SIGSUM["go_sumdb_checkpoint"]["vkey"])])
    log_sig, witness_sig = caught.value.note.unverified_sigs
    assert witness_sig.name == "witness.example.com/w1"
    assert cosignature_timestamp(witness_sig) == 1679315147
    with pytest.raises(ValueError, match=re.escape("cosignature: wrong signature size 64, want 72")):
        cosignature_timestamp(log_sig)


def test_spec_witness_response_lines_parse() -> None:
    for line in C2SP["witness_add_checkpoint_response_example"]["body"].splitlines(keepends=True):
        signature = parse_signature_line(line)
        assert format_signature_line(signature) == line
        assert len(signature.raw) == 72


def test_sigsum_cosignature_is_reproduced_bit_exactly() -> None:
    signed = sign_note(CHECKPOINT, CosignatureSigner(WITNESS, 1234))
    assert signed == (CHECKPOINT + "\n" + SIGSUM_LINES[1]).encode()


@pytest.mark.parametrize("fact", LINES["per_line"], ids=lambda f: f"line-{f['line']}")
def test_sigsum_cosignature_lines(fact: dict[str, object]) -> None:
    line = SIGSUM_LINES[int(str(fact["line"])) - 1]
    signature = parse_signature_line(line)
    mine = {WITNESS.name: WITNESS, WITNESS_2.name: WITNESS_2}[signature.name]
    verifier = new_cosignature_verifier(cosigner_verifier_key(mine))
    assert (signature.key_id == verifier.key_id) is fact["key_id_matches_name_and_test_key"]
    raw = base64.b64decode(signature.base64)
    timestamp = int.from_bytes(raw[4:12], "big")
    assert timestamp == 1234
    message = cosigned_message(CHECKPOINT.encode(), timestamp)
    assert independent_verify(mine.public_key, message, raw[12:]) is fact["signature_verifies"]
    assert verifier.verify(CHECKPOINT.encode(), signature.raw) is fact["signature_verifies"]


def independent_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def test_open_note_with_cosignature_verifier() -> None:
    msg = (CHECKPOINT + "\n" + "".join(SIGSUM_LINES[:3])).encode()
    verifiers = [new_cosignature_verifier(cosigner_verifier_key(k)) for k in (WITNESS, WITNESS_2)]
    note = open_note(msg, verifiers)
    assert [(s.name, cosignature_timestamp(s)) for s in note.sigs] == [("example.org/witness", 1234)]
    assert len(note.unverified_sigs) == 2


def test_bad_cosignature_by_known_witness_rejects_the_note() -> None:
    msg = (CHECKPOINT + "\n" + SIGSUM_LINES[3]).encode()
    with pytest.raises(InvalidSignatureError, match=r"^invalid signature$"):
        open_note(msg, [new_cosignature_verifier(cosigner_verifier_key(WITNESS))])


def test_log_signature_and_cosignature_together() -> None:
    log = generate("example.org/log", randbytes=lambda n: bytes(range(n)))
    msg = sign_note(CHECKPOINT, log.signer(), CosignatureSigner(WITNESS, 1700000000))
    note = open_note(
        msg, [new_verifier(log.verifier_key), CosignatureVerifier(WITNESS.name, WITNESS.public_key)]
    )
    assert [s.name for s in note.sigs] == ["example.org/log", "example.org/witness"]
    assert cosignature_timestamp(note.sigs[1]) == 1700000000


def test_vkey_types_are_not_interchangeable() -> None:
    cosigner_vkey = cosigner_verifier_key(WITNESS)
    assert cosigner_vkey.split("+")[2].startswith("BG")  # base64 of 0x04 || public key
    assert cosigner_vkey.split("+")[1] != WITNESS.verifier_key.split("+")[1]
    with pytest.raises(
        ValueError, match=re.escape("verifier key: signature type 0x01, want 0x04 (cosignature/v1)")
    ):
        new_cosignature_verifier(WITNESS.verifier_key)
    msg = sign_note(CHECKPOINT, WITNESS.signer())
    with pytest.raises(UnverifiedNoteError):
        open_note(msg, [new_cosignature_verifier(cosigner_vkey)])


@pytest.mark.parametrize("timestamp", [-1, 2**63, True, 1.5])
def test_timestamp_range(timestamp: object) -> None:
    with pytest.raises(ValueError, match=r"^cosignature: timestamp .* out of range 0\.\.2\^63-1$"):
        CosignatureSigner(WITNESS, timestamp)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^cosignature: timestamp .* out of range 0\.\.2\^63-1$"):
        cosigned_message(b"body\n", timestamp)  # type: ignore[arg-type]


def test_timestamp_bounds_on_verify() -> None:
    verifier = CosignatureVerifier(WITNESS.name, WITNESS.public_key)
    body = CHECKPOINT.encode()
    top = CosignatureSigner(WITNESS, 2**63 - 1).sign(body)
    assert verifier.verify(body, top)
    too_big = 2**63
    forged = b"cosignature/v1\ntime %d\n" % too_big + body
    signature = too_big.to_bytes(8, "big") + WITNESS.signer().sign(forged)
    assert independent_verify(WITNESS.public_key, forged, signature[8:])
    assert not verifier.verify(body, signature)


def test_verify_rejects_wrong_sizes_and_bodies() -> None:
    verifier = CosignatureVerifier(WITNESS.name, WITNESS.public_key)
    body = CHECKPOINT.encode()
    good = CosignatureSigner(WITNESS, 1234).sign(body)
    assert verifier.verify(body, good)
    assert not verifier.verify(body, good[:-1])
    assert not verifier.verify(body, good + b"\x00")
    assert not verifier.verify(body + b"x\n", good)
    assert not verifier.verify(body[:-1], good)
    with pytest.raises(ValueError, match=re.escape("cosigned body: must end with a newline")):
        cosigned_message(b"no newline", 1)


def test_cosigner_repr_shows_no_secret() -> None:
    signer = CosignatureSigner(WITNESS, 1234)
    assert (
        repr(signer)
        == f"CosignatureSigner('example.org/witness', key_id={signer.key_id:08x}, timestamp=1234)"
    )
    assert SEED.hex() not in repr(signer)
    verifier = CosignatureVerifier(WITNESS.name, WITNESS.public_key)
    assert repr(verifier) == f"CosignatureVerifier({cosigner_verifier_key(WITNESS)!r})"
