"""RFC 8785 canonical JSON: the RFC's own samples, strict parsing, and the integer-only restriction."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import jcs

VECTORS = json.loads((Path(__file__).parent / "vectors" / "jcs" / "rfc8785.json").read_text(encoding="utf-8"))


def test_rfc8785_string_escaping_sample() -> None:
    value = json.loads(VECTORS["escaping"]["input_json"])
    assert jcs.canonicalize(value).hex() == VECTORS["escaping"]["canonical_utf8_hex"]


def test_rfc8785_sorting_sample_orders_by_utf16_code_units() -> None:
    value = json.loads(VECTORS["sorting"]["input_json"])
    parsed = json.loads(jcs.canonicalize(value))
    assert list(parsed.values()) == VECTORS["sorting"]["sorted_values"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "value of type float"),
        (2**53, "outside"),
        ({1: "x"}, "member names must be strings"),
        ("\ud800", "lone surrogate"),
        (object(), "cannot canonicalize"),
    ],
)
def test_canonicalize_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        jcs.canonicalize(value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":1,"a":2}', "duplicate member name 'a'"),
        (b'{"a":1.0}', "non-integer number 1.0"),
        (b'{"a":NaN}', "NaN is not JSON"),
        (b'{"a":9007199254740992}', "outside"),
        (b"\xff", "codec can't decode"),
    ],
)
def test_loads_is_strict(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        jcs.loads(data)


def test_loads_canonical_requires_canonical_bytes() -> None:
    assert jcs.loads_canonical(b'{"a":[1,true,null],"b":"\xe2\x82\xac"}') == {"a": [1, True, None], "b": "€"}
    with pytest.raises(ValueError, match="not in canonical form"):
        jcs.loads_canonical(b'{"b":1,"a":2}')
    with pytest.raises(ValueError, match="not in canonical form"):
        jcs.loads_canonical(b'{"a": 2}')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_canonical_round_trip(value: object) -> None:
    data = jcs.canonicalize(value)
    assert jcs.loads_canonical(data) == value
    assert json.loads(data) == value
