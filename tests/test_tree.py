"""ledger.tree against RFC 9162: published vectors, every transparency-dev probe, the recursive reference."""

import base64
import doctest
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import checkpoint, receipt, tiles, tree
from ledger.errors import LedgerError, ProofError, StorageError
from ledger.tree import (
    EMPTY_ROOT,
    MemoryHashStore,
    check_consistency,
    check_inclusion,
    inclusion_proof,
    leaf_hash,
    node_hash,
    prove_consistency,
    prove_inclusion,
    root_from_consistency_proof,
    root_from_inclusion_proof,
    root_hash,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    stored_hashes_for_record_hash,
    tree_hash,
)
from tests import reference_merkle as ref

VECTORS = Path(__file__).parent / "vectors" / "merkle"
REFERENCE = json.loads((VECTORS / "merkle-reference-tree.json").read_text(encoding="utf-8"))
PROBES = sorted((VECTORS / "testdata").rglob("*.json"))

# One shared log; every smaller tree is a prefix of it.
BIG = 1100
DATA = [f"leaf {i}".encode() for i in range(BIG)]
STORE = MemoryHashStore()
for _data in DATA:
    STORE.append(_data)
ROOTS = [tree_hash(size, STORE) for size in range(BIG + 1)]


class CountingReader:
    """A HashReader that records every read_hashes call."""

    def __init__(self, store: MemoryHashStore) -> None:
        self.store = store
        self.calls: list[list[int]] = []

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        self.calls.append(list(indexes))
        return self.store.read_hashes(indexes)


def unhex(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def flip(value: bytes, bit: int) -> bytes:
    return value[: bit // 8] + bytes([value[bit // 8] ^ (1 << (bit % 8))]) + value[bit // 8 + 1 :]


# --- published known answers ------------------------------------------------------------------


def test_hasher_known_answers() -> None:
    for answer in REFERENCE["hasher_known_answers"]:
        want = bytes.fromhex(answer["hash"])
        if answer["kind"] == "empty tree root":
            assert EMPTY_ROOT == want == root_hash([])
        elif answer["kind"] == "leaf hash":
            assert leaf_hash(answer["leaf_ascii"].encode()) == want, answer["desc"]
        else:
            assert node_hash(answer["left_ascii"].encode(), answer["right_ascii"].encode()) == want


def test_reference_tree_every_stored_subtree_hash() -> None:
    store = MemoryHashStore()
    for data in unhex(REFERENCE["leaf_inputs"]):
        store.append(data)
    for level, hashes in enumerate(REFERENCE["node_hashes"]):
        indexes = [stored_hash_index(level, n) for n in range(len(hashes))]
        assert store.read_hashes(indexes) == unhex(hashes), f"level {level}"
    assert stored_hash_count(8) == sum(len(hashes) for hashes in REFERENCE["node_hashes"]) == 15


def test_reference_tree_roots_for_every_size() -> None:
    leaves = [leaf_hash(data) for data in unhex(REFERENCE["leaf_inputs"])]
    store = MemoryHashStore()
    for entry in REFERENCE["root_hashes"]:
        size, want = entry["size"], bytes.fromhex(entry["root"])
        while store.tree_size < size:
            store.append_leaf_hash(leaves[store.tree_size])
        assert tree_hash(size, store) == root_hash(leaves[:size]) == store.root() == want, size


def test_reference_tree_inclusion_proof_table() -> None:
    store = MemoryHashStore()
    for data in unhex(REFERENCE["leaf_inputs"]):
        store.append(data)
    leaves = [leaf_hash(data) for data in unhex(REFERENCE["leaf_inputs"])]
    checked = 0
    for entry in REFERENCE["inclusion_proofs"]:
        index, size, want = entry["leaf_number"] - 1, entry["tree_size"], unhex(entry["proof"])
        if index < 0:  # the table's (0, 0) row: no leaf, no proof
            with pytest.raises(ValueError, match="index must be >= 0, got -1"):
                prove_inclusion(size, index, store)
            continue
        assert prove_inclusion(size, index, store) == want == inclusion_proof(leaves[:size], index)
        check_inclusion(want, size, index, leaves[index], tree_hash(size, store))
        checked += 1
    assert checked == 5


def test_reference_tree_consistency_proof_table() -> None:
    store = MemoryHashStore()
    for data in unhex(REFERENCE["leaf_inputs"]):
        store.append(data)
    for entry in REFERENCE["consistency_proofs"]:
        old, new, want = entry["size1"], entry["size2"], unhex(entry["proof"])
        assert prove_consistency(old, new, store) == want, (old, new)
        check_consistency(want, old, new, tree_hash(old, store), tree_hash(new, store))


# --- the 196 transparency-dev probes -----------------------------------------------------------


def test_all_probes_are_present() -> None:
    assert len(PROBES) == 196
    assert sum(1 for path in PROBES if json.loads(path.read_text())["wantErr"]) == 184


def run_probe(probe: dict[str, Any]) -> None:
    proof = [b64(value) for value in probe["proof"] or []]
    if "leafIdx" in probe:
        check_inclusion(
            proof, probe["treeSize"], probe["leafIdx"], b64(probe["leafHash"]), b64(probe["root"])
        )
    else:
        check_consistency(proof, probe["size1"], probe["size2"], b64(probe["root1"]), b64(probe["root2"]))


@pytest.mark.parametrize("path", PROBES, ids=[str(path.relative_to(VECTORS)) for path in PROBES])
def test_probe(path: Path) -> None:
    probe = json.loads(path.read_text(encoding="utf-8"))
    if probe["wantErr"]:
        with pytest.raises(ProofError) as caught:
            run_probe(probe)
        assert str(caught.value) == "invalid transparency proof"
    else:
        run_probe(probe)


# --- stored-hash indexing ----------------------------------------------------------------------


def append_order(records: int) -> list[tuple[int, int]]:
    """The (level, n) of every stored hash in the order appends store them (the definition)."""
    order = []
    for m in range(records):
        order.append((0, m))
        level = 1
        while (m + 1) % (1 << level) == 0:
            order.append((level, m >> level))
            level += 1
    return order


def test_stored_hash_index_follows_append_order() -> None:
    order = append_order(1 << 10)
    assert [stored_hash_index(level, n) for level, n in order] == list(range(len(order)))
    assert [split_stored_hash_index(index) for index in range(len(order))] == order
    assert [stored_hash_count(size) for size in range(1 << 10)] == [
        len(append_order(size)) for size in range(1 << 10)
    ]


@given(st.integers(0, 64), st.integers(0, 1 << 64))
def test_split_stored_hash_index_inverts_stored_hash_index(level: int, n: int) -> None:
    assert split_stored_hash_index(stored_hash_index(level, n)) == (level, n)


def test_store_holds_every_subtree_once() -> None:
    assert STORE.read_hashes(range(stored_hash_count(BIG))) == [
        ref.mth(DATA[n << level : (n + 1) << level]) for level, n in append_order(BIG)
    ]


def test_stored_hashes_for_record_hash_reads_only_the_left_siblings() -> None:
    reader = CountingReader(STORE)
    new = stored_hashes_for_record_hash(1023, leaf_hash(DATA[1023]), reader)
    assert reader.calls == [[stored_hash_index(level, (1023 >> level) - 1) for level in reversed(range(10))]]
    assert new == STORE.read_hashes(range(stored_hash_index(0, 1023), stored_hash_count(1024)))
    reader.calls.clear()
    assert stored_hashes_for_record_hash(1024, leaf_hash(DATA[1024]), reader) == [leaf_hash(DATA[1024])]
    assert reader.calls == []


# --- against the recursive reference, every tree up to 100 leaves (as Go's TestTree) -------------


def test_every_tree_up_to_100_against_reference() -> None:
    store = MemoryHashStore()
    for size in range(1, 101):
        store.append(DATA[size - 1])
        root = ref.mth(DATA[:size])
        assert tree_hash(size, store) == root == root_hash([leaf_hash(d) for d in DATA[:size]])
        for index in range(size):
            proof = prove_inclusion(size, index, store)
            assert proof == ref.path(index, DATA[:size]), (size, index)
            check_inclusion(proof, size, index, leaf_hash(DATA[index]), root)
        for old in range(1, size + 1):
            proof = prove_consistency(old, size, store)
            assert proof == ref.proof(old, DATA[:size]), (old, size)
            check_consistency(proof, old, size, ref.mth(DATA[:old]), root)


def test_in_memory_inclusion_proof_matches_reference() -> None:
    for size in range(1, 65):
        leaves = [leaf_hash(d) for d in DATA[:size]]
        for index in range(size):
            assert inclusion_proof(leaves, index) == ref.path(index, DATA[:size])


def test_root_hash_streams_from_a_generator() -> None:
    assert root_hash(leaf_hash(d) for d in DATA[:777]) == ROOTS[777] == ref.mth(DATA[:777])


# --- one read per proof, O(log n) hashes ---------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 255, 256, 257, 1000, 1023, 1024, 1025, BIG])
def test_each_proof_reads_once_and_logarithmically(size: int) -> None:
    log2 = max(size - 1, 1).bit_length()
    reader = CountingReader(STORE)
    tree_hash(size, reader)
    assert len(reader.calls) == 1 and len(reader.calls[0]) <= log2 + 1
    for index in {0, size // 2, size - 1}:
        reader.calls.clear()
        prove_inclusion(size, index, reader)
        assert len(reader.calls) <= 1 and sum(map(len, reader.calls)) <= 2 * log2
    for old in {1, size // 2 or 1, size - 1 or 1}:
        reader.calls.clear()
        prove_consistency(old, size, reader)
        assert len(reader.calls) <= 1 and sum(map(len, reader.calls)) <= 2 * log2


# --- hypothesis: proofs verify, and every change breaks them -------------------------------------

sizes = st.integers(1, BIG)


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return size, draw(st.integers(0, size - 1))


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(2, BIG))
    return draw(st.integers(1, new - 1)), new


@given(size_and_index())
def test_inclusion_proof_verifies_and_matches_memory_proof(case: tuple[int, int]) -> None:
    size, index = case
    proof = prove_inclusion(size, index, STORE)
    assert root_from_inclusion_proof(proof, size, index, leaf_hash(DATA[index])) == ROOTS[size]
    check_inclusion(proof, size, index, leaf_hash(DATA[index]), ROOTS[size])
    assert len(proof) == len(ref.path_shape(index, size))


@given(size_and_index(), st.data())
def test_inclusion_fails_for_any_flipped_bit(case: tuple[int, int], data: st.DataObject) -> None:
    size, index = case
    proof = prove_inclusion(size, index, STORE)
    leaf = leaf_hash(DATA[index])
    target = data.draw(st.sampled_from(["proof", "leaf", "root"] if proof else ["leaf", "root"]))
    bit = data.draw(st.integers(0, 255))
    if target == "proof":
        position = data.draw(st.integers(0, len(proof) - 1))
        proof[position] = flip(proof[position], bit)
    with pytest.raises(ProofError):
        check_inclusion(
            proof,
            size,
            index,
            flip(leaf, bit) if target == "leaf" else leaf,
            flip(ROOTS[size], bit) if target == "root" else ROOTS[size],
        )


@given(size_and_index(), st.integers(0, 2 * BIG))
def test_inclusion_fails_for_any_other_index(case: tuple[int, int], other: int) -> None:
    size, index = case
    if other != index:
        with pytest.raises(ProofError):
            check_inclusion(
                prove_inclusion(size, index, STORE), size, other, leaf_hash(DATA[index]), ROOTS[size]
            )


@given(size_and_index(), st.integers(0, 2 * BIG))
def test_inclusion_with_other_size_verifies_only_when_the_path_has_the_same_shape(
    case: tuple[int, int], other: int
) -> None:
    # Sizes whose path for `index` has the same shape give the same computation (for example
    # index 0 in sizes 3 and 4): a root is only meaningful together with its size.
    size, index = case
    proof = prove_inclusion(size, index, STORE)
    same_shape = other > index and ref.path_shape(index, other) == ref.path_shape(index, size)
    try:
        check_inclusion(proof, other, index, leaf_hash(DATA[index]), ROOTS[size])
    except ProofError:
        assert not same_shape
    else:
        assert same_shape


@given(size_and_index(), st.data())
def test_inclusion_fails_for_added_or_removed_hashes(case: tuple[int, int], data: st.DataObject) -> None:
    size, index = case
    proof = prove_inclusion(size, index, STORE)
    extra = data.draw(st.sampled_from([b"", ROOTS[size], leaf_hash(DATA[index]), bytes(32)]))
    position = data.draw(st.integers(0, len(proof)))
    longer = [*proof[:position], extra, *proof[position:]]
    with pytest.raises(ProofError):
        check_inclusion(longer, size, index, leaf_hash(DATA[index]), ROOTS[size])
    if proof:
        shorter = proof[:position] + proof[position + 1 :] if position < len(proof) else proof[:-1]
        with pytest.raises(ProofError):
            check_inclusion(shorter, size, index, leaf_hash(DATA[index]), ROOTS[size])


@given(old_and_new())
def test_consistency_proof_verifies(case: tuple[int, int]) -> None:
    old, new = case
    proof = prove_consistency(old, new, STORE)
    assert root_from_consistency_proof(proof, old, new, ROOTS[old]) == ROOTS[new]
    check_consistency(proof, old, new, ROOTS[old], ROOTS[new])
    assert len(proof) == len(ref.proof_shape(old, new))


@given(old_and_new(), st.data())
def test_consistency_fails_for_any_flipped_bit(case: tuple[int, int], data: st.DataObject) -> None:
    old, new = case
    proof = prove_consistency(old, new, STORE)
    target = data.draw(st.sampled_from(["proof", "old_root", "new_root"]))
    bit = data.draw(st.integers(0, 255))
    if target == "proof":
        position = data.draw(st.integers(0, len(proof) - 1))
        proof[position] = flip(proof[position], bit)
    old_root = flip(ROOTS[old], bit) if target == "old_root" else ROOTS[old]
    new_root = flip(ROOTS[new], bit) if target == "new_root" else ROOTS[new]
    with pytest.raises(ProofError):
        check_consistency(proof, old, new, old_root, new_root)


@given(old_and_new(), st.integers(0, 2 * BIG), st.integers(0, 2 * BIG), st.booleans())
def test_consistency_with_other_sizes_verifies_only_for_the_same_shape(
    case: tuple[int, int], other_old: int, other_new: int, change_both: bool
) -> None:
    old, new = case
    if not change_both:
        other_old = old
    if (other_old, other_new) == (old, new):
        return
    proof = prove_consistency(old, new, STORE)
    same_shape = 0 < other_old < other_new and ref.proof_shape(other_old, other_new) == ref.proof_shape(
        old, new
    )
    try:
        check_consistency(proof, other_old, other_new, ROOTS[old], ROOTS[new])
    except ProofError:
        assert not same_shape
    else:
        assert same_shape


@given(old_and_new(), st.data())
def test_consistency_fails_for_added_removed_or_swapped(case: tuple[int, int], data: st.DataObject) -> None:
    old, new = case
    proof = prove_consistency(old, new, STORE)
    position = data.draw(st.integers(0, len(proof)))
    extra = data.draw(st.sampled_from([b"", ROOTS[old], ROOTS[new], bytes(32)]))
    with pytest.raises(ProofError):
        check_consistency([*proof[:position], extra, *proof[position:]], old, new, ROOTS[old], ROOTS[new])
    with pytest.raises(ProofError):
        check_consistency(proof[:-1], old, new, ROOTS[old], ROOTS[new])
    with pytest.raises(ProofError):
        check_consistency(proof, old, new, ROOTS[new], ROOTS[old])


# --- edges and error messages --------------------------------------------------------------------


def test_ambiguous_size_example_from_the_shape_rule() -> None:
    proof = prove_inclusion(3, 0, STORE)
    check_inclusion(proof, 4, 0, leaf_hash(DATA[0]), ROOTS[3])  # same shape: verifies
    with pytest.raises(ProofError):
        check_inclusion(proof, 4, 0, leaf_hash(DATA[0]), ROOTS[4])


def test_equal_sizes_need_an_empty_proof_and_equal_roots() -> None:
    assert prove_consistency(5, 5, STORE) == []
    check_consistency([], 5, 5, ROOTS[5], ROOTS[5])
    for proof, new_root in (([], ROOTS[4]), ([ROOTS[5]], ROOTS[5])):
        with pytest.raises(ProofError):
            check_consistency(proof, 5, 5, ROOTS[5], new_root)


def test_proof_error_is_opaque_and_a_ledger_error() -> None:
    with pytest.raises(ProofError) as caught:
        check_inclusion([], 1, 0, leaf_hash(b"x"), EMPTY_ROOT)
    assert isinstance(caught.value, LedgerError)
    assert caught.value.args == ("invalid transparency proof",)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: prove_inclusion(3, 3, STORE), "ledger: index 3 out of range for tree size 3"),
        (lambda: prove_inclusion(-1, 0, STORE), "ledger: tree_size must be >= 0, got -1"),
        (lambda: prove_inclusion(3, True, STORE), "ledger: index must be an int, got bool"),
        (
            lambda: prove_consistency(0, 3, STORE),
            "ledger: consistency needs 0 < old_size <= new_size, got 0 and 3",
        ),
        (
            lambda: prove_consistency(4, 3, STORE),
            "ledger: consistency needs 0 < old_size <= new_size, got 4 and 3",
        ),
        (lambda: tree_hash(-5, STORE), "ledger: tree_size must be >= 0, got -5"),
        (lambda: stored_hash_index(-1, 0), "ledger: level must be >= 0, got -1"),
        (lambda: split_stored_hash_index(-2), "ledger: index must be >= 0, got -2"),
        (lambda: check_inclusion([], -1, 0, bytes(32), bytes(32)), "ledger: tree_size must be >= 0, got -1"),
        (lambda: check_consistency([], 1, -2, bytes(32), bytes(32)), "ledger: new_size must be >= 0, got -2"),
        (lambda: root_hash([bytes(31)]), "ledger: leaf_hashes[0] must be 32 bytes, got 31"),
        (lambda: inclusion_proof([bytes(32)], 1), "ledger: index 1 out of range for tree size 1"),
        (lambda: inclusion_proof([bytes(32), b"x"], 0), "ledger: leaf_hashes[1] must be 32 bytes, got 1"),
        (
            lambda: stored_hashes_for_record_hash(0, b"short", STORE),
            "ledger: record_hash must be 32 bytes, got 5",
        ),
        (
            lambda: STORE.read_hashes([stored_hash_count(BIG)]),
            f"ledger: stored hash index {stored_hash_count(BIG)}",
        ),
    ],
)
def test_caller_errors_raise_value_error_naming_the_field(call: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    assert str(caught.value).startswith(message)


class ShortReader:
    def __init__(self, result: list[bytes]) -> None:
        self.result = result

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return self.result


def test_a_misbehaving_reader_raises_storage_error() -> None:
    with pytest.raises(StorageError, match=r"^ledger: read_hashes returned 1 hashes, want 2$"):
        tree_hash(3, ShortReader([bytes(32)]))
    with pytest.raises(StorageError, match=r"^ledger: read_hashes returned hash 1 of 3 bytes, want 32$"):
        prove_inclusion(3, 0, ShortReader([bytes(32), b"abc"]))


def test_module_docstring_examples_run() -> None:
    for module in (tree, tiles, checkpoint, receipt):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
