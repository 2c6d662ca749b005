"""The matching vectors (tests/vectors/matching/): engine and naive reference against each other.

Every happy path is reproduced by ``draw.engine.teams.assign`` and by the reference written from
docs/draw-spec-matching.md; every void case fails in both; every named mutation is rejected by
``check_assignment`` with the recorded reason and by the reference.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from draw.engine import teams
from ledger.jcs import canonicalize
from tests.spec_matching import reference

VECTORS = Path(__file__).resolve().parent / "vectors" / "matching"
CASES = sorted(p.name for p in VECTORS.iterdir() if p.is_dir())
MUTATIONS = sorted(
    (case, p.stem)
    for case in CASES
    for p in (VECTORS / case).glob("*.json")
    if p.stem not in ("inputs", "happy-path", "void")
)


def load(case: str, name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((VECTORS / case / f"{name}.json").read_text(encoding="utf-8"))
    return value


def engine_args(inputs: dict[str, Any]) -> tuple[Any, ...]:
    return (
        [teams.Target.from_record(t) for t in inputs["targets"]],
        [teams.Inspector.from_record(i) for i in inputs["inspectors"]],
        teams.TeamRules.from_record(inputs["rules"]),
        [teams.Exclusion.from_record(e) for e in inputs["exclusions"]],
        [teams.PastInspection.from_record(h) for h in inputs["history"]],
        bytes.fromhex(inputs["seed"]),
        date.fromisoformat(inputs["as_of"]),
    )


def test_every_kind_of_case_is_present() -> None:
    assert {"single-department", "joint-free-seat", "experts", "recusal", "augmenting"} <= set(CASES)
    assert sum((VECTORS / c / "void.json").exists() for c in CASES) >= 2
    assert len(MUTATIONS) >= 25


@pytest.mark.parametrize("case", CASES)
def test_case(case: str) -> None:
    inputs = load(case, "inputs")
    if (VECTORS / case / "void.json").exists():
        assert load(case, "void")["want_err"] == "teams-infeasible"
        with pytest.raises(teams.Infeasible):
            teams.assign(*engine_args(inputs))
        with pytest.raises(reference.NoAssignment):
            reference.compute(inputs)
        return
    want = load(case, "happy-path")["want"]
    got = teams.assign(*engine_args(inputs))
    assert canonicalize(got.to_record()) == canonicalize(want)
    assert reference.compute(inputs) == want
    assert teams.Assignment.from_record(want) == got
    teams.check_assignment(got, *engine_args(inputs))


@pytest.mark.parametrize(("case", "mutation"), MUTATIONS)
def test_mutation_is_rejected(case: str, mutation: str) -> None:
    inputs, vector = load(case, "inputs"), load(case, mutation)
    assert vector["mutation"] == mutation
    bad = vector["assignment"]
    assert not reference.verify(bad, inputs)
    if vector["want_err"].startswith("parse: "):
        with pytest.raises(ValueError) as parse_error:
            teams.Assignment.from_record(bad)
        assert str(parse_error.value) == vector["want_err"].removeprefix("parse: ")
        return
    with pytest.raises(teams.AssignmentError) as e:
        teams.check_assignment(teams.Assignment.from_record(bad), *engine_args(inputs))
    assert e.value.reason == vector["want_err"]
    assert str(e.value) == f"invalid assignment: {vector['want_err']}"
    want = teams.assign(*engine_args(inputs))  # handed in: the same reason, without a second assign
    with pytest.raises(teams.AssignmentError) as handed:
        teams.check_assignment(teams.Assignment.from_record(bad), *engine_args(inputs), want=want)
    assert handed.value.reason == vector["want_err"]


def test_the_augmenting_case_needs_paths() -> None:
    inputs = load("augmenting", "inputs")
    args = engine_args(inputs)
    inp = teams._inputs(args[0], args[1], args[2], args[3], args[4], args[6])
    _, regular, _ = teams._solve(inp, args[5])
    assert regular.augmentations >= 3


def test_the_cap_case_is_above_the_counting_bound() -> None:
    inputs = load("cap-above-bound", "inputs")
    args = engine_args(inputs)
    inp = teams._inputs(args[0], args[1], args[2], args[3], args[4], args[6])
    assignment, regular, _ = teams._solve(inp, args[5])
    assert regular.passes >= 2
    assert assignment.cap == load("cap-above-bound", "happy-path")["want"]["cap"]
