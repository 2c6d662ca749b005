"""Benchmark of the draw engine at province scale: ``python bench/draw_bench.py [--n 1000000]``.

A population of N objects (valid 统一社会信用代码) in four strata drawn at 1 %, 2 %, 4 % and 12 %
(3 % overall), 5,000 inspectors of two departments in 100 areas, two per object (one of each),
属地 rule on, 10,000 declared exclusion pairs. Prints the time of each stage next to a floor — one
SHA-256 ticket per object in a bare loop plus a k-smallest pass — and next to the Rivest/Arlo
consistent sampler (bench/consistent_sampler.py) at the same N and k, with ratios, and the peak
resident memory. The commitment and verification are then run again with a pool of ``--workers``
processes (default 1: with the main process, two cores) computing the stratum roots aside; the pool
is started first.

Each stage runs ``--repeat`` times (default 3), each run right after a run of the floor; a stage's
time is the least of its runs and its ratio the median of (run / the floor run just before it), as
this machine's speed drifts within a run by up to 2x. A lazy run's floor runs over the committed
leaves, so it starts after the first commitment, whose ratio is then to the least floor.

The population is produced on demand by index, as a database cursor would serve it; the time of
one bare pass over it is printed too, so that it can be told apart from the engine's own work.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import heapq
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import NamedTuple, TypeVar, overload

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import consistent_sampler  # noqa: E402

from draw.engine import commit, model, select, teams  # noqa: E402
from draw.engine import verify as verify_  # noqa: E402
from draw.engine.model import DrawRequest, InspectionObject, Matching, SourceSlot  # noqa: E402
from tests.spec_draw.make_vectors import synthetic_uscc  # noqa: E402

T = TypeVar("T")
STRATA = (
    ("A", 40, "1/100"),
    ("B", 30, "2/100"),
    ("C", 20, "4/100"),
    ("D", 10, "12/100"),
)  # name, % of N, ratio
AREAS = tuple(f"忻州市第{i:03d}所" for i in range(100))
SECRET = hashlib.sha256(b"bench operator secret").digest()
VALUES = [hashlib.sha256(b"bench drand round").digest()]


class Population(Sequence[InspectionObject]):
    """N synthetic objects, built on demand from their index (deterministic)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.cut = [n * sum(p for _, p, _ in STRATA[: i + 1]) // 100 for i in range(len(STRATA))]

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> InspectionObject: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[InspectionObject]: ...
    def __getitem__(self, i: int | slice) -> InspectionObject | Sequence[InspectionObject]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        if not 0 <= i < self.n:
            raise IndexError(i)
        return InspectionObject(
            synthetic_uscc(i), f"忻州市第{i}号企业有限公司", AREAS[i % 100], self._stratum(i)
        )

    def __iter__(self) -> Iterator[InspectionObject]:
        return (self[i] for i in range(self.n))

    def _stratum(self, i: int) -> str:
        # Interleave the strata: index i belongs to the stratum of (i * 7919) mod N in the cut list.
        j = i * 7919 % self.n
        return next(name for (name, _, _), cut in zip(STRATA, self.cut, strict=True) if j < cut)


def matching(population: Population) -> Matching:
    rng = random.Random(2026)
    departments = ("市场监管局", "卫健委")
    pool = tuple(
        teams.Inspector(f"ZF-{d}{k:05d}", department, AREAS[k % 100], date(2030, 12, 31), ("I1",))
        for d, department in enumerate(departments)
        for k in range(2500)
    )
    exclusions = tuple(
        teams.Exclusion(
            pool[rng.randrange(len(pool))].id, population[rng.randrange(len(population))].id, "interest"
        )
        for _ in range(10_000)
    )
    return Matching(("I1",), pool, teams.TeamRules(departments), date(2026, 3, 2), exclusions)


def request(population: Population) -> DrawRequest:
    rules = tuple(model.make_rule(name, "ratio", ratio=ratio, rounding="ceil") for name, _, ratio in STRATA)
    drand = SourceSlot(
        "drand", "drand", {"chain_hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"}
    )
    return DrawRequest(
        "忻市监抽查〔2026〕1号",
        "忻州市市场监督管理局",
        rules,
        (drand,),
        "2026-06-30",
        matching=matching(population),
    )


class Stage(NamedTuple):
    """A stage's least time over its runs and the median of its ratios to the floor run just
    before each of its runs (None before the floor has its input)."""

    seconds: float
    ratio: float | None


def timed(label: str, f: Callable[[], T], runs: int = 0) -> tuple[T, Stage]:
    """Run ``f`` ``runs`` times (default ``repeat``), each right after one run of the floor; print
    and return its last value and its Stage."""
    times, ratios = [], []
    for _ in range(runs or repeat):
        before = run_floor()
        gc.collect()
        start = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - start)
        if before is not None:
            ratios.append(times[-1] / before)
    spread = f" (most {max(times):.2f})" if len(times) > 1 else ""
    ratio = statistics.median(ratios) if ratios else None
    shown = "" if ratio is None else f"{ratio:6.2f}x"
    memory = f"peak RSS {peak_mb():5.0f} MB"
    print(f"  {label:<44} {min(times):7.2f} s{spread:<12} {shown:>7}   {memory}", flush=True)
    return value, Stage(min(times), ratio)


repeat = 1
floor_input: tuple[list[bytes], int] | None = None  # the leaves and k the floor runs over
floors: list[float] = []


def run_floor() -> float | None:
    """Run the floor once over ``floor_input``, if set; return its time, also kept in ``floors``."""
    if floor_input is None:
        return None
    gc.collect()
    start = time.perf_counter()
    floor(*floor_input)
    floors.append(time.perf_counter() - start)
    return floors[-1]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_peak_mb() -> float:
    """This process's peak resident memory since it began running its program (Linux: VmHWM, which
    leaves out the parent's pages that ru_maxrss counts in a child started by fork and exec)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return peak_mb()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def floor(leaves: list[bytes], k: int) -> None:
    """One SHA-256 ticket per object in a bare loop feeding a k-smallest pass."""
    sha256, prefix = hashlib.sha256, b"fairdraw-draw/1 ticket\x00" + VALUES[0] + b"\x00\x00\x00\x01A"
    heapq.nsmallest(k, (sha256(prefix + leaf).digest() for leaf in leaves))


def stages_without_matching(req: DrawRequest, population: Sequence[InspectionObject]) -> dict[str, Stage]:
    """Commit, draw and verify with no matching inputs: the engine's own work."""
    own = req._replace(matching=None)
    c, t_commit = timed(
        "commitment without matching inputs", lambda: commit.commit_draw(own, population, SECRET)
    )
    r, t_select = timed(
        "selection: seed, tickets, openings, result", lambda: select.draw(c, population, SECRET, VALUES)
    )
    public = (c.encoded, c.blobs, VALUES, SECRET, r.encoded, r.hash)
    _, t_verify = timed("verification without matching inputs", lambda: verify_.verify_draw(*public))
    return {"commit": t_commit, "select": t_select, "verify": t_verify}


def stages_aside(
    req: DrawRequest, population: Sequence[InspectionObject], pool: Executor, quick: bool
) -> dict[str, Stage]:
    """Commit and verify, with matching inputs (and without, unless ``quick``), the roots computed
    on ``pool``."""
    times: dict[str, Stage] = {}
    for key, r in (("", req._replace(matching=None)), ("+", req))[quick:]:
        label = "with teams" if key else "without matching"
        c, times[f"commit{key}@"] = timed(
            f"commitment {label}, roots aside",
            functools.partial(commit.commit_draw, r, population, SECRET, pool),
        )
        result = select.draw(c, population, SECRET, VALUES)
        public = (c.encoded, c.blobs, VALUES, SECRET, result.encoded, result.hash)
        _, times[f"verify{key}@"] = timed(
            f"verification {label}, roots aside",
            functools.partial(verify_.verify_draw, *public, executor=pool),
        )
    return times


def stages_with_matching(
    req: DrawRequest, population: Sequence[InspectionObject]
) -> tuple[dict[str, Stage], int]:
    """Commit (with teams.check_feasible), match, draw and verify with the inspector side."""
    m = req.matching
    assert m is not None
    c, t_commit = timed(
        "commitment with teams.check_feasible", lambda: commit.commit_draw(req, population, SECRET)
    )
    k = sum(p.k for p in c.strata)
    print(f"  k = {k:,} ({100 * k / len(population):.2f} %), commitment record {len(c.encoded):,} bytes")
    listed, quotas = candidates(c, population, m), {p.rule.stratum: p.k for p in c.strata}
    feasible = (listed, quotas, m.inspectors, m.rules, m.exclusions, m.history, m.as_of)
    _, t_feasible = timed("teams.check_feasible alone", lambda: teams.check_feasible(*feasible))
    r, t_draw = timed(
        "draw (selection + matching + result)", lambda: select.draw(c, population, SECRET, VALUES)
    )
    _, t_match = timed("matching alone: teams.assign", lambda: select.assign_teams(r.seed, r.strata, m))
    print(f"  result record {len(r.encoded):,} bytes")
    check = (c.encoded, c.blobs, VALUES, SECRET, r.encoded, r.hash)
    _, t_verify = timed("verification with teams.check_assignment", lambda: verify_.verify_draw(*check))
    assert r.assignment is not None
    inputs = (select.targets(r.strata, m.items), m.inspectors, m.rules, m.exclusions, m.history)
    both = (r.assignment, *inputs, select.team_seed(r.seed), m.as_of)
    _, t_check = timed("teams.check_assignment alone", lambda: teams.check_assignment(*both))
    global floor_input
    if floor_input is None:  # a lazy run: from here on, the floor runs over the committed leaves
        floor_input = [x for p in c.strata for x in p.leaves], k
    times = {"commit+": t_commit, "feasible": t_feasible, "draw+": t_draw, "match": t_match}
    return times | {"verify+": t_verify, "check": t_check}, k


def candidates(
    c: commit.Commitment, population: Sequence[InspectionObject], m: Matching
) -> list[teams.Candidate]:
    """The candidates the commitment passes to teams.check_feasible: one per object of a stratum that
    draws, those named by an exclusion or a past inspection in leaf order, one value per area for
    the others."""
    named = {e.object_id for e in m.exclusions} | {p.object_id for p in m.history}
    out: list[teams.Candidate] = []
    alike: dict[tuple[str, str], teams.Candidate] = {}
    for p in c.strata:
        objects = [population[i] for i in p.origin] if p.k else []
        out += [teams.Candidate(o.id, o.stratum, o.area, m.items) for o in objects if o.id in named]
        for o in objects:
            if o.id not in named:
                alike.setdefault((o.stratum, o.area), teams.Candidate(o.id, o.stratum, o.area, m.items))
                out.append(alike[o.stratum, o.area])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="population size (default 1,000,000)")
    parser.add_argument("--lazy", action="store_true", help="build objects on demand instead of in memory")
    parser.add_argument("--quick", action="store_true", help="skip the stages without matching inputs")
    parser.add_argument("--skip-arlo", action="store_true", help="do not run the consistent sampler")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes for the roots computed aside (default 1; 0: none)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each stage (default 3)")
    args = parser.parse_args(argv)
    global repeat, floor_input
    repeat = args.repeat
    print(f"draw engine benchmark: N = {args.n:,}, Python {sys.version.split()[0]}, {clock()}")
    print(f"  {repeat} runs a stage, each after a run of the floor; roots aside on {args.workers} worker(s)")
    lazy = Population(args.n)
    population: Sequence[InspectionObject] = lazy
    if not args.lazy:
        population, _ = timed("build the population in memory (setup)", lambda: list(lazy), 1)
    req = request(lazy)
    m = req.matching
    assert m is not None
    print(f"  setup: {len(m.inspectors):,} inspectors, {len(m.exclusions):,} exclusions")
    _, read = timed("read the population once (no engine work)", lambda: sum(1 for _ in population))
    k = sum(model.sample_size(r, n) for r, n in zip(req.strata, strata_sizes(lazy), strict=True))
    if not args.lazy:  # a lazy (large) run keeps memory for the engine: its floor comes later
        floor_input = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(args.n)], k
    times: dict[str, Stage] = {} if args.quick else stages_without_matching(req, population)
    more, k = stages_with_matching(req, population)
    times.update(more, read=read)
    if args.workers:
        with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(commit.leaf_list_root, [b""] * args.workers))  # start the workers
            times.update(stages_aside(req, population, pool, args.quick))
            worker = pool.submit(own_peak_mb).result()
        print(f"  peak RSS of a worker {worker:.0f} MB; with this process's, {worker + peak_mb():.0f} MB")
    if not args.skip_arlo:
        ids = [population[i].id for i in range(args.n)]
        times["arlo"] = timed(
            "Arlo/Rivest consistent sampler, same N and k",
            lambda: sum(1 for _ in consistent_sampler.sampler(ids, "s", take=k)),
        )[1]
    report(times, args.n)
    print(f"  end {clock()}")


def clock() -> str:
    """The time (UTC) and the load averages over 1, 5 and 15 minutes, for the record of a run."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average {load}"


def strata_sizes(population: Population) -> list[int]:
    return [cut - low for low, cut in zip([0, *population.cut], population.cut, strict=False)]


ROWS = (
    ("select", "selection (the draw once randomness is known)", "<= 3"),
    ("draw+", "draw with matching", ""),
    ("match", "matching alone (teams.assign)", ""),
    ("commit", "commitment without matching inputs", "<= 10"),
    ("commit+", "commitment with teams.check_feasible", "<= 10"),
    ("feasible", "teams.check_feasible alone", ""),
    ("verify", "verification without matching inputs", "<= 3"),
    ("verify+", "verification with teams", "<= 3"),
    ("check", "teams.check_assignment alone", ""),
    ("commit@", "commitment without matching, roots aside", "<= 10"),
    ("commit+@", "commitment with teams, roots aside", "<= 10"),
    ("verify@", "verification without matching, roots aside", "<= 3"),
    ("verify+@", "verification with teams, roots aside", "<= 3"),
    ("read", "reading the population (input, not engine)", ""),
)


def report(times: dict[str, Stage], n: int) -> None:
    """Print each stage's median ratio to the floor run before it; a stage run before the floor had
    its input (a lazy run's first commitment) is compared with the least floor of the run."""
    least = min(floors)
    print(f"ratios to the floor run before each stage (floor {least:.2f}-{max(floors):.2f} s) [target]")
    for key, label, target in ROWS:
        if key in times:
            ratio = times[key].ratio or times[key].seconds / least
            print(f"  {label:<46} {ratio:6.2f}x {f'[{target}x]' if target else ''}")
    if "arlo" in times and "select" in times:
        arlo = times["select"].seconds / times["arlo"].seconds
        print(f"  {'selection / Arlo consistent sampler':<46} {arlo:6.2f}x [< 1x]")
    limit = 1536 if n <= 1_000_000 else 4096
    print(f"  peak RSS {peak_mb():.0f} MB [< {limit} MB]")


if __name__ == "__main__":
    main()
