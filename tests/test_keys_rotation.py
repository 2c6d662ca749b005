"""Key rotation statements: signed by both keys, exact text, named mutations."""

import base64
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keys import (
    InvalidSignatureError,
    MalformedNoteError,
    Rotation,
    SigningKey,
    UnverifiedNoteError,
    check_rotation,
    format_rotation,
    generate,
    new_verifier,
    open_note,
    parse_private_key,
    parse_rotation,
    sign_note,
    sign_rotation,
)
from keys.cosignature import cosigner_verifier_key
from tests.vector_keys import PETER_SKEY

ORIGIN = "fairdraw.example/log"
OLD = generate(ORIGIN, randbytes=lambda n: bytes([1]) * n)
NEW = generate(ORIGIN, randbytes=lambda n: bytes([2]) * n)
OTHER = generate(ORIGIN, randbytes=lambda n: bytes([3]) * n)
TEXT = f"fairdraw.key-rotation/v1\n{ORIGIN}\nold {OLD.verifier_key}\nnew {NEW.verifier_key}\n"


def test_round_trip_returns_the_new_key() -> None:
    statement = sign_rotation(ORIGIN, OLD, NEW)
    assert check_rotation(statement, OLD.verifier_key) == NEW.verifier_key
    assert check_rotation(statement, OLD.verifier_key, origin=ORIGIN) == NEW.verifier_key


def test_statement_text_and_signatures_are_exact() -> None:
    statement = sign_rotation(ORIGIN, OLD, NEW)
    text, _, lines = statement.decode().rpartition("\n\n")
    assert text + "\n" == TEXT
    assert statement == sign_note(TEXT, OLD.signer(), NEW.signer())
    first, second = lines.splitlines()
    assert first.startswith(f"— {ORIGIN} ") and second.startswith(f"— {ORIGIN} ")
    for key, line in ((OLD, first), (NEW, second)):
        raw = base64.b64decode(line.split(" ")[2])
        assert int.from_bytes(raw[:4], "big") == key.key_id
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(raw[4:], TEXT.encode())


def test_parse_and_format_are_inverse() -> None:
    rotation = parse_rotation(TEXT)
    assert rotation == Rotation(ORIGIN, OLD.verifier_key, NEW.verifier_key)
    assert format_rotation(rotation) == TEXT


def test_rotation_between_published_test_keys() -> None:
    old = parse_private_key(PETER_SKEY)
    statement = sign_rotation("go.sum database tree", old, NEW)
    assert check_rotation(
        statement, "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    ) == (NEW.verifier_key)


def signed(text: str, *signed_by: SigningKey) -> bytes:
    return sign_note(text, *[key.signer() for key in signed_by])


MUTATIONS: dict[str, tuple[bytes, type[Exception], str]] = {
    "signed-by-old-only": (signed(TEXT, OLD), InvalidSignatureError, "invalid key rotation statement"),
    "signed-by-new-only": (signed(TEXT, NEW), UnverifiedNoteError, "note has no verifiable signatures"),
    "signed-new-then-old": (signed(TEXT, NEW, OLD), InvalidSignatureError, "invalid key rotation statement"),
    "third-signature": (
        signed(TEXT, OLD, NEW, OTHER),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "new-key-in-text-did-not-sign": (
        signed(TEXT, OLD, OTHER),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "wrong-header": (
        signed(TEXT.replace("rotation/v1", "rotation/v2"), OLD, NEW),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "extra-line": (
        signed(TEXT + "note\n", OLD, NEW),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "missing-origin": (
        signed(TEXT.replace(f"{ORIGIN}\nold", "old"), OLD, NEW),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "empty-origin": (
        signed(TEXT.replace(f"{ORIGIN}\nold", "\nold"), OLD, NEW),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "two-spaces-after-old": (
        signed(TEXT.replace("old ", "old  "), OLD, NEW),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "old-and-new-swapped": (
        signed(
            TEXT.replace("\nold ", "\nXXX ").replace("\nnew ", "\nold ").replace("\nXXX ", "\nnew "), OLD, NEW
        ),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "other-old-key-in-text": (
        signed(TEXT.replace(f"old {OLD.verifier_key}", f"old {OTHER.verifier_key}"), OLD, NEW),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "cosignature-vkey-as-new": (
        signed(TEXT.replace(f"new {NEW.verifier_key}", f"new {cosigner_verifier_key(NEW)}"), OLD, NEW),
        InvalidSignatureError,
        "invalid key rotation statement",
    ),
    "flipped-text-byte": (
        sign_rotation(ORIGIN, OLD, NEW).replace(b"rotation/v1", b"rotation/v2"),
        InvalidSignatureError,
        "invalid signature",
    ),
    "missing-final-newline": (
        sign_rotation(ORIGIN, OLD, NEW)[:-1],
        MalformedNoteError,
        "malformed note: missing final newline",
    ),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_mutated_statement_is_rejected(mutation: str) -> None:
    note, want_type, message = MUTATIONS[mutation]
    with pytest.raises(InvalidSignatureError) as caught:
        check_rotation(note, OLD.verifier_key)
    assert type(caught.value) is want_type
    assert str(caught.value) == message


def test_statement_from_another_key_is_unverified() -> None:
    with pytest.raises(UnverifiedNoteError):
        check_rotation(sign_rotation(ORIGIN, OLD, NEW), OTHER.verifier_key)


def test_origin_mismatch() -> None:
    with pytest.raises(InvalidSignatureError, match=r"^invalid key rotation statement$"):
        check_rotation(sign_rotation(ORIGIN, OLD, NEW), OLD.verifier_key, origin="other.example/log")


def test_caller_errors() -> None:
    with pytest.raises(ValueError, match=re.escape("rotation: the new key is the old key")):
        sign_rotation(ORIGIN, OLD, OLD)
    with pytest.raises(
        ValueError, match=re.escape("rotation: origin 'a\\nb' must be non-empty without control")
    ):
        sign_rotation("a\nb", OLD, NEW)
    with pytest.raises(ValueError, match=re.escape("rotation: origin '' must be non-empty")):
        sign_rotation("", OLD, NEW)
    with pytest.raises(ValueError, match=re.escape("verifier key: malformed key ID")):
        check_rotation(sign_rotation(ORIGIN, OLD, NEW), "not+a+vkey")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fairdraw.key-rotation/v1\n", "rotation: want 4 lines starting with 'fairdraw.key-rotation/v1'"),
        (TEXT[:-1], "rotation: want 4 lines starting with 'fairdraw.key-rotation/v1'"),
        (TEXT.replace("\nnew ", "\nneu "), "rotation: want lines 'old <vkey>' and 'new <vkey>'"),
        (
            TEXT.replace("old ", "old  "),
            "verifier key: name: ' fairdraw.example/log' is not a valid key name",
        ),
    ],
)
def test_parse_rotation_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_rotation(text)


def test_opened_statement_lists_both_signers() -> None:
    note = open_note(
        sign_rotation(ORIGIN, OLD, NEW), [new_verifier(OLD.verifier_key), new_verifier(NEW.verifier_key)]
    )
    assert [s.key_id for s in note.sigs] == [OLD.key_id, NEW.key_id]
