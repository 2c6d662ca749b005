"""The commitment (docs/draw-spec.md §6-§9): salts, leaves, roots, blobs, checks before commitment."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from draw.engine import commit, model, teams
from draw.engine.model import DrawRequest, Matching
from ledger import jcs, tree
from tests.spec_draw import make_vectors, reference

SECRET = bytes(range(32))


def request(**changes: Any) -> DrawRequest:
    return make_vectors.request("confidential", True)._replace(**changes)


def test_salt_is_hmac_sha256() -> None:
    for ident in ("91350100M000100Y43", "product:茶叶", "110108000000016"):
        want = hmac.new(SECRET, b"fairdraw-draw/1 salt\x00" + ident.encode(), hashlib.sha256).digest()
        assert commit.derive_salt(SECRET, ident) == want == reference.salt(SECRET, ident)


def test_secret_must_be_32_bytes() -> None:
    for secret in (bytes(31), bytes(33), "x" * 32):
        with pytest.raises(ValueError, match=r"^draw: operator secret: want 32 bytes$"):
            commit.salter(secret)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [*range(0, 34), 127, 128, 129])
def test_stratum_root_is_the_rfc_9162_tree_hash(size: int) -> None:
    leaves = sorted(hashlib.sha256(bytes([size, i % 256, i // 256])).digest() for i in range(size))
    want = tree.root_hash(map(tree.leaf_hash, leaves))
    assert commit.stratum_root(leaves) == want == reference.mth(leaves)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 128, 129])
def test_leaf_list_root_is_the_root_of_the_blob(size: int) -> None:
    leaves = sorted(hashlib.sha256(bytes([size, i])).digest() for i in range(size))
    blob = commit.format_leaves(leaves)
    assert commit.leaf_list_root(blob) == commit.stratum_root(leaves)
    assert commit.submit_root(None, leaves, blob).result() == commit.stratum_root(leaves)
    with pytest.raises(ValueError, match=r"^draw: leaf list: length 33 not a multiple of 32$"):
        commit.leaf_list_root(bytes(33))


def test_a_process_pool_gives_the_same_commitment(process_pool: Executor) -> None:
    for disclosure, matching in (("confidential", True), ("full", False)):
        req = make_vectors.request(disclosure, matching)
        here = commit.commit_draw(req, make_vectors.objects(), SECRET)
        aside = commit.commit_draw(req, make_vectors.objects(), SECRET, process_pool)
        assert (aside.encoded, aside.blobs, aside.strata) == (here.encoded, here.blobs, here.strata)


def test_leaf_list_round_trip_and_errors() -> None:
    leaves = sorted(hashlib.sha256(bytes([i])).digest() for i in range(5))
    assert commit.parse_leaves(commit.format_leaves(leaves)) == leaves
    with pytest.raises(ValueError, match=r"^draw: leaf list: length 33 not a multiple of 32$"):
        commit.parse_leaves(bytes(33))
    with pytest.raises(ValueError, match=r"^draw: leaf list: leaves not strictly ascending$"):
        commit.parse_leaves(leaves[1] + leaves[0])
    with pytest.raises(ValueError, match=r"^draw: leaf list: leaves not strictly ascending$"):
        commit.parse_leaves(leaves[0] + leaves[0])


def test_commitment_does_not_depend_on_input_order() -> None:
    objects = make_vectors.objects()
    a = commit.commit_draw(request(), objects, SECRET)
    shuffled = objects[:]
    random.Random(7).shuffle(shuffled)
    m = request().matching
    assert m is not None
    reordered = m._replace(inspectors=m.inspectors[::-1], exclusions=m.exclusions[::-1])
    b = commit.commit_draw(request(matching=reordered), shuffled, SECRET)
    assert a.encoded == b.encoded and a.blobs == b.blobs


def test_commitment_record_round_trip() -> None:
    c = commit.commit_draw(request(), make_vectors.objects(), SECRET)
    parsed = commit.parse_commitment(c.encoded)
    assert [e.rule for e in parsed.strata] == list(request().strata)
    assert [(e.size, e.k) for e in parsed.strata] == [(len(p.leaves), p.k) for p in c.strata]
    assert parsed.secret_hash == commit.secret_hash(SECRET)
    assert parsed.matching is not None and parsed.matching.rules == request().matching.rules  # type: ignore[union-attr]
    assert c.hash == hashlib.sha256(b"fairdraw-draw/1 commitment\x00" + c.encoded).digest()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r.update(spec="fairdraw-draw/2"),
            "draw: commitment.spec: 'fairdraw-draw/2', want 'fairdraw-draw/1'",
        ),
        (lambda r: r.pop("embargo"), "draw: commitment: want exactly the members"),
        (
            lambda r: r.update(secret_hash="AB" * 32),
            "draw: commitment.secret_hash: want 64 lowercase hex digits",
        ),
        (
            lambda r: r["strata"][0].update(records="00" * 32),
            "draw: strata[0].records: a blob address exactly when",
        ),
        (lambda r: r["strata"][0].update(ratio="2/1"), "draw: strata[0].ratio: ratio 2/1 above 100 %"),
        (lambda r: r.update(embargo="2026-13-01"), "draw: embargo: no such date '2026-13-01'"),
    ],
)
def test_parse_commitment_errors(edit: object, message: str) -> None:
    c = commit.commit_draw(request(), make_vectors.objects(), SECRET)
    record = json.loads(c.encoded)
    edit(record)  # type: ignore[operator]
    with pytest.raises(ValueError) as e:
        commit.parse_commitment(jcs.canonicalize(record))
    assert str(e.value).startswith(message)


def test_parse_commitment_refuses_non_canonical_bytes() -> None:
    c = commit.commit_draw(request(), make_vectors.objects(), SECRET)
    with pytest.raises(ValueError, match="not in canonical form"):
        commit.parse_commitment(c.encoded.replace(b'{"department"', b'{ "department"'))


# ---------------------------------------------------------------------------
# Bad input: ValueError naming the field, before anything is committed (§9.1).


def commit_error(objects: Sequence[model.InspectionObject], req: DrawRequest | None = None) -> str:
    with pytest.raises(ValueError) as e:
        commit.commit_draw(req or request(), objects, SECRET)
    return str(e.value)


def test_a_population_is_checked_once_when_made() -> None:
    objects = make_vectors.objects()
    population = model.Population(objects)
    assert population == tuple(objects) and isinstance(population, tuple)
    plain = commit.commit_draw(request(), objects, SECRET)
    assert commit.commit_draw(request(), population, SECRET).encoded == plain.encoded
    bad = objects[5]._replace(id=objects[5].id[:-1] + "0")
    with pytest.raises(ValueError, match=r"^draw: records\[5\]\.id: uscc: check character '0', want 'X'$"):
        model.Population([*objects[:5], bad], "records")
    joined = population + (bad,)  # noqa: RUF005 - what a Population gives when concatenated
    assert type(joined) is tuple  # not a Population: commit_draw checks its objects
    assert commit_error(joined) == commit_error([*objects, bad]) == (
        f"draw: objects[{len(objects)}].id: uscc: check character '0', want 'X'"
    )
    with pytest.raises(ValueError, match=r"^draw: objects\[24\]\.id: duplicate id"):
        commit.commit_draw(request(), model.Population([*objects, objects[2]]), SECRET)


def test_invalid_uscc() -> None:
    objects = make_vectors.objects()
    objects[5] = objects[5]._replace(id=objects[5].id[:-1] + "0")
    assert commit_error(objects) == "draw: objects[5].id: uscc: check character '0', want 'X'"


def test_duplicate_ids() -> None:
    objects = make_vectors.objects()
    objects.append(objects[2]._replace(name="另一个名字"))
    assert commit_error(objects) == f"draw: objects[24].id: duplicate id {objects[2].id!r}"


def test_unknown_stratum() -> None:
    objects = make_vectors.objects()
    objects[1] = objects[1]._replace(stratum="E")
    assert commit_error(objects) == "draw: objects[1].stratum: unknown stratum 'E'"


def test_empty_population() -> None:
    assert commit_error([]) == "draw: objects: empty population"


def test_ratio_above_100_percent() -> None:
    strata = (model.make_rule("A", "ratio", ratio="101/100", rounding="floor"),)
    assert (
        commit_error(make_vectors.objects(), request(strata=strata))
        == "draw: strata[0].ratio: ratio 101/100 above 100 %"
    )


def test_duplicate_strata_and_missing_drand() -> None:
    rule = model.make_rule("A", "all")
    assert commit_error([], request(strata=(rule, rule))) == "draw: strata: stratum names must be distinct"
    ceremony = (model.SourceSlot("dice", "ceremony", {}),)
    assert (
        commit_error([], request(sources=ceremony))
        == "draw: sources: at least one source must be a drand beacon"
    )


def test_too_few_eligible_inspectors() -> None:
    m = request().matching
    assert m is not None
    # Only the 卫健委 inspectors of one area remain: objects of that area have none left (属地 rule).
    pool = tuple(i for i in m.inspectors if i.department == "卫健委" or i.area != make_vectors.AREAS[0])
    pool = tuple(i for i in pool if i.department != "卫健委" or i.area == make_vectors.AREAS[0])
    message = commit_error(make_vectors.objects(), request(matching=m._replace(inspectors=pool)))
    assert message.startswith("teams: ") and "eligible inspectors of department 卫健委" in message


def test_matching_type_errors() -> None:
    m = request().matching
    assert m is not None
    bad = m._replace(items=("I2", "I1"))
    assert (
        commit_error([], request(matching=bad))
        == "draw: matching.items: item codes must be sorted and distinct"
    )
    bad = m._replace(as_of="2026-03-02")  # type: ignore[arg-type]
    assert commit_error([], request(matching=bad)) == "draw: matching.as_of: want a datetime.date"


def test_full_disclosure_records_blob() -> None:
    objects = make_vectors.objects()
    c = commit.commit_draw(request(disclosure="full", matching=None), objects, SECRET)
    for population, entry in zip(c.strata, c.record["strata"], strict=True):
        records = json.loads(c.blobs[entry["records"]])
        assert [r["id"] for r in records] == [objects[i].id for i in population.origin]
        salt = commit.salter(SECRET)
        leaves = [commit.leaf_commitment(salt(r["id"]), jcs.canonicalize(r)) for r in records]
        assert leaves == population.leaves


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=40, unique=True))
def test_record_lists_are_canonical(numbers: list[int]) -> None:
    history = [
        teams.PastInspection(f"ZF-{n % 7}", make_vectors.synthetic_uscc(n), date(2025, 1, 1)) for n in numbers
    ]
    blob = commit.format_record_list(history)
    assert blob == commit.format_record_list(history[::-1] + history[:1])
    assert commit.parse_record_list(blob, teams.PastInspection.from_record) == sorted(
        set(history), key=lambda p: jcs.canonicalize(p.to_record())
    )
    assert blob == reference.record_list([p.to_record() for p in history])


def test_matching_is_optional() -> None:
    c = commit.commit_draw(request(matching=None), make_vectors.objects(), SECRET)
    assert c.record["matching"] is None


def test_matching_record() -> None:
    c = commit.commit_draw(request(), make_vectors.objects(), SECRET)
    m: Matching | None = request().matching
    assert m is not None
    entry = c.record["matching"]
    assert (
        entry["as_of"] == "2026-03-02" and entry["items"] == ["I1"] and entry["rules"] == m.rules.to_record()
    )
    pool = commit.parse_record_list(c.blobs[entry["inspectors"]], teams.Inspector.from_record)
    assert sorted(i.id for i in pool) == sorted(i.id for i in m.inspectors)


def test_the_commitment_record_fits_a_ledger_entry() -> None:
    big = model.SourceSlot("drand", "drand", {"note": "x" * 50_000})
    message = commit_error(make_vectors.objects(), request(sources=(big,)))
    assert message.startswith("draw: commitment record is ") and message.endswith(" bytes, limit 49152")
    with pytest.raises(ValueError, match=r"^draw: commitment record is 49153 bytes, limit 49152$"):
        commit.parse_commitment(b" " * 49153)


_VALUES = st.none() | st.booleans() | st.text() | st.lists(st.text(), max_size=3) | st.integers(-3, 3)


@given(st.dictionaries(st.text(max_size=4), _VALUES, max_size=5))
def test_record_list_canonical_form_is_jcs(record: dict[str, object]) -> None:
    try:
        want: bytes | str = jcs.canonicalize(record)
    except ValueError as e:
        want = str(e)
    try:
        got: bytes | str = commit._canonical(record)
    except ValueError as e:
        got = str(e)
    assert got == want


def test_record_list_canonical_form_of_odd_values() -> None:
    for record in ({"b": "x\ud800"}, {"😀": "x", "a": "\n"}, {"a": 2**60}, {"a": [1, "x"]}, ["x"], "x"):
        try:
            want: bytes | str = jcs.canonicalize(record)
        except ValueError as e:
            want = str(e)
        try:
            got: bytes | str = commit._canonical(record)
        except ValueError as e:
            got = str(e)
        assert got == want, record
