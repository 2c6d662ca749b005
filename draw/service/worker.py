"""The draw worker: what happens to draws without a request — beacons, deadlines, reveals, recovery.

:func:`run_once` does one round of work, and is all the tests call:

1. settle rows a crashed writer left pending (``draws_store.recover_all``);
2. for each draw waiting for its drand round, once the round's time has passed, fetch the beacon with
   the configured fetcher (none: nothing is fetched; anyone may still post it) and record it if it
   verifies;
3. move on every draw that can move (``draws_lifecycle.advance``): void a draw whose source missed
   its deadline, seal a complete one, reveal a sealed one whose reveal is due.

:class:`Worker` runs it in a thread every ``interval_seconds``, first at start-up; after each round it
also prunes the Idempotency-Keys whose retention has passed (``idempotency.prune``). The composing module
turns it on for ``fairdraw serve`` (:func:`settings_from_env`): ``FAIRDRAW_WORKER_INTERVAL`` seconds
between rounds (default 5; 0 turns the worker off) and ``FAIRDRAW_DRAND_URL``, the base URL of a
drand HTTP relay (for example ``https://api.drand.sh``; unset: no fetching). The relay is not trusted:
every beacon is verified against the pinned chain before it is recorded.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from draw.engine import drand
from draw.service import draws, draws_store, idempotency
from draw.service import draws_entries as entries_
from draw.service import draws_lifecycle as lifecycle
from draw.service.core import Service
from draw.service.draws_store import DrawLog

STATE = "draw_worker"
"""The ``app.state`` attribute holding the WorkerSettings; absent: no worker."""
DEFAULT_INTERVAL_SECONDS = 5.0
FETCH_TIMEOUT_SECONDS = 5.0

Fetcher = Callable[[drand.ChainInfo, int], bytes | None]
"""``fetcher(chain, round)`` returns the beacon JSON of ``round`` as the relay serves it, or None if
it is not available (yet); it must not raise for network failures."""

log = logging.getLogger("fairdraw.draws.worker")


@dataclass(frozen=True)
class WorkerSettings:
    """How often the worker runs, and how it fetches beacons (None: it does not)."""

    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    fetcher: Fetcher | None = None


@dataclass(frozen=True)
class Report:
    """What one round did: rows recovered, beacons recorded, draws moved on (sealed, voided, revealed)."""

    recovered: int
    beacons: int
    advanced: int


def settings_from_env(env: Mapping[str, str]) -> WorkerSettings | None:
    """Return the worker settings the environment asks for, or None for no worker. Raises ValueError
    for an interval that is not a non-negative decimal number of seconds."""
    raw = env.get("FAIRDRAW_WORKER_INTERVAL", str(DEFAULT_INTERVAL_SECONDS))
    try:
        interval = float(raw)
    except ValueError:
        raise ValueError(f"FAIRDRAW_WORKER_INTERVAL must be seconds, got {raw!r}") from None
    if not interval >= 0:
        raise ValueError(f"FAIRDRAW_WORKER_INTERVAL must be seconds, got {raw!r}")
    if interval == 0:
        return None
    url = env.get("FAIRDRAW_DRAND_URL")
    return WorkerSettings(interval, http_fetcher(url) if url else None)


def http_fetcher(base_url: str, timeout: float = FETCH_TIMEOUT_SECONDS) -> Fetcher:
    """Return a Fetcher reading ``<base_url>/<chain hash>/public/<round>`` (drand's HTTP API)."""
    base = base_url.rstrip("/")

    def fetch(chain: drand.ChainInfo, round_: int) -> bytes | None:
        url = f"{base}/{chain.chain_hash.hex()}/public/{round_}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - operator's URL
                data: bytes = response.read(drand.MAX_JSON_SIZE + 1)
                return data
        except (OSError, urllib.error.URLError, ValueError):
            return None

    return fetch


def run_once(service: Service, fetcher: Fetcher | None = None) -> Report:
    """Do one round of the worker's work (module docstring) at the service's clock.

    A draw another writer holds is left for the next round. Raises what the database raises.
    """
    recovered = draws_store.recover_all(service)
    beacons = advanced = 0
    for draw_id in draws_store.due_ids(service, service.clock()):
        found = draws_store.load(service, draw_id)
        if found is None:
            continue
        if fetcher is not None and _wants_beacon(found, service.clock()):
            beacons += _fetch(service, found, fetcher)
        found = draws_store.load(service, draw_id)
        if found is not None and _can_move(found, service.clock()):
            try:
                lifecycle.advance(service, draw_id)
            except draws_store.BusyError:
                continue
            advanced += 1
    return Report(recovered, beacons, advanced)


def _wants_beacon(found: DrawLog, now_ms: int) -> bool:
    if found.row.state != "pending-randomness":
        return False
    if any(e.body["source"] == "drand" for e in found.of_type(entries_.RANDOMNESS)):
        return False
    chain, round_ = lifecycle.drand_round(found)
    return drand.round_time(chain, round_) <= now_ms // 1000


def _fetch(service: Service, found: DrawLog, fetcher: Fetcher) -> int:
    chain, round_ = lifecycle.drand_round(found)
    data = fetcher(chain, round_)
    if data is None:
        return 0
    try:
        got, signature, previous = drand.parse_beacon_json(data)
        if got != round_:
            raise ValueError(f"drand: the relay served round {got}, not {round_}")
        drand.verify_beacon(chain, round_, signature, previous)
    except (ValueError, drand.BeaconError) as exc:
        log.warning("beacon refused", extra={"draw_id": found.draw_id, "round": round_, "error": str(exc)})
        return 0
    return int(draws.record_beacon(service, found.draw_id, round_, signature, previous))


def _can_move(found: DrawLog, now_ms: int) -> bool:
    if found.row.state == "sealed":
        return lifecycle.reveal_due_ms(found) <= now_ms
    states = lifecycle.source_states(found, now_ms)
    return any(s.state == "void" for s in states) or all(s.state == "complete" for s in states)


class Worker:
    """Runs :func:`run_once` in a daemon thread every ``settings.interval_seconds`` until stopped."""

    def __init__(self, service: Service, settings: WorkerSettings) -> None:
        self.service = service
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run one round now (start-up recovery), then start the thread."""
        self._round()
        self._thread = threading.Thread(target=self._run, name="draw-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for its round to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.interval_seconds):
            self._round()

    def _round(self) -> None:
        try:
            run_once(self.service, self.settings.fetcher)
        except Exception:  # a failed round is logged; the next one tries again
            log.exception("draw worker round failed")
        try:
            config = self.service.config
            idempotency.prune(self.service.engine, self.service.clock(), config.idempotency_retention_ms)
        except Exception:
            log.exception("pruning expired Idempotency-Keys failed")


def start(app: Any) -> Worker | None:
    """Start the worker of the application ``app`` if ``app.state`` holds WorkerSettings; return it."""
    settings = getattr(app.state, STATE, None)
    if not isinstance(settings, WorkerSettings):
        return None
    worker = Worker(app.state.service, settings)
    worker.start()
    return worker
