"""Write tests/vectors/matching/: inputs, expected records and named mutations.

Run from the repository root: ``.venv/bin/python -m tests.spec_matching.make_vectors``. Expected
records come from the naive reference (tests/spec_matching/reference.py, written from
docs/draw-spec-matching.md); the script refuses to write a case the engine does not reproduce.
Every mutation records the reason the engine's verifier gives; the reference must reject it too.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from draw.engine import teams
from tests.spec_matching import reference

OUT = Path(__file__).resolve().parent.parent / "vectors" / "matching"
AS_OF = "2025-03-01"
MARKET, TRANSPORT = "市场监管局", "交通局"
AREAS = ("忻府区所", "原平所", "定襄所", "五台所")

Record = dict[str, Any]


def seed_of(name: str) -> str:
    return hashlib.sha256(b"fairdraw matching vector " + name.encode()).hexdigest()


def inspector(ident: str, dept: str, area: str, items: list[str], **extra: Any) -> Record:
    record = {"area": area, "certificate_expiry": "2027-12-31", "department": dept, "expert": False}
    record.update({"id": ident, "items": items, "status": "active"})
    record.update(extra)
    return record


def target(ident: str, area: str, order: int, items: list[str] | None = None) -> Record:
    return {"area": area, "id": ident, "items": items or ["I1"], "order": order}


def rules(departments: list[str], **extra: Any) -> Record:
    record = {"departments": sorted(departments), "exclude_same_area": True, "experts": 0, "max_load": None}
    record.update({"min_inspectors": 2, "per_department": 1, "recent_months": 0})
    record.update(extra)
    return record


def inputs(name: str, rule: Record, pool: list[Record], objects: list[Record], **extra: Any) -> Record:
    record = {"as_of": AS_OF, "exclusions": [], "history": [], "inspectors": pool, "rules": rule}
    record.update({"seed": seed_of(name), "targets": objects})
    record.update(extra)
    return record


# ---------------------------------------------------------------------------
# Cases.


def single_department() -> Record:
    pool = [
        inspector(f"ZF-{k:02d}", MARKET, AREAS[k % 3], ["I1", "I2"] if k % 2 else ["I1"]) for k in range(6)
    ]
    objects = [target(f"OBJ-{k:02d}", AREAS[k % 3], k * 10) for k in range(5)]
    return inputs("single-department", rules([MARKET]), pool, objects)


def joint_free_seat() -> Record:
    pool = [inspector(f"SJ-{k:02d}", MARKET, AREAS[k % 4], ["I1"]) for k in range(4)]
    pool += [inspector(f"JT-{k:02d}", TRANSPORT, AREAS[(k + 1) % 4], ["I1"]) for k in range(4)]
    objects = [target(f"OBJ-{k:02d}", AREAS[k % 4], k) for k in range(6)]
    rule = rules([MARKET, TRANSPORT], min_inspectors=3, max_load=3)
    return inputs("joint-free-seat", rule, pool, objects)


def experts() -> Record:
    pool = [inspector(f"ZF-{k:02d}", MARKET, AREAS[k % 2], ["I1"]) for k in range(4)]
    pool += [inspector(f"ZJ-{k:02d}", "检测院", "专家库", ["I1"], expert=True) for k in range(3)]
    objects = [target(f"OBJ-{k:02d}", AREAS[k % 2], k) for k in range(4)]
    return inputs("experts", rules([MARKET], experts=1), pool, objects)


def recusal() -> Record:
    pool = [inspector(f"ZF-{k:02d}", MARKET, AREAS[k % 3], ["I1", "I2"]) for k in range(8)]
    pool += [
        inspector("ZF-90", MARKET, AREAS[2], ["I1"], certificate_expiry="2025-02-28"),
        inspector("ZF-91", MARKET, AREAS[2], ["I1"], certificate_expiry=AS_OF),
        inspector("ZF-92", MARKET, AREAS[2], ["I1"], status="leave"),
        inspector("ZF-93", MARKET, AREAS[2], ["I1"], status="inactive"),
        inspector("ZF-94", "农业农村局", AREAS[2], ["I1"]),
        inspector("ZF-95", MARKET, AREAS[2], ["I2"]),
    ]
    objects = [target(f"OBJ-{k:02d}", AREAS[k % 2], k) for k in range(4)]
    declared = [
        {"inspector": "ZF-01", "object": "OBJ-00", "reason": "kin"},
        {"inspector": "ZF-03", "object": "OBJ-00", "reason": "interest"},
        {"inspector": "ZF-00", "object": "OBJ-01", "reason": "other"},
        {"inspector": "ZF-00", "object": "OBJ-77", "reason": "kin"},
        {"inspector": "ZF-77", "object": "OBJ-00", "reason": "kin"},
    ]
    history = [
        {"date": "2024-09-01", "inspector": "ZF-05", "object": "OBJ-00"},
        {"date": "2024-08-31", "inspector": "ZF-04", "object": "OBJ-02"},
        {"date": "2025-01-15", "inspector": "ZF-91", "object": "OBJ-03"},
    ]
    rule = rules([MARKET], recent_months=6)
    return inputs("recusal", rule, pool, objects, exclusions=declared, history=history)


def random_medium(name: str, rng: random.Random, **extra: Any) -> Record:
    pool = [
        inspector(
            f"P{k:03d}",
            rng.choice([MARKET, TRANSPORT]),
            rng.choice(AREAS),
            rng.choice([["I1"], ["I1", "I2"]]),
        )
        for k in range(rng.randint(12, 24))
    ]
    objects = [
        target(f"O{k:03d}", rng.choice(AREAS), k, rng.choice([["I1"], ["I1"], ["I2"]])) for k in range(40)
    ]
    declared = [
        {"inspector": rng.choice(pool)["id"], "object": rng.choice(objects)["id"], "reason": "kin"}
        for _ in range(12)
    ]
    history = [
        {"date": f"2024-{rng.randint(1, 12):02d}-15", "inspector": rng.choice(pool)["id"], "object": o["id"]}
        for o in objects[:20]
    ]
    rule = rules([MARKET, TRANSPORT], min_inspectors=3, max_load=rng.choice([6, 8, 10]), recent_months=6)
    rule.update(extra)
    return inputs(name, rule, pool, objects, exclusions=declared, history=history)


def find(name: str, want: Callable[[Any, Any], bool], make: Callable[[random.Random], Record]) -> Record:
    """Return the first instance of a deterministic stream whose engine run satisfies ``want``."""
    for k in range(5000):
        case = make(random.Random(f"{name}-{k}"))
        case["seed"] = seed_of(f"{name}-{k}")
        try:
            _, regular, _ = teams._solve(_engine_inputs(case), bytes.fromhex(case["seed"]))
        except teams.Infeasible:
            continue
        if want(regular, case):
            return case
    raise AssertionError(f"no instance found for {name}")


def augmenting() -> Record:
    def make(rng: random.Random) -> Record:
        return random_medium("augmenting", rng)

    return find("augmenting", lambda r, c: r.augmentations >= 3, make)


def cap_above_bound() -> Record:
    def make(rng: random.Random) -> Record:
        return random_medium("cap-above-bound", rng, max_load=None)

    return find("cap-above-bound", lambda r, c: r.passes >= 2, make)


def empty() -> Record:
    return inputs("empty", rules([MARKET]), [inspector("ZF-01", MARKET, AREAS[0], ["I1"])], [])


def void_no_eligible() -> Record:
    pool = [inspector(f"ZF-{k:02d}", MARKET, AREAS[0], ["I1"]) for k in range(3)]
    return inputs("void-no-eligible", rules([MARKET]), pool, [target("OBJ-01", AREAS[0], 0)])


def void_max_load() -> Record:
    pool = [inspector(f"ZF-{k}", MARKET, AREAS[0], ["I1"]) for k in "abcd"]
    objects = [target("OBJ-0", AREAS[1], 0), target("OBJ-1", AREAS[1], 1)]
    declared = [{"inspector": f"ZF-{k}", "object": o["id"], "reason": "kin"} for k in "cd" for o in objects]
    return inputs("void-max-load", rules([MARKET], max_load=1), pool, objects, exclusions=declared)


CASES: dict[str, tuple[str, Callable[[], Record]]] = {
    "single-department": ("one department, 属地 rule on, no load cap", single_department),
    "joint-free-seat": (
        "two departments, teams of 3: one seat each and one free seat, max_load 3",
        joint_free_seat,
    ),
    "experts": ("one expert per team on top of two inspectors", experts),
    "recusal": ("declared pairs, recent history, expired/leave/inactive/other-department/items", recusal),
    "augmenting": ("a pass that needs augmenting paths", augmenting),
    "cap-above-bound": ("the least cap is above the counting lower bound", cap_above_bound),
    "empty": ("no targets", empty),
    "void-no-eligible": ("every inspector is from the object's area: teams-infeasible", void_no_eligible),
    "void-max-load": (
        "two objects exclude two of four inspectors, max_load 1: teams-infeasible",
        void_max_load,
    ),
}


# ---------------------------------------------------------------------------
# Mutations of a valid record.


def _loads(record: Record) -> Counter[str]:
    return Counter(m for team in record["teams"] for m in team["members"])


def _swap(record: Record, k: int, old: str, new: str) -> Record:
    out = copy.deepcopy(record)
    team = out["teams"][k]
    team["members"] = sorted(new if m == old else m for m in team["members"])
    if team["leader"] == old:
        team["leader"] = new
    return out


def _replace_with(record: Record, case: Record, k: int, new: str) -> Record:
    team = record["teams"][k]
    old = next(m for m in team["members"] if m != team["leader"])
    return _swap(record, k, old, new)


def _unused_swap(record: Record, case: Record) -> Record:
    """A member swapped for another eligible inspector: every rule holds, but it is not the draw."""
    m = reference.Matching(case, [i for i in case["inspectors"] if not i["expert"]], expert=False)
    loads, cap = _loads(record), record["cap"]
    by_id = {i["id"]: i for i in case["inspectors"]}
    objects = sorted(case["targets"], key=lambda t: t["order"])
    for k, team in enumerate(record["teams"]):
        for old in team["members"]:
            if loads[old] == cap and list(loads.values()).count(cap) == 1:
                continue
            for new in sorted(by_id):
                i = by_id[new]
                ok = i["department"] == by_id[old]["department"] and new not in team["members"]
                if ok and not i["expert"] and loads[new] < cap and m.eligible(i, objects[k]):
                    return _swap(record, k, old, new)
    raise AssertionError("no unused eligible inspector to swap in")


def _set(path: str, value: Any) -> Callable[[Record, Record], Record]:
    def mutate(record: Record, case: Record) -> Record:
        out = copy.deepcopy(record)
        where: Any = out
        keys = path.split(".")
        for key in keys[:-1]:
            where = where[int(key)] if key.isdigit() else where[key]
        where[keys[-1]] = value(where[keys[-1]], out) if callable(value) else value
        return out

    return mutate


def _drop_member(record: Record, case: Record) -> Record:
    out = copy.deepcopy(record)
    team = out["teams"][0]
    team["members"] = [m for m in team["members"] if m == team["leader"]]
    return out


def _leader_other(record: Record, case: Record) -> Record:
    out = copy.deepcopy(record)
    team = out["teams"][0]
    team["leader"] = next(m for m in team["members"] if m != team["leader"])
    return out


def _leader_outsider(record: Record, case: Record) -> Record:
    out = copy.deepcopy(record)
    team = out["teams"][0]
    team["leader"] = next(i["id"] for i in case["inspectors"] if i["id"] not in team["members"])
    return out


def _swap_objects(record: Record, case: Record) -> Record:
    out = copy.deepcopy(record)
    a, b = out["teams"][0], out["teams"][1]
    a["object"], b["object"] = b["object"], a["object"]
    return out


def _department_missing(record: Record, case: Record) -> Record:
    by_id = {i["id"]: i for i in case["inspectors"]}
    team = record["teams"][0]
    old = next(m for m in team["members"] if by_id[m]["department"] == TRANSPORT)
    loads = _loads(record)
    new = next(
        i["id"]
        for i in case["inspectors"]
        if i["department"] == MARKET and i["id"] not in team["members"] and loads[i["id"]] < record["cap"]
        if i["area"] != case["targets"][0]["area"]
    )
    return _swap(record, 0, old, new)


Mutation = Callable[[Record, Record], Record]


def _with(new: str, k: int = 0) -> Mutation:
    return lambda record, case: _replace_with(record, case, k, new)


MUTATIONS: dict[str, dict[str, tuple[str, Mutation]]] = {
    "single-department": {
        "member-swapped-for-unused": ("a member replaced by an eligible unused inspector", _unused_swap),
        "member-same-area": ("a member from the object's own area (属地)", _with("ZF-00", 0)),
        "member-not-in-pool": ("a member who is not in the inspector list", _with("ZF-99", 1)),
        "team-size-minus-one": ("a team with one member", _drop_member),
        "leader-not-member": ("the leader is not in the team", _leader_outsider),
        "leader-swapped": ("the other member leads", _leader_other),
        "cap-plus-one": ("cap raised by one", _set("cap", lambda v, r: v + 1)),
        "cap-minus-one": ("cap lowered by one", _set("cap", lambda v, r: v - 1)),
        "teams-objects-swapped": ("the first two teams' objects swapped", _swap_objects),
        "as-of-next-day": ("as_of a day later", _set("as_of", "2025-03-02")),
        "members-unsorted": ("parse: members not sorted", _set("teams.0.members", lambda v, r: v[::-1])),
        "spec-other": ("parse: another spec", _set("spec", "fairdraw-draw/2")),
    },
    "joint-free-seat": {
        "department-missing": ("a team without an inspector of 交通局", _department_missing),
        "member-swapped-for-unused": ("a member replaced by an eligible unused inspector", _unused_swap),
    },
    "experts": {
        "expert-dropped": ("a team without its expert", _set("teams.0.experts", [])),
        "expert-as-member": ("an expert in a regular seat", _with("ZJ-00", 0)),
        "expert-cap-plus-one": ("expert_cap raised by one", _set("expert_cap", lambda v, r: v + 1)),
        "regular-as-expert": ("a regular inspector in the expert seat", _set("teams.1.experts", ["ZF-00"])),
    },
    "recusal": {
        "member-excluded-kin": ("a member excluded for kinship", _with("ZF-01", 0)),
        "member-recent": ("a member who inspected the object within 6 months", _with("ZF-05", 0)),
        "member-certificate-expired": ("a member whose certificate expired", _with("ZF-90", 0)),
        "member-on-leave": ("a member on leave", _with("ZF-92", 0)),
        "member-other-department": ("a member of a department not in the task", _with("ZF-94", 0)),
        "member-lacks-items": ("a member not entitled to the item", _with("ZF-95", 0)),
        "excluded-entry-dropped": (
            "an exclusion left out of the record",
            _set("excluded", lambda v, r: v[1:]),
        ),
        "ineligible-entry-dropped": ("an ineligibility left out", _set("ineligible", lambda v, r: v[1:])),
    },
}


# ---------------------------------------------------------------------------
# Writing.


def _engine_inputs(case: Record) -> Any:
    return teams._inputs(
        [teams.Target.from_record(t) for t in case["targets"]],
        [teams.Inspector.from_record(i) for i in case["inspectors"]],
        teams.TeamRules.from_record(case["rules"]),
        [teams.Exclusion.from_record(e) for e in case["exclusions"]],
        [teams.PastInspection.from_record(h) for h in case["history"]],
        date.fromisoformat(case["as_of"]),
    )


def _engine(case: Record) -> Record | None:
    try:
        return teams._solve(_engine_inputs(case), bytes.fromhex(case["seed"]))[0].to_record()
    except teams.Infeasible:
        return None


def _engine_reason(record: Record, case: Record) -> str:
    try:
        assignment = teams.Assignment.from_record(record)
    except ValueError as e:
        return f"parse: {e}"
    inp = _engine_inputs(case)
    try:
        teams.check_assignment(
            assignment,
            inp.targets,
            inp.pool.values(),
            inp.rules,
            inp.excluded,
            [],
            bytes.fromhex(case["seed"]),
            inp.as_of,
        )
    except teams.AssignmentError as e:
        return e.reason
    raise AssertionError("mutation accepted")


def write(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
    for name, (desc, make) in CASES.items():
        case = make()
        try:
            want: Record | None = reference.compute(case)
        except reference.NoAssignment:
            want = None
        if _engine(case) != want:
            raise AssertionError(f"{name}: engine and reference disagree")
        folder = OUT / name
        folder.mkdir()
        write(folder / "inputs.json", case)
        if want is None:
            write(folder / "void.json", {"desc": desc, "want": None, "want_err": "teams-infeasible"})
            continue
        write(folder / "happy-path.json", {"desc": desc, "want": want, "want_err": None})
        for mutation, (what, mutate) in MUTATIONS.get(name, {}).items():
            bad = mutate(want, case)
            if reference.verify(bad, case):
                raise AssertionError(f"{name}/{mutation}: the reference accepts it")
            record = {
                "assignment": bad,
                "desc": what,
                "mutation": mutation,
                "want_err": _engine_reason(bad, case),
            }
            write(folder / f"{mutation}.json", record)


if __name__ == "__main__":
    main()
