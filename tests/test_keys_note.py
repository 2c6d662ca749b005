"""C2SP signed notes: published vectors (Go sumdb, C2SP, Tessera, sum.golang.org), mutations, properties."""

import base64
import doctest
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

import keys
import keys.cosignature
import keys.note
from keys import (
    InvalidSignatureError,
    MalformedNoteError,
    UnverifiedNoteError,
    format_signature_line,
    format_verifier_key,
    key_id,
    new_verifier,
    open_note,
    parse_private_key,
    parse_signature_line,
    parse_verifier_key,
    sign_note,
)

VECTORS = Path(__file__).parent / "vectors" / "notes"
GO = json.loads((VECTORS / "sumdb-notes.json").read_text(encoding="utf-8"))
C2SP = json.loads((VECTORS / "c2sp-spec-examples.json").read_text(encoding="utf-8"))
SIGSUM = json.loads((VECTORS / "sigsum-checkpoint.json").read_text(encoding="utf-8"))
TESSERA = json.loads((VECTORS / "tessera-tiny-log.json").read_text(encoding="utf-8"))

PETER_VKEY = GO["keys"]["PeterNeumann"]["vkey"]
PETER_SKEY = GO["keys"]["PeterNeumann"]["skey"]
ENOCH_VKEY = GO["keys"]["EnochRoot"]["vkey"]
PETER_NOTE = GO["signed_note_peter"].encode("utf-8")
PETER_LINE = GO["signature_lines"]["PeterNeumann"]
ENOCH_LINE = GO["signature_lines"]["EnochRoot"]


def independent_key_id(name: str, sig_type: int, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\x0a" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def vkey_public_key(vkey: str) -> bytes:
    return base64.b64decode(vkey.split("+", 2)[2])[1:]


# --- published vectors -----------------------------------------------------------------------------


def test_go_note_verifies_and_is_reproduced_bit_exactly() -> None:
    note = open_note(PETER_NOTE, [new_verifier(PETER_VKEY)])
    assert note.text == GO["note_text"]
    assert [(s.name, f"{s.key_id:08x}", s.base64) for s in note.sigs] == [
        (sig["name"], sig["key_id"], sig["base64"]) for sig in GO["signatures"][:1]
    ]
    assert note.unverified_sigs == ()
    signer = parse_private_key(PETER_SKEY).signer()
    assert sign_note(GO["note_text"], signer) == PETER_NOTE


def test_go_note_with_both_signatures() -> None:
    msg = (GO["note_text"] + "\n" + PETER_LINE + ENOCH_LINE).encode()
    note = open_note(msg, [new_verifier(PETER_VKEY), new_verifier(ENOCH_VKEY)])
    assert [s.name for s in note.sigs] == ["PeterNeumann", "EnochRoot"]
    only_enoch = open_note(msg, [new_verifier(ENOCH_VKEY)])
    assert [s.name for s in only_enoch.sigs] == ["EnochRoot"]
    assert [s.name for s in only_enoch.unverified_sigs] == ["PeterNeumann"]


@pytest.mark.parametrize("who", ["PeterNeumann", "EnochRoot"])
def test_go_key_ids_and_vkeys(who: str) -> None:
    vkey = GO["keys"][who]["vkey"]
    want = next(int(sig["key_id"], 16) for sig in GO["signatures"] if sig["name"] == who)
    parsed = parse_verifier_key(vkey)
    assert (parsed.name, parsed.key_id, parsed.sig_type) == (who, want, 0x01)
    assert key_id(who, 0x01, parsed.public_key) == want == independent_key_id(who, 1, parsed.public_key)
    assert format_verifier_key(who, parsed.public_key) == vkey
    assert new_verifier(vkey).key_id == want


def test_go_signature_lines_round_trip() -> None:
    for sig in GO["signatures"]:
        line = GO["signature_lines"][sig["name"]]
        parsed = parse_signature_line(line)
        assert (parsed.name, f"{parsed.key_id:08x}", parsed.base64) == (
            sig["name"],
            sig["key_id"],
            sig["base64"],
        )
        assert format_signature_line(parsed) == line
        assert len(parsed.raw) == 64


def test_c2sp_signed_note_example_verifies() -> None:
    example = C2SP["signed_note_example"]
    note = open_note(example["note"].encode(), [new_verifier(example["vkey"])])
    assert note.text == "This is an example message.\n"
    assert [(s.name, s.key_id) for s in note.sigs] == [("example.com/foo", 0x530D903A)]


def test_c2sp_signature_type_bytes() -> None:
    types = C2SP["signature_type_bytes"]
    assert (types["ed25519"], types["cosignature_ed25519"]) == (
        keys.SIG_TYPE_ED25519,
        keys.SIG_TYPE_COSIGNATURE_V1,
    )


@pytest.mark.parametrize("example", ["signed_note_intro_example", "checkpoint_example"])
def test_c2sp_unverifiable_examples_parse_as_unverified(example: str) -> None:
    with pytest.raises(UnverifiedNoteError, match=r"^note has no verifiable signatures$") as caught:
        open_note(C2SP[example]["note"].encode(), [new_verifier(PETER_VKEY)])
    assert caught.value.note.sigs == ()
    assert len(caught.value.note.unverified_sigs) == 1


@pytest.mark.parametrize("checkpoint", TESSERA["checkpoints"], ids=lambda c: f"size-{c['size']}")
def test_tessera_checkpoints_verify_and_are_reproduced(checkpoint: dict[str, object]) -> None:
    text = str(checkpoint["text"])
    note = open_note(text.encode(), [new_verifier(TESSERA["vkey"])])
    assert note.text == f"{TESSERA['origin']}\n{checkpoint['size']}\n{checkpoint['root_hash_base64']}\n"
    signer = parse_private_key(TESSERA["skey"]).signer()
    assert sign_note(note.text, signer) == text.encode()


def test_sum_golang_org_checkpoint_verifies() -> None:
    vector = SIGSUM["go_sumdb_checkpoint"]
    note = open_note(vector["text"].encode(), [new_verifier(vector["vkey"])])
    assert note.text.startswith("go.sum database tree\n30055305\n")
    assert [s.name for s in note.sigs] == ["sum.golang.org"]


def test_sigsum_checkpoint_verifies_and_is_reproduced() -> None:
    vector, test_key = SIGSUM["valid_checkpoint"], SIGSUM["test_key"]
    note = open_note(vector["text"].encode(), [new_verifier(test_key["vkey_for_origin"])])
    seed = bytes.fromhex(test_key["ed25519_seed_hex"])
    key = keys.generate(vector["origin"], randbytes=lambda n: seed[:n])
    assert key.public_key.hex() == test_key["public_key_hex"]
    assert key.verifier_key == test_key["vkey_for_origin"]
    assert sign_note(note.text, key.signer()) == vector["text"].encode()


def test_placeholder_signature_is_not_by_the_known_key() -> None:
    text = SIGSUM["checkpoint_with_placeholder_signature"]["text"]
    seed = bytes.fromhex(SIGSUM["test_key"]["ed25519_seed_hex"])
    known = keys.Ed25519Verifier(
        "example.org/log", keys.generate("x", randbytes=lambda n: seed[:n]).public_key
    )
    with pytest.raises(UnverifiedNoteError) as caught:
        open_note(text.encode(), [known])
    (unverified,) = caught.value.note.unverified_sigs
    assert unverified.name == "example.org/log"
    assert unverified.base64.startswith("DEADBEEF")
    assert unverified.key_id != known.key_id


def test_signatures_cross_check_with_an_independent_ed25519() -> None:
    for checkpoint in TESSERA["checkpoints"]:
        text, _, line = checkpoint["text"].rpartition("\n\n")
        raw = base64.b64decode(line.split(" ")[2].strip())
        Ed25519PublicKey.from_public_bytes(vkey_public_key(TESSERA["vkey"])).verify(
            raw[4:], (text + "\n").encode()
        )


def test_module_doctests_run() -> None:
    for module in (keys.note, keys.cosignature):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0


# --- named mutations of the Go note ----------------------------------------------------------------


def replace_line_b64(msg: bytes, transform: Callable[[bytes], bytes]) -> bytes:
    text, _, line = msg.decode().rpartition("\n\n")
    dash, name, b64 = line.rstrip("\n").split(" ")
    new_b64 = base64.b64encode(transform(base64.b64decode(b64))).decode()
    return f"{text}\n\n{dash} {name} {new_b64}\n".encode()


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1 :]


UNKNOWN_LINES = [
    f"— other{i} {base64.b64encode(bytes([i, 0, 0, 1]) + bytes(64)).decode()}\n" for i in range(100)
]
OVERSIZED_NOTE = b"a" * 1_000_000 + b"\n\n" + PETER_LINE.encode()

MUTATIONS: dict[str, tuple[bytes, type[Exception], str]] = {
    "wrong-key-id": (
        replace_line_b64(PETER_NOTE, lambda raw: flip(raw, 0)),
        UnverifiedNoteError,
        "note has no verifiable signatures",
    ),
    "wrong-key-name": (
        PETER_NOTE.replace(b"PeterNeumann", b"PeterNeumanm"),
        UnverifiedNoteError,
        "note has no verifiable signatures",
    ),
    "flipped-signature-bit": (
        replace_line_b64(PETER_NOTE, lambda raw: flip(raw, 40, 3)),
        InvalidSignatureError,
        "invalid signature",
    ),
    "flipped-text-bit": (
        PETER_NOTE.replace(b"answer", b"answes"),
        InvalidSignatureError,
        "invalid signature",
    ),
    "truncated-signature": (
        replace_line_b64(PETER_NOTE, lambda raw: raw[:-3]),
        InvalidSignatureError,
        "invalid signature",
    ),
    "extended-signature": (
        replace_line_b64(PETER_NOTE, lambda raw: raw + b"\x00"),
        InvalidSignatureError,
        "invalid signature",
    ),
    "extra-blank-line-before-signatures": (
        PETER_NOTE.replace(b"\n\n\xe2\x80\x94", b"\n\n\n\xe2\x80\x94"),
        InvalidSignatureError,
        "invalid signature",
    ),
    "preceding-garbage": (b"x" + PETER_NOTE, InvalidSignatureError, "invalid signature"),
    "missing-final-newline": (PETER_NOTE[:-1], MalformedNoteError, "malformed note: missing final newline"),
    "trailing-garbage": (PETER_NOTE + b"x", MalformedNoteError, "malformed note: missing final newline"),
    "extra-blank-line-after-signatures": (
        PETER_NOTE + b"\n",
        MalformedNoteError,
        "malformed note: no signature lines after the last blank line",
    ),
    "no-blank-line": (
        PETER_NOTE.replace(b"\n\n", b"\n"),
        MalformedNoteError,
        "malformed note: no blank line before the signatures",
    ),
    "empty-note": (b"", MalformedNoteError, "malformed note: no blank line before the signatures"),
    "bad-base64": (
        PETER_NOTE.replace(b"x08go/", b"x08go!"),
        MalformedNoteError,
        "malformed note: signature: malformed base64 in signature line ",
    ),
    "non-canonical-base64": (
        PETER_NOTE.replace(b"JnAM=", b"JnAN="),
        MalformedNoteError,
        "malformed note: signature: malformed base64 in signature line ",
    ),
    "missing-base64-padding": (
        PETER_NOTE.replace(b"JnAM=", b"JnAM"),
        MalformedNoteError,
        "malformed note: signature: malformed base64 in signature line ",
    ),
    "empty-signature": (
        PETER_NOTE.replace(PETER_LINE.split(" ")[2].encode(), b"\n"),
        MalformedNoteError,
        "malformed note: signature: malformed base64 in signature line ",
    ),
    "key-id-only-signature": (
        replace_line_b64(PETER_NOTE, lambda raw: raw[:4]),
        MalformedNoteError,
        "malformed note: signature of 4 bytes, want at least 5: ",
    ),
    "two-spaces-after-name": (
        PETER_NOTE.replace(b"PeterNeumann ", b"PeterNeumann  "),
        MalformedNoteError,
        "malformed note: signature: malformed base64 in signature line ",
    ),
    "no-space-after-name": (
        PETER_NOTE.replace(b"PeterNeumann ", b"PeterNeumann"),
        MalformedNoteError,
        "malformed note: bad key name in signature line ",
    ),
    "plus-in-name": (
        PETER_NOTE.replace(b"PeterNeumann ", b"Peter+Neumann "),
        MalformedNoteError,
        "malformed note: bad key name in signature line ",
    ),
    "unicode-space-in-name": (
        PETER_NOTE.replace(b"PeterNeumann ", "Peter\u3000Neumann ".encode()),
        MalformedNoteError,
        "malformed note: bad key name in signature line ",
    ),
    "hyphen-instead-of-em-dash": (
        PETER_NOTE.replace("—".encode(), b"-"),
        MalformedNoteError,
        "malformed note: signature line '- PeterNeumann ",
    ),
    "duplicate-signature-line": (
        PETER_NOTE + PETER_LINE.encode(),
        MalformedNoteError,
        "malformed note: two signatures by PeterNeumann+c74f20a3",
    ),
    "101-signatures": (
        PETER_NOTE + "".join(UNKNOWN_LINES).encode(),
        MalformedNoteError,
        "malformed note: 101 signatures, limit 100",
    ),
    "non-utf8": (
        PETER_NOTE.replace(b"answer", b"answ\xffr"),
        MalformedNoteError,
        "malformed note: invalid UTF-8",
    ),
    "overlong-utf8": (
        PETER_NOTE.replace(b"a", b"\xc1\xa1", 1),
        MalformedNoteError,
        "malformed note: invalid UTF-8",
    ),
    "utf8-surrogate": (
        PETER_NOTE.replace(b"a", b"\xed\xa0\x80", 1),
        MalformedNoteError,
        "malformed note: invalid UTF-8",
    ),
    "tab-in-text": (
        PETER_NOTE.replace(b"you think", b"you\tthink"),
        MalformedNoteError,
        "malformed note: control character U+0009",
    ),
    "crlf-line-endings": (
        PETER_NOTE.replace(b"\n", b"\r\n"),
        MalformedNoteError,
        "malformed note: control character U+000D",
    ),
    "nul-in-signature-line": (
        PETER_NOTE.replace(b"PeterNeumann ", b"PeterNeumann\x00 "),
        MalformedNoteError,
        "malformed note: control character U+0000",
    ),
    "oversized-note": (
        OVERSIZED_NOTE,
        MalformedNoteError,
        f"malformed note: {len(OVERSIZED_NOTE)} bytes, limit 1000000",
    ),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_mutated_go_note_is_rejected(mutation: str) -> None:
    msg, want_type, want_message = MUTATIONS[mutation]
    assert msg != PETER_NOTE
    with pytest.raises(want_type) as caught:
        open_note(msg, [new_verifier(PETER_VKEY)])
    assert type(caught.value) is want_type
    assert isinstance(caught.value, InvalidSignatureError)
    assert str(caught.value).startswith(want_message)


def test_happy_path_is_accepted() -> None:
    assert open_note(PETER_NOTE, [new_verifier(PETER_VKEY)]).text == GO["note_text"]


def test_100_signatures_are_accepted() -> None:
    msg = PETER_NOTE + "".join(UNKNOWN_LINES[:99]).encode()
    note = open_note(msg, [new_verifier(PETER_VKEY)])
    assert len(note.sigs) + len(note.unverified_sigs) == 100


def test_bad_signature_by_one_known_key_rejects_the_note() -> None:
    enoch_note = (GO["note_text"] + "\n" + ENOCH_LINE).encode()
    enoch_bad = replace_line_b64(enoch_note, lambda raw: flip(raw, 40)).decode().rpartition("\n\n")[2]
    msg = (GO["note_text"] + "\n" + PETER_LINE + enoch_bad).encode()
    with pytest.raises(InvalidSignatureError, match=r"^invalid signature$"):
        open_note(msg, [new_verifier(PETER_VKEY), new_verifier(ENOCH_VKEY)])
    assert [s.name for s in open_note(msg, [new_verifier(PETER_VKEY)]).sigs] == ["PeterNeumann"]


def test_same_name_other_key_is_ignored_not_verified() -> None:
    other = keys.generate("PeterNeumann", randbytes=lambda n: bytes(range(n)))
    with pytest.raises(UnverifiedNoteError) as caught:
        open_note(PETER_NOTE, [new_verifier(other.verifier_key)])
    assert [s.name for s in caught.value.note.unverified_sigs] == ["PeterNeumann"]


def test_two_verifiers_for_one_key_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match=re.escape("verifiers: two verifiers for PeterNeumann+c74f20a3")):
        open_note(PETER_NOTE, [new_verifier(PETER_VKEY), new_verifier(PETER_VKEY)])


def test_open_note_wants_bytes() -> None:
    with pytest.raises(TypeError, match="note must be bytes, not str"):
        open_note(GO["signed_note_peter"], [new_verifier(PETER_VKEY)])


# --- verifier keys ---------------------------------------------------------------------------------

VKEY_MUTATIONS = {
    "uppercase-key-id": (
        PETER_VKEY.replace("c74f20a3", "C74F20A3"),
        "verifier key: malformed key ID 'C74F20A3', want 8 lowercase hex digits",
    ),
    "short-key-id": (
        PETER_VKEY.replace("c74f20a3", "c74f20a"),
        "verifier key: malformed key ID 'c74f20a', want 8 lowercase hex digits",
    ),
    "wrong-key-id": (
        PETER_VKEY.replace("c74f20a3", "c74f20a4"),
        "verifier key: key ID c74f20a4 does not match name and key, want c74f20a3",
    ),
    "other-name": (
        PETER_VKEY.replace("PeterNeumann", "PeterNeumanm"),
        "verifier key: key ID c74f20a3 does not match name and key, want ",
    ),
    "empty-name": (PETER_VKEY.replace("PeterNeumann", ""), "verifier key: name: '' is not a valid key name"),
    "space-in-name": (
        PETER_VKEY.replace("PeterNeumann", "Peter Neumann"),
        "verifier key: name: 'Peter Neumann' is not a valid key name",
    ),
    "missing-material": ("PeterNeumann+c74f20a3", "verifier key: key material: malformed base64"),
    "base64-extra-char": (PETER_VKEY + "A", "verifier key: key material: malformed base64"),
    "non-canonical-base64": (
        "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode().replace("A=", "B="),
        "verifier key: key material: malformed base64",
    ),
    "bad-base64": (PETER_VKEY.replace("ARpc", "ARp!"), "verifier key: key material: malformed base64"),
    "unknown-type": (
        PETER_VKEY.replace("+ARpc", "+Ahpc"),
        "verifier key: unsupported signature type 0x02",
    ),
    "short-public-key": (
        "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
        "verifier key: wrong public key size 31, want 32",
    ),
}


@pytest.mark.parametrize("mutation", list(VKEY_MUTATIONS))
def test_mutated_vkey_is_rejected(mutation: str) -> None:
    vkey, message = VKEY_MUTATIONS[mutation]
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_verifier_key(vkey)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        new_verifier(vkey)


def test_new_verifier_refuses_cosignature_vkeys() -> None:
    vkey = format_verifier_key("witness.example/w1", bytes(32), 0x04)
    assert parse_verifier_key(vkey).sig_type == 0x04
    with pytest.raises(ValueError, match=re.escape("verifier key: signature type 0x04, want 0x01 (Ed25519)")):
        new_verifier(vkey)


def test_key_id_rejects_bad_names_and_types() -> None:
    with pytest.raises(ValueError, match=re.escape("key name: 'a+b' is not a valid key name")):
        key_id("a+b", 1, bytes(32))
    with pytest.raises(ValueError, match="signature type 256 is not a byte"):
        key_id("a", 256, bytes(32))


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("example.com/log", True),
        ("市场监管/抽查", True),
        ("", False),
        ("a b", False),
        ("a\u00a0b", False),
        ("a\u2028b", False),
        ("a+b", False),
        ("a\tb", False),
    ],
)
def test_is_valid_name(name: str, valid: bool) -> None:
    assert keys.is_valid_name(name) is valid


# --- signing errors --------------------------------------------------------------------------------


SIGNER = parse_private_key(PETER_SKEY).signer()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no newline", "note text: must end with a newline"),
        ("", "note text: must end with a newline"),
        ("tab\there\n", "note text: control character U+0009 at offset 3"),
        ("cr\r\n", "note text: control character U+000D at offset 2"),
        ("lone \ud800 surrogate\n", "note text: not encodable as UTF-8 at offset 5"),
    ],
)
def test_sign_note_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        sign_note(text, SIGNER)


def test_sign_note_signer_count_and_duplicates() -> None:
    with pytest.raises(ValueError, match=re.escape("sign_note: 0 signers, want 1 to 100")):
        sign_note("text\n")
    with pytest.raises(ValueError, match=re.escape("two signatures by PeterNeumann+c74f20a3")):
        sign_note("text\n", SIGNER, SIGNER)


def test_sign_note_size_limit() -> None:
    text = "a" * 999_999 + "\n"
    want = (
        len(text)
        + 1
        + len(format_signature_line(open_note(PETER_NOTE, [new_verifier(PETER_VKEY)]).sigs[0]).encode())
    )
    with pytest.raises(ValueError, match=f"^sign_note: note of {want} bytes, limit 1000000$"):
        sign_note(text, SIGNER)


def test_sign_note_keeps_text_with_blank_lines() -> None:
    text = "line\n\n— not a signature\n\n"
    note = open_note(sign_note(text, SIGNER), [new_verifier(PETER_VKEY)])
    assert note.text == text


# --- properties ------------------------------------------------------------------------------------

TEXT_CHARS = st.characters(
    exclude_categories=("Cs",), exclude_characters=[chr(c) for c in range(0x20) if c != 10]
)
TEXTS = st.text(TEXT_CHARS, max_size=200).map(lambda s: s + "\n")
NAMES = st.text(
    st.characters(exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), exclude_characters="+"),
    min_size=1,
    max_size=40,
).filter(lambda s: not any(c.isspace() for c in s))


@settings(max_examples=60, deadline=None)
@given(TEXTS)
def test_any_text_signs_and_opens(text: str) -> None:
    msg = sign_note(text, SIGNER)
    note = open_note(msg, [new_verifier(PETER_VKEY)])
    assert note.text == text
    raw = base64.b64decode(note.sigs[0].base64)
    Ed25519PublicKey.from_public_bytes(vkey_public_key(PETER_VKEY)).verify(raw[4:], text.encode())


@settings(max_examples=60, deadline=None)
@given(NAMES, st.binary(min_size=32, max_size=32))
def test_any_name_vkey_round_trips(name: str, public_key: bytes) -> None:
    vkey = format_verifier_key(name, public_key)
    parsed = parse_verifier_key(vkey)
    assert (parsed.name, parsed.public_key) == (name, public_key)
    assert parsed.key_id == independent_key_id(name, 1, public_key)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(PETER_NOTE) - 1), st.integers(min_value=1, max_value=255))
def test_any_changed_byte_is_rejected(index: int, xor: int) -> None:
    mutated = PETER_NOTE[:index] + bytes([PETER_NOTE[index] ^ xor]) + PETER_NOTE[index + 1 :]
    with pytest.raises(InvalidSignatureError):
        open_note(mutated, [new_verifier(PETER_VKEY)])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_raise_only_the_domain_error(msg: bytes) -> None:
    try:
        open_note(msg, [new_verifier(PETER_VKEY)])
    except InvalidSignatureError:
        return
    raise AssertionError("an arbitrary message opened")


class _BrokenSigner:
    name = "broken.example"
    key_id = 1

    def sign(self, message: bytes) -> bytes:
        return b""


def test_signer_must_return_a_signature() -> None:
    with pytest.raises(
        ValueError, match=re.escape("signer broken.example: sign() must return non-empty bytes")
    ):
        sign_note("text\n", _BrokenSigner())


class _BadIdSigner(_BrokenSigner):
    key_id = 2**32


def test_signer_key_id_must_be_uint32() -> None:
    with pytest.raises(
        ValueError, match=re.escape("signer broken.example: key ID 4294967296 is not a uint32")
    ):
        sign_note("text\n", _BadIdSigner())
