"""Teams (docs/draw-spec-matching.md): records, 回避, keys, messages, and properties of ``assign``."""

from __future__ import annotations

import doctest
import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from draw.engine import matching, teams
from draw.engine.teams import (
    Assignment,
    AssignmentError,
    Candidate,
    Exclusion,
    Infeasible,
    Inspector,
    PastInspection,
    Target,
    TeamRules,
    assign,
    check_assignment,
    check_feasible,
)
from ledger.jcs import canonicalize
from tests.spec_matching import reference

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2025, 3, 1)
SEED = hashlib.sha256(b"test_draw_matching").digest()
M, J = "市场监管局", "交通局"


def person(
    ident: str, dept: str = M, area: str = "甲所", items: tuple[str, ...] = ("I1",), **kw: Any
) -> Inspector:
    return Inspector(ident, dept, area, kw.pop("expiry", date(2030, 1, 1)), items, **kw)


def run(targets: list[Target], pool: list[Inspector], rules: TeamRules, **kw: Any) -> Assignment:
    return assign(targets, pool, rules, kw.get("exclusions", []), kw.get("history", []), SEED, AS_OF)


# ---------------------------------------------------------------------------
# Records.


def test_doctests() -> None:
    for module in (teams, matching):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0


def test_inspector_record_round_trip() -> None:
    i = person("ZF-1", items=("I2", "I1", "I2"), expert=True, status="leave")
    record = i.to_record()
    assert record == {
        "area": "甲所",
        "certificate_expiry": "2030-01-01",
        "department": M,
        "expert": True,
        "id": "ZF-1",
        "items": ["I1", "I2"],
        "status": "leave",
    }
    assert Inspector.from_record(record) == i
    assert canonicalize(record).startswith(b'{"area":"\xe7\x94\xb2\xe6\x89\x80","certificate_expiry"')


def test_text_is_normalized_on_construction_and_strict_in_records() -> None:
    decomposed = "Cafe\u0301所"
    i = person("ZF-1", area=decomposed)
    assert i.area == "Caf\u00e9所"
    record = i.to_record() | {"area": decomposed}
    with pytest.raises(ValueError, match=r"^teams: inspector record is not canonical"):
        Inspector.from_record(record)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"items": ["I2", "I1"]},
            "teams: inspector record is not canonical (NFC text, sorted distinct lists)",
        ),
        (
            {"status": "retired"},
            "teams: inspector 'ZF-1'.status: 'retired' not one of active, inactive, leave",
        ),
        ({"expert": 1}, "teams: inspector 'ZF-1'.expert: want true or false"),
        (
            {"certificate_expiry": "2030-02-30"},
            "teams: inspector.certificate_expiry: no such date '2030-02-30'",
        ),
        (
            {"certificate_expiry": "2030-1-01"},
            "teams: inspector.certificate_expiry: want a date YYYY-MM-DD, got '2030-1-01'",
        ),
        ({"department": ""}, "teams: inspector 'ZF-1'.department: length 0, want 1..128"),
        (
            {"area": " 甲所"},
            "teams: inspector 'ZF-1'.area: control character or surrounding space in ' 甲所'",
        ),
        ({"id": 7}, "teams: inspector.id: want a string, got int"),
        ({"items": "I1"}, "teams: inspector.items: want a list"),
    ],
)
def test_inspector_record_rejects(change: dict[str, Any], message: str) -> None:
    record = person("ZF-1").to_record() | change
    with pytest.raises(ValueError) as e:
        Inspector.from_record(record)
    assert str(e.value) == message


def test_records_reject_missing_and_extra_members() -> None:
    record = Target("O1", "甲所", ("I1",), 0).to_record()
    with pytest.raises(
        ValueError, match=r"^teams: target record: want exactly the members area, id, items, order$"
    ):
        Target.from_record(record | {"stratum": "A"})
    with pytest.raises(
        ValueError, match=r"^teams: history record: want exactly the members date, inspector, object$"
    ):
        PastInspection.from_record({"date": "2025-01-01", "inspector": "ZF-1"})


def test_other_records_round_trip() -> None:
    rules = TeamRules(
        (J, M), min_inspectors=3, experts=1, max_load=4, exclude_same_area=False, recent_months=6
    )
    values: list[Any] = [
        rules,
        Target("O1", "甲所", ("I2", "I1"), 7),
        Exclusion("ZF-1", "O1", "kin"),
        PastInspection("ZF-1", "O1", date(2024, 12, 31)),
    ]
    for value in values:
        record = value.to_record()
        assert type(value).from_record(record) == value
        canonicalize(record)
    assert rules.to_record()["departments"] == [J, M]  # code point order: 交 U+4EA4 < 市 U+5E02


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_inspectors": 1}, "teams: rules.min_inspectors: want an integer in 2..1000, got 1"),
        ({"min_inspectors": True}, "teams: rules.min_inspectors: want an integer in 2..1000, got True"),
        ({"per_department": 0}, "teams: rules.per_department: want an integer in 1..1000, got 0"),
        ({"max_load": 0}, "teams: rules.max_load: want an integer in 1..9007199254740991, got 0"),
        ({"recent_months": 121}, "teams: rules.recent_months: want an integer in 0..120, got 121"),
        ({"exclude_same_area": 1}, "teams: rules.exclude_same_area: want true or false"),
        (
            {"departments": (M, J, "农业局")},
            "teams: rules.min_inspectors: 3 departments × per_department 1 = 3 exceeds min_inspectors 2",
        ),
        ({"departments": (M, M)}, "teams: rules.departments: want one or more distinct departments"),
        ({"departments": ()}, "teams: rules.departments: want one or more distinct departments"),
        ({"departments": M}, "teams: rules.departments: want a sequence"),
    ],
)
def test_rules_reject(kwargs: dict[str, Any], message: str) -> None:
    args = {"departments": (M,)} | kwargs
    with pytest.raises(ValueError) as e:
        TeamRules(**args)
    assert str(e.value) == message


def test_text_accepted_once_is_checked_the_same_way_again() -> None:
    for _ in range(2):  # the second round takes the fast path for what the first accepted as it was
        assert Target("O1", "Cafe\u0301", ("I2", "I1"), 0) == Target("O1", "Café", ("I1", "I2"), 0)
        assert Target("O1", "Café", ("I1", "I2"), 0).area == "Café"
        assert teams._text("甲" * 150, "x", teams.MAX_ID) == "甲" * 150
        with pytest.raises(ValueError, match=r"^teams: target 'O1'.area: length 150, want 1..128$"):
            Target("O1", "甲" * 150, ("I1",), 0)
        with pytest.raises(ValueError, match=r"^teams: target 'O1'.items\[\]: want a string, got list$"):
            Target("O1", "甲所", (["I1"],), 0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"^teams: target 'O1'.items: 0 items, want 1..64$"):
            Target("O1", "甲所", (), 0)
        with pytest.raises(ValueError, match=r"^teams: target 'O1'.order: want an integer in 0\.\."):
            Target("O1", "甲所", ("I1",), True)
        assert person("P1", items=()).items == ()


def test_assignment_record_parse_is_strict() -> None:
    pool = [person(f"ZF-{k}", area="乙所") for k in range(3)]
    a = run([Target("O1", "甲所", ("I1",), 0), Target("O2", "甲所", ("I1",), 1)], pool, TeamRules((M,)))
    record = a.to_record()
    assert Assignment.from_record(record) == a
    swapped = record | {"teams": record["teams"][::-1]}
    with pytest.raises(ValueError, match=r"^teams: assignment.teams: want ascending distinct order$"):
        Assignment.from_record(swapped)
    with pytest.raises(ValueError, match=r"^teams: assignment record: want exactly the members"):
        Assignment.from_record(record | {"seed": "00"})
    with pytest.raises(ValueError, match=r"^teams: assignment.cap: want an integer in 0\.\."):
        Assignment.from_record(record | {"cap": -1})
    decomposed = [dict(record["teams"][0], leader="Cafe\u0301"), record["teams"][1]]
    with pytest.raises(ValueError, match=r"^teams: team record is not canonical"):
        Assignment.from_record(record | {"teams": decomposed})
    with pytest.raises(ValueError, match=r"^teams: assignment.as_of: want a date YYYY-MM-DD, got '2025-3-1'"):
        Assignment.from_record(record | {"as_of": "2025-3-1"})


# ---------------------------------------------------------------------------
# Keys (spec §5).


def test_path_key_known_answer() -> None:
    # The 68 bytes of spec §5's example, hashed with coreutils sha256sum:
    # 405423b21bfcc955a051ac4caccfc847ad09a3cf43c8635992386f7e0ae01da2.
    want = "405423b21bfcc955a051ac4caccfc847ad09a3cf43c8635992386f7e0ae01da2"
    assert matching.path_key(bytes(32), "A").hex() == want
    assert reference.path(bytes(32), "A").hex() == want


def test_key_layouts() -> None:
    seed, ident = bytes(range(20)), "执法-7"
    raw = ident.encode("utf-8")
    tail = len(raw).to_bytes(4, "big") + raw
    head = (20).to_bytes(4, "big") + seed
    level = (8).to_bytes(4, "big") + (3).to_bytes(8, "big")
    assert (
        matching.rank_key(seed, 3, ident)
        == hashlib.sha256(b"fairdraw-draw/1 teams-rank\x00" + head + level + tail).digest()
    )
    assert (
        matching.leader_key(seed, ident)
        == hashlib.sha256(b"fairdraw-draw/1 teams-leader\x00" + head + tail).digest()
    )
    ranker = matching._Ranker(seed, ["x", ident])
    assert ranker.key(3, 1) == matching.rank_key(seed, 3, ident)
    assert ranker.key(0, 0) == matching.rank_key(seed, 0, "x")


# ---------------------------------------------------------------------------
# Eligibility and 回避 (spec §4).


@pytest.mark.parametrize(
    ("day", "months", "want"),
    [
        (date(2025, 3, 31), 1, date(2025, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2023, 2, 28)),
        (date(2025, 1, 15), 1, date(2024, 12, 15)),
        (date(2025, 1, 15), 25, date(2022, 12, 15)),
        (date(2025, 5, 31), 0, date(2025, 5, 31)),
    ],
)
def test_months_before(day: date, months: int, want: date) -> None:
    assert teams.months_before(day, months) == want
    assert reference.months_before(day, months) == want


def test_months_before_year_one() -> None:
    with pytest.raises(ValueError, match=r"^teams: 2 months before 0001-01-31 is before year 1$"):
        teams.months_before(date(1, 1, 31), 2)


def test_inspector_level_exclusions_are_listed() -> None:
    pool = [
        person("A1", area="乙所"),
        person("A2", area="乙所"),
        person("B1", expiry=date(2025, 2, 28)),  # expired the day before
        person("B2", expiry=AS_OF, area="乙所"),  # valid through as_of
        person("B3", status="leave", expiry=date(2025, 1, 1)),
        person("B4", dept="农业局"),
        person("X1", dept="检测院", expert=True, area="乙所"),  # experts need no participating department
        person("X2", dept="检测院", expert=True, status="inactive"),
    ]
    a = run([Target("O1", "甲所", ("I1",), 0)], pool, TeamRules((M,), experts=1, exclude_same_area=False))
    assert [(e.inspector_id, e.reason) for e in a.ineligible] == [
        ("B1", "certificate"),
        ("B3", "certificate"),
        ("B3", "status"),
        ("B4", "department"),
        ("X2", "status"),
    ]
    assert a.teams[0].experts == ("X1",)
    assert set(a.teams[0].members) <= {"A1", "A2", "B2"}


def test_pair_exclusions_and_recent_window() -> None:
    rules = TeamRules((M,), recent_months=6)
    pool = [person(f"A{k}", area="乙所") for k in range(6)]
    history = [
        PastInspection("A1", "O1", date(2024, 9, 1)),  # first day of the window: excluded
        PastInspection("A2", "O1", date(2024, 8, 31)),  # the day before: not excluded
        PastInspection("A3", "O9", date(2025, 2, 1)),  # object not drawn: not listed
        PastInspection("Z9", "O1", date(2025, 2, 1)),  # inspector not in the list: not listed
    ]
    exclusions = [
        Exclusion("A4", "O1", "kin"),
        Exclusion("A4", "O1", "interest"),
        Exclusion("A5", "O1", "kin"),
    ]
    a = run([Target("O1", "甲所", ("I1",), 0)], pool, rules, exclusions=exclusions, history=history)
    assert [e.to_record() for e in a.excluded] == [
        {"inspector": "A1", "object": "O1", "reason": "recent"},
        {"inspector": "A4", "object": "O1", "reason": "interest"},
        {"inspector": "A4", "object": "O1", "reason": "kin"},
        {"inspector": "A5", "object": "O1", "reason": "kin"},
    ]
    assert set(a.teams[0].members) == {"A0", "A2", "A3"} & set(a.teams[0].members)
    assert len(a.teams[0].members) == 2


def test_history_after_as_of_is_refused() -> None:
    with pytest.raises(ValueError) as e:
        run([], [person("A1")], TeamRules((M,)), history=[PastInspection("A1", "O1", date(2025, 3, 2))])
    assert str(e.value) == "teams: history: inspection of O1 dated 2025-03-02, after as_of 2025-03-01"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: run([Target("O", "甲所", ("I1",), 0)], [person("A"), person("A")], TeamRules((M,))),
            "teams: inspectors: ids must be distinct",
        ),
        (
            lambda: run(
                [Target("O", "甲所", ("I1",), 0), Target("P", "甲所", ("I1",), 0)], [], TeamRules((M,))
            ),
            "teams: targets: ids and orders must be distinct",
        ),
        (lambda: assign([], [], TeamRules((M,)), [], [], b"short", AS_OF), "teams: seed: want 16..64 bytes"),
        (
            lambda: assign([], [], {"departments": [M]}, [], [], SEED, AS_OF),  # type: ignore[arg-type]
            "teams: rules: want TeamRules, got dict",
        ),
        (
            lambda: assign([], [], TeamRules((M,)), [("A", "O")], [], SEED, AS_OF),  # type: ignore[list-item]
            "teams: exclusions: want Exclusion, got tuple",
        ),
        (lambda: Target("O", "甲所", (), 0), "teams: target 'O'.items: 0 items, want 1..64"),
        (
            lambda: Target("O", "甲所", ("I1",), -1),
            "teams: target 'O'.order: want an integer in 0..9007199254740991, got -1",
        ),
        (
            lambda: Exclusion("A", "O", "enemy"),
            "teams: exclusion.reason: 'enemy' not one of area, interest, kin, other, recent",
        ),
    ],
)
def test_caller_errors(call: Any, message: str) -> None:
    with pytest.raises(ValueError) as e:
        call()
    assert str(e.value) == message


# ---------------------------------------------------------------------------
# Infeasible (spec §9): messages derived by hand from the algorithm.


def test_infeasible_no_eligible_inspector() -> None:
    pool = [person(f"A{k}", area="甲所") for k in range(3)]
    with pytest.raises(Infeasible) as e:
        run([Target("O1", "甲所", ("I1",), 0)], pool, TeamRules((M,)))
    assert (
        str(e.value) == "1 object in 甲所 needs 2 inspector seats; no eligible inspector remains after 回避"
    )
    assert e.value.reason == "teams-infeasible"


def test_infeasible_department_seat_after_exclusions() -> None:
    # Two objects in 甲所, inspectors elsewhere; O2 excludes both 交通局 inspectors by name.
    pool = [
        person("M1", area="乙所"),
        person("M2", area="乙所"),
        person("J1", J, "乙所"),
        person("J2", J, "乙所"),
    ]
    targets = [Target("O1", "甲所", ("I1",), 0), Target("O2", "甲所", ("I1",), 1)]
    exclusions = [Exclusion("J1", "O2", "kin"), Exclusion("J2", "O2", "kin")]
    with pytest.raises(Infeasible) as e:
        run(targets, pool, TeamRules((J, M)), exclusions=exclusions)
    assert (
        str(e.value)
        == "object O2: no eligible inspector of department 交通局 is left for its team after 回避"
    )


def test_infeasible_at_max_load_names_the_cap() -> None:
    # Four inspectors, two objects that both exclude c and d, max_load 1: the counting bound (4 seats,
    # 4 inspectors) allows cap 1, but O2's first seat can only be filled by a or b, both full at cap 1.
    pool = [person(f"ZF-{k}") for k in "abcd"]
    targets = [Target("O1", "乙所", ("I1",), 0), Target("O2", "乙所", ("I1",), 1)]
    exclusions = [Exclusion(f"ZF-{k}", o, "kin") for k in "cd" for o in ("O1", "O2")]
    with pytest.raises(Infeasible) as e:
        run(targets, pool, TeamRules((M,), max_load=1), exclusions=exclusions)
    assert str(e.value) == (
        "object O2: no room for another inspector of department 市场监管局: the 2 eligible inspectors "
        "that could make room are all at the load cap 1"
    )


def test_infeasible_counting_bound_above_max_load() -> None:
    pool = [person("A1", area="乙所"), person("A2", area="乙所")]
    targets = [Target(f"O{k}", "甲所", ("I1",), k) for k in range(3)]
    with pytest.raises(Infeasible) as e:
        run(targets, pool, TeamRules((M,), max_load=2))
    assert str(e.value) == (
        "3 objects need 6 inspector seats from 2 eligible inspectors: "
        "a load of at least 3 each, above max_load 2"
    )


def test_check_assignment_reports_void() -> None:
    pool = [person(f"A{k}", area="乙所") for k in range(2)]
    targets = [Target("O1", "甲所", ("I1",), 0)]
    good = run(targets, pool, TeamRules((M,)))
    with pytest.raises(AssignmentError) as e:
        check_assignment(
            good, targets, pool, TeamRules((M,)), [Exclusion("A0", "O1", "kin")], [], SEED, AS_OF
        )
    assert e.value.reason == "excluded list differs from the one the inputs give"
    with pytest.raises(AssignmentError) as e:
        check_assignment(
            replace(good, excluded=(Exclusion("A0", "O1", "kin"),)),
            targets,
            pool,
            TeamRules((M,)),
            [Exclusion("A0", "O1", "kin")],
            [],
            SEED,
            AS_OF,
        )
    assert e.value.reason == "object O1: A0 is excluded (kin)"


# ---------------------------------------------------------------------------
# check_feasible (spec §10): messages derived by hand.


def area_pool(outside: int, inside: int, dept: str = M) -> list[Inspector]:
    return [person(f"{dept[0]}-o{k}", dept, "原平所") for k in range(outside)] + [
        person(f"{dept[0]}-i{k}", dept, "忻府区所") for k in range(inside)
    ]


def test_check_feasible_brief_example() -> None:
    candidates = [Candidate(f"O{k}", "D", "忻府区所", ("I1",)) for k in range(50)]
    rules = TeamRules((M,), max_load=2)
    with pytest.raises(ValueError) as e:
        check_feasible(candidates, {"D": 40}, area_pool(31, 9), rules, [], [], AS_OF)
    assert str(e.value) == (
        "teams: stratum D in 忻府区所 (items I1) needs 40 teams of 2 inspectors; "
        "only 31 eligible inspectors remain after 回避 (max_load 2: 62 seats)"
    )
    check_feasible(candidates, {"D": 31}, area_pool(31, 9), rules, [], [], AS_OF)


def test_check_feasible_counts_strata_together_by_area() -> None:
    candidates = [Candidate(f"O{k}", "CD"[k % 2], "忻府区所", ("I1",)) for k in range(40)]
    with pytest.raises(ValueError) as e:
        check_feasible(
            candidates, {"C": 5, "D": 30}, area_pool(10, 0), TeamRules((M,), max_load=2), [], [], AS_OF
        )
    # at most 5 from C and 20 (all) from D: 25 teams of 2 against 10 inspectors x 2
    assert str(e.value).startswith(
        "teams: strata C, D in 忻府区所 (items I1) needs 25 teams of 2 inspectors; only 10 "
    )


def test_check_feasible_per_department_and_global() -> None:
    pool = area_pool(10, 0) + area_pool(3, 0, J)
    candidates = [Candidate(f"O{k}", "A", f"区{k}", ("I1",)) for k in range(20)]
    rules = TeamRules((J, M), max_load=4)
    with pytest.raises(ValueError) as e:
        check_feasible(candidates, {"A": 20}, pool, rules, [], [], AS_OF)
    assert str(e.value) == (
        "teams: the draw needs 20 teams of 1 inspector of department 交通局; "
        "only 3 eligible inspectors of department 交通局 remain after 回避 (max_load 4: 12 seats)"
    )


def test_check_feasible_one_object_cannot_get_a_team() -> None:
    pool = area_pool(1, 5)
    candidates = [Candidate("O1", "A", "忻府区所", ("I1",))]
    with pytest.raises(ValueError) as e:
        check_feasible(candidates, {"A": 1}, pool, TeamRules((M,)), [], [], AS_OF)
    assert (
        str(e.value)
        == "teams: an object of stratum A in 忻府区所 has 1 eligible inspectors after 回避; each team needs 2"
    )
    check_feasible(candidates, {"A": 0}, pool, TeamRules((M,)), [], [], AS_OF)  # never drawn


def test_check_feasible_named_object_and_experts() -> None:
    pool = [*area_pool(3, 0), person("X1", "检测院", "专家库", expert=True)]
    candidates = [Candidate("O1", "A", "忻府区所", ("I1",)), Candidate("O2", "A", "忻府区所", ("I1",))]
    rules = TeamRules((M,), experts=1)
    check_feasible(candidates, {"A": 1}, pool, rules, [], [], AS_OF)
    with pytest.raises(ValueError) as e:
        check_feasible(
            candidates,
            {"A": 1},
            pool,
            rules,
            [Exclusion("市-o0", "O2", "kin"), Exclusion("市-o1", "O2", "kin")],
            [],
            AS_OF,
        )
    assert (
        str(e.value)
        == "teams: object O2 (stratum A, 忻府区所) has 1 eligible inspectors after 回避; each team needs 2"
    )
    with pytest.raises(ValueError) as e:
        check_feasible(candidates, {"A": 1}, pool, rules, [Exclusion("X1", "O1", "interest")], [], AS_OF)
    assert (
        str(e.value)
        == "teams: object O1 (stratum A, 忻府区所) has 0 eligible experts after 回避; each team needs 1"
    )


# ---------------------------------------------------------------------------
# Properties over random instances.


@st.composite
def instances(
    draw: st.DrawFn,
) -> tuple[list[Target], list[Inspector], TeamRules, list[Exclusion], list[PastInspection], bytes]:
    departments = draw(st.sampled_from([(M,), (M, J)]))
    areas = ["甲所", "乙所", "丙所"][: draw(st.integers(1, 3))]
    item_sets = [("I1",), ("I1", "I2"), ("I2",)]
    n = draw(st.integers(3, 14))
    pool = [
        person(
            f"P{k:02d}",
            draw(st.sampled_from([*departments, "农业局"])),
            draw(st.sampled_from(areas)),
            draw(st.sampled_from(item_sets)),
            expert=draw(st.booleans()) and k % 3 == 0,
            status=draw(st.sampled_from(["active", "active", "active", "leave"])),
        )
        for k in range(n)
    ]
    targets = [
        Target(f"O{k:02d}", draw(st.sampled_from(areas)), draw(st.sampled_from(item_sets[:2])), 2 * k + 1)
        for k in range(draw(st.integers(0, 10)))
    ]
    ids = [t.id for t in targets] or ["O00"]
    exclusions = [
        Exclusion(
            draw(st.sampled_from(pool)).id,
            draw(st.sampled_from(ids)),
            draw(st.sampled_from(teams.PAIR_REASONS)),
        )
        for _ in range(draw(st.integers(0, 6)))
    ]
    history = [
        PastInspection(
            draw(st.sampled_from(pool)).id,
            draw(st.sampled_from(ids)),
            date(2024, draw(st.integers(1, 12)), 1),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    size = max(len(departments), draw(st.integers(2, 3)))
    rules = TeamRules(
        departments,
        min_inspectors=size,
        experts=draw(st.integers(0, 1)),
        max_load=draw(st.sampled_from([None, 2, 3, 5])),
        exclude_same_area=draw(st.booleans()),
        recent_months=draw(st.sampled_from([0, 3, 6])),
    )
    return targets, pool, rules, exclusions, history, draw(st.binary(min_size=16, max_size=32))


def records(
    targets: list[Target],
    pool: list[Inspector],
    rules: TeamRules,
    exclusions: list[Exclusion],
    history: list[PastInspection],
    seed: bytes,
) -> dict[str, Any]:
    return {
        "seed": seed.hex(),
        "as_of": AS_OF.isoformat(),
        "rules": rules.to_record(),
        "inspectors": [i.to_record() for i in pool],
        "targets": [t.to_record() for t in targets],
        "exclusions": [e.to_record() for e in exclusions],
        "history": [h.to_record() for h in history],
    }


def rules_kept(record: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Check every rule of spec §3-§4 on a record, using the reference's eligibility (not the engine's)."""
    rules = inputs["rules"]
    left_out = {e["inspector"] for e in reference._ineligible(inputs["inspectors"], rules, AS_OF)}
    by_id = {i["id"]: i for i in inputs["inspectors"]}
    regular = [i for i in inputs["inspectors"] if not i["expert"] and i["id"] not in left_out]
    experts = [i for i in inputs["inspectors"] if i["expert"] and i["id"] not in left_out]
    check = reference.Matching(inputs, regular, expert=False)
    objects = sorted(inputs["targets"], key=lambda t: t["order"])
    loads: Counter[str] = Counter()
    for team, t in zip(record["teams"], objects, strict=True):
        assert team["object"] == t["id"] and team["order"] == t["order"]
        assert len(set(team["members"])) == len(team["members"]) == rules["min_inspectors"]
        assert len(set(team["experts"])) == len(team["experts"]) == rules["experts"]
        for m in team["members"]:
            assert m in {i["id"] for i in regular} and check.eligible(by_id[m], t)
        for x in team["experts"]:
            assert x in {i["id"] for i in experts} and check.eligible(by_id[x], t)
        for d in rules["departments"]:
            assert sum(by_id[m]["department"] == d for m in team["members"]) >= rules["per_department"]
        assert team["leader"] in team["members"]
        loads.update(team["members"] + team["experts"])
    for m, load in loads.items():
        cap = record["expert_cap"] if by_id[m]["expert"] else record["cap"]
        assert load <= cap and (rules["max_load"] is None or load <= rules["max_load"])


@given(instances())
def test_rules_are_never_violated_and_the_reference_agrees(case: Any) -> None:
    targets, pool, rules, exclusions, history, seed = case
    inputs = records(*case)
    try:
        got = assign(targets, pool, rules, exclusions, history, seed, AS_OF)
    except Infeasible:
        with pytest.raises(reference.NoAssignment):
            reference.compute(inputs)
        return
    record = got.to_record()
    rules_kept(record, inputs)
    assert reference.compute(inputs) == record
    check_assignment(got, targets, pool, rules, exclusions, history, seed, AS_OF)


@given(instances(), st.randoms(use_true_random=False))
def test_same_inputs_same_bytes_in_any_order(case: Any, rng: random.Random) -> None:
    targets, pool, rules, exclusions, history, seed = case
    try:
        first = canonicalize(assign(targets, pool, rules, exclusions, history, seed, AS_OF).to_record())
    except Infeasible as e:
        first = str(e).encode()
    shuffled = [list(x) for x in (targets, pool, exclusions, history)]
    for x in shuffled:
        rng.shuffle(x)
    try:
        again = canonicalize(
            assign(shuffled[0], shuffled[1], rules, shuffled[2], shuffled[3], seed, AS_OF).to_record()
        )
    except Infeasible as e:
        again = str(e).encode()
    assert first == again


@given(instances())
def test_interchangeable_loads_differ_by_at_most_one_without_paths(case: Any) -> None:
    targets, pool, rules, exclusions, history, seed = case
    try:
        inp = teams._inputs(targets, pool, rules, exclusions, history, AS_OF)
        got, regular, experts = teams._solve(inp, seed)
    except Infeasible:
        return
    named = {e.inspector_id for e in got.excluded}
    loads = Counter(m for t in got.teams for m in t.members + t.experts)
    classes: dict[tuple[Any, ...], list[int]] = {}
    for i in pool:
        if i.id not in named and i.id not in {e.inspector_id for e in got.ineligible}:
            classes.setdefault((i.department, i.area, i.items, i.expert), []).append(loads[i.id])
    for (_, _, _, expert), values in classes.items():
        if (experts if expert else regular).augmentations == 0:
            assert max(values) - min(values) <= 1


@given(instances())
def test_encode_assignment_is_jcs_of_the_record(case: Any) -> None:
    try:
        got = assign(*case[:5], case[5], AS_OF)
    except Infeasible:
        return
    assert teams.encode_assignment(got) == canonicalize(got.to_record())


@pytest.mark.parametrize("text", ['a"b', "a\\b", "a\nb", "a\x1fb", "a\x7fb", "\u2028", "😀", "é", " x "])
def test_encode_assignment_writes_text_as_jcs_does(text: str) -> None:
    team = teams.Team(text, 0, ("A", text), text, (text,))
    a = Assignment(AS_OF, 1, 0, (team,), (), (teams.Ineligibility(text, "status"),))
    assert teams.encode_assignment(a) == canonicalize(a.to_record())


def test_encode_assignment_other_values_go_through_jcs() -> None:
    team = teams.Team("O1", 0, ("A", "B"), "A")
    for a in (
        Assignment(AS_OF, True, 0, (team,), (), ()),  # type: ignore[arg-type]
        Assignment(AS_OF, 1, 0, (replace(team, members=["A", "B"]),), (), ()),  # type: ignore[arg-type]
        Assignment(AS_OF, 1, 0, (replace(team, order=2**53),), (), ()),
    ):
        try:
            want: bytes | str = canonicalize(a.to_record())
        except ValueError as e:
            want = str(e)
        try:
            got: bytes | str = teams.encode_assignment(a)
        except ValueError as e:
            got = str(e)
        assert got == want
    lone = replace(team, leader="\ud800")
    with pytest.raises(ValueError, match=r"^jcs: lone surrogate in string$"):
        teams.encode_assignment(Assignment(AS_OF, 1, 0, (lone,), (), ()))


def test_teams_change_with_the_seed() -> None:
    pool = [person(f"A{k:02d}", area="乙所") for k in range(10)]
    targets = [Target(f"O{k}", "甲所", ("I1",), k) for k in range(5)]
    seen = {
        canonicalize(assign(targets, pool, TeamRules((M,)), [], [], bytes([s]) * 32, AS_OF).to_record())
        for s in range(20)
    }
    assert len(seen) == 20


def test_pairs_are_not_repeated_round_after_round() -> None:
    # One department, teams of 2 drawn from 40 interchangeable inspectors over 200 objects (10 rounds).
    # With one fixed order every round would repeat the same 20 pairs (180 repeats); fresh ranks per
    # level make them as rare as random pairing does (about 200²/(2·780) ≈ 26 repeats).
    pool = [person(f"A{k:02d}", area="乙所") for k in range(40)]
    targets = [Target(f"O{k:03d}", "甲所", ("I1",), k) for k in range(200)]
    got = assign(targets, pool, TeamRules((M,)), [], [], SEED, AS_OF)
    pairs = Counter(t.members for t in got.teams)
    assert got.cap == 10
    assert sum(n - 1 for n in pairs.values()) < 60


def test_experts_never_count_toward_the_minimum() -> None:
    pool = [
        person("A1", area="乙所"),
        person("X1", area="乙所", expert=True),
        person("X2", area="乙所", expert=True),
    ]
    with pytest.raises(Infeasible):
        run([Target("O1", "甲所", ("I1",), 0)], pool, TeamRules((M,), experts=1))


def test_no_targets() -> None:
    a = run([], [person("A1")], TeamRules((M,)))
    assert (a.cap, a.expert_cap, a.teams) == (0, 0, ())


def test_error_type_is_one_opaque_exception() -> None:
    e = AssignmentError("object O: leader X is not a member")
    assert str(e) == "invalid assignment: object O: leader X is not a member"
    assert not isinstance(e, ValueError)
    assert re.fullmatch(r"teams-infeasible", Infeasible.reason)


def test_the_spec_example_record_is_what_assign_gives() -> None:
    spec = (ROOT / "docs" / "draw-spec-matching.md").read_text(encoding="utf-8")
    block = re.search(r"### 11\.1 Members\n.*?```json\n(.*?)\n```", spec, re.S)
    assert block is not None
    pool = [Inspector(f"A{k}", M, "忻府区所", date(2030, 1, 1), ("I1",)) for k in range(3)]
    pool.append(Inspector("A9", M, "原平所", date(2025, 1, 1), ("I1",)))
    targets = [Target("OBJ-1", "忻府区所", ("I1",), 0), Target("OBJ-2", "原平所", ("I1",), 1)]
    rules = TeamRules((M,), exclude_same_area=False)
    got = assign(targets, pool, rules, [Exclusion("A2", "OBJ-1", "kin")], [], bytes(32), AS_OF)
    assert canonicalize(got.to_record()) == block.group(1).encode("utf-8")


def test_check_feasible_checks_each_candidate_class() -> None:
    pool = area_pool(5, 0)
    rules = TeamRules((M,))
    with pytest.raises(ValueError) as e:
        check_feasible([Candidate("O1", "A", "Cafe\u0301", ("I1",))], {"A": 1}, pool, rules, [], [], AS_OF)
    assert str(e.value) == "teams: candidates ('A', 'Café', ('I1',)): want NFC text and sorted distinct items"
    with pytest.raises(ValueError) as e:
        check_feasible([Candidate("O1", "A", "X", ("I2", "I1"))], {"A": 1}, pool, rules, [], [], AS_OF)
    assert str(e.value).startswith("teams: candidates ('A', 'X', ('I1', 'I2')): want NFC text")
    with pytest.raises(ValueError) as e:
        check_feasible([("O1", "A", "X", ("I1",))], {"A": 1}, pool, rules, [], [], AS_OF)  # type: ignore[list-item]
    assert str(e.value) == "teams: candidates: want Candidate, got tuple"
    with pytest.raises(ValueError) as e:
        check_feasible([], {"A": -1}, pool, rules, [], [], AS_OF)
    assert str(e.value) == "teams: quotas['A']: want an integer in 0..9007199254740991, got -1"


def test_the_spec_inspector_example_parses() -> None:
    spec = (ROOT / "docs" / "draw-spec-matching.md").read_text(encoding="utf-8")
    block = re.search(r"### 2\.1 Inspector\n.*?```json\n(.*?)\n```", spec, re.S)
    assert block is not None
    record = json.loads(block.group(1))
    assert canonicalize(Inspector.from_record(record).to_record()) == block.group(1).encode("utf-8")
