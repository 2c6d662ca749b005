"""Completeness (spec §13.1): ``assign`` finds teams exactly when some assignment exists, at the least cap.

Exhaustive search over every choice of teams on small random instances decides both facts
independently of the engine (eligibility comes from the naive reference of tests/spec_matching/).
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from draw.engine import matching, teams
from draw.engine.teams import Exclusion, Infeasible, Inspector, Target, TeamRules, assign
from tests.spec_matching import reference

AS_OF = date(2025, 3, 1)
M, J = "甲局", "乙局"

# The forms of spec §9's message: a seat nobody can take, a seat nobody can make room for, or a count.
BINDING = re.compile(
    r"object \S+: no eligible (inspector of department \S+|inspector of any department|expert) is left .*"
    r"|object \S+: no room for another .*: "
    r"the \d+ eligible \w+s that could make room are all at the load cap \d+"
    r"|\d+ objects?( in \S+)?( for items [\w, ]+?)? needs? \d+ \w+ seats?( of department \S+)?"
    r"( from \d+ eligible \w+)?"
    r"(; no eligible .* remains after 回避|: a load of at least \d+ each, above max_load \d+"
    r"|: too few for teams of distinct members)"
)


def options(
    inputs: dict[str, Any], pool: list[dict[str, Any]], expert: bool, t: dict[str, Any]
) -> list[tuple[str, ...]]:
    """Every team of one target that keeps the rules, by brute force over combinations."""
    rules = inputs["rules"]
    check = reference.Matching(inputs, pool, expert)
    eligible = [i for i in pool if check.eligible(i, t)]
    size = rules["experts"] if expert else rules["min_inspectors"]
    out = []
    for team in itertools.combinations(eligible, size):
        per = Counter(i["department"] for i in team)
        if expert or all(per[d] >= rules["per_department"] for d in rules["departments"]):
            out.append(tuple(i["id"] for i in team))
    return out


def fits(choices: list[list[tuple[str, ...]]], cap: int, load: Counter[str], k: int = 0) -> bool:
    """Whether teams can be picked for targets k.. with every load at most cap (exhaustive DFS)."""
    if k == len(choices):
        return True
    for team in choices[k]:
        if all(load[i] < cap for i in team):
            load.update(team)
            found = fits(choices, cap, load, k + 1)
            load.subtract(team)
            if found:
                return True
    return False


def least_cap(inputs: dict[str, Any], expert: bool) -> int | None:
    """The least maximum load of any assignment of one pool, or None when none exists."""
    left_out = {e["inspector"] for e in reference._ineligible(inputs["inspectors"], inputs["rules"], AS_OF)}
    pool = [i for i in inputs["inspectors"] if i["expert"] == expert and i["id"] not in left_out]
    size = inputs["rules"]["experts"] if expert else inputs["rules"]["min_inspectors"]
    targets = sorted(inputs["targets"], key=lambda t: t["order"])
    if not targets or size == 0:
        return 0
    choices = [options(inputs, pool, expert, t) for t in targets]
    for cap in range(1, len(targets) + 1):
        if fits(choices, cap, Counter()):
            return cap
    return None


@st.composite
def small(draw: st.DrawFn) -> tuple[list[Target], list[Inspector], TeamRules, list[Exclusion], bytes]:
    departments = draw(st.sampled_from([(M,), (M,), (M, J)]))
    areas = ["东所", "西所", "南所"][: draw(st.integers(1, 3))]
    pool = [
        Inspector(
            f"i{k}",
            draw(st.sampled_from(departments)),
            draw(st.sampled_from(areas)),
            date(2030, 1, 1),
            draw(st.sampled_from([("I1",), ("I1", "I2"), ("I2",)])),
            expert=draw(st.integers(0, 5)) == 0,
        )
        for k in range(draw(st.integers(2, 7)))
    ]
    targets = [
        Target(f"o{k}", draw(st.sampled_from(areas)), draw(st.sampled_from([("I1",), ("I2",)])), k)
        for k in range(draw(st.integers(1, 4)))
    ]
    exclusions = [
        Exclusion(draw(st.sampled_from(pool)).id, draw(st.sampled_from(targets)).id, "kin")
        for _ in range(draw(st.integers(0, 3)))
    ]
    rules = TeamRules(
        departments,
        min_inspectors=max(2, len(departments) + draw(st.integers(0, 1))),
        experts=draw(st.sampled_from([0, 0, 1])),
        max_load=draw(st.sampled_from([None, 1, 2, 3])),
        exclude_same_area=draw(st.booleans()),
    )
    return targets, pool, rules, exclusions, draw(st.binary(min_size=16, max_size=16))


@given(small())
def test_assign_is_complete_and_its_cap_is_least(case: Any) -> None:
    targets, pool, rules, exclusions, seed = case
    inputs = {
        "seed": seed.hex(),
        "as_of": AS_OF.isoformat(),
        "rules": rules.to_record(),
        "inspectors": [i.to_record() for i in pool],
        "targets": [t.to_record() for t in targets],
        "exclusions": [e.to_record() for e in exclusions],
        "history": [],
    }
    caps = [least_cap(inputs, expert=False), least_cap(inputs, expert=True)]
    limit = rules.max_load if rules.max_load is not None else len(targets)
    feasible = all(c is not None and c <= limit for c in caps)
    try:
        got = assign(targets, pool, rules, exclusions, [], seed, AS_OF)
    except Infeasible as e:
        assert not feasible, f"assign found no teams, but caps {caps} exist"
        assert BINDING.fullmatch(str(e)), str(e)
        return
    assert feasible
    assert [got.cap, got.expert_cap] == caps


def test_the_brute_force_sees_infeasibility() -> None:
    # Two objects that both exclude two of four inspectors: with max_load 1 only a and b can serve,
    # and each object needs two.
    pool = [Inspector(f"ZF-{k}", M, "东所", date(2030, 1, 1), ("I1",)) for k in "abcd"]
    targets = [Target("o0", "西所", ("I1",), 0), Target("o1", "西所", ("I1",), 1)]
    exclusions = [Exclusion(f"ZF-{k}", t.id, "kin") for k in "cd" for t in targets]
    inputs = {
        "seed": "00" * 16,
        "as_of": AS_OF.isoformat(),
        "rules": TeamRules((M,), max_load=1).to_record(),
        "inspectors": [i.to_record() for i in pool],
        "targets": [t.to_record() for t in targets],
        "exclusions": [e.to_record() for e in exclusions],
        "history": [],
    }
    assert least_cap(inputs, expert=False) == 2
    assert BINDING.fullmatch(
        "object o1: no room for another inspector of department 甲局: the 2 eligible inspectors "
        "that could make room are all at the load cap 1"
    )


def tight(rng: random.Random) -> tuple[list[Target], list[Inspector], TeamRules, list[Exclusion], bytes]:
    """A small instance where passes near the least cap often need augmenting paths."""
    departments = rng.choice([(M,), (M, J)])
    areas = ["东所", "西所", "南所"][: rng.randint(2, 3)]
    item_sets = [("I1",), ("I2",), ("I1", "I2")]
    pool = [
        Inspector(
            f"i{k:02d}", rng.choice(departments), rng.choice(areas), date(2030, 1, 1), rng.choice(item_sets)
        )
        for k in range(rng.randint(6, 12))
    ]
    targets = [
        Target(f"o{k:02d}", rng.choice(areas), rng.choice(item_sets[:2]), k)
        for k in range(rng.randint(6, 16))
    ]
    exclusions = [
        Exclusion(rng.choice(pool).id, rng.choice(targets).id, "kin") for _ in range(rng.randint(0, 20))
    ]
    rules = TeamRules(departments, min_inspectors=max(len(departments), rng.choice([2, 3])))
    return targets, pool, rules, exclusions, rng.randbytes(16)


def around_the_bound(problem: matching.Problem) -> range:
    """Caps from one below the counting bound to two above: where passes need augmenting paths."""
    try:
        first = matching.lower_bound(problem)[0]
    except Infeasible:
        first = 1
    return range(max(1, first - 1), first + 3)


def passes_agree(case: tuple[list[Target], list[Inspector], TeamRules, list[Exclusion], bytes]) -> int:
    """Assert that each pass near the bound, failing or not, leaves the teams the spec's pass leaves.

    Returns the number of augmenting paths the engine applied.
    """
    targets, pool, rules, exclusions, seed = case
    inputs = {
        "seed": seed.hex(),
        "as_of": AS_OF.isoformat(),
        "rules": rules.to_record(),
        "inspectors": [i.to_record() for i in pool],
        "targets": [t.to_record() for t in targets],
        "exclusions": [e.to_record() for e in exclusions],
        "history": [],
    }
    inp = teams._inputs(targets, pool, rules, exclusions, [], AS_OF)
    problem = teams._problem(inp, teams._pools(inp)[0], seed, expert=False)
    search = matching._Search(problem)
    spec = reference.Matching(inputs, [i.to_record() for i in teams._pools(inp)[0]], expert=False)
    paths = 0
    for cap in around_the_bound(problem):
        one = matching._Pass(problem, cap, search.ranker, search.paths)
        try:
            one.run(search.order)
            failed = False
        except matching._Stuck:
            failed = True
        got = (failed, [sorted(problem.ids[i] for i in team) for team in one.members])
        want = spec.one_pass(cap)
        assert got == (want is None, [sorted(team) for team in spec.team])
        paths += one.augmentations
    return paths


def test_every_pass_matches_the_reference() -> None:
    """A fixed sweep of 300 instances; it must exercise the path search, not only direct picks."""
    rng = random.Random("fairdraw passes")
    paths = sum(passes_agree(tight(rng)) for _ in range(300))
    assert paths >= 30
