"""The ``keys generate`` / ``keys show`` commands and ``load_signing_key``."""

import argparse
import re
import stat
from pathlib import Path

import pytest

from keys import KdfParams, KeyFileError, add_commands, load_signing_key, parse_verifier_key, write_key_file
from keys.signing import generate

PASSPHRASE = "long enough passphrase"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fairdraw")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("FAIRDRAW_KEY_FILE", "FAIRDRAW_KEY_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAIRDRAW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FAIRDRAW_KEY_PASSPHRASE", PASSPHRASE)
    return tmp_path / "home"


def test_generate_then_show(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["keys", "generate", "--name", "fairdraw.example/log"]) == 0
    out, err = capsys.readouterr()
    vkey = out.removesuffix("\n")
    assert out.count("\n") == 1 and err == ""
    assert parse_verifier_key(vkey).name == "fairdraw.example/log"
    path = home / "keys" / "log.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSPHRASE not in path.read_text(encoding="utf-8")
    assert run(["keys", "show"]) == 0
    assert capsys.readouterr() == (out, "")


def test_generate_refuses_to_overwrite(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["keys", "generate", "--name", "a"]) == 0
    before = (home / "keys" / "log.key").read_bytes()
    capsys.readouterr()
    assert run(["keys", "generate", "--name", "b"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"fairdraw keys: key file already exists, not overwriting: {home / 'keys' / 'log.key'}\n"
    assert (home / "keys" / "log.key").read_bytes() == before


def test_generate_with_out_and_bad_name(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "elsewhere" / "k.key"
    assert run(["keys", "generate", "--name", "x", "--out", str(out_path)]) == 0
    vkey = capsys.readouterr().out.strip()
    assert run(["keys", "show", "--key", str(out_path)]) == 0
    assert capsys.readouterr().out.strip() == vkey
    assert run(["keys", "generate", "--name", "a b", "--out", str(tmp_path / "n.key")]) == 1
    err = capsys.readouterr().err
    assert err == "fairdraw keys: key name: 'a b' is not a valid key name (non-empty, no spaces, no '+')\n"
    assert not (tmp_path / "n.key").exists()


def test_show_with_wrong_passphrase(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "generate", "--name", "a"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("FAIRDRAW_KEY_PASSPHRASE", "wrong")
    assert run(["keys", "show"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"fairdraw keys: wrong passphrase or damaged key file: {home / 'keys' / 'log.key'}\n"


def test_generate_without_passphrase(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FAIRDRAW_KEY_PASSPHRASE")
    assert run(["keys", "generate", "--name", "a"]) == 1
    assert capsys.readouterr().err == (
        "fairdraw keys: no key passphrase: set FAIRDRAW_KEY_PASSPHRASE or FAIRDRAW_KEY_PASSPHRASE_FILE\n"
    )
    assert not (home / "keys" / "log.key").exists()


def test_show_missing_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["keys", "show"]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"fairdraw keys: cannot read key file: {home / 'keys' / 'log.key'}: No such file or directory\n"
    )


def test_key_file_variable_is_used(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIRDRAW_KEY_FILE", str(tmp_path / "from-env.key"))
    assert run(["keys", "generate", "--name", "a"]) == 0
    assert (tmp_path / "from-env.key").exists()
    assert not (home / "keys" / "log.key").exists()


def test_keys_needs_a_subcommand() -> None:
    with pytest.raises(SystemExit) as caught:
        run(["keys"])
    assert caught.value.code == 2


CHEAP = KdfParams(memory_kib=8, iterations=1, lanes=1)


def test_load_signing_key_paths(tmp_path: Path) -> None:
    key = generate("log.example")
    default = tmp_path / "keys" / "log.key"
    write_key_file(default, key, b"pw", kdf=CHEAP)
    env = {"FAIRDRAW_KEY_PASSPHRASE": "pw"}
    assert load_signing_key(env, tmp_path).verifier_key == key.verifier_key
    other_key = generate("other.example")
    other = tmp_path / "other.key"
    write_key_file(other, other_key, b"pw", kdf=CHEAP)
    with_file = {**env, "FAIRDRAW_KEY_FILE": str(other)}
    assert load_signing_key(with_file, tmp_path).verifier_key == other_key.verifier_key
    assert load_signing_key(with_file, tmp_path, default).verifier_key == key.verifier_key


def test_load_signing_key_errors(tmp_path: Path) -> None:
    write_key_file(tmp_path / "keys" / "log.key", generate("a"), b"pw", kdf=CHEAP)
    with pytest.raises(KeyFileError, match=re.escape("no key passphrase")):
        load_signing_key({}, tmp_path)
    with pytest.raises(KeyFileError, match=re.escape("wrong passphrase or damaged key file")):
        load_signing_key({"FAIRDRAW_KEY_PASSPHRASE": "nope"}, tmp_path)
