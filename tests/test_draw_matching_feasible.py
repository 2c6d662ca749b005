"""check_feasible (docs/draw-spec-matching.md §10) against a straightforward version kept here.

``plain_check_feasible`` takes the candidates one at a time and, for each object and each group,
counts the eligible inspectors by walking the whole pool; ``teams.check_feasible`` counts kinds of
inspectors once per class and each distinct candidate once. Both must reject the same inputs with
the same message. The commitment's own candidates (``commit._candidates``) are checked against the
plain list of every object of a drawing stratum, in leaf order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from draw.engine import commit, model, teams
from draw.engine.teams import Candidate, Exclusion, Inspector, PastInspection, TeamRules
from tests.spec_draw.make_vectors import synthetic_uscc

AS_OF = date(2025, 3, 1)
M, J = "市场监管局", "交通局"
AREAS = ("甲所", "乙所", "丙所")
ITEM_SETS = (("I1",), ("I1", "I2"), ("I2",))


def plain_check_feasible(
    candidates: Iterable[Any],
    quotas: Mapping[str, int],
    inspectors: Iterable[Inspector],
    rules: TeamRules,
    exclusions: Iterable[Exclusion],
    history: Iterable[PastInspection],
    as_of: date,
) -> None:
    """Spec §10 the long way: every candidate in turn, every inspector for every count."""
    inp = teams._inputs((), inspectors, rules, (), (), as_of)
    named = teams._pairs_by_object(
        teams._declared(exclusions) | teams._recent(history, rules, as_of), inp.pool
    )
    counts = {teams._text(k, "quotas[]"): teams._count(q, f"quotas[{k!r}]", 0) for k, q in quotas.items()}
    regular, experts = teams._pools(inp)
    pool = regular + experts
    raw: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for c in candidates:
        if type(c) is not Candidate:
            raise ValueError(f"teams: candidates: want Candidate, got {type(c).__name__}")
        if counts.get(c.stratum, 0) > 0:
            raw[c.stratum, c.area, c.items] += 1
            if c.id in named:
                left_out = named[c.id]
                have = seats(pool, rules, [(c.area, c.items)], left_out)
                team_check(f"object {c.id} (stratum {c.stratum}, {c.area})", have, rules)
    classes = teams._candidate_classes(raw)
    for stratum, area, items in sorted(classes):
        team_check(f"an object of stratum {stratum} in {area}", seats(pool, rules, [(area, items)]), rules)
    if rules.max_load is not None:
        plain_loads(classes, counts, pool, rules)


def fits(i: Inspector, area: str, items: tuple[str, ...], rules: TeamRules) -> bool:
    return not (rules.exclude_same_area and i.area == area) and set(items) <= set(i.items)


def seats(
    pool: list[Inspector],
    rules: TeamRules,
    places: list[tuple[str, tuple[str, ...]]],
    left_out: frozenset[str] = frozenset(),
) -> Counter[str]:
    """Count, per department (experts apart), the inspectors not left out who fit some place."""
    out: Counter[str] = Counter()
    for i in pool:
        if i.id not in left_out and any(fits(i, a, s, rules) for a, s in places):
            out[teams.EXPERTS_NAME if i.expert else i.department] += 1
    return out


def team_check(where: str, have: Counter[str], rules: TeamRules) -> None:
    for d in rules.departments:
        if have[d] < rules.per_department:
            raise ValueError(
                f"teams: {where} has {have[d]} eligible inspectors of department {d} after 回避; "
                f"each team needs {rules.per_department}"
            )
    total = sum(have[d] for d in rules.departments)
    if total < rules.min_inspectors:
        raise ValueError(
            f"teams: {where} has {total} eligible inspectors after 回避; "
            f"each team needs {rules.min_inspectors}"
        )
    if have[teams.EXPERTS_NAME] < rules.experts:
        raise ValueError(
            f"teams: {where} has {have[teams.EXPERTS_NAME]} eligible experts after 回避; "
            f"each team needs {rules.experts}"
        )


def plain_loads(
    classes: Counter[tuple[str, str, tuple[str, ...]]],
    quotas: dict[str, int],
    pool: list[Inspector],
    rules: TeamRules,
) -> None:
    groups: defaultdict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    places: defaultdict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for (stratum, area, items), n in classes.items():
        for key in ((area, *items), (area,), ()):
            groups[key][stratum] += n
            places[key].append((area, items))
    for key in sorted(groups, key=lambda k: (-len(k), k)):
        worst = sum(min(n, quotas[s]) for s, n in groups[key].items())
        teams._Census(([], []), rules)._check_load(
            teams._place(key, groups[key]), worst, seats(pool, rules, places[key])
        )


# ---------------------------------------------------------------------------
# Random requests.


def person(ident: str, dept: str, area: str, items: tuple[str, ...], **kw: Any) -> Inspector:
    return Inspector(ident, dept, area, kw.pop("expiry", date(2030, 1, 1)), items, **kw)


@st.composite
def requests(
    draw: st.DrawFn,
) -> tuple[list[Any], dict[str, int], list[Inspector], TeamRules, list[Any], list[Any]]:
    departments = draw(st.sampled_from([(M,), (M, J)]))
    roomy = draw(st.booleans())  # a pool that mostly passes check 1, so that check 2 is reached
    spare = [] if roomy else ["农业局"]
    pool = [
        person(
            f"P{k:02d}",
            draw(st.sampled_from([*departments, *spare])),
            draw(st.sampled_from(AREAS)),
            draw(st.sampled_from(ITEM_SETS[:2] if roomy else ITEM_SETS)),
            expert=draw(st.booleans()) and k % 3 == 0,
            status=draw(st.sampled_from(["active"] if roomy else ["active", "active", "active", "leave"])),
            expiry=draw(st.sampled_from([date(2030, 1, 1), date(2030, 1, 1), date(2024, 1, 1)])),
        )
        for k in range(draw(st.integers(6, 30) if roomy else st.integers(0, 16)))
    ]
    ids = [f"O{k}" for k in range(draw(st.integers(1, 8)))]
    candidates: list[Any] = [
        Candidate(
            draw(st.sampled_from(ids)),
            draw(st.sampled_from(["A", "B"])),
            draw(st.sampled_from(AREAS)),
            draw(st.sampled_from(ITEM_SETS)),
        )
        for _ in range(draw(st.integers(0, 30)))
    ]
    if candidates and draw(st.integers(0, 9)) == 0:  # now and then a value checked only at its place
        odd = draw(st.sampled_from([tuple(candidates[0]), Candidate("O0", "A", "Cafe\u0301", ("I1",))]))
        candidates.insert(draw(st.integers(0, len(candidates))), odd)
    quotas = {s: draw(st.integers(0, 9)) for s in draw(st.sampled_from([("A",), ("A", "B"), ("B", "C")]))}
    by = [i.id for i in pool] or ["P00"]
    exclusions = [
        Exclusion(
            draw(st.sampled_from(by)), draw(st.sampled_from(ids)), draw(st.sampled_from(teams.PAIR_REASONS))
        )
        for _ in range(draw(st.sampled_from([0, 0, 1, 3, 8])))
    ]
    history = [
        PastInspection(
            draw(st.sampled_from(by)), draw(st.sampled_from(ids)), date(2024, draw(st.integers(1, 12)), 1)
        )
        for _ in range(draw(st.sampled_from([0, 0, 2])))
    ]
    size = max(len(departments), draw(st.integers(2, 3)))
    rules = TeamRules(
        departments,
        min_inspectors=size,
        experts=draw(st.integers(0, 1)),
        max_load=draw(st.sampled_from([None, 1, 2, 3, 5])),
        exclude_same_area=draw(st.booleans()),
        recent_months=draw(st.sampled_from([0, 3, 6])),
    )
    return candidates, quotas, pool, rules, exclusions, history


def outcome(check: Any, case: tuple[Any, ...]) -> str | None:
    candidates, quotas, pool, rules, exclusions, history = case
    try:
        check(candidates, quotas, pool, rules, exclusions, history, AS_OF)
    except ValueError as e:
        return str(e)
    return None


@settings(max_examples=400)
@given(requests())
def test_check_feasible_agrees_with_the_plain_version(case: tuple[Any, ...]) -> None:
    assert outcome(teams.check_feasible, case) == outcome(plain_check_feasible, case)


@given(requests())
def test_check_feasible_takes_any_iterable(case: tuple[Any, ...]) -> None:
    candidates, *rest = case
    assert outcome(teams.check_feasible, (iter(candidates), *rest)) == outcome(teams.check_feasible, case)


def test_check_feasible_reports_the_first_named_object_that_fails() -> None:
    pool = [person(f"P{k}", M, "乙所", ("I1",)) for k in range(3)]
    rules = TeamRules((M,))
    pairs = [Exclusion("P0", "O2", "kin"), Exclusion("P1", "O2", "kin"), Exclusion("P1", "O1", "kin")]
    pairs += [Exclusion("P2", "O1", "kin")]
    candidates = [Candidate(f"O{k}", "A", "甲所", ("I1",)) for k in (3, 2, 3, 1, 2)]
    with pytest.raises(ValueError) as e:
        teams.check_feasible(candidates, {"A": 1}, pool, rules, pairs, [], AS_OF)
    assert (
        str(e.value)
        == "teams: object O2 (stratum A, 甲所) has 1 eligible inspectors after 回避; each team needs 2"
    )


def test_check_feasible_unhashable_candidate_is_reported_as_before() -> None:
    pool = [person(f"P{k}", M, "乙所", ("I1",)) for k in range(3)]
    candidates: list[Any] = [Candidate("O1", "A", "甲所", ("I1",)), ["O2", "A", "甲所", ("I1",)]]
    with pytest.raises(ValueError) as e:
        teams.check_feasible(candidates, {"A": 1}, pool, TeamRules((M,)), [], [], AS_OF)
    assert str(e.value) == "teams: candidates: want Candidate, got list"


# ---------------------------------------------------------------------------
# The commitment's candidates.


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[model.InspectionObject], set[str], dict[str, int]]:
    n = draw(st.integers(1, 40))
    objects = [
        model.InspectionObject(
            synthetic_uscc(k), f"企业{k}", draw(st.sampled_from(AREAS)), draw(st.sampled_from("ABC"))
        )
        for k in range(n)
    ]
    named = {objects[i].id for i in draw(st.lists(st.integers(0, n - 1), max_size=8))}
    ks = {s: draw(st.integers(0, 1)) for s in "ABC"}
    return objects, named, ks


@given(populations())
def test_commit_candidates_are_every_object_with_the_named_in_leaf_order(case: Any) -> None:
    objects, named, ks = case
    rules = tuple(model.make_rule(s, "count", count=0) for s in "ABC")
    request = model.DrawRequest("D-1", "忻州市市场监督管理局", rules, (), "2026-06-30")
    buckets, found = commit._populate(request, objects, bytes(32), named)
    strata = tuple(commit._stratum(r, buckets[r.stratum])._replace(k=ks[r.stratum]) for r in rules)
    got = list(commit._candidates(strata, buckets, found, objects, ("I1",)))
    want = [
        Candidate(objects[i].id, objects[i].stratum, objects[i].area, ("I1",))
        for p in strata
        if p.k
        for i in p.origin
    ]
    assert Counter((c.stratum, c.area) for c in got) == Counter((c.stratum, c.area) for c in want)
    by_id = {o.id: o for o in objects}
    assert all((c.stratum, c.area) == (by_id[c.id].stratum, by_id[c.id].area) for c in got)
    first_named = list(dict.fromkeys(c.id for c in got if c.id in named))
    assert first_named == [c.id for c in want if c.id in named]
