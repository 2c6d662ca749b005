"""One server's metrics across its worker processes: each worker's counts in a file, summed at a scrape.

With ``fairdraw serve --workers N`` every worker process counts its own requests
(:class:`~draw.service.observability.Metrics`) and each scrape of ``/metrics`` is answered by one of
them. So that a scrape reports the server, not one worker, every worker writes its counts to a file
of the server's *run directory* and a scrape adds up every file there:

* ``fairdraw serve`` makes the run directory once, when it starts (:func:`new_run`):
  ``$FAIRDRAW_HOME/metrics/<pid>-<start ms>``, the pid being the serving process's (the parent of
  the workers). Run directories of servers no longer running are removed then.
* each worker writes ``worker-<pid>-<random>.json`` (its :meth:`Metrics.state`) every
  ``interval`` seconds, at each scrape it answers (before reading), and when it stops. Files are
  replaced atomically, so a reader sees a whole file.
* a scrape sums the worker's own counts as of now and every other file of the run directory.

What a scrape shows, and why Prometheus can take it as one counter:

* **Staleness.** The answering worker's counts are exact; every other worker's are those of its last
  write, at most ``interval`` seconds old (plus however long a busy worker takes to get to it).
* **Never backwards within a run.** A worker's file only grows, and whatever a scrape reports of a
  worker was in its file first (the answering worker writes before it reads), so every later scrape,
  whichever worker answers it, reports at least as much.
* **Dead workers still count.** When a worker dies and uvicorn starts another, the dead one's last
  file stays in the run directory, so the sum does not drop; the new worker has a new file (the
  random part of the name keeps a reused pid from taking over an old file). What a killed worker
  counted after its last write is lost, never counted twice.
* **A restart is a counter reset.** A restarted server has a new run directory and starts from zero;
  nothing of the previous run is read, so nothing is counted twice. Prometheus treats a counter that
  goes down as reset and computes ``rate()`` and ``increase()`` across it, as for any restarted
  process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from draw.service.observability import Metrics

DEFAULT_INTERVAL_SECONDS = 5.0
RUN_ENV = "FAIRDRAW_METRICS_RUN"  # set by ``fairdraw serve`` for its worker processes
INTERVAL_ENV = "FAIRDRAW_METRICS_INTERVAL"
FORMAT = "fairdraw-metrics/1"
log = logging.getLogger("fairdraw.metrics")


def _alive(pid: int) -> bool:
    """Return whether a process ``pid`` exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_run(home: Path, pid: int | None = None, now_ms: int | None = None) -> Path:
    """Create and return the run directory of a server starting now in data directory ``home``
    (``home/metrics/<pid>-<ms>``, by default this process's pid and the current time), after removing
    the run directories of servers that are no longer running. Raises OSError if it cannot be made."""
    pid = os.getpid() if pid is None else pid
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    root = home / "metrics"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        owner, _, _ = old.name.partition("-")
        if old.is_dir() and owner.isdigit() and int(owner) != pid and not _alive(int(owner)):
            shutil.rmtree(old, ignore_errors=True)
    run = root / f"{pid}-{now_ms}"
    run.mkdir(exist_ok=True)
    return run


def interval_from_env(env: Mapping[str, str]) -> float:
    """Return ``FAIRDRAW_METRICS_INTERVAL`` (seconds, default 5). Raises ValueError unless it is a
    positive number."""
    raw = env.get(INTERVAL_ENV, str(DEFAULT_INTERVAL_SECONDS))
    try:
        interval = float(raw)
    except ValueError:
        interval = 0.0
    if not interval > 0:
        raise ValueError(f"{INTERVAL_ENV} must be a positive number of seconds, got {raw!r}")
    return interval


class SharedMetrics:
    """One worker's side of a run directory (module docstring): writes ``metrics``' counts to its file
    and sums the run's files for a scrape. Thread-safe."""

    def __init__(self, run_dir: Path, metrics: Metrics, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self.run_dir = run_dir
        self.metrics = metrics
        self.interval = interval
        self.path = run_dir / f"worker-{os.getpid()}-{secrets.token_hex(4)}.json"
        self._lock = threading.Lock()  # one write at a time, so a file never goes back to older counts
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self) -> dict[str, Any]:
        """Write the counts as they are now to this worker's file (atomically) and return them. A
        failed write is logged, not raised: the file keeps the counts of the last write."""
        with self._lock:
            state = self.metrics.state()
            data = json.dumps({"format": FORMAT, "pid": os.getpid(), **state}, separators=(",", ":"))
            temp: str | None = None
            try:
                fd, temp = tempfile.mkstemp(dir=self.run_dir, prefix=".tmp-")
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(data)
                os.replace(temp, self.path)
            except OSError as exc:
                log.warning("metrics: cannot write %s: %s", self.path, exc)
                if temp is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(temp)
        return state

    def merged(self) -> Metrics:
        """Return the run's metrics: this worker's counts as of now (written first) plus every other
        worker file of the run directory. An unreadable file is logged and left out."""
        total = Metrics()
        total.add(self.write())
        for path in sorted(self.run_dir.glob("worker-*.json")):
            if path == self.path:
                continue
            try:
                found = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(found, dict) or found.get("format") != FORMAT:
                    raise ValueError(f"not a {FORMAT} file")
                total.add(found)
            except (OSError, ValueError) as exc:
                log.warning("metrics: leaving out %s: %s", path, exc)
        return total

    def start(self) -> None:
        """Write now, then every ``interval`` seconds in a daemon thread until :meth:`stop`."""
        self.write()
        self._thread = threading.Thread(target=self._run, name="fairdraw-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.write()

    def stop(self) -> None:
        """Stop the writer thread and write the final counts."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.write()


__all__ = [
    "DEFAULT_INTERVAL_SECONDS",
    "INTERVAL_ENV",
    "RUN_ENV",
    "SharedMetrics",
    "interval_from_env",
    "new_run",
]
