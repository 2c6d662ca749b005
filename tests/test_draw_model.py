"""The draw's input model (docs/draw-spec.md §2, §4, §5, §8): text rules, objects, strata rules."""

from __future__ import annotations

import unicodedata
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from draw.engine import commit, model
from draw.engine.model import InspectionObject, SourceSlot, StratumRule
from ledger import jcs
from tests.spec_draw import reference

VALID_ID = "91350100M000100Y43"


def obj(**changes: Any) -> InspectionObject:
    tags = ("食品经营许可",)
    base = InspectionObject(VALID_ID, "忻州市某食品有限公司", "忻府区所", "B", tags, "2024-05-17")
    return base._replace(**changes)


# ---------------------------------------------------------------------------
# Sample sizes (§5.2), against exact rational arithmetic.


def independent_k(n: int, num: int, den: int, rounding: str) -> int:
    x = Fraction(n * num, den)
    if rounding == "floor":
        return x.numerator // x.denominator
    if rounding == "ceil":
        return -(-x.numerator // x.denominator)
    return (x + Fraction(1, 2)).numerator // (x + Fraction(1, 2)).denominator


@given(
    st.integers(0, 10**7),
    st.integers(0, 10**6),
    st.integers(1, 10**6),
    st.sampled_from(model.ROUNDINGS),
    st.one_of(st.none(), st.integers(0, 50)),
    st.one_of(st.none(), st.integers(0, 50)),
)
def test_sample_size_matches_exact_arithmetic(
    n: int, num: int, den: int, rounding: str, low: int | None, high: int | None
) -> None:
    num = min(num, den)
    if low is not None and high is not None and low > high:
        low, high = high, low
    rule = model.make_rule("A", "ratio", ratio=f"{num}/{den}", rounding=rounding, min=low, max=high)
    model.check_rule(rule)
    want = independent_k(n, num, den, rounding)
    want = max(want, low) if low is not None else want
    want = min(want, high) if high is not None else want
    k = model.sample_size(rule, n)
    assert k == min(want, n)
    assert k == reference.sample_size(model.rule_record(rule), n)
    assert 0 <= k <= n


def test_half_up_rounds_halves_up() -> None:
    rule = model.make_rule("B", "ratio", ratio="250bp", rounding="half-up")
    # 20 objects at 2.5 % is 0.5: rounds up to 1; 60 objects is 1.5: rounds up to 2.
    assert [model.sample_size(rule, n) for n in (19, 20, 60, 99)] == [0, 1, 2, 2]


def test_count_and_all() -> None:
    assert model.sample_size(model.make_rule("C", "count", count=10), 7) == 7
    assert model.sample_size(model.make_rule("C", "count", count=3), 7) == 3
    assert model.sample_size(model.make_rule("D", "all", batch_size=2), 37) == 37


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3/100", (3, 100)),
        ("0/1", (0, 1)),
        ("1/1", (1, 1)),
        ("300bp", (300, 10000)),
        ("10000bp", (10**4, 10**4)),
    ],
)
def test_ratio_spellings(text: str, value: tuple[int, int]) -> None:
    assert model.parse_ratio(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("101/100", "ratio 101/100 above 100 %"),
        ("10001bp", "ratio 10001bp above 100 %"),
        ("03/100", "ratio '03/100' must be written n/d or Nbp"),
        ("3/0", "ratio '3/0' must be written n/d or Nbp"),
        ("0.03", "ratio '0.03' must be written n/d or Nbp"),
        ("3%", "ratio '3%' must be written n/d or Nbp"),
        ("+3/100", "ratio '+3/100' must be written n/d or Nbp"),
        ("٣/100", "ratio '٣/100' must be written n/d or Nbp"),
    ],
)
def test_ratio_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        model.parse_ratio(text)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (StratumRule("A", "ratio", "11/10", None, "floor"), ".ratio: ratio 11/10 above 100 %"),
        (StratumRule("A", "ratio", "1/10"), ".rounding: required when take is 'ratio'"),
        (StratumRule("A", "ratio", None, None, "floor"), ".ratio: required when take is 'ratio'"),
        (StratumRule("A", "count"), ".count: required when take is 'count'"),
        (StratumRule("A", "count", count=2, min=1), ".min: not allowed when take is 'count'"),
        (StratumRule("A", "all", ratio="1/2"), ".ratio: not allowed when take is 'all'"),
        (StratumRule("A", "some"), ".take: 'some' not one of ratio, count, all"),
        (
            StratumRule("A", "ratio", "1/2", None, "round"),
            ".rounding: 'round' not one of floor, ceil, half-up",
        ),
        (StratumRule("A", "ratio", "1/2", None, "floor", 5, 2), ".min: 5 above max 2"),
        (StratumRule("A", "count", count=-1), ".count: want an integer in 0..2^53-1, got -1"),
        (StratumRule("A", "count", count=True), ".count: want an integer in 0..2^53-1, got True"),
        (StratumRule("A", "all", batch_size=0), ".batch_size: want an integer in 1..2^53-1, got 0"),
        (StratumRule("", "all"), ".stratum: length 0, want 1..64"),
    ],
)
def test_rule_errors(rule: StratumRule, message: str) -> None:
    with pytest.raises(ValueError) as e:
        model.check_rule(rule, "strata[0]")
    assert str(e.value) == "draw: strata[0]" + message


# ---------------------------------------------------------------------------
# Objects (§2, §4).


def test_make_object_normalizes_to_nfc_and_sorts_tags() -> None:
    decomposed = unicodedata.normalize("NFD", "Café 食品")
    o = model.make_object(VALID_ID, decomposed, "忻府区所", "B", ("b", "a", "b"))
    assert o.name == "Café 食品" and o.name != decomposed
    assert o.tags == ("a", "b")
    model.check_object(o)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "91350100M000100Y44"}, ".id: uscc: check character '4', want '3'"),
        ({"name": ""}, ".name: length 0, want 1..256"),
        ({"name": "a\nb"}, ".name: control character or lone surrogate"),
        ({"name": "x\ud800"}, ".name: control character or lone surrogate"),
        ({"name": " padded"}, ".name: leading or trailing white space"),
        ({"area": unicodedata.normalize("NFD", "é")}, ".area: not in Unicode NFC"),
        ({"stratum": 4}, ".stratum: want a string, got int"),
        ({"tags": ("b", "a")}, ".tags: tags must be sorted and distinct"),
        ({"tags": ["a"]}, ".tags: want a tuple of at most 32 tags"),
        ({"tags": ("",)}, ".tags[0]: length 0, want 1..64"),
        ({"last_inspected": "2024-02-30"}, ".last_inspected: no such date '2024-02-30'"),
        ({"last_inspected": "2024-5-1"}, ".last_inspected: want a date YYYY-MM-DD, got '2024-5-1'"),
    ],
)
def test_object_errors_name_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as e:
        model.check_object(obj(**changes), "objects[3]")
    assert str(e.value) == "draw: objects[3]" + message


def test_check_object_refuses_other_types() -> None:
    with pytest.raises(ValueError, match=r"^draw: objects\[0\]: want an InspectionObject, got tuple$"):
        model.check_object(tuple(obj()), "objects[0]")  # type: ignore[arg-type]


def test_record_round_trip() -> None:
    record = model.object_record(obj())
    assert model.parse_object_record(record) == obj()
    with pytest.raises(ValueError, match="want exactly the members"):
        model.parse_object_record({**record, "extra": 1})
    with pytest.raises(ValueError, match=r"record\.name: not in Unicode NFC"):
        model.parse_object_record({**record, "name": unicodedata.normalize("NFD", "é")})


_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20).map(
    lambda s: unicodedata.normalize("NFC", s).strip() or "x"
)


@given(_TEXT, _TEXT, _TEXT, st.lists(_TEXT, max_size=4), st.booleans())
def test_encode_object_is_jcs(name: str, area: str, stratum: str, tags: list[str], dated: bool) -> None:
    o = model.make_object(VALID_ID, name, area, stratum, tags, "2025-01-31" if dated else None)
    try:
        model.check_object(o)
    except ValueError:
        return  # e.g. normalization made a field too long or empty; not an object
    assert commit.encode_object(o) == jcs.canonicalize(model.object_record(o))
    assert commit.encode_object(o) == reference.jcs(model.object_record(o))


_TRICKY = st.text(
    st.sampled_from(["e", "\u0301", " ", "\u3000", "\ufdd0", "\t", "\x85", "食", "\ud800"]), max_size=4
)


@given(_TRICKY, _TRICKY, _TRICKY, st.lists(_TRICKY, max_size=3).map(tuple))
def test_fast_object_check_agrees_with_the_full_check(
    name: str, area: str, stratum: str, tags: tuple[str, ...]
) -> None:
    o = obj(name=name, area=area, stratum=stratum, tags=tags, last_inspected=None)
    try:
        model.check_object(o._replace(tags=tuple(sorted(set(tags)))), "o")
    except ValueError:
        assert not model.is_plain_object(o)
    else:
        if tags == tuple(sorted(set(tags))):
            joined = " ".join((o.id, name, area, stratum, *tags))
            assert model.is_plain_object(o) or not joined.isprintable() or "  " in joined


@given(
    st.lists(st.tuples(_TRICKY, _TRICKY, st.sampled_from([VALID_ID, "shop:1", "x"])), min_size=1, max_size=4)
)
def test_the_batch_object_check_agrees_with_the_single_one(fields: list[tuple[str, str, str]]) -> None:
    batch = [obj(name=name or "n", area=area or "a", id=ident) for name, area, ident in fields]
    plain = all(map(model.is_plain_object, batch))
    assert model.are_plain_objects(batch) is (plain and all(o.id == VALID_ID for o in batch))


_IDS = st.sampled_from(
    [VALID_ID, "91350100M000100Y44", "shop:00001", "shop:第1号店", "shop: x", "Shop:1", "uscc:1",
     "product:a/b%2F", "x:" + "y" * 129, "410105000012345", "41010500001234"]
) | _TRICKY.map(lambda t: "p:" + t)  # fmt: skip


@given(_IDS, _TRICKY)
def test_fast_object_check_agrees_with_the_full_check_on_ids(ident: str, name: str) -> None:
    o = obj(id=ident, name=name or "n", last_inspected=None)
    try:
        model.check_object(o, "o")
    except ValueError:
        assert not model.is_plain_object(o)
    else:
        joined = " ".join((ident, o.name, o.area, o.stratum, *o.tags))
        assert model.is_plain_object(o) or not joined.isprintable() or "  " in joined


# ---------------------------------------------------------------------------
# Sources and requests (§8, §9).


DRAND = SourceSlot("drand", "drand", {})


def test_source_rules() -> None:
    model.check_sources((DRAND, SourceSlot("dice", "ceremony", {})))
    cases = [
        ((), "draw: sources: 0 declared, want 1..16"),
        ((SourceSlot("dice", "ceremony", {}),), "draw: sources: at least one source must be a drand beacon"),
        ((DRAND, DRAND), "draw: sources: names must be distinct"),
        (
            (SourceSlot("Drand", "drand", {}),),
            r"draw: sources[0].name: want [a-z][a-z0-9-]{0,31}, got 'Drand'",
        ),
        ((SourceSlot("x", "coin", {}),), "draw: sources[0].kind: 'coin' not one of drand, ceremony, lottery"),
        ((SourceSlot("x", "drand", []),), "draw: sources[0].declaration: want a JSON object"),  # type: ignore[arg-type]
    ]
    for sources, message in cases:
        with pytest.raises(ValueError) as e:
            model.check_sources(sources)
        assert str(e.value) == message


def test_domain_tags_are_prefix_free() -> None:
    purposes = ["salt", "leaf", "secret", "commitment", "seed", "ticket", "teams", "result", "replacement"]
    tags = [model.domain_tag(p) for p in [*purposes, "replacement-teams"]]
    for a in tags:
        for b in tags:
            assert a == b or not b.startswith(a)
