"""docs/keys.md stays true: its examples verify, and it names every error type and format."""

import re
from pathlib import Path

import pytest

import keys
from keys import check_rotation, new_verifier, open_note, parse_private_key, read_key_file
from tests.vector_keys import PETER_SKEY

DOC = (Path(__file__).resolve().parent.parent / "docs" / "keys.md").read_text(encoding="utf-8")
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TESSERA_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"


def example(name: str) -> str:
    match = re.search(rf"<!-- example: {name} -->\n```[a-z]*\n(.*?)```\n", DOC, re.DOTALL)
    assert match is not None, name
    return match.group(1)


def test_signed_note_example_verifies() -> None:
    note = open_note(example("signed-note").encode(), [new_verifier(PETER_VKEY)])
    assert note.text.startswith("If you think cryptography")


def test_key_file_example_opens_to_the_go_test_key(tmp_path: Path) -> None:
    path = tmp_path / "example.key"
    path.write_text(example("key-file"), encoding="utf-8")
    key = read_key_file(path, b"correct horse battery staple")
    assert key.verifier_key == parse_private_key(PETER_SKEY).verifier_key


def test_rotation_example_checks() -> None:
    assert check_rotation(example("rotation").encode(), PETER_VKEY) == TESSERA_VKEY


@pytest.mark.parametrize(
    "name",
    [
        "InvalidSignatureError",
        "MalformedNoteError",
        "UnverifiedNoteError",
        "KeyFileError",
        "FAIRDRAW_KEY_PASSPHRASE",
        "FAIRDRAW_KEY_PASSPHRASE_FILE",
        "FAIRDRAW_KEY_FILE",
        "FAIRDRAW_HOME",
        keys.keyfile.FORMAT,
        keys.rotation.ROTATION_HEADER,
        "cosignature/v1",
    ],
)
def test_doc_names_it(name: str) -> None:
    assert name in DOC
