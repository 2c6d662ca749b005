"""End-to-end verification (docs/draw-spec.md §15): every changed input or byte is caught."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Executor
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from draw.engine import commit, select, verify
from draw.engine.verify import DrawVerificationError, verify_draw
from ledger import jcs
from tests.spec_draw import make_vectors

SECRET = make_vectors.SECRET
Args = tuple[bytes, dict[str, bytes], list[bytes], bytes, bytes, bytes | None, list[bytes]]


@cache
def happy() -> dict[str, Any]:
    v: dict[str, Any] = make_vectors.happy_path("confidential", True, replacements=True)["verify"]
    return v


def args() -> Args:
    return make_vectors.verify_inputs(json.loads(json.dumps(happy())))


def reason(a: Args) -> str:
    with pytest.raises(DrawVerificationError) as e:
        verify_draw(*a)
    return e.value.reason


def test_the_happy_path_verifies() -> None:
    verify_draw(*args())


def test_the_happy_result_is_recomputed_byte_for_byte() -> None:
    commitment, blobs, values, secret, result, _, _ = args()
    public = verify._read_commitment(commitment, blobs, secret, verify._Roots(None))
    assert verify._recomputed(result, public, values, commit.salter(secret)) == select.parse_result(result)
    changed = result.replace(b'"batch":1,', b'"batch":2,', 1)
    assert changed != result and verify._recomputed(changed, public, values, commit.salter(secret)) is None


@settings(max_examples=150)
@given(st.data())
def test_any_changed_result_byte_is_caught(data: st.DataObject) -> None:
    commitment, blobs, values, secret, result, _, replacements = args()
    i = data.draw(st.integers(0, len(result) - 1))
    changed = result[:i] + bytes([result[i] ^ data.draw(st.integers(1, 255))]) + result[i + 1 :]
    with pytest.raises(DrawVerificationError):
        verify_draw(commitment, blobs, values, secret, changed, None, replacements)
    with pytest.raises(DrawVerificationError, match="sealed hash mismatch"):
        verify_draw(commitment, blobs, values, secret, changed, select.result_hash(result), replacements)


@settings(max_examples=60)
@given(st.data())
def test_any_changed_commitment_byte_is_caught(data: st.DataObject) -> None:
    commitment, *rest = args()
    i = data.draw(st.integers(0, len(commitment) - 1))
    changed = commitment[:i] + bytes([commitment[i] ^ data.draw(st.integers(1, 255))]) + commitment[i + 1 :]
    with pytest.raises(DrawVerificationError):
        verify_draw(changed, *rest)  # type: ignore[arg-type]


@settings(max_examples=40)
@given(st.data())
def test_any_changed_replacement_byte_is_caught(data: st.DataObject) -> None:
    commitment, blobs, values, secret, result, sealed, replacements = args()
    k = data.draw(st.integers(0, len(replacements) - 1))
    r = replacements[k]
    i = data.draw(st.integers(0, len(r) - 1))
    replacements[k] = r[:i] + bytes([r[i] ^ data.draw(st.integers(1, 255))]) + r[i + 1 :]
    with pytest.raises(DrawVerificationError):
        verify_draw(commitment, blobs, values, secret, result, sealed, replacements)


def test_a_root_mismatch_is_reported_before_any_later_failure(process_pool: Executor) -> None:
    # Stratum 0's root is wrong, and so is every check from stratum 1's blob on: with or without
    # an executor, check 7 of stratum 0 is the first to fail.
    commitment, blobs, values, secret, result, sealed, replacements = args()
    record = json.loads(commitment)
    good = record["strata"][0]["root"]
    record["strata"][0]["root"] = "00" * 32
    record["strata"][1]["leaves"] = "11" * 32
    a = (jcs.canonicalize(record), blobs, values, secret, result, sealed, replacements)
    assert reason(a) == "root mismatch"
    with pytest.raises(DrawVerificationError, match=r"^invalid draw: root mismatch$") as e:
        verify_draw(*a, executor=process_pool)
    assert e.value.__cause__ is None and e.value.__suppress_context__
    record["strata"][0]["root"] = good
    b = (jcs.canonicalize(record), blobs, values, secret, result, sealed, replacements)
    assert reason(b) == "blob missing"
    with pytest.raises(DrawVerificationError, match=r"^invalid draw: blob missing$"):
        verify_draw(*b, executor=process_pool)


def test_a_wrong_root_is_caught_when_all_else_agrees(process_pool: Executor) -> None:
    # A draw recomputed on a commitment whose one root is wrong passes every check but check 7.
    c = commit.commit_draw(make_vectors.request("confidential", True), make_vectors.objects(), SECRET)
    record = json.loads(c.encoded)
    record["strata"][1]["root"] = "00" * 32
    encoded = jcs.canonicalize(record)
    wrong = c._replace(record=record, encoded=encoded, hash=commit.commitment_hash(encoded))
    r = select.draw(wrong, make_vectors.objects(), SECRET, make_vectors.SOURCE_VALUES)
    a = (encoded, c.blobs, make_vectors.SOURCE_VALUES, SECRET, r.encoded)
    for executor in (None, process_pool):
        with pytest.raises(DrawVerificationError, match=r"^invalid draw: root mismatch$"):
            verify_draw(*a, executor=executor)


def test_a_process_pool_verifies_the_happy_path(process_pool: Executor) -> None:
    verify_draw(*args(), executor=process_pool)


def test_a_wrong_secret_of_any_length_is_a_secret_mismatch() -> None:
    commitment, blobs, values, _, result, sealed, replacements = args()
    for secret in (b"", bytes(31), bytes(32)):
        assert reason((commitment, blobs, values, secret, result, sealed, replacements)) == "secret mismatch"


def test_missing_or_extra_source_values() -> None:
    commitment, blobs, values, secret, result, sealed, replacements = args()
    for given_values in ([], values * 2, [b""]):
        assert (
            reason((commitment, blobs, given_values, secret, result, sealed, replacements))
            == "source mismatch"
        )


def test_a_malformed_matching_blob() -> None:
    commitment, blobs, values, secret, result, sealed, replacements = args()
    record = json.loads(commitment)
    for bad in (b'[{"id":"x"}]', b"[1,1]", b"{}", b"[ ]"):
        address = hashlib.sha256(bad).hexdigest()
        changed = dict(blobs, **{address: bad})
        record["matching"]["inspectors"] = address
        a = (jcs.canonicalize(record), changed, values, secret, result, sealed, replacements)
        assert reason(a) == "matching inputs malformed"


def test_unsorted_record_list_is_malformed() -> None:
    commitment, blobs, values, secret, result, sealed, replacements = args()
    record = json.loads(commitment)
    pool = json.loads(blobs[record["matching"]["inspectors"]])
    bad = jcs.canonicalize(pool[::-1])
    address = hashlib.sha256(bad).hexdigest()
    record["matching"]["inspectors"] = address
    a = (
        jcs.canonicalize(record),
        dict(blobs, **{address: bad}),
        values,
        secret,
        result,
        sealed,
        replacements,
    )
    assert reason(a) == "matching inputs malformed"


def test_teams_must_be_absent_without_matching_inputs() -> None:
    v = make_vectors.happy_path("confidential", False, replacements=True)["verify"]
    commitment, blobs, values, secret, result, _, replacements = make_vectors.verify_inputs(v)
    verify_draw(commitment, blobs, values, secret, result, None, replacements)
    record = json.loads(result)
    record["teams"] = json.loads(happy()["result"])["teams"]
    assert reason((commitment, blobs, values, secret, jcs.canonicalize(record), None, [])) == "teams mismatch"


def test_the_error_is_one_opaque_type() -> None:
    commitment, blobs, values, secret, result, sealed, replacements = args()
    with pytest.raises(DrawVerificationError) as e:
        verify_draw(commitment, blobs, values, secret, result + b" ", sealed, replacements)
    assert str(e.value) == "invalid draw: sealed hash mismatch"
    assert not isinstance(e.value, ValueError)
