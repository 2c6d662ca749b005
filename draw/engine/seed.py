"""The draw seed (docs/draw-spec.md §10): the commitment hash and every declared source's value.

::

    seed = SHA-256("fairdraw-draw/1 seed" || 0x00 || commitment_hash || u32be(n)
                   || for each declared source, in declared order: u32be(len(value)) || value)

Each value is the verified output of its source (docs/draw-spec-randomness.md): the drand
randomness, the ceremony value, the lottery value. A draw has a seed only once every declared
source has a value; a source that is void by its own rules voids the draw instead.

>>> derive_seed(bytes(32), [bytes(32)]).hex()[:16]
'b75e1d8107e64552'
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from draw.engine import model

MAX_SOURCES = 16
MAX_VALUE_SIZE = 1024

_SEED_TAG = model.domain_tag("seed")


def derive_seed(commitment_hash: bytes, source_values: Sequence[bytes]) -> bytes:
    """Return the 32-byte seed of a draw from its commitment hash and its sources' values.

    Requires a 32-byte hash and 1..16 values of 1..1024 bytes, in the declared order.
    Raises ValueError naming the argument otherwise.
    """
    if not isinstance(commitment_hash, bytes) or len(commitment_hash) != 32:
        raise ValueError("draw: commitment hash: want 32 bytes")
    if not 1 <= len(source_values) <= MAX_SOURCES:
        raise ValueError(f"draw: source values: {len(source_values)} given, want 1..{MAX_SOURCES}")
    parts = [_SEED_TAG, commitment_hash, struct.pack(">I", len(source_values))]
    for i, value in enumerate(source_values):
        if not isinstance(value, bytes) or not 1 <= len(value) <= MAX_VALUE_SIZE:
            raise ValueError(f"draw: source values[{i}]: want 1..{MAX_VALUE_SIZE} bytes")
        parts += (struct.pack(">I", len(value)), value)
    return hashlib.sha256(b"".join(parts)).digest()
