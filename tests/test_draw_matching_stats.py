"""Uniformity (spec §13.3): over many fixed seeds, interchangeable inspectors are drawn alike.

Chi-square tests on counts over N deterministic seeds. Critical values at significance 0.001 from the
chi-square table (NIST/SEMATECH e-Handbook of Statistical Methods, §1.3.6.7.4): 24.322 for 7 degrees
of freedom, 55.476 for 27. The seeds are fixed, so the outcome is reproducible; a biased rule (ties
by id, a fixed order) pushes these statistics far past the critical values.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from itertools import combinations

from draw.engine.teams import Exclusion, Inspector, Target, TeamRules, assign

AS_OF = date(2025, 3, 1)
M, J = "市场监管局", "交通局"
CHI2_001 = {7: 24.322, 27: 55.476}


def seeds(n: int) -> list[bytes]:
    return [hashlib.sha256(b"matching stats " + k.to_bytes(4, "big")).digest() for k in range(n)]


def chi_square(counts: list[int]) -> float:
    expected = sum(counts) / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


def inspector(ident: str, dept: str = M, area: str = "乙所") -> Inspector:
    return Inspector(ident, dept, area, date(2030, 1, 1), ("I1",))


def test_members_leaders_and_pairs_are_uniform() -> None:
    # Eight interchangeable inspectors; two more in another area make the pool uneven.
    same = [inspector(f"A{k}") for k in range(8)]
    pool = [*same, inspector("B1", area="丙所"), inspector("B2", area="丙所")]
    targets = [Target(f"O{k}", "甲所" if k != 1 else "丙所", ("I1",), k) for k in range(4)]
    members: Counter[str] = Counter()
    leaders: Counter[str] = Counter()
    pairs: Counter[tuple[str, ...]] = Counter()
    for seed in seeds(1400):
        got = assign(targets, pool, TeamRules((M,)), [], [], seed, AS_OF)
        team = got.teams[1]  # the object in 丙所: only the eight A's are eligible
        members.update(team.members)
        leaders[team.leader] += 1
        pairs[team.members] += 1
        members_later = got.teams[3].members
        members.update(m for m in members_later if m.startswith("A"))
    ids = [i.id for i in same]
    assert chi_square([members[i] for i in ids]) < CHI2_001[7]
    assert chi_square([leaders[i] for i in ids]) < CHI2_001[7]
    assert chi_square([pairs[p] for p in combinations(ids, 2)]) < CHI2_001[27]


def test_a_fixed_order_would_fail_the_test() -> None:
    # The same statistic on counts a tie-break by id would give (always the two first ids).
    biased = [1400, 1400, 0, 0, 0, 0, 0, 0]
    assert chi_square(biased) > CHI2_001[7]


def test_joint_draw_with_exclusions_is_uniform_within_a_class() -> None:
    # Two departments; in 交通局 eight interchangeable inspectors plus one named in a declared pair.
    pool = [inspector(f"M{k}") for k in range(4)] + [inspector(f"J{k}", J) for k in range(8)]
    pool.append(inspector("J9", J))
    targets = [Target(f"O{k}", "甲所", ("I1",), k) for k in range(6)]
    exclusions = [Exclusion("J9", "O0", "kin")]
    counts: Counter[str] = Counter()
    for seed in seeds(1000):
        got = assign(targets, pool, TeamRules((J, M), max_load=2), exclusions, [], seed, AS_OF)
        counts.update(m for t in got.teams[:3] for m in t.members if m.startswith("J") and m != "J9")
    assert chi_square([counts[f"J{k}"] for k in range(8)]) < CHI2_001[7]
