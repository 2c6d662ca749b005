"""ledger.checkpoint against c2sp.org/tlog-checkpoint: published bodies parse and round-trip, every
mutation of the format is rejected with a message naming the field."""

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.checkpoint import MAX_CHECKPOINT_SIZE, Checkpoint, format_checkpoint, parse_checkpoint
from ledger.errors import FormatError
from ledger.tree import leaf_hash

VECTORS = Path(__file__).parent / "vectors"
C2SP = json.loads((VECTORS / "tlog-formats" / "c2sp-spec-examples.json").read_text(encoding="utf-8"))
SUMDB = json.loads((VECTORS / "tlog-formats" / "sumdb-notes.json").read_text(encoding="utf-8"))
SIGSUM = json.loads((VECTORS / "tlog-formats" / "sigsum-checkpoint.json").read_text(encoding="utf-8"))
TESSERA = json.loads((VECTORS / "tessera" / "tessera-tiny-log.json").read_text(encoding="utf-8"))

GOOD = "example.com/log/testdata\n1\n0Nc2CrefWKseHj/mStd+LqC8B+NrX0btIiPt2SmN+ek=\n"


def body_of(note: str) -> str:
    """The note text of a signed note: everything up to the last empty line."""
    return note[: note.rindex("\n\n") + 1]


def published_notes() -> dict[str, str]:
    notes = {
        "c2sp-checkpoint": C2SP["checkpoint_example"]["note"],
        "c2sp-cosigned": C2SP["cosigned_checkpoint_example"]["note"],
        "sigsum-valid": SIGSUM["valid_checkpoint"]["text"],
        "sigsum-placeholder": SIGSUM["checkpoint_with_placeholder_signature"]["text"],
        "sum.golang.org": SIGSUM["go_sumdb_checkpoint"]["text"],
    }
    notes.update({f"tessera-{entry['size']}": entry["text"] for entry in TESSERA["checkpoints"]})
    return notes


@pytest.mark.parametrize(("name", "note"), published_notes().items(), ids=published_notes().keys())
def test_published_checkpoints_parse_and_round_trip(name: str, note: str) -> None:
    body = body_of(note)
    checkpoint = parse_checkpoint(body)
    assert format_checkpoint(checkpoint) == body
    origin, size, root = body.split("\n")[:3]
    assert (checkpoint.origin, checkpoint.size, checkpoint.extensions) == (origin, int(size), ())
    assert base64.b64encode(checkpoint.root).decode() == root


def test_spec_example_fields() -> None:
    checkpoint = parse_checkpoint(body_of(C2SP["checkpoint_example"]["note"]))
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")


def test_go_tree_note_golden() -> None:
    """Go's tlog FormatTree for size 123456789012 and root RecordHash("hello world") (a leaf hash)."""
    note = SUMDB["tree_note"]
    checkpoint = Checkpoint("go.sum database tree", note["tree_size"], leaf_hash(b"hello world"))
    assert format_checkpoint(checkpoint) == note["golden"]
    assert parse_checkpoint(note["golden"]) == checkpoint


def test_tessera_roots() -> None:
    for entry in TESSERA["checkpoints"]:
        checkpoint = parse_checkpoint(body_of(entry["text"]))
        assert checkpoint.origin == TESSERA["origin"] and checkpoint.size == entry["size"]
        assert checkpoint.root == base64.b64decode(entry["root_hash_base64"])


def test_extension_lines_round_trip() -> None:
    text = GOOD + "first extension\n— looks like a signature but is an extension line\n"
    checkpoint = parse_checkpoint(text)
    assert checkpoint.extensions == ("first extension", "— looks like a signature but is an extension line")
    assert format_checkpoint(checkpoint) == text


ROOT = "0Nc2CrefWKseHj/mStd+LqC8B+NrX0btIiPt2SmN+ek="
MUTATIONS = {
    "missing-final-newline": (GOOD[:-1], "ledger: checkpoint must end with a newline"),
    "two-lines": ("example.com/log\n1\n", "ledger: checkpoint has 2 lines, want at least 3"),
    "crlf": (GOOD.replace("\n", "\r\n"), "ledger: checkpoint origin contains control character '\\r'"),
    "crlf-after-origin": (GOOD.replace("\n1\n", "\n1\r\n"), "ledger: malformed checkpoint size '1\\r'"),
    "empty-origin": (
        GOOD.replace("example.com/log/testdata", ""),
        "ledger: checkpoint origin must be a non-empty",
    ),
    "tab-in-origin": (
        GOOD.replace("log/", "log\t"),
        "ledger: checkpoint origin contains control character '\\t'",
    ),
    "nul-in-origin": (
        GOOD.replace("log/", "log\x00"),
        "ledger: checkpoint origin contains control character",
    ),
    "lone-surrogate-in-origin": (
        GOOD.replace("log/", "log\ud800"),
        "ledger: checkpoint origin contains a lone",
    ),
    "size-leading-zero": (GOOD.replace("\n1\n", "\n01\n"), "ledger: malformed checkpoint size '01'"),
    "size-plus-sign": (GOOD.replace("\n1\n", "\n+1\n"), "ledger: malformed checkpoint size '+1'"),
    "size-minus-zero": (GOOD.replace("\n1\n", "\n-0\n"), "ledger: malformed checkpoint size '-0'"),
    "size-arabic-indic-digit": (GOOD.replace("\n1\n", "\n\u0661\n"), "ledger: malformed checkpoint size"),
    "size-fullwidth-digit": (GOOD.replace("\n1\n", "\n\uff11\n"), "ledger: malformed checkpoint size"),
    "size-space": (GOOD.replace("\n1\n", "\n 1\n"), "ledger: malformed checkpoint size ' 1'"),
    "size-underscore": (GOOD.replace("\n1\n", "\n1_0\n"), "ledger: malformed checkpoint size '1_0'"),
    "size-2**64": (
        GOOD.replace("\n1\n", f"\n{1 << 64}\n"),
        "ledger: malformed checkpoint size '18446744073709551616'",
    ),
    "size-empty": (GOOD.replace("\n1\n", "\n\n"), "ledger: malformed checkpoint size ''"),
    "root-31-bytes": (
        GOOD.replace(ROOT, base64.b64encode(bytes(31)).decode()),
        "ledger: checkpoint root must be canonical base64 of 32 bytes",
    ),
    "root-33-bytes": (
        GOOD.replace(ROOT, base64.b64encode(bytes(33)).decode()),
        "ledger: checkpoint root must be canonical base64 of 32 bytes",
    ),
    "root-unpadded": (GOOD.replace(ROOT, ROOT.rstrip("=")), "ledger: malformed base64 in checkpoint root"),
    "root-non-canonical-bits": (
        GOOD.replace(ROOT, ROOT[:-2] + "l="),  # "k" and "l" differ only in the two padding bits
        "ledger: checkpoint root must be canonical base64",
    ),
    "root-urlsafe-alphabet": (
        GOOD.replace(ROOT, ROOT.replace("/", "_")),
        "ledger: malformed base64 in checkpoint",
    ),
    "root-inner-space": (
        GOOD.replace(ROOT, ROOT[:10] + " " + ROOT[10:]),
        "ledger: malformed base64 in checkpoint",
    ),
    "root-trailing-space": (GOOD.replace(ROOT, ROOT + " "), "ledger: malformed base64 in checkpoint root"),
    "empty-extension-line": (GOOD + "\n", "ledger: checkpoint extensions[0] must be a non-empty string"),
    "empty-line-between-extensions": (
        GOOD + "a\n\nb\n",
        "ledger: checkpoint extensions[1] must be a non-empty",
    ),
    "signature-block-included": (
        GOOD + "\n— example.com/log/testdata AAAA\n",
        "ledger: checkpoint extensions[0] must be a non-empty string",
    ),
    "control-char-in-extension": (
        GOOD + "a\x7fb\x1b\n",
        "ledger: checkpoint extensions[0] contains control character",
    ),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_parse_rejects(name: str) -> None:
    text, message = MUTATIONS[name]
    with pytest.raises(FormatError) as caught:
        parse_checkpoint(text)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)


def test_parse_rejects_oversized_and_non_str() -> None:
    big = GOOD + ("x" * 1000 + "\n") * (MAX_CHECKPOINT_SIZE // 1000)
    with pytest.raises(FormatError, match=r"^ledger: checkpoint is longer than 1000000 bytes$"):
        parse_checkpoint(big)
    multibyte = GOOD + ("\u4e2d" * 1000 + "\n") * (MAX_CHECKPOINT_SIZE // 3000 + 1)
    assert len(multibyte) < MAX_CHECKPOINT_SIZE
    with pytest.raises(FormatError, match=r"^ledger: checkpoint is longer than 1000000 bytes$"):
        parse_checkpoint(multibyte)
    with pytest.raises(FormatError, match=r"^ledger: checkpoint must be str, got bytes$"):
        parse_checkpoint(GOOD.encode())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("", 1, bytes(32)), "ledger: checkpoint origin must be a non-empty string"),
        (("a\nb", 1, bytes(32)), "ledger: checkpoint origin contains control character '\\n'"),
        (("a", -1, bytes(32)), "ledger: size must be an integer in 0..2**64-1, got -1"),
        (
            ("a", 1 << 64, bytes(32)),
            "ledger: size must be an integer in 0..2**64-1, got 18446744073709551616",
        ),
        (("a", True, bytes(32)), "ledger: size must be an integer in 0..2**64-1, got True"),
        (("a", 1, bytes(31)), "ledger: checkpoint root must be 32 bytes, got 31"),
        (("a", 1, "00" * 32), "ledger: checkpoint root must be 32 bytes, got str"),
        (("a", 1, bytes(32), ["x"]), "ledger: checkpoint extensions must be a tuple of lines"),
        (("a", 1, bytes(32), ("x", "")), "ledger: checkpoint extensions[1] must be a non-empty string"),
    ],
)
def test_checkpoint_fields_are_checked(fields: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Checkpoint(*fields)  # type: ignore[arg-type]
    assert str(caught.value) == message


lines = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1, max_size=40)


@given(lines, st.integers(0, (1 << 64) - 1), st.binary(min_size=32, max_size=32), st.lists(lines, max_size=3))
def test_round_trip(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    text = format_checkpoint(checkpoint)
    assert parse_checkpoint(text) == checkpoint
    assert text.count("\n") == 3 + len(extensions) and text.endswith("\n")
