"""``fairdraw dept add`` and ``fairdraw serve --workers N`` (a real uvicorn with two worker processes)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import fairdraw
from draw.service.auth import TOKEN_PATTERN
from ledger.entries import decode_entry
from tests.service_helpers import department_key, free_port, serving

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAIRDRAW_HOME", str(tmp_path))
    monkeypatch.setenv("FAIRDRAW_KEY_PASSPHRASE", PASSPHRASE)
    for name in ("FAIRDRAW_DATABASE_URL", "FAIRDRAW_KEY_FILE", "FAIRDRAW_KEY_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert fairdraw.main(["keys", "generate", "--name", "fairdraw.test/log"]) == 0
    assert fairdraw.main(["ledger", "init", "--origin", "fairdraw.test/log"]) == 0
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = fairdraw.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _entries(capsys: pytest.CaptureFixture[str]) -> list[bytes]:
    _, note, _ = run(capsys, "ledger", "checkpoint")
    size = int(note.splitlines()[1])
    return [run(capsys, "ledger", "entry", str(i))[1].encode("utf-8").rstrip(b"\n") for i in range(size)]


def test_dept_add_prints_the_token_once_and_records_no_secret(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vkey = department_key("NB").verifier_key
    code, out, err = run(
        capsys,
        "dept",
        "add",
        "NB",
        "宁波市市场监督管理局",
        "--vkey",
        vkey,
        "--role",
        "submit",
        "--role",
        "oversee",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "registered department NB at ledger entry 1"
    assert lines[1] == "roles: oversee submit"
    token = lines[-1]
    assert TOKEN_PATTERN.fullmatch(token) and out.count(token) == 1
    entries = _entries(capsys)
    body = decode_entry(entries[1]).body
    assert body == {
        "code": "NB",
        "name": "宁波市市场监督管理局",
        "roles": ["oversee", "submit"],
        "vkey": vkey,
    }
    assert all(token.encode() not in entry for entry in entries)
    assert PASSPHRASE not in out + err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dept", "add", "nb", "名称"], "fairdraw: department code must match"),
        (["dept", "add", "NB", "名称", "--vkey", "nope"], "fairdraw: verifier key"),
        (["dept", "add", "NB", ""], "fairdraw: department name must be"),
    ],
)
def test_dept_add_refuses_bad_input_and_writes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1 and err.startswith(message) and out == ""
    assert len(_entries(capsys)) == 1


def test_dept_add_twice_is_refused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "dept", "add", "HZ", "杭州")[0] == 0
    code, _, err = run(capsys, "dept", "add", "HZ", "杭州")
    assert code == 1 and err == "fairdraw: department HZ is already registered\n"
    assert len(_entries(capsys)) == 2


def test_dept_token_replaces_the_token(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from draw.service.auth import token_hash
    from draw.service.db import departments
    from ledger import store

    old = run(capsys, "dept", "add", "HZ", "杭州")[1].splitlines()[-1]
    code, out, _ = run(capsys, "dept", "token", "HZ")
    new = out.splitlines()[-1]
    assert code == 0 and TOKEN_PATTERN.fullmatch(new) and new != old
    engine = store.create_engine(store.default_url(home))
    with engine.connect() as conn:
        stored = conn.execute(departments.select()).one().token_hash
    engine.dispose()
    assert bytes(stored) == token_hash(new)
    assert len(_entries(capsys)) == 2  # the ledger is not involved
    code, _, err = run(capsys, "dept", "token", "QZ")
    assert code == 1 and err == "fairdraw: no registered department QZ\n"


def test_dept_key_rotates_and_removes_a_key_in_the_ledger(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = department_key("NB").verifier_key, department_key("NB2").verifier_key
    assert run(capsys, "dept", "add", "NB", "宁波", "--vkey", old)[0] == 0
    code, out, err = run(capsys, "dept", "key", "NB", "--vkey", new)
    assert (code, out, err) == (0, f"department NB signs with {new} from ledger entry 2 on\n", "")
    code, out, err = run(capsys, "dept", "key", "NB", "--remove", "--wait", "0")
    assert (code, out) == (0, "department NB has no key from ledger entry 3 on (its requests are unsigned)\n")
    bodies = [decode_entry(e).body for e in _entries(capsys)[2:]]
    assert bodies == [
        {"department": "NB", "vkey": new, "supersedes": 1},
        {"department": "NB", "vkey": None, "supersedes": 2},
    ]
    for argv, message in (
        (["dept", "key", "NB", "--remove"], "fairdraw: department NB has no key\n"),
        (["dept", "key", "QZ", "--vkey", new], "fairdraw: no registered department QZ\n"),
        (["dept", "key", "NB", "--vkey", "nope"], "fairdraw: verifier key"),
        (["dept", "key", "NB", "--vkey", new, "--wait", "-1"], "fairdraw: dept key: --wait must be"),
    ):
        code, out, err = run(capsys, *argv)
        assert code == 1 and out == "" and err.startswith(message), (argv, err)
    assert len(_entries(capsys)) == 4


def test_serve_refuses_zero_workers(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", "--workers", "0")
    assert code == 1 and err == "fairdraw: serve: --workers must be at least 1\n"


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextlib.contextmanager
def _server(home: Path, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = free_port()
    log_path = home / f"server-{port}.log"
    with serving(log_path, "--port", str(port), "--workers", str(workers)) as proc:
        yield f"http://127.0.0.1:{port}", proc, log_path


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text(errors="replace")
        with contextlib.suppress(OSError):
            if _get(base + "/readyz")[0] == 200:
                return
        time.sleep(0.2)
    raise AssertionError("server did not become ready:\n" + log_path.read_text(errors="replace"))


def test_serve_with_two_workers(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "dept", "add", "HZ", "杭州市市场监督管理局")
    token = out.splitlines()[-1]
    with _server(home, workers=2) as (base, proc, log_path):
        _wait_ready(base, proc, log_path)
        assert _get(base + "/readyz") == (
            200,
            {"status": "ready", "checks": {"database": "ok", "ledger": "ok"}},
        )
        for _ in range(6):
            status, me = _get(base + "/api/v1/departments/me", token)
            assert status == 200 and me["code"] == "HZ"
        status, problem = _get(base + "/api/v1/departments/me")
        assert status == 401 and problem["type"] == "/api/v1/docs#problem-unauthorized"
    assert proc.returncode == 0
    logged = log_path.read_text(encoding="utf-8")
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    workers = {r["message"] for r in records if "Started server process" in r["message"]}
    assert len(workers) == 2, logged
    assert sum(1 for r in records if r.get("event") == "request" and r["status"] == 200) >= 7
    assert token not in logged and PASSPHRASE not in logged


@pytest.fixture
def postgres_home(home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``home`` with its ledger on a fresh PostgreSQL database, served without the draw worker."""
    monkeypatch.setenv("FAIRDRAW_DATABASE_URL", postgres_url)
    monkeypatch.setenv("FAIRDRAW_WORKER_INTERVAL", "0")
    assert fairdraw.main(["ledger", "init", "--origin", "fairdraw.test/log"]) == 0
    return home


def _post_note(base: str, token: str, n: int) -> int:
    request = urllib.request.Request(
        base + "/api/v1/departments/HZ/notes",
        data=json.dumps({"text": f"第{n}条说明"}).encode("utf-8"),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 "Idempotency-Key": f'"note-{n}"'},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        index: int = json.loads(response.read())["index"]
        return index


def _checkpoint_size(base: str) -> int:
    with urllib.request.urlopen(base + "/log/checkpoint", timeout=5) as response:  # a new connection
        return int(response.read().decode("utf-8").splitlines()[1])


@pytest.mark.postgres
def test_two_servers_over_one_postgres_serve_each_others_appends(
    postgres_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each server keeps the newest checkpoint while the change signal is still (ledger.changes); an
    # append through one must reach the other's readers by its notification.
    _, out, _ = run(capsys, "dept", "add", "HZ", "杭州市市场监督管理局")
    token = out.splitlines()[-1]
    with _server(postgres_home, workers=1) as (one, proc_one, log_one), _server(
        postgres_home, workers=1
    ) as (other, proc_other, log_other):
        _wait_ready(one, proc_one, log_one)
        _wait_ready(other, proc_other, log_other)
        for n in range(6):
            writer, reader = (one, other) if n % 2 == 0 else (other, one)
            before = _checkpoint_size(reader)  # the reader keeps this checkpoint
            size = _post_note(writer, token, n) + 1
            assert size == before + 1
            deadline = time.monotonic() + 5
            while (seen := _checkpoint_size(reader)) < size and time.monotonic() < deadline:
                time.sleep(0.01)
            assert seen == size and _checkpoint_size(writer) == size
