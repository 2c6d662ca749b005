"""bench/draw_bench.py still runs: every stage, with and without the roots computed aside, at a
small N (its figures are meaningless there; docs/benchmarks.md has the real ones)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import draw_bench


def test_the_draw_benchmark_prints_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    draw_bench.main(["--n", "3000", "--repeat", "2", "--skip-arlo"])
    out = capsys.readouterr().out
    ratios = out[out.index("ratios to the floor") :]
    for _, label, _ in draw_bench.ROWS:
        assert f"  {label} " in ratios
    assert "peak RSS of a worker" in out
