"""Complete, balanced, seed-driven matching of inspectors to targets (docs/draw-spec-matching.md §6-§9).

Normative text: docs/draw-spec-matching.md (spec ``fairdraw-draw/1``). This module works on an
indexed :class:`Problem` that ``draw.engine.teams`` builds from the public records; it knows nothing
of records, dates or reason codes.

The problem is a flow network (spec §6): source → inspector (capacity: the load cap C) → the
department node (t, d) of a target t (capacity 1, only when the inspector is eligible for t) → sink
(capacity ``per_department``), and (t, d) → the free node (t, *) (unbounded) → sink (capacity
``free``). Every assignment that satisfies the rules is a flow that saturates every sink edge, and
the reverse. One pass (spec §8) fills the targets, classes interleaved, one seat at a time: the least
``(load, rank)`` direct candidate when there is one, else the first augmenting path of a breadth-first
search from the seat. Augmenting paths make the pass complete: it fails only when no assignment
with loads at most C exists. The cap is the least C for which the pass succeeds (spec §7), so the
maximum load is the least possible.

Every key is a tagged SHA-256 of the seed (spec §5)::

    tagged_hash(label, f1, ..., fk) = SHA-256(label || 0x00 || u32be(len f1) || f1 || ... )

For example tagged_hash(b"L", b"ab") is SHA-256 of the bytes 4C 00 00 00 00 02 61 62:

>>> tagged_hash(b"L", b"ab").hex()[:16]
'a44e4603ee1ff95c'
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

RANK_LABEL = b"fairdraw-draw/1 teams-rank"
PATH_LABEL = b"fairdraw-draw/1 teams-path"
LEADER_LABEL = b"fairdraw-draw/1 teams-leader"

_NO_EXCLUSIONS: frozenset[int] = frozenset()

_Hit = tuple["_Lane", int, int, int]  # (lane, level, area, position) of a direct candidate
_Unvisited = dict[tuple[int, int], list[int]]  # lane (department, item set) -> inspectors not yet met
_Queue = deque[tuple[int, int, Iterator[int] | None]]  # (node, its successor, an inspector's segment)


class Infeasible(ValueError):
    """No assignment satisfies the rules: the draw is void with reason code ``teams-infeasible``.

    The message names the seat that could not be filled and why (spec §9).
    """

    reason = "teams-infeasible"


def tagged_hash(label: bytes, *fields: bytes) -> bytes:
    """Return SHA-256(label || 0x00 || for each field: u32be(len(field)) || field) (spec §5)."""
    h = hashlib.sha256(label + b"\x00")
    for item in fields:
        h.update(len(item).to_bytes(4, "big"))
        h.update(item)
    return h.digest()


def rank_key(seed: bytes, level: int, inspector_id: str) -> bytes:
    """Return the rank of an inspector among those at load ``level`` (spec §5: teams-rank)."""
    return tagged_hash(RANK_LABEL, seed, level.to_bytes(8, "big"), inspector_id.encode("utf-8"))


def path_key(seed: bytes, inspector_id: str) -> bytes:
    """Return the order in which the path search meets an inspector (spec §5: teams-path)."""
    return tagged_hash(PATH_LABEL, seed, inspector_id.encode("utf-8"))


def leader_key(seed: bytes, inspector_id: str) -> bytes:
    """Return the tie-break among candidate leaders (spec §5: teams-leader)."""
    return tagged_hash(LEADER_LABEL, seed, inspector_id.encode("utf-8"))


@dataclass(frozen=True)
class Problem:
    """One matching problem on indices (spec §6).

    Pool inspectors are 0..n-1 in ascending id order, targets 0..T-1 in batch order. ``department``,
    ``area`` and ``items`` give each inspector's department index, area id and item-set id;
    ``target_area`` and ``target_items`` the same for targets. ``covers`` holds the pairs
    (inspector item-set, target item-set) where the first contains the second. ``excluded`` maps a
    target to the pool inspectors excluded from it by name. ``noun`` ("inspector" or "expert") and
    the names (of departments, targets, areas and item sets by id) are used only in messages.
    """

    seed: bytes
    ids: Sequence[str]
    department: Sequence[int]
    area: Sequence[int]
    items: Sequence[int]
    department_names: Sequence[str]
    target_ids: Sequence[str]
    target_area: Sequence[int]
    target_items: Sequence[int]
    covers: frozenset[tuple[int, int]]
    excluded: dict[int, frozenset[int]]
    same_area: bool
    per_department: int
    free: int
    noun: str = "inspector"
    area_names: Sequence[str] = ()
    item_names: Sequence[str] = ()


@dataclass(frozen=True)
class Solution:
    """The teams of a problem (pool indices per target, unordered) at the least feasible cap."""

    cap: int
    teams: list[list[int]]
    passes: int
    augmentations: int


class _Level:
    """The inspectors of one lane at one load: per area, sorted by rank; the areas by their first.

    Entries are (rank key, inspector). Until first read (``prepare``) entries are only appended;
    from then on every area's list stays sorted, and ``heads`` holds each non-empty area's first
    entry as (key, inspector, area), sorted, so a pick can pass over the target's own area at once.
    """

    __slots__ = ("by_area", "heads", "ready", "size")

    def __init__(self) -> None:
        self.by_area: dict[int, list[tuple[bytes, int]]] = {}
        self.heads: list[tuple[bytes, int, int]] = []
        self.ready = False
        self.size = 0

    def prepare(self) -> None:
        """Sort every area's entries and build ``heads`` (once)."""
        if not self.ready:
            for entries in self.by_area.values():
                entries.sort()
            self.heads = sorted((e[0][0], e[0][1], a) for a, e in self.by_area.items() if e)
            self.ready = True

    def add(self, area: int, entry: tuple[bytes, int]) -> None:
        """Put an entry in its area's list, keeping a prepared level sorted."""
        self.size += 1
        entries = self.by_area.setdefault(area, [])
        if not self.ready:
            entries.append(entry)
            return
        pos = bisect.bisect_left(entries, entry)
        if pos == 0 and entries:
            self._drop_head(entries[0], area)
        entries.insert(pos, entry)
        if pos == 0:
            bisect.insort(self.heads, (entry[0], entry[1], area))

    def remove(self, area: int, pos: int) -> int:
        """Take the entry at ``pos`` of a prepared area list out; return its inspector."""
        entries = self.by_area[area]
        entry = entries.pop(pos)
        self.size -= 1
        if pos == 0:
            self._drop_head(entry, area)
            if entries:
                bisect.insort(self.heads, (entries[0][0], entries[0][1], area))
        return entry[1]

    def _drop_head(self, entry: tuple[bytes, int], area: int) -> None:
        del self.heads[bisect.bisect_left(self.heads, (entry[0], entry[1], area))]


class _Lane:
    """The inspectors of one department and item set, one _Level per load below the cap."""

    __slots__ = ("levels", "low")

    def __init__(self) -> None:
        self.levels: list[_Level] = [_Level()]
        self.low = 0

    def add(self, level: int, area: int, entry: tuple[bytes, int]) -> None:
        """Put an entry at ``level``."""
        while len(self.levels) <= level:
            self.levels.append(_Level())
        self.levels[level].add(area, entry)

    def settle(self) -> None:
        """Move ``low`` up to the lowest level that holds anyone."""
        while self.low < len(self.levels) and not self.levels[self.low].size:
            self.low += 1


class _Ranker:
    """rank_key with the label and seed hashed once: one copy and one update per key."""

    def __init__(self, seed: bytes, ids: Sequence[str]) -> None:
        self.base = hashlib.sha256(RANK_LABEL + b"\x00" + len(seed).to_bytes(4, "big") + seed)
        self.tails = [len(b).to_bytes(4, "big") + b for b in (i.encode("utf-8") for i in ids)]

    def key(self, level: int, i: int) -> bytes:
        """Return rank_key(seed, level, ids[i])."""
        h = self.base.copy()
        h.update(b"\x00\x00\x00\x08" + level.to_bytes(8, "big") + self.tails[i])
        return h.digest()


class _Stuck(Exception):
    """A pass could not fill a seat; ``reached`` counts the inspectors the search met."""

    def __init__(self, target: int, node: int, reached: int) -> None:
        super().__init__(target, node, reached)
        self.target, self.node, self.reached = target, node, reached


class _Pass:
    """One pass at load cap ``cap`` (spec §8). ``run`` fills every seat or raises _Stuck.

    Node numbers in the path search: inspector i is i; the department node (t, d) is
    n + t·(D+1) + d and the free node (t, *) is n + t·(D+1) + D.
    """

    def __init__(self, problem: Problem, cap: int, ranker: _Ranker, paths: _Paths) -> None:
        p = problem
        self.p, self.cap, self.paths, self.ranker = p, cap, paths, ranker
        n, self.depts = len(p.ids), len(p.department_names)
        self.width = self.depts + 1
        self.load = [0] * n
        self.key = [ranker.key(0, i) for i in range(n)]
        self.teams_of: list[list[int]] = [[] for _ in range(n)]
        self.members: list[list[int]] = [[] for _ in p.target_ids]
        self.free_of = [0] * (len(p.target_ids) * self.depts)
        self.augmentations = 0
        self._build_lanes()

    def _build_lanes(self) -> None:
        p = self.p
        self.lane_of: list[_Lane] = []
        self.lane_area = [a if p.same_area else 0 for a in p.area]
        lanes: dict[tuple[int, int], _Lane] = {}
        for i in range(len(p.ids)):
            lane = lanes.setdefault((p.department[i], p.items[i]), _Lane())
            lane.add(0, self.lane_area[i], (self.key[i], i))
            self.lane_of.append(lane)
        self.lanes_for: dict[int, list[list[_Lane]]] = {}
        for target_set in set(p.target_items):
            per_department: list[list[_Lane]] = [[] for _ in p.department_names]
            for (d, s), lane in sorted(lanes.items(), key=lambda kv: kv[0]):
                if (s, target_set) in p.covers:
                    per_department[d].append(lane)
            self.lanes_for[target_set] = per_department

    def run(self, order: Sequence[int]) -> None:
        """Fill every seat of every target, in the order of spec §8.1. Raises _Stuck."""
        p = self.p
        everyone = range(len(p.department_names))
        for t in order:
            for d in everyone:
                for _ in range(p.per_department):
                    self._seat(t, (d,), d)
            for _ in range(p.free):
                self._seat(t, everyone, len(p.department_names))

    def _seat(self, t: int, departments: Sequence[int], node: int) -> None:
        hit = self._pick(t, departments)
        if hit is not None:
            self._take(t, node, *hit)
        else:
            self._augment(t, node)

    def _pick(self, t: int, departments: Sequence[int]) -> _Hit | None:
        """Return where the least (load, rank) direct candidate sits (spec §8.2), or None."""
        p = self.p
        area = p.target_area[t] if p.same_area else -1
        excluded = p.excluded.get(t, _NO_EXCLUSIONS)
        team = self.members[t]
        best: _Hit | None = None
        best_level, best_key = self.cap, b""
        for d in departments:
            for lane in self.lanes_for[p.target_items[t]][d]:
                for level in range(lane.low, min(best_level + 1, self.cap, len(lane.levels))):
                    here = lane.levels[level]
                    if not here.ready:
                        here.prepare()
                    for head, _, home in here.heads:
                        if level == best_level and head >= best_key:
                            break
                        if home == area:
                            continue
                        for pos, (key, i) in enumerate(here.by_area[home]):
                            if level == best_level and key >= best_key:
                                break
                            if i not in excluded and i not in team:
                                best, best_level, best_key = (lane, level, home, pos), level, key
                                break
                    if best is not None and best_level == level:
                        break
        return best

    def _take(self, t: int, node: int, lane: _Lane, level: int, area: int, pos: int) -> None:
        i = self._lift(lane, level, area, pos)
        self._join(i, t)
        if node == self.depts:
            self.free_of[t * self.depts + self.p.department[i]] += 1

    def _lift(self, lane: _Lane, level: int, area: int, pos: int) -> int:
        """Raise an inspector's load by one, moving it to the next level under its new rank."""
        i = lane.levels[level].remove(area, pos)
        self.load[i] = level + 1
        if level + 1 < self.cap:
            self.key[i] = self.ranker.key(level + 1, i)
            lane.add(level + 1, area, (self.key[i], i))
        lane.settle()
        return i

    def _join(self, i: int, t: int) -> None:
        self.members[t].append(i)
        self.teams_of[i].append(t)

    def _leave(self, i: int, t: int) -> None:
        self.members[t].remove(i)
        self.teams_of[i].remove(t)

    def _augment(self, t: int, node: int) -> None:
        """Search backwards from the seat's sink edge for an augmenting path and apply it (spec §8.3).

        Breadth first. Inspectors are marked when met, department and free nodes when expanded;
        ``succ`` holds both marks. An inspector's department nodes enter the queue as one lazy
        segment, read one node at a time, which keeps the order of spec §8.3 without building them
        all. Raises _Stuck when no path exists. Cost O(n + T·(D+1)) node visits in the worst case.
        """
        n, width = len(self.p.ids), self.width
        succ: dict[int, int] = {}
        queue: _Queue = deque([(n + t * width + node, -1, None)])
        unvisited: _Unvisited = {}
        while queue:
            v, source, segment = queue.popleft()
            if v < n:  # an inspector: queue its segment, or take the segment's next department node
                if source < 0:
                    queue.append((v, v, None))
                    continue
                segment = segment or iter(sorted(self.teams_of[v]))
                target = next(segment, -1)
                if target < 0:
                    continue
                queue.appendleft((v, v, segment))
                v = n + target * width + self.p.department[v]
            if v in succ:
                continue
            succ[v] = source
            found = self._expand(v, succ, queue, unvisited)
            if found >= 0:
                self._apply(found, succ)
                return
        raise _Stuck(t, node, sum(1 for v in succ if v < n))

    def _expand(self, v: int, succ: dict[int, int], queue: _Queue, unvisited: _Unvisited) -> int:
        """Expand a department or free node; return the inspector found below the cap, or -1."""
        target, d = divmod(v - len(self.p.ids), self.width)
        base = v - d
        if d == self.depts:  # the free node: queue every department node of the target
            queue.extend((base + k, v, None) for k in range(self.depts) if base + k not in succ)
            return -1
        if self.free_of[target * self.depts + d] > 0 and base + self.depts not in succ:
            queue.append((base + self.depts, v, None))
        met: list[int] = []
        for lane in self.paths.lanes_for[self.p.target_items[target]][d]:
            met += self._scan(target, lane, unvisited)
        met.sort(key=self.paths.rank.__getitem__)
        for i in met:
            succ[i] = v
            if self.load[i] < self.cap:
                return i
            queue.append((i, -1, None))
        return -1

    def _scan(self, target: int, lane: tuple[int, int], unvisited: _Unvisited) -> list[int]:
        """Take from a lane's unvisited list, in path order, the candidates for ``target``.

        Stops after the first candidate below the cap: no later one of this lane can be met before
        the search ends. The others stay unvisited.
        """
        p = self.p
        area = p.target_area[target] if p.same_area else -1
        excluded = p.excluded.get(target, _NO_EXCLUSIONS)
        team, met, keep = self.members[target], [], []
        pool = unvisited.get(lane, self.paths.lanes[lane])
        for k, i in enumerate(pool):
            if p.area[i] == area or i in excluded or i in team:
                keep.append(i)
                continue
            met.append(i)
            if self.load[i] < self.cap:
                keep += pool[k + 1 :]
                break
        unvisited[lane] = keep
        return met

    def _apply(self, i: int, succ: dict[int, int]) -> None:
        """Augment along the path from inspector i to the seat's sink edge (spec §8.3)."""
        lane, level, area = self.lane_of[i], self.load[i], self.lane_area[i]
        here = lane.levels[level]
        here.prepare()
        self._lift(lane, level, area, bisect.bisect_left(here.by_area[area], (self.key[i], i)))
        n, width, depts = len(self.p.ids), self.width, self.depts
        u = i
        while (v := succ[u]) != -1:
            if u < n:  # u joins the target of department node v
                self._join(u, (v - n) // width)
            elif v < n:  # inspector v leaves the target of department node u
                self._leave(v, (u - n) // width)
            else:  # between a department node and the free node of one target
                target, du = divmod(u - n, width)
                dv = (v - n) % width
                if dv == depts:
                    self.free_of[target * depts + du] += 1
                else:
                    self.free_of[target * depts + dv] -= 1
            u = v
        self.augmentations += 1


def _seat_text(p: Problem, node: int) -> str:
    if p.noun != "inspector":
        return f"{p.noun}"
    if node == len(p.department_names):
        return "inspector of any department"
    return f"inspector of department {p.department_names[node]}"


def _stuck_message(p: Problem, stuck: _Stuck, cap: int) -> str:
    seat, target = _seat_text(p, stuck.node), p.target_ids[stuck.target]
    if stuck.reached == 0:
        return f"object {target}: no eligible {seat} is left for its team after 回避"
    return (
        f"object {target}: no room for another {seat}: the {stuck.reached} eligible {p.noun}s "
        f"that could make room are all at the load cap {cap}"
    )


def lower_bound(p: Problem) -> tuple[int, str]:
    """Return a load no assignment can go below, and the constraint that forces it (spec §7).

    Counts the seats of a group of targets against the inspectors who could fill any of them: all
    targets, those of one item set, and (with the area rule) those of one area, and of one area and
    item set; in all and per department. Raises Infeasible when some seats have no possible
    inspector at all. Cost O((T + k)·g) for k inspector kinds and g groups.
    """
    best = (0, "")
    for need, have, who, whose in _demands(p):
        seats = f"{need} {p.noun} seat{'s' * (need != 1)}{whose}"
        if need and not have:
            raise Infeasible(f"{who} {seats}; no eligible {p.noun}{whose} remains after 回避")
        if need and -(-need // have) > best[0]:
            best = (-(-need // have), f"{who} {seats} from {have} eligible {p.noun}{'s' * (have != 1)}")
    return best


def _demands(p: Problem) -> list[tuple[int, int, str, str]]:
    """Return (seats, inspectors able to fill them, who needs them, whose seats) per target group."""
    names, per_target = p.department_names, len(p.department_names) * p.per_department + p.free
    whose = [f" of department {name}" if p.noun == "inspector" else "" for name in names]
    kinds = Counter(zip(p.area, p.department, p.items, strict=True))
    groups: Counter[tuple[int, int]] = Counter()  # (area or -1, item set or -1) -> targets
    for a, s in zip(p.target_area, p.target_items, strict=True):
        groups.update([(-1, -1), (-1, s)] + ([(a, -1), (a, s)] if p.same_area else []))
    out = []
    for (a, s), count in sorted(groups.items()):
        have = [0] * len(names)
        for (area, d, items), n in kinds.items():
            if area != a and (s < 0 or (items, s) in p.covers):
                have[d] += n
        who = _objects(count, p, a, s)
        out.append((count * per_target, sum(have), who, ""))
        out += [(count * p.per_department, have[d], who, whose[d]) for d in range(len(names))]
    return out


def _objects(count: int, p: Problem, area: int, items: int) -> str:
    where = f" in {p.area_names[area]}" if 0 <= area < len(p.area_names) else ""
    needing = f" for items {p.item_names[items]}" if 0 <= items < len(p.item_names) else ""
    return f"{count} object{where}{needing} needs" if count == 1 else f"{count} objects{where}{needing} need"


def interleaved(p: Problem) -> list[int]:
    """Return the targets in the order a pass fills them (spec §8.1): the classes interleaved.

    A target's class is its item set and, with the area rule, its area. The j-th target (from 0, in
    batch order) of a class of n targets comes at (2j + 1) / (2n), compared exactly; ties in batch
    order. The fractions are put over one common denominator, so the sort compares integers.
    Cost O(T log T).
    """
    areas = p.target_area if p.same_area else [0] * len(p.target_ids)
    classes = list(zip(areas, p.target_items, strict=True))
    sizes, seen = Counter(classes), Counter[tuple[int, int]]()
    denominator = math.lcm(*(2 * n for n in sizes.values()))
    keys = []
    for t, c in enumerate(classes):
        keys.append(((2 * seen[c] + 1) * (denominator // (2 * sizes[c])), t))
        seen[c] += 1
    keys.sort()
    return [t for _, t in keys]


class _Paths:
    """The path order of spec §8.3, split into lanes (department, item set) for the search."""

    def __init__(self, p: Problem) -> None:
        keys = [path_key(p.seed, i) for i in p.ids]
        order = sorted(range(len(p.ids)), key=lambda i: (keys[i], i))
        self.rank = [0] * len(p.ids)
        self.lanes: dict[tuple[int, int], list[int]] = {}
        for position, i in enumerate(order):
            self.rank[i] = position
            self.lanes.setdefault((p.department[i], p.items[i]), []).append(i)
        self.lanes_for: dict[int, list[list[tuple[int, int]]]] = {}
        for target_set in set(p.target_items):
            self.lanes_for[target_set] = [
                sorted(lane for lane in self.lanes if lane[0] == d and (lane[1], target_set) in p.covers)
                for d in range(len(p.department_names))
            ]


class _Search:
    """Passes at growing caps for one problem, sharing the per-problem keys."""

    def __init__(self, p: Problem) -> None:
        self.p, self.passes = p, 0
        self.ranker = _Ranker(p.seed, p.ids)
        self.paths = _Paths(p)
        self.order = interleaved(p)

    def run(self, cap: int) -> _Pass | _Stuck:
        """Return the pass at ``cap`` when it fills every seat, else where it got stuck."""
        self.passes += 1
        one = _Pass(self.p, cap, self.ranker, self.paths)
        try:
            one.run(self.order)
        except _Stuck as stuck:
            return stuck
        return one


def solve(p: Problem, max_load: int | None) -> Solution:
    """Return the teams of the pass at the least feasible load cap (spec §7).

    Tries the lower bound first, then steps up by 1, 2, 4, ... until a pass succeeds, then bisects
    between the last failure and the first success; a pass whose search met no inspector proves
    infeasibility at every cap. Raises Infeasible when no assignment with loads at most
    ``max_load`` exists. Cost: one pass when the lower bound is feasible, O(log T) passes at most.
    """
    t_count = len(p.target_ids)
    if t_count == 0 or len(p.department_names) * p.per_department + p.free == 0:
        return Solution(0, [[] for _ in p.target_ids], 0, 0)
    upper = t_count if max_load is None else min(max_load, t_count)
    cap, why = lower_bound(p)
    if cap > t_count:
        raise Infeasible(f"{why}: too few for teams of distinct members")
    if cap > upper:
        raise Infeasible(f"{why}: a load of at least {cap} each, above max_load {max_load}")
    search, failed, step = _Search(p), cap - 1, 1
    while isinstance(outcome := search.run(cap), _Stuck):
        if outcome.reached == 0 or cap == upper:
            raise Infeasible(_stuck_message(p, outcome, cap))
        failed, cap, step = cap, min(cap + step, upper), step * 2
    found, best = cap, outcome
    while found - failed > 1:
        middle = (failed + found) // 2
        outcome = search.run(middle)
        if isinstance(outcome, _Stuck):
            failed = middle
        else:
            found, best = middle, outcome
    return Solution(found, best.members, search.passes, best.augmentations)


def leaders(teams: Sequence[Sequence[int]], keys: Sequence[bytes]) -> list[int]:
    """Return each team's leader: the member who has led least so far, then least key (spec §8.4).

    Teams are taken in batch order. Cost O(total members).
    """
    led = [0] * len(keys)
    out = []
    for team in teams:
        leader = min(team, key=lambda i: (led[i], keys[i], i))
        led[leader] += 1
        out.append(leader)
    return out
