"""One server's metrics across its worker processes (draw.service.shared_metrics): worker files in a run
directory, summed at each scrape, never going backwards within a run, dead workers still counted,
nothing of an earlier run counted again; then a real ``fairdraw serve --workers 2``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import fairdraw
from draw.service.observability import Metrics
from draw.service.shared_metrics import SharedMetrics, interval_from_env, new_run
from tests.service_helpers import free_port, serving


def _requests(metrics: Metrics) -> dict[tuple[str, str, str], float]:
    families = {f.name: f for f in text_string_to_metric_families(metrics.render(0))}
    samples = families["fairdraw_http_requests"].samples
    return {(s.labels["method"], s.labels["route"], s.labels["status"]): s.value for s in samples}


def test_a_state_adds_up_to_the_same_rendering() -> None:
    one, two, both = Metrics(), Metrics(), Metrics()
    for metrics, ns in ((one, 1), (two, 6_000_000), (two, 20_000_000_000)):
        metrics.observe("GET", "/a", 200, ns)
        both.observe("GET", "/a", 200, ns)
    two.observe("POST", "/b", 201, 3)
    both.observe("POST", "/b", 201, 3)
    total = Metrics()
    total.add(one.state())
    total.add(json.loads(json.dumps(two.state())))  # as it travels through a file
    assert total.render(7) == both.render(7)
    assert one.state() == {
        "requests": [["GET", "/a", "200", 1]],
        "durations": [["GET", "/a", [1] * 11 + [1, 1]]],
    }


GOOD_ROW = ["GET", "/a", "200", 5]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"durations": []}, "metrics: state member 'requests' must be a list"),
        ({"requests": [GOOD_ROW]}, "metrics: state member 'durations' must be a list"),
        ({"requests": [GOOD_ROW, ["GET", "/a", "200", -1]], "durations": []},
         "metrics: bad requests row ['GET', '/a', '200', -1]"),
        ({"requests": [GOOD_ROW, ["GET", "/a", 200, 1]], "durations": []},
         "metrics: bad requests row ['GET', '/a', 200, 1]"),
        ({"requests": [GOOD_ROW, ["GET", "/a", "200", True]], "durations": []},
         "metrics: bad requests row ['GET', '/a', '200', True]"),
        ({"requests": [GOOD_ROW], "durations": [["GET", "/a", [1, 2]]]},
         "metrics: bad durations row ['GET', '/a', [1, 2]]"),
    ],
)  # fmt: skip
def test_a_bad_state_adds_nothing(state: dict[str, Any], message: str) -> None:
    metrics = Metrics()
    metrics.observe("GET", "/a", 200, 1)
    before = metrics.state()
    with pytest.raises(ValueError) as caught:
        metrics.add(state)
    assert str(caught.value) == message
    assert metrics.state() == before


def test_scrapes_sum_the_workers_and_never_go_backwards(tmp_path: Path) -> None:
    run = new_run(tmp_path)
    workers = [SharedMetrics(run, Metrics(), interval=3600) for _ in range(3)]
    assert len({w.path for w in workers}) == 3  # one file each, even with the same pid
    seen: list[float] = []
    for n in range(30):
        workers[n % 3].metrics.observe("GET", "/x", 200, 1)
        answering = workers[(n * 7 + 1) % 3]  # any worker may answer any scrape
        seen.append(_requests(answering.merged()).get(("GET", "/x", "200"), 0))
        if n % 5 == 0:
            workers[n % 3].write()  # a periodic write
    assert seen == sorted(seen), seen
    for worker in workers:
        worker.write()
    assert _requests(workers[0].merged())[("GET", "/x", "200")] == 30


def test_the_answering_worker_is_exact_the_others_as_of_their_last_write(tmp_path: Path) -> None:
    run = new_run(tmp_path)
    one, two = SharedMetrics(run, Metrics()), SharedMetrics(run, Metrics())
    one.metrics.observe("GET", "/x", 200, 1)
    two.metrics.observe("GET", "/x", 200, 1)
    assert _requests(one.merged())[("GET", "/x", "200")] == 1  # two has not written yet
    two.write()
    two.metrics.observe("GET", "/x", 200, 1)
    assert _requests(one.merged())[("GET", "/x", "200")] == 2
    assert _requests(two.merged())[("GET", "/x", "200")] == 3


def test_a_stopped_worker_still_counts_and_a_new_run_counts_afresh(tmp_path: Path) -> None:
    run = new_run(tmp_path, pid=os.getpid(), now_ms=1)
    gone, staying = SharedMetrics(run, Metrics()), SharedMetrics(run, Metrics())
    gone.metrics.observe("GET", "/x", 200, 1)
    gone.stop()  # its final counts stay in the run directory
    assert _requests(staying.merged())[("GET", "/x", "200")] == 1
    again = new_run(tmp_path, pid=os.getpid(), now_ms=2)
    assert again != run and sorted(p.name for p in (tmp_path / "metrics").iterdir()) == [run.name, again.name]
    assert _requests(SharedMetrics(again, Metrics()).merged()) == {}


def test_run_directories_of_servers_no_longer_running_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    old = new_run(tmp_path, pid=dead_pid, now_ms=1)
    (old / "worker-1-00000000.json").write_text("{}", encoding="utf-8")
    live = new_run(tmp_path, pid=os.getppid(), now_ms=1)  # this process's parent is running
    stray = tmp_path / "metrics" / "notes"
    stray.mkdir()
    mine = new_run(tmp_path)
    assert sorted(p.name for p in (tmp_path / "metrics").iterdir()) == sorted([live.name, mine.name, "notes"])


def test_the_writer_thread_writes_every_interval_and_at_stop(tmp_path: Path) -> None:
    shared = SharedMetrics(new_run(tmp_path), Metrics(), interval=0.05)
    shared.start()
    try:
        shared.metrics.observe("GET", "/x", 200, 1)
        deadline = time.monotonic() + 10
        while "/x" not in shared.path.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "no periodic write"
            time.sleep(0.02)
    finally:
        shared.metrics.observe("GET", "/y", 200, 1)
        shared.stop()
    written = json.loads(shared.path.read_text(encoding="utf-8"))
    assert written["format"] == "fairdraw-metrics/1" and written["pid"] == os.getpid()
    assert [row[1] for row in written["requests"]] == ["/x", "/y"]
    assert not [p for p in shared.run_dir.iterdir() if p.name.startswith(".tmp-")]


def test_an_unreadable_file_is_left_out(tmp_path: Path) -> None:
    run = new_run(tmp_path)
    (run / "worker-9-broken.json").write_text("{not json", encoding="utf-8")
    (run / "worker-9-other.json").write_text('{"format": "other"}', encoding="utf-8")
    shared = SharedMetrics(run, Metrics())
    shared.metrics.observe("GET", "/x", 200, 1)
    assert _requests(shared.merged()) == {("GET", "/x", "200"): 1}


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan"])
def test_the_interval_must_be_positive_seconds(raw: str) -> None:
    with pytest.raises(ValueError) as caught:
        interval_from_env({"FAIRDRAW_METRICS_INTERVAL": raw})
    assert str(caught.value) == f"FAIRDRAW_METRICS_INTERVAL must be a positive number of seconds, got {raw!r}"
    assert interval_from_env({}) == 5.0 and interval_from_env({"FAIRDRAW_METRICS_INTERVAL": "0.2"}) == 0.2


@pytest.mark.parametrize("writable", [True, False])
def test_serve_names_a_run_directory_for_its_workers_or_says_why_not(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    writable: bool,
) -> None:
    import uvicorn

    from tests.ledger_helpers import open_ledger

    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(app))
    monkeypatch.setenv("FAIRDRAW_METRICS_RUN", "/an/earlier/run")
    monkeypatch.setenv("FAIRDRAW_WORKER_INTERVAL", "0")
    home = tmp_path / "home"
    if writable:
        home.mkdir()
    else:
        home.write_text("a file, not a directory", encoding="utf-8")
    log = open_ledger(sqlite_url)
    try:
        assert fairdraw._serve(log, home, "127.0.0.1", 0) == 0
    finally:
        log.close()
    [app] = calls
    if writable:
        run = Path(os.environ["FAIRDRAW_METRICS_RUN"])
        assert run.parent == home / "metrics" and run.name.startswith(f"{os.getpid()}-") and run.is_dir()
        assert app.state.shared_metrics.run_dir == run and app.state.shared_metrics.interval == 5.0
    else:
        assert "FAIRDRAW_METRICS_RUN" not in os.environ and not hasattr(app.state, "shared_metrics")
        err = capsys.readouterr().err
        assert err.startswith("fairdraw: metrics: [Errno 20] Not a directory: ")
        assert err.endswith("; each worker's /metrics shows its own counts\n")


# -- a real server with two worker processes ------------------------------------------------------

INTERVAL = 0.2
HEALTHZ = re.compile(
    r'^fairdraw_http_requests_total\{method="GET",route="/healthz",status="200"\} (\d+)$', re.M
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAIRDRAW_HOME", str(tmp_path))
    monkeypatch.setenv("FAIRDRAW_KEY_PASSPHRASE", "correct horse battery staple")
    monkeypatch.setenv("FAIRDRAW_WORKER_INTERVAL", "0")
    monkeypatch.setenv("FAIRDRAW_METRICS_INTERVAL", str(INTERVAL))
    for name in (
        "FAIRDRAW_DATABASE_URL",
        "FAIRDRAW_KEY_FILE",
        "FAIRDRAW_KEY_PASSPHRASE_FILE",
        "FAIRDRAW_METRICS_RUN",
    ):
        monkeypatch.delenv(name, raising=False)
    assert fairdraw.main(["keys", "generate", "--name", "fairdraw.test/log"]) == 0
    assert fairdraw.main(["ledger", "init", "--origin", "fairdraw.test/log"]) == 0
    return tmp_path


@contextlib.contextmanager
def _server(home: Path, port: int) -> Iterator[str]:
    """Run ``fairdraw serve --workers 2`` until it is ready; yield its base URL; stop it (SIGTERM)."""
    with serving(home / "server.log", "--workers", "2", "--port", str(port)) as proc:
        base = f"http://127.0.0.1:{port}"
        _until(lambda: _ready(base, proc, home), "the server is ready")
        yield base


def _ready(base: str, proc: subprocess.Popen[bytes], home: Path) -> bool:
    assert proc.poll() is None, (home / "server.log").read_text(errors="replace")
    with contextlib.suppress(OSError):
        return bool(urllib.request.urlopen(base + "/readyz", timeout=2).status == 200)
    return False


def _until(done: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _healthz_total(base: str) -> int:
    """Scrape /metrics once; return its count of GET /healthz 200 (0 if it has none)."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        found = HEALTHZ.search(response.read().decode("utf-8"))
    return int(found[1]) if found else 0


def _burst(base: str, count: int, threads: int = 4) -> None:
    def hit() -> None:
        for _ in range(count // threads):
            urllib.request.urlopen(base + "/healthz", timeout=10).read()

    running = [threading.Thread(target=hit) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()


def _files(home: Path) -> dict[int, dict[str, int]]:
    """Return, per worker pid, its file's counts by route (requests of any status)."""
    out: dict[int, dict[str, int]] = {}
    for path in (home / "metrics").glob("*/worker-*.json"):
        state = json.loads(path.read_text(encoding="utf-8"))
        counts = out.setdefault(state["pid"], {})
        for _method, route, _status, count in state["requests"]:
            counts[route] = counts.get(route, 0) + count
    return out


def _scrapes_until(base: str, want: int, seconds: float = 30) -> list[int]:
    """Scrape until a scrape reports ``want`` GET /healthz; return every total seen, in order."""
    seen = [_healthz_total(base)]
    deadline = time.monotonic() + seconds
    while seen[-1] < want:
        assert time.monotonic() < deadline, f"no scrape reported {want}: {seen}"
        time.sleep(0.05)
        seen.append(_healthz_total(base))
    return seen


def _scrapes_by_worker(home: Path) -> dict[int, int]:
    return {pid: counts.get("/metrics", 0) for pid, counts in _files(home).items()}


def test_a_two_worker_server_reports_the_sum_of_its_workers(home: Path) -> None:
    port = free_port()
    with _server(home, port) as base:
        [run] = (home / "metrics").iterdir()
        _burst(base, 200)
        seen = _scrapes_until(base, 200)
        time.sleep(3 * INTERVAL)  # every worker has written its counts since
        before = _scrapes_by_worker(home)
        settled: list[int] = []
        for _ in range(300):  # scrape until each worker has answered one, whichever serves it
            settled.append(_healthz_total(base))
            time.sleep(INTERVAL / 4)
            now = _scrapes_by_worker(home)
            if len(now) == 2 and all(now[pid] > before.get(pid, 0) for pid in now):
                break
        assert len(now) == 2 and all(now[pid] > before.get(pid, 0) for pid in now), (before, now)
        assert settled == [200] * len(settled) and seen == sorted(seen), (seen, settled)
        served = {pid: counts.get("/healthz", 0) for pid, counts in _files(home).items()}
        assert sum(served.values()) == 200, served  # so each worker answered with the other's counts too
        # the path as sent reaches the application: an id holding "/" is one segment
        with urllib.request.urlopen(base + "/api/v1/draws/D-1/disclosures/doc%3Aa%2Fb", timeout=10) as page:
            assert json.loads(page.read()) == {"items": [], "next_cursor": None}

        os.kill(min(served), signal.SIGKILL)  # uvicorn starts another worker in its place
        _until(lambda: len(_files(home)) == 3, "the new worker has written its file")
        _burst(base, 100)
        after = _scrapes_until(base, 300)
        assert after == sorted(after) and after[0] >= 200 and after[-1] == 300, after  # the dead one counts

    with _server(home, port) as base:  # a restarted server starts from zero: a counter reset
        runs = list((home / "metrics").iterdir())
        assert len(runs) == 1 and runs[0] != run  # the stopped server's directory is gone
        assert _healthz_total(base) == 0
        _burst(base, 8)
        assert _scrapes_until(base, 8)[-1] == 8
