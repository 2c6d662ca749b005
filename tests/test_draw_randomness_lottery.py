"""Announced public numbers: RFC 3797 key strings, the lottery value and the deadline rule
(docs/draw-spec-randomness.md §4).

Vectors: tests/vectors/rfc3797/rfc3797.json — RFC 3797's worked example and the 2022 IETF NomCom
draw (see SOURCE.txt). The selection procedure reproduces every published MD5 value and pick,
which proves the key strings byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from draw.engine import lottery
from draw.engine.lottery import (
    LotteryComplete,
    LotteryDeclaration,
    LotteryPending,
    LotterySource,
    LotteryVoid,
)

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "rfc3797" / "rfc3797.json").read_text(encoding="utf-8")
)
REFERENCE = VECTORS["reference"]
NOMCOM = VECTORS["nomcom_2022"]


def seeds_from_file(text: str) -> list[list[int]]:
    """Read a seeds file as the vectors' tool does: '#' lines and blank lines skipped."""
    return [[int(x) for x in line.split()] for line in text.splitlines() if line.strip() and line[0] != "#"]


# ---------------------------------------------------------------------------------------------
# The RFC 3797 vectors


@pytest.mark.parametrize("vector", [REFERENCE, NOMCOM], ids=["rfc3797-example", "nomcom-2022"])
def test_seed_files_give_the_seed_groups(vector: dict[str, Any]) -> None:
    assert seeds_from_file(vector["seeds_file"]) == vector["seed_groups"]


@pytest.mark.parametrize("vector", [REFERENCE, NOMCOM], ids=["rfc3797-example", "nomcom-2022"])
def test_key_string(vector: dict[str, Any]) -> None:
    key = lottery.format_rfc3797_key(vector["seed_groups"])
    assert key == vector["key_string"]
    assert lottery.parse_rfc3797_key(key) == [sorted(group) for group in vector["seed_groups"]]


def test_nomcom_key_is_the_published_one() -> None:
    # The 2022 key string is printed by the draw's own results file, not derived.
    key = lottery.format_rfc3797_key(NOMCOM["seed_groups"])
    assert f"Key string is {key} \n" in NOMCOM["results_file"]


@pytest.mark.parametrize(
    ("vector", "pool"), [(REFERENCE, 25), (NOMCOM, 267)], ids=["rfc3797-example", "nomcom-2022"]
)
def test_selection_reproduces_every_md5_and_pick(vector: dict[str, Any], pool: int) -> None:
    key = lottery.format_rfc3797_key(vector["seed_groups"])
    selections = vector["selections"]
    assert [lottery.rfc3797_digest(key, i).hex().upper() for i in range(len(selections))] == [
        s["md5_hex"] for s in selections
    ]
    assert [s["remaining"] for s in selections] == list(range(pool, pool - len(selections), -1))
    assert lottery.rfc3797_select(key, pool, len(selections)) == [s["selected"] for s in selections]


def test_reference_selection_picks_the_named_people() -> None:
    key = lottery.format_rfc3797_key(REFERENCE["seed_groups"])
    picks = lottery.rfc3797_select(key, len(REFERENCE["names"]), REFERENCE["count"])
    assert [REFERENCE["names"][p - 1] for p in picks] == [s["name"] for s in REFERENCE["selections"]]


def test_selection_is_a_prefix_for_any_count() -> None:
    key = REFERENCE["key_string"]
    full = lottery.rfc3797_select(key, 25, 25)
    assert sorted(full) == list(range(1, 26))
    assert all(lottery.rfc3797_select(key, 25, n) == full[:n] for n in range(26))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 0), r"lottery: pool_size 0 out of range 1\.\.65535"),
        ((65536, 1), r"lottery: pool_size 65536 out of range"),
        ((25, 26), r"lottery: count 26 out of range 0\.\.25"),
        ((25, -1), r"lottery: count -1 out of range"),
    ],
    ids=["pool-empty", "pool-too-large", "count-above-pool", "count-negative"],
)
def test_selection_limits(args: tuple[int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lottery.rfc3797_select(REFERENCE["key_string"], *args)


def test_digest_counter_limit() -> None:
    assert len(lottery.rfc3797_digest("1./", 65535)) == 16
    with pytest.raises(ValueError, match=r"lottery: selection 65536 out of range 0\.\.65535"):
        lottery.rfc3797_digest("1./", 65536)


# ---------------------------------------------------------------------------------------------
# Key format


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "malformed RFC 3797 key"),
        ("1.2.", "malformed RFC 3797 key"),
        ("1. 2./", "malformed RFC 3797 key"),
        ("01./", "malformed RFC 3797 key"),
        ("-1./", "malformed RFC 3797 key"),
        ("1.5/", "malformed RFC 3797 key"),
        ("/", "malformed RFC 3797 key"),
        ("2.1./", "not in canonical"),
        ("1.2./1.3./x", "malformed RFC 3797 key"),
    ],
    ids=[
        "empty",
        "no-slash",
        "space",
        "leading-zero",
        "negative",
        "fraction",
        "empty-source",
        "unsorted",
        "trailing-garbage",
    ],
)
def test_parse_key_rejects(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lottery.parse_rfc3797_key(key)


def test_duplicates_within_a_source_are_kept() -> None:
    assert lottery.format_rfc3797_key([[5, 1, 1]]) == "1.1.5./"
    assert lottery.parse_rfc3797_key("0.1.1.5./") == [[0, 1, 1, 5]]


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ([], r"lottery: want 1\.\.16 sources of numbers"),
        ([[1]] * 17, r"lottery: want 1\.\.16 sources of numbers"),
        ("1 2 3", r"lottery: want 1\.\.16 sources of numbers"),
        ([[1], []], r"lottery: source 1 must have 1\.\.64 numbers"),
        ([list(range(65))], r"lottery: source 0 must have 1\.\.64 numbers"),
        ([[1, -2]], r"lottery: source 0 has -2, want an integer in 0\.\.9007199254740991"),
        ([[2**53]], "lottery: source 0 has 9007199254740992"),
        ([[True]], "lottery: source 0 has True"),
        ([[1.0]], "lottery: source 0 has 1.0"),
        ([["7"]], "lottery: source 0 has '7'"),
    ],
    ids=[
        "no-sources",
        "17-sources",
        "string",
        "empty-source",
        "65-numbers",
        "negative",
        "too-large",
        "bool",
        "float",
        "str-number",
    ],
)
def test_format_key_rejects(seeds: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lottery.format_rfc3797_key(seeds)


# ---------------------------------------------------------------------------------------------
# Value


def reference_value(key: str) -> bytes:
    return hashlib.sha256(b"fairdraw-draw/1 lottery-value\x00" + key.encode("ascii")).digest()


@pytest.mark.parametrize("vector", [REFERENCE, NOMCOM], ids=["rfc3797-example", "nomcom-2022"])
def test_value_hashes_the_key(vector: dict[str, Any]) -> None:
    assert lottery.lottery_value(vector["seed_groups"]) == reference_value(vector["key_string"])


def test_value_ignores_order_within_a_source_but_not_between_sources() -> None:
    assert lottery.lottery_value([[3, 1, 2], [9]]) == lottery.lottery_value([[1, 2, 3], [9]])
    assert lottery.lottery_value([[1, 2, 3], [9]]) != lottery.lottery_value([[9], [1, 2, 3]])


# ---------------------------------------------------------------------------------------------
# Declaration and outcome

RED = LotterySource("中国福利彩票 双色球 第2025001期 红球", 6)
BLUE = LotterySource("中国福利彩票 双色球 第2025001期 蓝球", 1)
DEADLINE = 1_764_300_000
DECLARATION = LotteryDeclaration((RED, BLUE), DEADLINE)
RESULTS = [[3, 9, 14, 22, 28, 31], [9]]  # illustrative numbers


def test_outcome_complete() -> None:
    outcome = lottery.lottery_outcome(DECLARATION, RESULTS, now=DEADLINE + 10)
    assert outcome == LotteryComplete(reference_value("3.9.14.22.28.31./9./"))


def test_outcome_pending_then_void() -> None:
    assert lottery.lottery_outcome(DECLARATION, [RESULTS[0], None], now=DEADLINE) == LotteryPending((1,))
    assert lottery.lottery_outcome(DECLARATION, [None, None], now=DEADLINE + 1) == LotteryVoid((0, 1))


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ([RESULTS[0]], "lottery: 1 results for 2 sources"),
        ([RESULTS[0], [9, 10]], "lottery: source 1 has 2 numbers, want 1"),
    ],
    ids=["one-result-missing-from-list", "wrong-count"],
)
def test_outcome_caller_errors(results: list[list[int] | None], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lottery.lottery_outcome(DECLARATION, results, now=DEADLINE)


def test_declaration_round_trip() -> None:
    record = lottery.declaration_record(DECLARATION)
    assert record == {
        "deadline": DEADLINE,
        "sources": [
            {"count": 6, "description": "中国福利彩票 双色球 第2025001期 红球"},
            {"count": 1, "description": "中国福利彩票 双色球 第2025001期 蓝球"},
        ],
    }
    assert lottery.parse_declaration(record) == DECLARATION


DECLARATION_MUTATIONS = {
    "extra-member": (lambda d: {**d, "x": 1}, "lottery: declaration must be an object with exactly the keys"),
    "sources-not-a-list": (lambda d: {**d, "sources": {}}, "lottery: declaration.sources must be a list"),
    "no-sources": (lambda d: {**d, "sources": []}, r"lottery: 0 sources, want 1\.\.16"),
    "count-zero": (
        lambda d: {**d, "sources": [{"count": 0, "description": "x"}]},
        r"lottery: count 0 out of range 1\.\.64",
    ),
    "description-empty": (
        lambda d: {**d, "sources": [{"count": 1, "description": ""}]},
        r"lottery: description must be 1\.\.200 characters",
    ),
    "description-newline": (
        lambda d: {**d, "sources": [{"count": 1, "description": "双色球\n第1期"}]},
        "lottery: description must be printable NFC text",
    ),
    "source-missing-count": (
        lambda d: {**d, "sources": [{"description": "x"}]},
        r"lottery: sources\[0\] must be an object with exactly the keys",
    ),
    "deadline-negative": (lambda d: {**d, "deadline": -1}, r"lottery: deadline -1 out of range"),
}


@pytest.mark.parametrize("mutation", sorted(DECLARATION_MUTATIONS))
def test_declaration_mutation_is_rejected(mutation: str) -> None:
    change, message = DECLARATION_MUTATIONS[mutation]
    with pytest.raises(ValueError, match=message):
        lottery.parse_declaration(change(lottery.declaration_record(DECLARATION)))
