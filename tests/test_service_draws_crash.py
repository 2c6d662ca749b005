"""Crash safety: a real ``fairdraw serve`` on SQLite is killed (SIGKILL) during a burst of draw requests.
After the restart every acknowledged draw is there, complete, and every unacknowledged one is either
absent or complete — never half: no draw is visible without its commitment entry, and no commitment
entry is left without its draw once the worker's start-up recovery has run."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import fairdraw
from draw.service import draws_store
from ledger import store
from ledger.entries import decode_entry
from tests.service_helpers import free_port, serving
from tests.test_service_draws_helpers import simple_body

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("FAIRDRAW_HOME", str(tmp_path))
    monkeypatch.setenv("FAIRDRAW_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FAIRDRAW_WORKER_INTERVAL", "0.2")
    for name in ("FAIRDRAW_DATABASE_URL", "FAIRDRAW_KEY_FILE", "FAIRDRAW_KEY_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FAIRDRAW_DRAND_URL", raising=False)
    assert fairdraw.main(["keys", "generate", "--name", "fairdraw.test/log"]) == 0
    assert fairdraw.main(["ledger", "init", "--origin", "fairdraw.test/log"]) == 0
    return tmp_path


def _token(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert fairdraw.main(["dept", "add", "HZ", "杭州市市场监督管理局"]) == 0
    return capsys.readouterr().out.splitlines()[-1]


def _call(base: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if body is not None:
        headers["Idempotency-Key"] = f'"{path}-{body["ref"]}"'
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait_ready(base: str, proc: subprocess.Popen[bytes], home: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (home / "server.log").read_text(errors="replace")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(base + "/readyz", timeout=2).status == 200:
                return
        time.sleep(0.1)
    raise AssertionError("server did not become ready")


def _burst(base: str, token: str, prefix: str, outcomes: dict[str, Any], stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        ref = f"{prefix}-{n}"
        n += 1
        try:
            outcomes[ref] = _call(base, "POST", "/api/v1/departments/HZ/draws", token, simple_body(ref))
        except (OSError, ValueError, http.client.HTTPException) as exc:  # the server died under the request
            outcomes[ref] = (None, str(exc))
            return


def _draws_listed(base: str, token: str) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        path = "/api/v1/draws?limit=500" + (f"&cursor={cursor}" if cursor else "")
        status, page = _call(base, "GET", path, token)
        assert status == 200
        found |= {item["draw_id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_a_killed_server_leaves_every_draw_complete_or_absent(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _token(capsys)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    outcomes: dict[str, Any] = {}
    for round_ in range(2):
        with serving(home / "server.log", "--port", str(port)) as proc:
            _wait_ready(base, proc, home)
            stop = threading.Event()
            threads = [
                threading.Thread(target=_burst, args=(base, token, f"r{round_}t{t}", outcomes, stop))
                for t in range(4)
            ]
            for thread in threads:
                thread.start()
            time.sleep(1.5)
            proc.kill()  # SIGKILL: no shutdown, no cleanup
            proc.wait()
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    acknowledged = {ref: body for ref, (status, body) in outcomes.items() if status == 201}
    unacknowledged = {ref for ref, (status, _) in outcomes.items() if status != 201}
    assert len(acknowledged) >= 10, outcomes
    assert unacknowledged, "no request was cut off by the kill"
    assert all(status in (201, None) for status, _ in outcomes.values()), outcomes

    with serving(home / "server.log", "--port", str(port)) as proc:
        _wait_ready(base, proc, home)
        for ref, created in acknowledged.items():
            status, draw = _call(base, "GET", f"/api/v1/draws/HZ-{ref}", token)
            assert status == 200 and draw["commit"] == created["index"], (ref, draw)
            assert draw["state"] == "pending-randomness"
        complete = set()
        for ref in unacknowledged:
            status, draw = _call(base, "GET", f"/api/v1/draws/HZ-{ref}", token)
            assert status in (200, 404), (ref, status, draw)
            if status == 200:
                complete.add(f"HZ-{ref}")
        time.sleep(1)  # a worker round has run since start-up
        listed = _draws_listed(base, token)
    assert listed == {f"HZ-{ref}" for ref in acknowledged} | complete
    _check_database(home, listed)


def _check_database(home: Path, listed: set[str]) -> None:
    """Every draw.commit entry in the ledger has its visible draw, and every row still committing has
    no entry (it is invisible, and removed once its lease has run out)."""
    engine = store.create_engine(store.default_url(home))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(store.entries.c.data).where(store.entries.c.type == "draw.commit"))
            committed = {decode_entry(bytes(r.data)).body["draw_id"] for r in rows}
            waiting = set(
                conn.execute(
                    sa.select(draws_store.draws.c.draw_id).where(draws_store.draws.c.state == "committing")
                ).scalars()
            )
    finally:
        engine.dispose()
    assert committed == listed
    assert not waiting & committed
    assert subprocess.run(
        [sys.executable, "-m", "fairdraw", "ledger", "audit"], cwd=ROOT, capture_output=True, check=False
    ).returncode == 0
