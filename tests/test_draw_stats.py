"""Statistical checks of the selection (docs/draw-spec.md §11.2): inclusion frequencies match k/N and
positions are uniform. Seeds are fixed, so each test gives the same verdict on every run.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from draw.engine import commit, select
from draw.engine import seed as seed_
from tests.spec_draw import make_vectors

DRAWS = 4000


def chi2_sf(x: float, df: int) -> float:
    """Return P[χ²(df) > x] = 1 − P(df/2, x/2), the regularized lower gamma by its power series."""
    a, z = df / 2, x / 2
    term = total = 1 / a
    n = 0
    while term > 1e-17 * total:
        n += 1
        term *= z / (a + n)
        total += term
    return 1 - math.exp(a * math.log(z) - z - math.lgamma(a)) * total


def test_chi2_sf_against_table_values() -> None:
    # Critical values of the χ² distribution (any statistics table).
    assert abs(chi2_sf(43.820, 19) - 0.001) < 2e-5
    assert abs(chi2_sf(3.841, 1) - 0.05) < 2e-5
    assert abs(chi2_sf(18.307, 10) - 0.05) < 2e-5


def chi2(observed: list[int], expected: list[float]) -> float:
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


def seeds(count: int) -> list[bytes]:
    commitment_hash = hashlib.sha256(b"fairdraw stats").digest()
    return [seed_.derive_seed(commitment_hash, [i.to_bytes(32, "big")]) for i in range(count)]


def test_inclusion_and_position_are_uniform() -> None:
    leaves = sorted(hashlib.sha256(bytes([i])).digest() for i in range(20))
    k = 5
    included: Counter[bytes] = Counter()
    placed: Counter[tuple[bytes, int]] = Counter()
    for s in seeds(DRAWS):
        for position, (_, leaf) in enumerate(select.lowest_tickets(s, "A", leaves, k)):
            included[leaf] += 1
            placed[leaf, position] += 1
    # Each object is drawn with probability k/N = 1/4: 1000 times in 4000 draws.
    counts = [included[x] for x in leaves]
    assert chi2_sf(chi2(counts, [DRAWS * k / 20] * 20), 19) > 0.001
    # Each of the 5 positions goes to each object with probability 1/20: 200 times.
    cells = [placed[x, p] for x in leaves for p in range(k)]
    assert chi2_sf(chi2(cells, [DRAWS / 20] * len(cells)), 5 * 19) > 0.001


def test_stratified_inclusion_matches_k_over_n() -> None:
    objects = make_vectors.synthetic_objects(90, strata="AABBBBCCCD")
    req = make_vectors.request("confidential", False)
    c = commit.commit_draw(req, objects, make_vectors.SECRET)
    counts: Counter[str] = Counter()
    draws = 1500
    for i in range(draws):
        result = select.draw(
            c, objects, make_vectors.SECRET, [hashlib.sha256(bytes(i.to_bytes(4, "big"))).digest()]
        )
        counts.update(p.obj.id for s in result.strata for p in s.picks)
    for population in c.strata:
        ids = [objects[i].id for i in population.origin]
        n, k = len(ids), population.k
        observed = [counts[x] for x in ids]
        assert sum(observed) == draws * k
        if 0 < k < n:
            assert chi2_sf(chi2(observed, [draws * k / n] * n), n - 1) > 0.001, population.rule.stratum
        else:
            assert set(observed) == {draws * k // n}  # all or nothing: every object, every time
