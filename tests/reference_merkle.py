"""RFC 9162 §2.1 written as its recursive definitions, to check the stored-hash code against.

Slow on purpose and independent of ``ledger.tree``: only hashlib. ``D`` is a list of leaf
inputs (raw data, not hashes). The ``*_shape`` functions follow the same recursions but
record, instead of hashes, on which side each proof hash joins the path.
"""

import hashlib


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(d: list[bytes]) -> bytes:
    """MTH(D[n]), RFC 9162 §2.1.1."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = split(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 §2.1.3.1."""
    if len(d) == 1:
        return []
    k = split(len(d))
    return [*path(m, d[:k]), mth(d[k:])] if m < k else [*path(m - k, d[k:]), mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 9162 §2.1.4.1."""
    return subproof(m, d, True)


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1."""
    if m == len(d):
        return [] if b else [mth(d)]
    k = split(len(d))
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def path_shape(m: int, n: int) -> list[str]:
    """PATH(m, D[n]) with each hash replaced by the side it joins on: "R" (right sibling) or "L"."""
    if n == 1:
        return []
    k = split(n)
    return [*path_shape(m, k), "R"] if m < k else [*path_shape(m - k, n - k), "L"]


def proof_shape(m: int, n: int, b: bool = True) -> list[str]:
    """SUBPROOF(m, D[n], b) the same way; "seed" marks the subtree hash a proof starts from."""
    if m == n:
        return [] if b else ["seed"]
    k = split(n)
    return [*proof_shape(m, k, b), "R"] if m <= k else [*proof_shape(m - k, n - k, False), "L"]
