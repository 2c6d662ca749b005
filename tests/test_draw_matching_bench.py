"""The benchmark size of the draw (30,000 selected objects, 5,000 inspectors from 2 departments, 2 per
object, 10,000 declared pairs): ``assign`` must stay near a second so that the whole draw fits in 6 s.

Run as a script to print the figures: ``.venv/bin/python -m tests.test_draw_matching_bench``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import date

from draw.engine.teams import Assignment, Exclusion, Inspector, Target, TeamRules, assign

AS_OF = date(2025, 3, 1)
DEPARTMENTS = ("市场监管局", "交通局")
AREAS = [f"第{k:02d}市场监管所" for k in range(50)]
SEED = bytes(range(32))


def instance(
    targets: int = 30_000, inspectors: int = 5_000, pairs: int = 10_000
) -> tuple[list[Target], list[Inspector], list[Exclusion]]:
    """A synthetic county: objects and inspectors over 50 areas, a fifth of inspectors with two items."""
    rng = random.Random(20250301)
    pool = [
        Inspector(
            f"14{k:08d}",
            DEPARTMENTS[k % 2],
            rng.choice(AREAS),
            date(2027, 12, 31),
            ("I1", "I2") if k % 5 == 0 else ("I1",),
        )
        for k in range(inspectors)
    ]
    objects = [Target(f"911409{k:012d}", rng.choice(AREAS), ("I1",), k) for k in range(targets)]
    declared = [
        Exclusion(rng.choice(pool).id, rng.choice(objects).id, rng.choice(("kin", "interest")))
        for _ in range(pairs)
    ]
    return objects, pool, declared


def timed(max_load: int | None) -> tuple[Assignment, float]:
    objects, pool, declared = instance()
    start = time.process_time()
    result = assign(objects, pool, TeamRules(DEPARTMENTS, max_load=max_load), declared, [], SEED, AS_OF)
    return result, time.process_time() - start


def test_benchmark_size() -> None:
    result, seconds = timed(max_load=15)
    loads = Counter(m for t in result.teams for m in t.members)
    assert result.cap == 12 == max(loads.values())  # 30,000 seats per department over 2,500 inspectors
    assert len(result.teams) == 30_000
    assert seconds < 4.0, f"assign took {seconds:.2f} s of CPU"


if __name__ == "__main__":
    for max_load in (15, None):
        result, seconds = timed(max_load)
        loads = Counter(m for t in result.teams for m in t.members)
        spread = Counter(loads.values())
        print(f"max_load {max_load}: assign {seconds:.2f} s CPU, cap {result.cap}, {sorted(spread.items())}")
