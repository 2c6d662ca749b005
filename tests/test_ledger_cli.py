"""The ``fairdraw keys`` and ``fairdraw ledger`` commands: a whole session; bad input writes nothing."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

import fairdraw
import keys
from ledger import checkpoint, tiles, tree
from ledger.receipt import parse_proof


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAIRDRAW_HOME", str(tmp_path))
    monkeypatch.setenv("FAIRDRAW_KEY_PASSPHRASE", "correct horse battery staple")
    monkeypatch.delenv("FAIRDRAW_DATABASE_URL", raising=False)
    monkeypatch.delenv("FAIRDRAW_KEY_FILE", raising=False)
    monkeypatch.delenv("FAIRDRAW_KEY_PASSPHRASE_FILE", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = fairdraw.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _lines(tmp_path: Path, *objects: object, raw: str = "") -> str:
    path = tmp_path / f"in-{len(list(tmp_path.glob('in-*')))}.jsonl"
    text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects) + raw
    path.write_text(text, encoding="utf-8")
    return str(path)


def _checkpoint(note: str, vkey: str) -> checkpoint.Checkpoint:
    return checkpoint.parse_checkpoint(keys.open_note(note.encode(), [keys.new_verifier(vkey)]).text)


def test_a_whole_session(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, vkey, _ = run(capsys, "keys", "generate", "--name", "fairdraw.test/log")
    vkey = vkey.strip()
    assert code == 0 and vkey.startswith("fairdraw.test/log+")
    assert (home / "keys" / "log.key").stat().st_mode & 0o777 == 0o600
    assert run(capsys, "keys", "show")[1].strip() == vkey
    assert run(capsys, "ledger", "init", "--origin", "fairdraw.test/log")[0] == 0
    items = [{"type": "note", "body": {"text": f"第{i}条"}} for i in range(300)]
    code, out, _ = run(capsys, "ledger", "append", _lines(home, *items))
    printed = [line.split(" ") for line in out.splitlines()]
    assert code == 0 and [int(i) for i, _ in printed] == list(range(1, 301))
    code, note, _ = run(capsys, "ledger", "checkpoint")
    cp = _checkpoint(note, vkey)
    assert cp.size == 301
    code, entry, _ = run(capsys, "ledger", "entry", "7")
    leaf = tree.leaf_hash(entry.encode("utf-8")[:-1])
    assert base64.b64encode(leaf).decode() == printed[6][1]
    code, text, _ = run(capsys, "ledger", "proof", "inclusion", "7")
    proof = parse_proof(text)
    tree.check_inclusion(list(proof.proof_hashes), cp.size, 7, leaf, cp.root)
    assert proof.signed_checkpoint == note.encode()
    code, lines, _ = run(capsys, "ledger", "proof", "consistency", "1", "301")
    first = parse_proof(run(capsys, "ledger", "proof", "inclusion", "0", "--size", "1")[1])
    old = _checkpoint(first.signed_checkpoint.decode(), vkey)
    hashes = [base64.b64decode(h) for h in lines.split()]
    tree.check_consistency(hashes, 1, 301, old.root, cp.root)
    assert run(capsys, "ledger", "export-tiles", str(home / "tiles"))[0] == 0
    assert (home / "tiles" / tiles.format_tile_path(tiles.Tile(0, 0, 256))).stat().st_size == 256 * 32
    code, out, _ = run(capsys, "keys", "rotate")
    new_vkey = out.splitlines()[-1]
    assert code == 0 and new_vkey != vkey and run(capsys, "keys", "show")[1].strip() == new_vkey
    code, out, _ = run(capsys, "ledger", "audit")
    assert code == 0 and out.startswith("ok: 302 entries")


def test_bad_lines_write_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "keys", "generate", "--name", "fairdraw.test/log")
    run(capsys, "ledger", "init", "--origin", "fairdraw.test/log")
    good = {"type": "note", "body": {"text": "fine"}}
    cases = [
        (_lines(home, good, raw="{not json\n"), "line 2: Expecting property name"),
        (_lines(home, good, {"type": "x.nope", "body": {}}), "line 2: ledger: unknown entry type 'x.nope'"),
        (_lines(home, {"type": "note"}), 'line 1: expected one object {"type": T, "body": {...}}'),
        (_lines(home, {"type": "note", "body": {"text": "x" * 20000}}), "line 1: ledger: body.text must be"),
    ]
    for path, message in cases:
        code, out, err = run(capsys, "ledger", "append", path)
        assert (code, out) == (1, "")
        assert err.startswith("fairdraw: ") and message in err, err
    vkey = run(capsys, "keys", "show")[1].strip()
    assert _checkpoint(run(capsys, "ledger", "checkpoint")[1], vkey).size == 1


def test_wrong_passphrase_is_a_plain_error(home: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run(capsys, "keys", "generate", "--name", "fairdraw.test/log")
    run(capsys, "ledger", "init", "--origin", "fairdraw.test/log")
    monkeypatch.setenv("FAIRDRAW_KEY_PASSPHRASE", "wrong")
    code, out, err = run(capsys, "ledger", "append", _lines(home, {"type": "note", "body": {"text": "x"}}))
    assert (code, out) == (1, "")
    assert "wrong passphrase or damaged key file" in err and "Traceback" not in err


def test_errors_exit_nonzero_from_the_console_script(home: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "fairdraw", "ledger", "checkpoint"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("fairdraw: ") and "Traceback" not in result.stderr
