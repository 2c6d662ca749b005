"""The RFC 9162 Merkle tree of the log: hashing, stored-hash indexes, proofs.

Hashing (RFC 9162 §2.1.1, the same as RFC 6962 §2.1), with SHA-256:

- the empty tree:  ``MTH({}) = SHA-256("")``
- a leaf:          ``SHA-256(0x00 || data)``
- a node:          ``SHA-256(0x01 || left || right)``, where the left subtree holds the
  largest power of two of leaves strictly smaller than the whole.

Storage. Every complete subtree hash is stored exactly once, in the order it becomes
known as records are appended: appending record ``m`` stores its leaf hash, then one
hash for each subtree that ``m`` completes (one per trailing 1 bit of ``m``). The hash
of the complete subtree at height ``level`` whose leftmost leaf is ``n << level`` is
therefore stored right after record ``m = ((n + 1) << level) - 1``, at offset ``level``.
Before record ``m``, ``m + (m - popcount(m)) = 2m - popcount(m)`` hashes were stored
(Legendre: the trailing-zero counts of 1..m sum to ``m - popcount(m)``), so::

    stored_hash_index(level, n) = 2m - popcount(m) + level,  m = ((n + 1) << level) - 1

Proofs are built from these stored hashes with one ``HashReader.read_hashes`` call each,
and checked with the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, step by step.

A three-record log, its root, and a proof that it holds record 2:

>>> store = MemoryHashStore()
>>> for data in (b"one", b"two", b"three"):
...     _ = store.append(data)
>>> stored_hash_count(3), stored_hash_index(1, 0)
(4, 2)
>>> root = tree_hash(3, store)
>>> root == root_hash([leaf_hash(b"one"), leaf_hash(b"two"), leaf_hash(b"three")])
True
>>> proof = prove_inclusion(3, 2, store)
>>> proof == [node_hash(leaf_hash(b"one"), leaf_hash(b"two"))]
True
>>> check_inclusion(proof, 3, 2, leaf_hash(b"three"), root)
"""

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from ledger.errors import ProofError, StorageError

HASH_SIZE = 32
"""Bytes in every hash of the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""RFC 9162 §2.1.1: the root of the empty tree, ``SHA-256("")``."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class HashReader(Protocol):
    """Where stored hashes come from (a table, a list, tiles)."""

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the stored hashes at ``indexes`` (see ``stored_hash_index``), in that order.

        Must return exactly one 32-byte hash per index or raise. Indexes are passed
        in increasing order when a caller can arrange it, so storage can answer them
        with one range or ``IN`` query.
        """
        ...


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 §2.1.1 leaf hash of ``data``: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# ---------------------------------------------------------------------------
# Stored-hash indexing.


def _records_before(m: int) -> int:
    """Return how many hashes are stored before record ``m``'s leaf hash: 2m - popcount(m)."""
    return 2 * m - m.bit_count()


def _trailing_ones(m: int) -> int:
    """Return the number of trailing 1 bits of ``m``: how many subtrees record ``m`` completes."""
    return ((m + 1) & -(m + 1)).bit_length() - 1


def stored_hash_index(level: int, n: int) -> int:
    """Return where the hash of complete subtree ``n`` at height ``level`` is stored.

    The subtree covers leaves ``[n << level, (n + 1) << level)``; level 0 holds the
    leaf hashes. Requires ``level >= 0`` and ``n >= 0``; raises ValueError otherwise.
    O(1) big-integer operations.
    """
    _require_natural("level", level)
    _require_natural("n", n)
    last_record = ((n + 1) << level) - 1
    return _records_before(last_record) + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """Return ``(level, n)`` stored at ``index``: the inverse of ``stored_hash_index``.

    Requires ``index >= 0``; raises ValueError otherwise. O(log index) steps.
    """
    _require_natural("index", index)
    # _records_before(m) lies in [2m - bitlen(m), 2m], so the record that stored
    # `index` is at least index // 2 and at most about log2(index) / 2 further on.
    record = index // 2
    while _records_before(record + 1) <= index:
        record += 1
    level = index - _records_before(record)
    if level > _trailing_ones(record):
        raise AssertionError("ledger: bad math in split_stored_hash_index")
    return level, record >> level


def stored_hash_count(tree_size: int) -> int:
    """Return how many hashes are stored for a tree of ``tree_size`` records: 2n - popcount(n).

    Requires ``tree_size >= 0``; raises ValueError otherwise.
    """
    _require_natural("tree_size", tree_size)
    return _records_before(tree_size)


def stored_hashes_for_record_hash(n: int, record_hash: bytes, reader: HashReader) -> list[bytes]:
    """Return the hashes to store when record ``n`` with leaf hash ``record_hash`` is appended.

    They go at indexes ``stored_hash_index(0, n)`` onwards: the leaf hash, then the hash
    of every complete subtree that record ``n`` finishes, lowest first. Requires that
    records ``0..n-1`` are stored. Reads at most log2(n) earlier hashes in one call.
    Raises ValueError on bad input, StorageError if ``reader`` misbehaves.
    """
    _require_natural("n", n)
    _require_hash("record_hash", record_hash)
    completed = _trailing_ones(n)
    # The left sibling of the new subtree at height `level` is subtree (n >> level) - 1.
    indexes = [stored_hash_index(level, (n >> level) - 1) for level in reversed(range(completed))]
    siblings = read_stored_hashes(reader, indexes)
    hashes = [record_hash]
    for sibling in reversed(siblings):
        hashes.append(node_hash(sibling, hashes[-1]))
    return hashes


def read_stored_hashes(reader: HashReader, indexes: Sequence[int]) -> list[bytes]:
    """Return ``reader.read_hashes(indexes)`` after checking its contract; skip empty reads.

    Makes at most one call. Raises StorageError if the reader returns the wrong
    number of hashes or a hash that is not 32 bytes.
    """
    if not indexes:
        return []
    hashes = reader.read_hashes(indexes)
    if len(hashes) != len(indexes):
        raise StorageError(f"ledger: read_hashes returned {len(hashes)} hashes, want {len(indexes)}")
    for position, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise StorageError(f"ledger: read_hashes returned hash {position} of {len(value)} bytes, want 32")
    return hashes


# ---------------------------------------------------------------------------
# Tree hashes and proof generation from stored hashes.


def _split_point(size: int) -> int:
    """Return k, the largest power of two smaller than ``size`` (RFC 9162 §2.1.1). Requires size > 1."""
    return 1 << ((size - 1).bit_length() - 1)


def _subtree_indexes(lo: int, hi: int) -> list[int]:
    """Return the stored indexes of the complete subtrees that make up leaves [lo, hi), left first.

    Requires ``lo`` to start a subtree of the RFC split, as every range below does:
    then ``lo`` is a multiple of the largest power of two not exceeding ``hi - lo``.
    """
    indexes = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo % (1 << level):
            raise AssertionError("ledger: bad math in _subtree_indexes")
        indexes.append(stored_hash_index(level, lo >> level))
        lo += 1 << level
    return indexes


def _subtree_hash(hashes: Sequence[bytes]) -> bytes:
    """Return MTH of a range from its complete-subtree hashes, left first (folded from the right)."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _read_groups(reader: HashReader, groups: list[list[int]]) -> list[bytes]:
    """Read every group of stored indexes in one call; return one subtree hash per group."""
    hashes = read_stored_hashes(reader, [index for group in groups for index in group])
    result, start = [], 0
    for group in groups:
        result.append(_subtree_hash(hashes[start : start + len(group)]))
        start += len(group)
    return result


def tree_hash(tree_size: int, reader: HashReader) -> bytes:
    """Return the root hash MTH(D[0:tree_size]) of the stored tree.

    Requires ``tree_size >= 0`` and records ``0..tree_size-1`` stored. Reads at most
    log2(n) + 1 stored hashes in one call. Raises ValueError, StorageError.
    """
    _require_natural("tree_size", tree_size)
    if tree_size == 0:
        return EMPTY_ROOT
    return _read_groups(reader, [_subtree_indexes(0, tree_size)])[0]


def _inclusion_indexes(index: int, tree_size: int) -> list[list[int]]:
    """Return the stored-index groups of PATH(index, D[0:tree_size]), leaf side first.

    RFC 9162 §2.1.3.1: with k the split point, PATH(m, D[n]) is
    PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]).
    Walks down from the root, so the groups are collected root side first, then reversed.
    """
    groups = []
    lo, hi = 0, tree_size
    while hi - lo > 1:
        k = _split_point(hi - lo)
        if index < lo + k:
            groups.append(_subtree_indexes(lo + k, hi))
            hi = lo + k
        else:
            groups.append(_subtree_indexes(lo, lo + k))
            lo += k
    groups.reverse()
    return groups


def prove_inclusion(tree_size: int, index: int, reader: HashReader) -> list[bytes]:
    """Return the proof that the tree of size ``tree_size`` contains record ``index``.

    The proof is the RFC 9162 §2.1.3.1 inclusion path, leaf side first. Requires
    ``0 <= index < tree_size``. Reads at most 2·log2(n) stored hashes in one call.
    Raises ValueError on bad input, StorageError if ``reader`` misbehaves.
    """
    _require_natural("tree_size", tree_size)
    _require_natural("index", index)
    if index >= tree_size:
        raise ValueError(f"ledger: index {index} out of range for tree size {tree_size}")
    return _read_groups(reader, _inclusion_indexes(index, tree_size))


def _consistency_indexes(old_size: int, new_size: int) -> list[list[int]]:
    """Return the stored-index groups of PROOF(old_size, D[0:new_size]), deepest first.

    RFC 9162 §2.1.4.1, SUBPROOF(m, D[n], b): if m == n it is [] when b (the subtree is
    the old tree itself) and [MTH(D[n])] otherwise; if m <= k it is
    SUBPROOF(m, D[0:k], b) : MTH(D[k:n]), else SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
    """
    groups = []
    lo, hi = 0, new_size
    while hi != old_size:
        k = _split_point(hi - lo)
        if old_size <= lo + k:
            groups.append(_subtree_indexes(lo + k, hi))
            hi = lo + k
        else:
            groups.append(_subtree_indexes(lo, lo + k))
            lo += k
    if lo != 0:
        groups.append(_subtree_indexes(lo, hi))
    groups.reverse()
    return groups


def prove_consistency(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """Return the proof that the tree of ``new_size`` extends the tree of ``old_size``.

    The proof is the RFC 9162 §2.1.4.1 consistency proof; it is empty when the sizes
    are equal. Requires ``0 < old_size <= new_size`` (a proof from the empty tree means
    nothing). Reads at most 2·log2(n) stored hashes in one call. Raises ValueError on
    bad input, StorageError if ``reader`` misbehaves.
    """
    _require_natural("old_size", old_size)
    _require_natural("new_size", new_size)
    if not 0 < old_size <= new_size:
        raise ValueError(f"ledger: consistency needs 0 < old_size <= new_size, got {old_size} and {new_size}")
    return _read_groups(reader, _consistency_indexes(old_size, new_size))


# ---------------------------------------------------------------------------
# Proof verification: compute, then compare.


def root_from_inclusion_proof(proof: Sequence[bytes], tree_size: int, index: int, leaf_hash: bytes) -> bytes:
    """Return the root that ``proof`` implies for record ``index`` with ``leaf_hash``.

    Runs RFC 9162 §2.1.3.2 steps 1-4 and the ``sn == 0`` part of step 5. Raises ValueError
    for a negative size or index, ProofError for anything else the proof cannot carry
    (index out of range, a hash that is not 32 bytes, a path of the wrong length).
    O(len(proof)) hashes.
    """
    _require_natural("tree_size", tree_size)
    _require_natural("index", index)
    if index >= tree_size or len(leaf_hash) != HASH_SIZE or not _all_hashes(proof):
        raise ProofError
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn & 1 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError
    return r


def check_inclusion(
    proof: Sequence[bytes], tree_size: int, index: int, leaf_hash: bytes, root: bytes
) -> None:
    """Check that ``proof`` shows record ``index`` with ``leaf_hash`` in the tree (``tree_size``, ``root``).

    RFC 9162 §2.1.3.2. Returns None; raises ProofError if the proof fails, ValueError for
    a negative size or index.
    """
    if root_from_inclusion_proof(proof, tree_size, index, leaf_hash) != root:
        raise ProofError


def root_from_consistency_proof(
    proof: Sequence[bytes], old_size: int, new_size: int, old_root: bytes
) -> bytes:
    """Return the new root that ``proof`` implies, after checking it reproduces ``old_root``.

    RFC 9162 §2.1.4.2. As in transparency-dev/merkle: ``old_size == 0`` is rejected
    (nothing is proven from the empty tree), equal sizes need an empty proof and give
    ``old_root`` back. Raises ValueError for negative sizes, ProofError otherwise.
    """
    _require_natural("old_size", old_size)
    _require_natural("new_size", new_size)
    if old_size == 0 or new_size < old_size:
        raise ProofError
    if old_size == new_size:
        if proof:
            raise ProofError
        return old_root
    if not proof or len(old_root) != HASH_SIZE or not _all_hashes(proof):
        raise ProofError
    return _run_consistency_proof(proof, old_size, new_size, old_root)


def _run_consistency_proof(proof: Sequence[bytes], first: int, second: int, first_hash: bytes) -> bytes:
    """Run RFC 9162 §2.1.4.2 steps 2-7 for 0 < first < second and a non-empty proof."""
    path = list(proof)
    if first & (first - 1) == 0:  # step 2: first is an exact power of 2
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofError
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != first_hash:  # step 7, first half
        raise ProofError
    return sr


def check_consistency(
    proof: Sequence[bytes], old_size: int, new_size: int, old_root: bytes, new_root: bytes
) -> None:
    """Check that ``proof`` shows the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    RFC 9162 §2.1.4.2; requires ``0 < old_size <= new_size`` like transparency-dev/merkle.
    Returns None; raises ProofError if the proof fails, ValueError for negative sizes.
    """
    if root_from_consistency_proof(proof, old_size, new_size, old_root) != new_root:
        raise ProofError


# ---------------------------------------------------------------------------
# In-memory trees.


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return MTH over ``leaf_hashes`` (RFC 9162 §2.1.1).

    Computed level by level: each level pairs its nodes left to right and a last node without a
    sibling moves up unchanged, which equals the recursive MTH. O(n) hashes and O(n) memory.
    Raises ValueError for a leaf hash that is not 32 bytes.
    """
    level = list(leaf_hashes)
    if not all(type(value) is bytes and len(value) == HASH_SIZE for value in level):
        for position, value in enumerate(level):
            _require_hash(f"leaf_hashes[{position}]", value)
    if not level:
        return EMPTY_ROOT
    sha256 = hashlib.sha256
    while len(level) > 1:
        odd = level[-1:] if len(level) % 2 else []
        level = [sha256(_NODE_PREFIX + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=False)]
        level += odd
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion path for ``leaf_hashes[index]``, leaf side first.

    Requires ``0 <= index < len(leaf_hashes)``. O(n) hashes and memory. Raises ValueError.
    """
    _require_natural("index", index)
    if index >= len(leaf_hashes):
        raise ValueError(f"ledger: index {index} out of range for tree size {len(leaf_hashes)}")
    for position, value in enumerate(leaf_hashes):
        _require_hash(f"leaf_hashes[{position}]", value)
    proof = []
    level = list(leaf_hashes)
    while len(level) > 1:
        # A node without a right sibling moves up unchanged and adds nothing to the path.
        if index ^ 1 < len(level):
            proof.append(level[index ^ 1])
        level = [_pair(level, i) for i in range(0, len(level), 2)]
        index >>= 1
    return proof


def _pair(level: list[bytes], i: int) -> bytes:
    """Return the parent of ``level[i]`` and ``level[i + 1]``, or ``level[i]`` if it has no sibling."""
    return node_hash(level[i], level[i + 1]) if i + 1 < len(level) else level[i]


class MemoryHashStore:
    """A list-backed store of a log's hashes, for tests and small in-memory logs.

    Implements ``HashReader``. Appending costs O(log n) time; it holds 2n hashes.
    """

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        self._tree_size = 0

    @property
    def tree_size(self) -> int:
        """The number of records appended so far."""
        return self._tree_size

    def append(self, data: bytes) -> int:
        """Append a record with raw ``data`` and return its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, record_hash: bytes) -> int:
        """Append a record by its leaf hash and return its index. Raises ValueError for a bad hash."""
        index = self._tree_size
        if stored_hash_index(0, index) != len(self._hashes):
            raise AssertionError("ledger: MemoryHashStore out of step with stored_hash_index")
        self._hashes.extend(stored_hashes_for_record_hash(index, record_hash, self))
        self._tree_size += 1
        return index

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the stored hashes at ``indexes``. Raises ValueError for an index not stored."""
        for index in indexes:
            if not 0 <= index < len(self._hashes):
                raise ValueError(f"ledger: stored hash index {index} out of range 0..{len(self._hashes) - 1}")
        return [self._hashes[index] for index in indexes]

    def root(self) -> bytes:
        """Return the root hash of the whole stored tree."""
        return tree_hash(self._tree_size, self)


# ---------------------------------------------------------------------------
# Argument checks.


def _require_natural(name: str, value: int) -> None:
    """Raise ValueError unless ``value`` is an int >= 0 (bool excluded)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"ledger: {name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"ledger: {name} must be >= 0, got {value}")


def _require_hash(name: str, value: bytes) -> None:
    """Raise ValueError unless ``value`` is 32 bytes."""
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        got = len(value) if isinstance(value, bytes) else type(value).__name__
        raise ValueError(f"ledger: {name} must be {HASH_SIZE} bytes, got {got}")


def _all_hashes(proof: Sequence[bytes]) -> bool:
    """Return whether every element of ``proof`` is a 32-byte ``bytes``."""
    return all(isinstance(p, bytes) and len(p) == HASH_SIZE for p in proof)
