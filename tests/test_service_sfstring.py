"""RFC 9651 sf-strings (the Idempotency-Key syntax), checked against the httpwg structured-field tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from draw.service.sfstring import format_sf_string, parse_sf_string

VECTORS = Path(__file__).parent / "vectors" / "service"


def _cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for name in ("sf-string.json", "sf-string-generated.json"):
        cases += json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return cases


CASES = _cases()


def test_the_vectors_are_all_string_items() -> None:
    assert len(CASES) == 14 + 256
    assert {case["header_type"] for case in CASES} == {"item"}
    assert sum(1 for case in CASES if case.get("must_fail")) > 100


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_structured_field_string_vectors(case: dict[str, Any]) -> None:
    raw = ", ".join(case["raw"])  # RFC 9651 §4.2: several field lines are combined with ", "
    if case.get("must_fail"):
        with pytest.raises(ValueError, match="sf-string"):
            parse_sf_string(raw)
        return
    value, params = case["expected"]
    assert params == []
    assert parse_sf_string(raw) == value
    canonical = ", ".join(case.get("canonical", case["raw"]))
    assert format_sf_string(value) == canonical


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('"abc";a=1', "characters after the closing quote"),
        ("abc", "must start with a double quote"),
        ('"ab', "no closing quote"),
        ('"a\\b"', "bad escape"),
        ('"é"', "character U+00E9 not allowed"),
    ],
)
def test_error_messages(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_sf_string(raw)


def test_leading_and_trailing_spaces_are_discarded_but_not_tabs() -> None:
    assert parse_sf_string('  "k"  ') == "k"
    with pytest.raises(ValueError):
        parse_sf_string('\t"k"')


def test_format_refuses_what_cannot_be_serialized() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        format_sf_string("tab\there")
