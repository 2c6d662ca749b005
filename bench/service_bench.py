"""Service benchmark: requests/s and p50/p99 latency of the certified-draw API, beside a floor.

    python bench/service_bench.py [--backends sqlite,postgres] [--draws 270] [--clients 4]

Requires ``wrk`` (Debian: ``apt-get install wrk``); not part of CI. For each backend it builds a
fresh ledger with the ``fairdraw`` command line (log key, ``ledger init``, ``dept add``), serves it
with ``fairdraw serve --workers 2`` on 127.0.0.1 (draw worker off), uploads one objects roster of
10,000 rows (CSV, about 0.3 MB, inside the 1 MiB body limit) and then measures:

  draw creation   POST /api/v1/departments/HZ/draws over that roster (``objects_roster``), each with
                  a new ``ref`` and Idempotency-Key; a Python client, first 20 draws from one
                  thread, then up to ``--draws`` from ``--clients`` threads, one http.client
                  connection each (latency is request -> 201)
  reads           wrk -t2 -c16 -d5s: GET /api/v1/draws/{id}, /log/checkpoint, /log/tile/0/000

Floor: a hello-world Starlette endpoint (a file written to a temporary directory) under uvicorn with
2 workers, kept running for the whole run and measured with the same wrk command right before and
right after each read row; the row's ratio is against the mean of the two (the machine's other
load moves the floor by up to 1.5x within minutes). Every server is stopped by its PID;
the scratch PostgreSQL databases are dropped. Prints one table; no pass/fail.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scratch import Scratch

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ORIGIN = "bench.fairdraw/log"
ROWS = 10_000
SERIAL = 20  # draws created one at a time, before the concurrent ones
STRATA = [
    {"stratum": "A", "take": "ratio", "ratio": "3/100", "rounding": "ceil"},
    {"stratum": "B", "take": "ratio", "ratio": "1/10", "rounding": "ceil"},
    {"stratum": "C", "take": "count", "count": 20},
]
HELLO = '''from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def hello(request):
    return PlainTextResponse("hello, world")


app = Starlette(routes=[Route("/", hello)])
'''
WRK = ["wrk", "-t2", "-c16", "-d5s", "--latency"]

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _fairdraw(env: dict[str, str], *args: str) -> str:
    """Run the ``fairdraw`` command line with ``args``; return its standard output."""
    done = subprocess.run([str(BIN / "fairdraw"), *args], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"fairdraw {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _prepare(url: str, home: Path) -> tuple[dict[str, str], str]:
    """Create the log key, the ledger and department HZ; return (environment, HZ's token)."""
    env = dict(os.environ, FAIRDRAW_HOME=str(home), FAIRDRAW_DATABASE_URL=url,
               FAIRDRAW_KEY_PASSPHRASE="service-bench", FAIRDRAW_WORKER_INTERVAL="0")
    _fairdraw(env, "keys", "generate", "--name", ORIGIN)
    _fairdraw(env, "ledger", "init", "--origin", ORIGIN)
    token = _fairdraw(env, "dept", "add", "HZ", "杭州市市场监督管理局").split()[-1]
    return env, token


@contextmanager
def _server(command: list[str], env: dict[str, str], port: int, ready: str) -> Iterator[None]:
    """Start ``command`` in its own process group, wait until GET ``ready`` answers, stop it by PID."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _status(port, ready) != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start")
            time.sleep(0.2)
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _status(port: int, path: str) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return 0


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: object,
             headers: dict[str, str]) -> tuple[int, object]:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    conn.request(method, path, data, {"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def _roster_csv(rows: int) -> bytes:
    lines = ["id,name,area,stratum"]
    lines += [f"shop:{i:05d},第{i}号店,城区{i % 7}所,{'AABBC'[i % 5]}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def upload_roster(port: int, token: str) -> int:
    """POST the 10,000-row objects roster as HZ; return its ledger index."""
    body = {"kind": "objects", "format": "csv", "title": "基准检查对象名录库",
            "content": base64.b64encode(_roster_csv(ROWS)).decode("ascii")}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": '"roster-1"'}
    status, answer = _request(conn, "POST", "/api/v1/departments/HZ/rosters", body, headers)
    if status != 201 or not isinstance(answer, dict):
        raise RuntimeError(f"roster upload: {status} {answer}")
    index: int = answer["index"]
    return index


def create_draws(port: int, token: str, roster: int, refs: range, clients: int) -> tuple[float, list[float]]:
    """POST one draw over ``roster`` per number in ``refs`` from ``clients`` threads; return
    (draws/s, latencies)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        for i in refs[number::clients]:
            body = {"ref": f"bench-{i}", "objects_roster": roster, "strata": STRATA, "embargo": "2027-06-30"}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f'"draw-{i}"'}
            began = time.perf_counter()
            status, answer = _request(conn, "POST", "/api/v1/departments/HZ/draws", body, headers)
            mine.append(time.perf_counter() - began)
            if status != 201:
                failures.append(f"{status} {answer}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"draw creation: {len(failures)} failed, first {failures[0]}")
    return len(refs) / (time.perf_counter() - start), latencies


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([0-9.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk: no {label} latency in its output")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


def run_wrk(port: int, path: str) -> tuple[float, float, float]:
    """Return (requests/s, p50 ms, p99 ms) of ``wrk -t2 -c16 -d5s`` against GET ``path``."""
    out = subprocess.run([*WRK, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk {path}: non-2xx answers")
    rate = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.MULTILINE)
    if rate is None:
        raise RuntimeError("wrk: no Requests/sec in its output")
    return float(rate.group(1)), _wrk_ms(out, "50%"), _wrk_ms(out, "99%")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


@contextmanager
def floor_server(tmp: Path) -> Iterator[int]:
    """Serve the hello-world Starlette app with uvicorn --workers 2 for the whole run; yield its port."""
    (tmp / "hello_floor.py").write_text(HELLO, encoding="utf-8")
    port = _free_port()
    command = [str(BIN / "python"), "-m", "uvicorn", "hello_floor:app", "--app-dir", str(tmp),
               "--workers", "2", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
               "--log-level", "warning"]
    with _server(command, dict(os.environ), port, "/"):
        yield port


def _row(name: str, rate: float, p50: float, p99: float, floor: float | None) -> None:
    shown = f"{rate:,.1f}" if rate < 100 else f"{rate:,.0f}"
    ratio = "" if floor is None else f"{rate / floor:.3f}"
    floor_shown = "" if floor is None else f"{floor:,.0f}"
    print(f"{name:<34} {shown:>10} {floor_shown:>9} {ratio:>8} {p50:>9.1f} {p99:>9.1f}")


def read_row(name: str, port: int, path: str, floor_port: int) -> None:
    """Measure GET ``path`` between two measurements of the floor; print it against their mean."""
    before = run_wrk(floor_port, "/")[0]
    rate, p50, p99 = run_wrk(port, path)
    after = run_wrk(floor_port, "/")[0]
    _row(name, rate, p50, p99, (before + after) / 2)


def bench_backend(backend: str, args: argparse.Namespace, floor_port: int, scratch: Scratch) -> None:
    """Serve a fresh ledger on ``backend`` with 2 workers and print its rows."""
    home = scratch.workdir / backend
    home.mkdir()
    env, token = _prepare(scratch.url(backend), home)
    port = _free_port()
    command = [str(BIN / "fairdraw"), "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    with _server(command, env, port, "/readyz"):
        roster = upload_roster(port, token)
        print(f"\n== {backend}, 2 workers (draws of {ROWS:,} objects by a Python client; "
              f"reads: {' '.join(WRK)})")
        print(f"{'endpoint':<34} {'req/s':>10} {'floor':>9} {'x floor':>8} {'p50 ms':>9} {'p99 ms':>9}")
        for name, refs, clients in (("POST .../draws, 1 thread", range(SERIAL), 1),
                                    (f"POST .../draws, {args.clients} threads",
                                     range(SERIAL, max(args.draws, SERIAL + 1)), args.clients)):
            rate, lat = create_draws(port, token, roster, refs, clients)
            _row(name, rate, 1000 * percentile(lat, 0.5), 1000 * percentile(lat, 0.99), None)
        for name, path in (("GET /api/v1/draws/{id}", "/api/v1/draws/HZ-bench-0"),
                           ("GET /log/checkpoint", "/log/checkpoint"),
                           ("GET /log/tile/0/000", "/log/tile/0/000")):
            read_row(name, port, path, floor_port)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--draws", type=int, default=270, help="draws to create (>= 256 fills tile 0/000)")
    parser.add_argument("--clients", type=int, default=4, help="client threads creating draws")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("service_bench: needs wrk (Debian: apt-get install wrk)")
    print(f"start {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        Scratch(Path(tmp), "fairdraw_service_bench") as scratch,
        floor_server(Path(tmp)) as floor_port,
    ):
        rate, p50, p99 = run_wrk(floor_port, "/")
        print(f"floor: hello-world Starlette, uvicorn --workers 2: {rate:,.0f} req/s, "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (measured again before and after each read row)")
        for backend in args.backends.split(","):
            bench_backend(backend, args, floor_port, scratch)
    print(f"\nend {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
