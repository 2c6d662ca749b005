"""Tickets, selection, teams and replacement (docs/draw-spec.md §10-§14)."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from draw.engine import commit, model, select, teams
from draw.engine.model import DrawRequest, InspectionObject
from tests.spec_draw import make_vectors, reference

SECRET = bytes(range(32))
VALUES = [bytes(32)]


def request(**changes: Any) -> DrawRequest:
    return make_vectors.request("confidential", True)._replace(**changes)


def run(objects: list[InspectionObject], req: DrawRequest | None = None) -> select.DrawResult:
    c = commit.commit_draw(req or request(), objects, SECRET)
    return select.draw(c, objects, SECRET, VALUES)


def leaves_of(n: int, salt: int = 0) -> list[bytes]:
    return sorted(hashlib.sha256(f"{salt}:{i}".encode()).digest() for i in range(n))


@given(
    st.integers(0, 300),
    st.integers(0, 300),
    st.binary(min_size=32, max_size=32),
    st.text(min_size=1, max_size=5),
)
def test_lowest_tickets_is_the_head_of_the_full_ticket_order(
    n: int, k: int, seed: bytes, stratum: str
) -> None:
    leaves, k = leaves_of(n), min(k, n)
    want = sorted((reference.ticket(seed, stratum, x), x) for x in leaves)[:k]
    assert select.lowest_tickets(seed, stratum, leaves, k) == want


def test_lowest_tickets_falls_back_when_the_bound_keeps_too_few(monkeypatch: pytest.MonkeyPatch) -> None:
    leaves = leaves_of(200)
    want = select.lowest_tickets(bytes(32), "A", leaves, 50)
    monkeypatch.setattr(select, "_ticket_bound", lambda count, size: b"\x00\x01")
    assert select.lowest_tickets(bytes(32), "A", leaves, 50) == want


def test_lowest_tickets_count_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"^draw: count 4 out of range for 3 leaves$"):
        select.lowest_tickets(bytes(32), "A", leaves_of(3), 4)


def test_batch_of() -> None:
    assert [select.batch_of(p, 2) for p in range(1, 6)] == [1, 1, 2, 2, 3]
    assert select.batch_of(7, None) is None


_POPULATION = st.lists(st.integers(0, 10**6), min_size=1, max_size=60, unique=True)


@settings(max_examples=40)
@given(_POPULATION, st.randoms(use_true_random=False))
def test_selection_does_not_depend_on_input_order(numbers: list[int], rng: random.Random) -> None:
    objects = [
        InspectionObject(make_vectors.synthetic_uscc(n), f"企业{n}", make_vectors.AREAS[n % 3], "ABCD"[n % 4])
        for n in numbers
    ]
    req = request(matching=None)
    a = run(objects, req)
    shuffled = objects[:]
    rng.shuffle(shuffled)
    b = run(shuffled, req)
    assert a.encoded == b.encoded
    assert a.hash == run(objects, req).hash  # same inputs, same bytes


@settings(max_examples=40)
@given(_POPULATION, st.binary(min_size=32, max_size=32))
def test_no_constraint_is_violated(numbers: list[int], value: bytes) -> None:
    objects = [
        InspectionObject(make_vectors.synthetic_uscc(n), f"企业{n}", make_vectors.AREAS[n % 3], "ABCD"[n % 4])
        for n in numbers
    ]
    req = request(matching=None)
    c = commit.commit_draw(req, objects, SECRET)
    result = select.draw(c, objects, SECRET, [value])
    for rule, selection in zip(req.strata, result.strata, strict=True):
        members = [o for o in objects if o.stratum == rule.stratum]
        assert selection.size == len(members)
        assert selection.k == model.sample_size(rule, len(members)) <= len(members)
        ids = [p.obj.id for p in selection.picks]
        assert len(ids) == selection.k == len(set(ids))
        assert set(ids) <= {o.id for o in members}
        assert [p.position for p in selection.picks] == list(range(1, selection.k + 1))
        assert [p.ticket for p in selection.picks] == sorted(p.ticket for p in selection.picks)
        assert all(p.obj.stratum == rule.stratum for p in selection.picks)


def test_every_selected_object_has_a_team() -> None:
    result = run(make_vectors.objects())
    assert result.assignment is not None
    ids = sorted(p.obj.id for s in result.strata for p in s.picks)
    assert sorted(t.object_id for t in result.assignment.teams) == ids
    rules = request().matching.rules  # type: ignore[union-attr]
    for team in result.assignment.teams:
        assert len(team.members) == rules.min_inspectors


def test_targets_follow_the_draws_batch_order() -> None:
    result = run(make_vectors.objects())
    targets = select.targets(result.strata, ("I1",))
    picks = sorted((p for s in result.strata for p in s.picks), key=lambda p: p.ticket)
    assert [t.id for t in targets] == [p.obj.id for p in picks]
    assert [t.order for t in targets] == list(range(len(picks)))


def test_parse_result_reads_back_the_result() -> None:
    result = run(make_vectors.objects())
    got = select.parse_result(result.encoded)
    assert (got.seed, got.strata, got.assignment) == (result.seed, result.strata, result.assignment)


def _plain_parse_error(data: bytes) -> str:
    # The message of the plain way of parse_result (a tree of JSON objects, parsed top down).
    with pytest.raises(ValueError) as e:
        select._read_result(model.load_json(data), data, select._parse_pick, teams.Team.from_record)
    return str(e.value)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"id":"', b'"id":"x'),  # an object record that does not parse
        (b'"leader":"', b'"leader":"","leader":"'),  # a duplicate member
        (b'"members":["', b'"members":["zz","'),  # members out of order
        (b'"batch":', b'"batch":0,"x":'),  # a pick with an extra member
        (b'"sources":["', b'"sources":[{"experts":[],"leader":"a","members":[],"object":"a","order":0},"'),
        (b'"tags":[]', b'"tags":[{"experts":[],"leader":"a","members":[],"object":"a","order":0}]'),
        (b'"spec":"fairdraw-draw/1","strata"', b'"spec":"x","strata"'),
    ],
)
def test_parse_result_errors_are_those_of_the_plain_way(old: bytes, new: bytes) -> None:
    data = run(make_vectors.objects()).encoded
    assert old in data
    bad = data.replace(old, new, 1)
    with pytest.raises(ValueError) as e:
        select.parse_result(bad)
    assert str(e.value) == _plain_parse_error(bad)


def test_team_seed_is_tagged() -> None:
    assert select.team_seed(bytes(32)) == hashlib.sha256(b"fairdraw-draw/1 teams\x00" + bytes(32)).digest()


def test_draw_errors() -> None:
    objects = make_vectors.objects()
    c = commit.commit_draw(request(), objects, SECRET)
    with pytest.raises(ValueError, match=r"^draw: 2 source values for 1 declared sources$"):
        select.draw(c, objects, SECRET, VALUES * 2)
    with pytest.raises(ValueError, match=r"^draw: operator secret does not match the commitment$"):
        select.draw(c, objects, bytes(32), VALUES)
    changed = [o._replace(name=o.name + "（变更）") for o in objects]
    with pytest.raises(ValueError, match=r"^draw: object '.*' changed since the commitment$"):
        select.draw(c, changed, SECRET, VALUES)


def test_too_few_seats_are_refused_before_the_commitment() -> None:
    m = request().matching
    assert m is not None
    pool = tuple(i for i in m.inspectors if i.id.endswith(("00", "01", "02")) and i.id != "ZF-109")
    rules = teams.TeamRules(("卫健委", "市场监管局"), max_load=1)
    with pytest.raises(ValueError) as e:
        commit.commit_draw(
            request(matching=m._replace(inspectors=pool, rules=rules)), make_vectors.objects(), SECRET
        )
    assert str(e.value).startswith("teams: ") and "(max_load 1: 4 seats)" in str(e.value)


def test_replacement_errors() -> None:
    objects = make_vectors.objects()
    c = commit.commit_draw(request(), objects, SECRET)
    result = select.draw(c, objects, SECRET, VALUES)
    chosen = result.strata[0].picks[0].obj.id
    with pytest.raises(ValueError, match=r"^draw: reason: 'disliked' not one of deregistered, "):
        select.replace(c, objects, SECRET, result, [], chosen, "disliked")
    outside = next(o.id for o in objects if o.id not in {p.obj.id for s in result.strata for p in s.picks})
    with pytest.raises(ValueError, match=r"is not a selected object \(or was replaced already\)$"):
        select.replace(c, objects, SECRET, result, [], outside, "deregistered")
    first = select.replace(c, objects, SECRET, result, [], chosen, "deregistered")
    with pytest.raises(ValueError, match=r"is not a selected object \(or was replaced already\)$"):
        select.replace(c, objects, SECRET, result, [first], chosen, "deregistered")
    whole = result.strata[3].picks[0].obj.id  # stratum D is drawn whole: nobody is left
    with pytest.raises(ValueError, match=r"^draw: stratum 'D' has no object left to draw$"):
        select.replace(c, objects, SECRET, result, [], whole, "revoked")


def test_replacement_takes_the_next_ticket_and_the_batch() -> None:
    objects = make_vectors.objects()
    c = commit.commit_draw(request(), objects, SECRET)
    result = select.draw(c, objects, SECRET, VALUES)
    s = result.strata[0]
    first = select.replace(c, objects, SECRET, result, [], s.picks[-1].obj.id, "duplicate")
    second = select.replace(c, objects, SECRET, result, [first], s.picks[0].obj.id, "out-of-scope")
    order = select.lowest_tickets(result.seed, "A", c.strata[0].leaves, s.k + 2)
    assert (first.sequence, first.pick.position, first.pick.leaf) == (1, s.k + 1, order[s.k][1])
    assert (second.sequence, second.pick.position, second.pick.leaf) == (2, s.k + 2, order[s.k + 1][1])
    assert first.pick.batch == s.picks[-1].batch
    assert first.assignment is not None and first.assignment.teams[0].object_id == first.pick.obj.id
    assert select.parse_replacement(first.encoded) == first
