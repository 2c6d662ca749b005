"""Object identifiers (docs/draw-spec.md §3) against published vectors and an independent check."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from draw.engine import uscc
from tests.spec_draw import reference

VECTORS = Path(__file__).parent / "vectors" / "uscc"


def _uscc_lines() -> list[tuple[str, str, str]]:
    rows = []
    for line in (VECTORS / "uscc.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, verdict, note = line.split("\t")
            rows.append((code, verdict, note))
    return rows


USCC_ROWS = [r for r in _uscc_lines() if "-" not in r[0]]
ORG_ROWS = [r for r in _uscc_lines() if "-" in r[0]]
REGNO = json.loads((VECTORS / "regno.json").read_text(encoding="utf-8"))


def test_the_vector_files_hold_what_we_expect() -> None:
    assert len(USCC_ROWS) == 27 and len(ORG_ROWS) == 21
    assert sum(v == "VALID" for _, v, _ in USCC_ROWS) == 20


@pytest.mark.parametrize(("code", "verdict", "note"), USCC_ROWS, ids=[r[0] for r in USCC_ROWS])
def test_uscc_vectors(code: str, verdict: str, note: str) -> None:
    assert uscc.is_valid_uscc(code) is (verdict == "VALID"), note
    if verdict == "VALID":
        uscc.check_uscc(code)
        assert uscc.uscc_check_char(code[:17]) == code[17]
        assert uscc.object_id_kind(code) == "uscc"
    else:
        with pytest.raises(ValueError, match=r"^(uscc|org code): "):
            uscc.check_uscc(code)


@pytest.mark.parametrize(("code", "verdict", "note"), ORG_ROWS, ids=[r[0] for r in ORG_ROWS])
def test_org_code_vectors(code: str, verdict: str, note: str) -> None:
    body, check = code.split("-")
    if verdict == "VALID":
        uscc.check_org_code(body + check)
        assert uscc.org_code_check_char(body) == check
    else:
        with pytest.raises(ValueError, match=r"^org code: check character"):
            uscc.check_org_code(body + check)


def test_the_standards_worked_example() -> None:
    # GB 32100-2015: the sum is 1640, 1640 mod 31 = 28, so the check character is 3, not Z.
    with pytest.raises(ValueError, match=r"^uscc: check character 'Z', want '3'$"):
        uscc.check_uscc("91350100M000100Y4Z")
    assert uscc.uscc_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("9111000060003734", "uscc: length 16, want 18"),
        ("B1110000600037341L", "uscc: registration authority 'B' not one of 1-9, A, N, Y"),
        ("90110000600037341L", "uscc: positions 2-8 must be a category digit 1-9 and a 6-digit area code"),
        ("911A0000600037341L", "uscc: positions 2-8 must be a category digit 1-9 and a 6-digit area code"),
        ("91110000600037341N", "uscc: check character 'N', want 'L'"),
        ("9111000060003IOZSV", "uscc: character 'I' not in the code alphabet"),
        # A correct mod-31 check character over a broken organization code (60003734-2).
        (
            "91110000600037342" + uscc.uscc_check_char("91110000600037342"),
            "org code: check character '2', want '1'",
        ),
    ],
)
def test_uscc_error_messages(code: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        uscc.check_uscc(code)
    assert str(e.value) == message


def test_codes_of_authorities_a_n_y_are_accepted() -> None:
    # python-stdnum refuses these (it wants digits in positions 1-8); GB 32100 allows A, N and Y.
    for head in ("A1", "N2", "Y1"):
        body = head + "110000" + "MA1K3BTP2"
        code = body + uscc.uscc_check_char(body)
        uscc.check_uscc(code)
        assert reference.uscc_valid(code)


_ALPHABET = st.text(alphabet=uscc.USCC_ALPHABET + "IOSVZa", min_size=17, max_size=19)


@given(_ALPHABET)
def test_fast_uscc_check_agrees_with_the_plain_formula(code: str) -> None:
    assert uscc.is_valid_uscc(code) is reference.uscc_valid(code)


@given(st.lists(_ALPHABET | st.sampled_from(["91350100M000100Y43", "91350100M000100Y4\n"]), max_size=5))
def test_the_batch_uscc_check_agrees_with_the_single_one(codes: list[str]) -> None:
    assert uscc.all_valid_uscc(codes) is all(map(uscc.is_valid_uscc, codes))


_AREA = st.text(string.digits, min_size=6, max_size=6)
_ORG_BODY = st.text(uscc.USCC_ALPHABET, min_size=8, max_size=8)


@given(st.sampled_from("123456789ANY"), st.sampled_from("123456789"), _AREA, _ORG_BODY)
def test_every_well_formed_body_has_exactly_one_valid_code(a: str, b: str, area: str, org: str) -> None:
    body = a + b + area + org + uscc.org_code_check_char(org)  # 0-9 or X: always in the alphabet
    valid = [c for c in uscc.USCC_ALPHABET if uscc.is_valid_uscc(body + c)]
    assert valid == [uscc.uscc_check_char(body)]
    assert reference.uscc_valid(body + valid[0])


def test_mod_11_10_vectors() -> None:
    for digits in REGNO["mod_11_10_valid"]:
        assert uscc.mod_11_10_check_digit(digits[:-1]) == digits[-1]
    for digits in REGNO["mod_11_10_invalid"]:
        assert uscc.mod_11_10_check_digit(digits[:-1]) != digits[-1]
    for body, check in REGNO["mod_11_10_check_digit"]:
        assert uscc.mod_11_10_check_digit(body) == check


def test_regno_vectors() -> None:
    for code in REGNO["regno_valid"]:
        uscc.check_regno(code)
        assert uscc.object_id_kind(code) == "regno"
        assert reference.regno_valid(code)
    with pytest.raises(ValueError) as e:
        uscc.check_regno("110108000000017")
    assert str(e.value) == "regno: check digit '7', want '6'"


@given(st.text(string.digits, min_size=14, max_size=14))
def test_regno_single_digit_errors_are_caught(body: str) -> None:
    code = body + uscc.regno_check_digit(body)
    uscc.check_regno(code)
    for i in range(15):
        wrong = code[:i] + str((int(code[i]) + 1) % 10) + code[i + 1 :]
        assert not reference.regno_valid(wrong)
        with pytest.raises(ValueError, match="regno: check digit"):
            uscc.check_regno(wrong)


@pytest.mark.parametrize(
    ("object_id", "message"),
    [
        ("Product:X", "object id: kind 'Product' must match [a-z][a-z0-9-]{0,31}"),
        ("uscc:91110000600037341L", "object id: write a uscc without the 'uscc' prefix"),
        ("product:", "object id: local part length 0, want 1..128"),
        ("product: x", "object id: local part must be printable, without surrounding white space"),
        ("product:a\tb", "object id: local part must be printable, without surrounding white space"),
        ("12345", "uscc: length 5, want 18"),
    ],
)
def test_object_id_errors(object_id: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        uscc.object_id_kind(object_id)
    assert str(e.value) == message


@given(st.text(min_size=1, max_size=8))
def test_kind_ids_agree_with_the_spec_text(local: str) -> None:
    ident = "product:" + local
    try:
        uscc.object_id_kind(ident)
    except ValueError:
        assert not reference.id_valid(ident)
    else:
        assert reference.id_valid(ident)


def test_kind_ids() -> None:
    assert uscc.object_id_kind("product:GB-2763-茶叶-0412") == "product"
    assert uscc.object_id_kind("behaviour:夜间经营-03") == "behaviour"
    assert reference.id_valid("project:2025-忻州-017")
