"""A naive implementation of docs/draw-spec-matching.md, written from the spec text alone.

It reads the JSON records of §2-§3 and returns the record of §11. It builds every
(inspector, target) pair explicitly, scans the whole pool for every seat and tries every cap from 1
upwards: meant for small instances (tests and vectors), never for speed. It shares no code with
``draw.engine``.
"""

from __future__ import annotations

import calendar
import hashlib
from collections import deque
from datetime import date
from fractions import Fraction
from typing import Any

SPEC = "fairdraw-draw/1"


class NoAssignment(Exception):
    """§9: no cap in 1..U fills every seat; the draw is void (teams-infeasible)."""


def tagged_hash(label: str, *fields: bytes) -> bytes:
    """§5: SHA-256(label || 0x00 || u32be(len f) || f ...)."""
    data = label.encode("ascii") + b"\x00"
    for f in fields:
        data += len(f).to_bytes(4, "big") + f
    return hashlib.sha256(data).digest()


def rank(seed: bytes, level: int, ident: str) -> bytes:
    return tagged_hash("fairdraw-draw/1 teams-rank", seed, level.to_bytes(8, "big"), ident.encode("utf-8"))


def path(seed: bytes, ident: str) -> bytes:
    return tagged_hash("fairdraw-draw/1 teams-path", seed, ident.encode("utf-8"))


def leader(seed: bytes, ident: str) -> bytes:
    return tagged_hash("fairdraw-draw/1 teams-leader", seed, ident.encode("utf-8"))


def months_before(day: date, m: int) -> date:
    """§4.3."""
    k = 12 * day.year + (day.month - 1) - m
    year, month = k // 12, k % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _ineligible(inspectors: list[dict[str, Any]], rules: dict[str, Any], as_of: date) -> list[dict[str, str]]:
    """§4.1, sorted as §4.4 says."""
    out = []
    for i in inspectors:
        if i["status"] != "active":
            out.append({"inspector": i["id"], "reason": "status"})
        if date.fromisoformat(i["certificate_expiry"]) < as_of:
            out.append({"inspector": i["id"], "reason": "certificate"})
        if not i["expert"] and i["department"] not in rules["departments"]:
            out.append({"inspector": i["id"], "reason": "department"})
    return sorted(out, key=lambda e: (e["inspector"], e["reason"]))


def _excluded(inputs: dict[str, Any], as_of: date) -> list[dict[str, str]]:
    """§4.4: declared pairs and derived recent pairs of this draw."""
    rules = inputs["rules"]
    ids = {i["id"] for i in inputs["inspectors"]}
    objects = {t["id"] for t in inputs["targets"]}
    found = {(e["inspector"], e["object"], e["reason"]) for e in inputs["exclusions"]}
    if rules["recent_months"] > 0:
        start = months_before(as_of, rules["recent_months"])
        for h in inputs["history"]:
            if start <= date.fromisoformat(h["date"]) <= as_of:
                found.add((h["inspector"], h["object"], "recent"))
    keep = sorted(e for e in found if e[0] in ids and e[1] in objects)
    return [{"inspector": a, "object": b, "reason": c} for a, b, c in keep]


class Matching:
    """One problem of §6 (regular or expert) and its passes (§7, §8)."""

    def __init__(self, inputs: dict[str, Any], pool: list[dict[str, Any]], expert: bool) -> None:
        rules = inputs["rules"]
        self.seed = bytes.fromhex(inputs["seed"])
        self.rules = rules
        self.pool = sorted(pool, key=lambda i: i["id"])
        self.targets = sorted(inputs["targets"], key=lambda t: t["order"])
        if expert:
            self.departments = ["experts"]
            self.P, self.F = 0, rules["experts"]
        else:
            self.departments = sorted(rules["departments"])
            self.P = rules["per_department"]
            self.F = rules["min_inspectors"] - len(self.departments) * rules["per_department"]
        self.expert = expert
        excluded = _excluded(inputs, date.fromisoformat(inputs["as_of"]))
        self.pairs = {(e["inspector"], e["object"]) for e in excluded}

    def dept(self, i: dict[str, Any]) -> int:
        return 0 if self.expert else self.departments.index(i["department"])

    def eligible(self, i: dict[str, Any], t: dict[str, Any]) -> bool:
        """§4.2."""
        if not set(t["items"]) <= set(i["items"]):
            return False
        if self.rules["exclude_same_area"] and i["area"] == t["area"]:
            return False
        return (i["id"], t["id"]) not in self.pairs

    def solve(self) -> tuple[int, list[set[str]]]:
        """§7: the least cap whose pass fills every seat, and that pass's teams."""
        T = len(self.targets)
        if T == 0 or len(self.departments) * self.P + self.F == 0:
            return 0, [set() for _ in self.targets]
        top = T if self.rules["max_load"] is None else min(self.rules["max_load"], T)
        for cap in range(1, top + 1):
            teams = self.one_pass(cap)
            if teams is not None:
                return cap, teams
        raise NoAssignment()

    def one_pass(self, cap: int) -> list[set[str]] | None:
        """§8: returns the teams, or None when some seat finds no path."""
        self.cap = cap
        self.load = {i["id"]: 0 for i in self.pool}
        self.team: list[set[str]] = [set() for _ in self.targets]
        self.free = {(t, d): 0 for t in range(len(self.targets)) for d in range(len(self.departments))}
        for t in self.interleaved():
            seats = [d for d in range(len(self.departments)) for _ in range(self.P)] + [None] * self.F
            for d in seats:
                if not self.direct(t, d) and not self.search(t, d):
                    return None
        return self.team

    def interleaved(self) -> list[int]:
        """§8.1: the j-th target of a class of n comes at (2j+1)/(2n); ties in batch order."""

        def cls(t: int) -> tuple[Any, ...]:
            target = self.targets[t]
            area = target["area"] if self.rules["exclude_same_area"] else None
            return area, tuple(target["items"])

        keys = []
        for t in range(len(self.targets)):
            same = [u for u in range(len(self.targets)) if cls(u) == cls(t)]
            keys.append((Fraction(2 * same.index(t) + 1, 2 * len(same)), t))
        return [t for _, t in sorted(keys)]

    def direct(self, t: int, d: int | None) -> bool:
        """§8.2."""
        target = self.targets[t]
        candidates = [
            i
            for i in self.pool
            if (d is None or self.dept(i) == d)
            and self.eligible(i, target)
            and i["id"] not in self.team[t]
            and self.load[i["id"]] < self.cap
        ]
        if not candidates:
            return False

        def least(i: dict[str, Any]) -> tuple[int, bytes, str]:
            level = self.load[i["id"]]
            return level, rank(self.seed, level, i["id"]), i["id"]

        best = min(candidates, key=least)
        self.team[t].add(best["id"])
        self.load[best["id"]] += 1
        if d is None:
            self.free[t, self.dept(best)] += 1
        return True

    def search(self, t: int, d: int | None) -> bool:
        """§8.3. Nodes: ("i", id), ("d", t, d), ("f", t); the queue holds (node, source) pairs.

        Inspectors are marked when met; department and free nodes when expanded.
        """
        start = ("f", t) if d is None else ("d", t, d)
        succ: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}
        queue: deque[tuple[tuple[Any, ...], tuple[Any, ...] | None]] = deque([(start, None)])
        by_id = {i["id"]: i for i in self.pool}
        order = sorted(self.pool, key=lambda i: (path(self.seed, i["id"]), i["id"]))
        while queue:
            node, source = queue.popleft()
            if node[0] == "i":
                for t2 in range(len(self.targets)):
                    if node[1] in self.team[t2]:
                        queue.append((("d", t2, self.dept(by_id[node[1]])), node))
                continue
            if node in succ:
                continue
            succ[node] = source
            if node[0] == "f":
                queue.extend((("d", node[1], d2), node) for d2 in range(len(self.departments)))
                continue
            _, t2, d2 = node
            if self.free[t2, d2] > 0:
                queue.append((("f", t2), node))
            for i in order:
                fits = self.dept(i) == d2 and self.eligible(i, self.targets[t2])
                if fits and i["id"] not in self.team[t2] and ("i", i["id"]) not in succ:
                    succ["i", i["id"]] = node
                    if self.load[i["id"]] < self.cap:
                        self.augment(("i", i["id"]), succ)
                        return True
                    queue.append((("i", i["id"]), node))
        return False

    def augment(self, found: tuple[Any, ...], succ: dict[Any, Any]) -> None:
        """§8.3, the table of changes."""
        u = found
        while succ[u] is not None:
            v = succ[u]
            if u[0] == "i":
                self.team[v[1]].add(u[1])
            elif v[0] == "i":
                self.team[u[1]].discard(v[1])
            elif v[0] == "f":
                self.free[u[1], u[2]] += 1
            else:
                self.free[v[1], v[2]] -= 1
            u = v
        self.load[found[1]] += 1


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    """Return the assignment record (§11) of the inputs, or raise NoAssignment (§9).

    ``inputs`` holds ``seed`` (hex), ``as_of``, ``rules``, ``inspectors``, ``targets``,
    ``exclusions`` and ``history``, as records.
    """
    as_of = date.fromisoformat(inputs["as_of"])
    rules = inputs["rules"]
    ineligible = _ineligible(inputs["inspectors"], rules, as_of)
    left_out = {e["inspector"] for e in ineligible}
    regular = [i for i in inputs["inspectors"] if not i["expert"] and i["id"] not in left_out]
    experts = [i for i in inputs["inspectors"] if i["expert"] and i["id"] not in left_out]
    cap, teams = Matching(inputs, regular, expert=False).solve()
    expert_cap, expert_teams = Matching(inputs, experts, expert=True).solve()
    seed = bytes.fromhex(inputs["seed"])
    led: dict[str, int] = {}
    out = []
    for k, t in enumerate(sorted(inputs["targets"], key=lambda t: t["order"])):
        head = min(teams[k], key=lambda i: (led.get(i, 0), leader(seed, i), i))
        led[head] = led.get(head, 0) + 1
        members, extra = sorted(teams[k]), sorted(expert_teams[k])
        team = {"experts": extra, "leader": head, "members": members, "object": t["id"], "order": t["order"]}
        out.append(team)
    return {
        "as_of": inputs["as_of"],
        "cap": cap,
        "excluded": _excluded(inputs, as_of),
        "expert_cap": expert_cap,
        "ineligible": ineligible,
        "spec": SPEC,
        "teams": out,
    }


def verify(record: dict[str, Any], inputs: dict[str, Any]) -> bool:
    """§12 in its simplest form: the record is valid exactly when it equals the recomputed one."""
    try:
        return compute(inputs) == record
    except NoAssignment:
        return False
