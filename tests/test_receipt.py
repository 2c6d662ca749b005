"""ledger.receipt against c2sp.org/tlog-proof@v1: the spec's example, a real receipt from the Tessera
tiny log that verifies end to end, and every mutation rejected with its message."""

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.checkpoint import parse_checkpoint
from ledger.errors import FormatError, ProofError
from ledger.receipt import MAX_EXTRA_SIZE, PROOF_HEADER, TlogProof, format_proof, parse_proof
from ledger.tree import MemoryHashStore, check_inclusion, leaf_hash, prove_inclusion

VECTORS = Path(__file__).parent / "vectors"
C2SP = json.loads((VECTORS / "tlog-formats" / "c2sp-spec-examples.json").read_text(encoding="utf-8"))
EXAMPLE = C2SP["tlog_proof_example"]["text"]
TESSERA = json.loads((VECTORS / "tessera" / "tessera-tiny-log.json").read_text(encoding="utf-8"))
SIGNED_15 = (VECTORS / "tessera" / "testdata" / "log" / "checkpoint.15").read_bytes()
ENTRIES = [entry.encode("ascii") for entry in TESSERA["entries_ascii"]]


def tessera_store() -> MemoryHashStore:
    store = MemoryHashStore()
    for entry in ENTRIES:
        store.append(entry)
    return store


def test_spec_example_parses_and_round_trips() -> None:
    proof = parse_proof(EXAMPLE)
    assert proof.index == 73894
    assert proof.extra == base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")
    assert proof.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert [base64.b64encode(h).decode() for h in proof.proof_hashes] == EXAMPLE.split("\n")[3:8]
    assert proof.signed_checkpoint.decode().startswith("example.com/fancylog\n109482\n")
    assert EXAMPLE.endswith(proof.signed_checkpoint.decode())
    assert format_proof(proof.index, proof.proof_hashes, proof.signed_checkpoint, proof.extra) == EXAMPLE


def test_tessera_receipt_verifies_end_to_end() -> None:
    store = tessera_store()
    for index, entry in enumerate(ENTRIES):
        text = format_proof(index, prove_inclusion(15, index, store), SIGNED_15)
        proof = parse_proof(text)
        assert proof == TlogProof(index, tuple(prove_inclusion(15, index, store)), SIGNED_15)
        note = proof.signed_checkpoint.decode()
        checkpoint = parse_checkpoint(note[: note.rindex("\n\n") + 1])
        check_inclusion(proof.proof_hashes, checkpoint.size, proof.index, leaf_hash(entry), checkpoint.root)
        with pytest.raises(ProofError):
            check_inclusion(
                proof.proof_hashes, checkpoint.size, proof.index, leaf_hash(b"forged"), checkpoint.root
            )


def test_receipt_layout() -> None:
    store = tessera_store()
    text = format_proof(14, prove_inclusion(15, 14, store), SIGNED_15, extra=b"\x00vrf")
    lines = text.split("\n")
    assert lines[:3] == [PROOF_HEADER, "extra AHZyZg==", "index 14"]
    assert len(lines[3]) == 44 and lines[6] == ""
    assert text.endswith("\n\n" + SIGNED_15.decode())


def good_text() -> str:
    proof = prove_inclusion(15, 3, tessera_store())
    return format_proof(3, proof, SIGNED_15, extra=b"context")


GOOD = good_text()
HASH = GOOD.split("\n")[3]
MUTATIONS = {
    "wrong-header": (
        GOOD.replace("@v1", "@v2"),
        "ledger: tlog-proof must start with 'c2sp.org/tlog-proof@v1'",
    ),
    "empty": ("", "ledger: tlog-proof must end with a newline"),
    "header-only": (PROOF_HEADER + "\n", "ledger: tlog-proof is missing its index line"),
    "missing-final-newline": (GOOD[:-1], "ledger: tlog-proof must end with a newline"),
    "extra-empty": (
        GOOD.replace("extra Y29udGV4dA==", "extra "),
        "ledger: tlog-proof extra must be canonical",
    ),
    "extra-non-canonical": (
        GOOD.replace("extra Y29udGV4dA==", "extra Y29udGV4dB=="),
        "ledger: tlog-proof extra must be canonical base64",
    ),
    "extra-unpadded": (
        GOOD.replace("Y29udGV4dA==", "Y29udGV4dA"),
        "ledger: malformed base64 in tlog-proof extra",
    ),
    "extra-after-index": (
        GOOD.replace("extra Y29udGV4dA==\nindex 3", "index 3\nextra Y29udGV4dA=="),
        "ledger: malformed base64 in tlog-proof hash 0 'extra Y29udGV4dA=='",
    ),
    "extra-twice": (
        GOOD.replace("extra Y29udGV4dA==", "extra Y29udGV4dA==\nextra Y29udGV4dA=="),
        "ledger: tlog-proof is missing its index line",
    ),
    "index-missing": (GOOD.replace("index 3\n", ""), "ledger: tlog-proof is missing its index line"),
    "index-leading-zero": (GOOD.replace("index 3", "index 03"), "ledger: malformed tlog-proof index '03'"),
    "index-plus": (GOOD.replace("index 3", "index +3"), "ledger: malformed tlog-proof index '+3'"),
    "index-two-spaces": (GOOD.replace("index 3", "index  3"), "ledger: malformed tlog-proof index ' 3'"),
    "index-2**64": (GOOD.replace("index 3", f"index {1 << 64}"), "ledger: malformed tlog-proof index"),
    "hash-31-bytes": (
        GOOD.replace(HASH, base64.b64encode(bytes(31)).decode()),
        "ledger: tlog-proof hash 0 must be canonical base64 of 32 bytes",
    ),
    "hash-not-base64": (GOOD.replace(HASH, "!" * 44), "ledger: malformed base64 in tlog-proof hash 0"),
    "hash-trailing-space": (GOOD.replace(HASH, HASH + " "), "ledger: malformed base64 in tlog-proof hash 0"),
    "65-hashes": (
        GOOD.replace(HASH, "\n".join([HASH] * 65)),
        "ledger: tlog-proof has more than 64 proof hashes",
    ),
    "no-empty-line": (
        GOOD.replace("\n\n", "\n", 1).split("\n\n")[0] + "\n",
        "ledger: malformed base64 in tlog-proof hash 4 'example.com",
    ),
    "two-empty-lines": (
        GOOD.replace("\n\n", "\n\n\n", 1),
        "ledger: checkpoint origin must be a non-empty string",
    ),
    "checkpoint-unsigned": (
        GOOD[: GOOD.rindex("\n\n") + 1],
        "ledger: signed checkpoint needs its note text, an empty line and signature lines",
    ),
    "checkpoint-bad-size": (GOOD.replace("\n15\n", "\n015\n"), "ledger: malformed checkpoint size '015'"),
    "signature-line-without-dash": (
        GOOD.replace("— example.com/log/testdata", "example.com/log/testdata"),
        "ledger: malformed signature line 'example.com/log/testdata ",
    ),
    "signature-line-hyphen": (GOOD.replace("— ", "- "), "ledger: malformed signature line '- example.com"),
    "signature-line-control-char": (
        GOOD.replace("— example.com", "— exa\tmple.com"),
        "ledger: malformed signature",
    ),
    "empty-signature-line": (GOOD + "\n", "ledger: signed checkpoint needs its note text, an empty line and"),
    "blank-line-between-signatures": (
        GOOD + "\n— x AAAA\n",
        "ledger: checkpoint extensions[0] must be a non-empty",
    ),
    "hashes-then-end": (
        GOOD.split("\n\n")[0] + "\n",
        "ledger: tlog-proof has no checkpoint after its proof hashes",
    ),
    "crlf": (GOOD.replace("\n", "\r\n"), "ledger: tlog-proof must start with"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_parse_rejects(name: str) -> None:
    text, message = MUTATIONS[name]
    assert text != GOOD
    with pytest.raises(FormatError) as caught:
        parse_proof(text)
    assert str(caught.value).startswith(message), str(caught.value)


def test_good_text_parses() -> None:
    proof = parse_proof(GOOD)
    assert proof.index == 3 and proof.extra == b"context" and len(proof.proof_hashes) == 4


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((-1, [], SIGNED_15), "ledger: index must be an integer in 0..2**64-1, got -1"),
        ((0, [bytes(31)], SIGNED_15), "ledger: proof_hashes[0] must be 32 bytes"),
        ((0, [bytes(32)] * 65, SIGNED_15), "ledger: proof_hashes has 65 hashes, more than 64"),
        (
            (0, [], SIGNED_15, b"x" * (MAX_EXTRA_SIZE + 1)),
            "ledger: extra must be bytes of at most 65536 bytes",
        ),
        ((0, [], SIGNED_15.decode()), "ledger: signed checkpoint must be bytes of at most 1000000 bytes"),
        ((0, [], b"\xff" + SIGNED_15), "ledger: signed checkpoint is not valid UTF-8"),
        ((0, [], SIGNED_15.replace(b"\n\n", b"\n")), "ledger: signed checkpoint needs its note text"),
        ((0, [], SIGNED_15[:-1]), "ledger: signed checkpoint needs its note text"),
    ],
)
def test_format_rejects(arguments: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        format_proof(*arguments)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


@given(
    st.integers(0, (1 << 64) - 1),
    st.lists(st.binary(min_size=32, max_size=32), max_size=64),
    st.binary(max_size=100),
)
def test_round_trip(index: int, hashes: list[bytes], extra: bytes) -> None:
    text = format_proof(index, hashes, SIGNED_15, extra)
    assert parse_proof(text) == TlogProof(index, tuple(hashes), SIGNED_15, extra)
    assert text.startswith(PROOF_HEADER + "\n") and ("\nextra " in text) == bool(extra)
