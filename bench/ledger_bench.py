"""Ledger benchmark: durable appends/s, time to signed checkpoint, proof times — each beside a floor.

    python bench/ledger_bench.py [--backends sqlite,postgres] [--entries 20000] [--proof-size 1000000]

Floors measured in the same run on the same database:
  appends   raw batched INSERTs of the rows the ledger writes (per 256 entries, one commit of 256 entry
            rows, 512 hash rows and a checkpoint row)
  proofs    one primary-key SELECT of a single stored hash

Appenders are threads; each keeps up to 64 appends in flight (submit, then wait in order), the way a
service handles many concurrent requests. Latency is submit -> receipt (durable, under a signed
checkpoint). Prints one table; no pass/fail.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import Scratch

import keys
from ledger import store, tree
from ledger.entries import LEDGER_TYPES, Registry
from ledger.log import Ledger, Receipt

ORIGIN = "bench.fairdraw/log"
BODY = {"text": "抽查 benchmark entry " + "x" * 160}
WINDOW = 64


def _open(url: str) -> Ledger:
    log = Ledger(store.create_engine(url), keys.generate(ORIGIN), Registry(LEDGER_TYPES))
    log.init(ORIGIN)
    return log


def floor_inserts(url: str, entries: int, batch: int = 256) -> float:
    """Entries/s of raw batched INSERTs of the rows the ledger writes per entry, into scratch tables.

    Per ``batch`` entries, one transaction inserts ``batch`` entry rows, ``2 * batch`` 32-byte hash
    rows and one checkpoint row, each table in one driver-level statement (as the ledger does).
    """
    engine = store.create_engine(url)
    meta = sa.MetaData()
    tables = [sa.Table(f"floor_{t.name}", meta, *[sa.Column(c.name, c.type, primary_key=c.primary_key)
                                                   for c in t.columns])
              for t in (store.entries, store.hashes, store.checkpoints)]
    meta.create_all(engine)
    data, digest, note = b"x" * 260, bytes(32), b"n" * 200
    start = time.perf_counter()
    for first in range(0, entries, batch):
        n = min(batch, entries - first)
        with engine.begin() as conn:
            store.insert_rows(conn, tables[0], [(first + i, "note", data) for i in range(n)])
            store.insert_rows(conn, tables[1], [(2 * first + i, digest) for i in range(2 * n)])
            store.insert_rows(conn, tables[2], [(first + n, note)])
    elapsed = time.perf_counter() - start
    engine.dispose()
    return entries / elapsed


def run_appenders(log: Ledger, appenders: int, total: int) -> tuple[float, list[float]]:
    """Return (appends/s, latencies in seconds) for ``appenders`` threads appending ``total`` entries."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        pending: deque[tuple[float, Future[Receipt]]] = deque()
        mine = []
        for _ in range(count):
            pending.append((time.perf_counter(), log.submit("note", BODY)))
            if len(pending) >= WINDOW:
                began, future = pending.popleft()
                future.result()
                mine.append(time.perf_counter() - began)
        while pending:
            began, future = pending.popleft()
            future.result()
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(total // appenders,)) for _ in range(appenders)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - start), latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def bench_proofs(log: Ledger, size: int, samples: int = 1000) -> dict[str, float]:
    """Median seconds of an inclusion proof, a consistency proof, and the single-SELECT floor."""
    while log.size() < size:
        n = min(50_000, size - log.size())
        log.append_many([("note", BODY)] * n)
    rng = random.Random(1)
    inclusion, consistency, floor = [], [], []
    with log.engine.connect() as conn:
        for _ in range(samples):
            i = rng.randrange(size)
            start = time.perf_counter()
            conn.execute(sa.select(store.hashes.c.hash).where(store.hashes.c.id == i)).scalar()
            floor.append(time.perf_counter() - start)
            start = time.perf_counter()
            tree.prove_inclusion(size, i, store.SqlHashReader(conn))
            inclusion.append(time.perf_counter() - start)
            old = rng.randrange(1, size)
            start = time.perf_counter()
            tree.prove_consistency(old, size, store.SqlHashReader(conn))
            consistency.append(time.perf_counter() - start)
    return {"inclusion": statistics.median(inclusion), "consistency": statistics.median(consistency),
            "floor": statistics.median(floor), "inclusion_p99": percentile(inclusion, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--proof-size", type=int, default=1_000_000)
    run(parser.parse_args())


def run(args: argparse.Namespace) -> None:
    """Run every configured backend and print the table."""
    with tempfile.TemporaryDirectory() as tmp, Scratch(Path(tmp), "fairdraw_bench") as scratch:
        for backend in args.backends.split(","):
            url = scratch.url(backend)
            floor = floor_inserts(url, args.entries)
            print(f"\n== {backend}: floor (raw batched INSERT of the same rows, 256 entries/commit): "
                  f"{floor:,.0f} entries/s")
            print(f"{'appenders':>9} {'appends/s':>10} {'x floor':>8} {'p50 ms':>8} {'p99 ms':>8}")
            for appenders in (1, 4, 16):
                log = _open(scratch.url(backend))
                rate, lat = run_appenders(log, appenders, args.entries)
                print(f"{appenders:>9} {rate:>10,.0f} {rate / floor:>8.2f} "
                      f"{1000 * percentile(lat, 0.5):>8.1f} {1000 * percentile(lat, 0.99):>8.1f}")
                log.close()
            if args.proof_size:
                log = _open(scratch.url(backend))
                p = bench_proofs(log, args.proof_size)
                print(f"proofs at {args.proof_size:,} entries: inclusion {1000 * p['inclusion']:.3f} ms "
                      f"(p99 {1000 * p['inclusion_p99']:.3f}), consistency {1000 * p['consistency']:.3f} ms, "
                      f"floor (one-row SELECT) {1000 * p['floor']:.3f} ms")
                log.close()


if __name__ == "__main__":
    main()
