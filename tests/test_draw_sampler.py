"""The baseline samplers of bench/consistent_sampler.py against their published vectors."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads(
    (ROOT / "tests" / "vectors" / "rivest-sampler" / "rivest-sampler.json").read_text("utf-8")
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "consistent_sampler", ROOT / "bench" / "consistent_sampler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("consistent_sampler", module)
    spec.loader.exec_module(module)
    return module


cs = _load()


@pytest.mark.parametrize(
    "case", VECTORS["rivest_sampler_tests"]["tests"], ids=lambda c: repr(c["data"]["seed"])
)
def test_rivest_2011_published_cases(case: dict[str, Any]) -> None:
    data = case["data"]
    assert cs.rivest_draws(data["seed"], 1, data["total"], data["count"], True) == case["expected"]


def test_rivest_2011_transcript_without_replacement() -> None:
    t = VECTORS["sampler_py_transcript"]
    assert "".join(t["seed_values"]) == t["seed"]
    want = [d["pick"] for d in t["draws"] if not d.get("duplicate_rejected")]
    assert cs.rivest_draws(t["seed"], t["a"], t["b"], len(want), False) == want
    assert cs.rivest_draws(t["seed"], t["a"], t["b"], 47, False)[-1] == t["derived_next"]["pick"]


def _examples(function: str) -> list[dict[str, Any]]:
    return [c for c in VECTORS["consistent_sampler_examples"]["cases"] if c["function"] == function]


def test_consistent_sampler_building_blocks() -> None:
    (case,) = _examples("trim")
    assert cs.trim(*case["args"]) == case["result"]
    (case,) = _examples("sha256_hex")
    assert cs.sha256_hex(*case["args"]) == case["result"]
    (case,) = _examples("sha256_uniform")
    assert cs.sha256_uniform(*case["args"]) == case["result"]
    (case,) = _examples("first_fraction")
    assert cs.first_fraction(*case["args"]) == case["result"]
    (case,) = _examples("next_fraction")
    assert cs.next_fraction(*case["args"]) == case["result"]
    (case,) = _examples("next_ticket")
    ticket = case["args"][0]
    assert cs.next_fraction(ticket["ticket_number"]) == case["result"]["ticket_number"]


def test_consistent_sampler_heap_and_draws() -> None:
    (case,) = _examples("make_ticket_heap")
    ids, k, seed = case["args"]
    got = sorted(cs.sampler(ids, seed, take=k, digits=1000))
    want = case["result_heap_order_partial"]
    assert [(t.number, t.id, t.generation) for t in got] == [
        (w["ticket_number"], w["id"], w["generation"]) for w in want
    ]
    (case,) = _examples("draw_with_replacement")
    x = case["heap_after_order"][-1]
    assert cs.next_fraction(case["result"]["ticket_number"]) == x["ticket_number"]


def test_consistent_sampler_examples() -> None:
    with_replacement, partial = _examples("sampler")
    kwargs = with_replacement["kwargs"]
    got = [t.id for t in cs.sampler(with_replacement["args"][0], kwargs["seed"], True, take=kwargs["take"])]
    assert got == with_replacement["result"]
    got3 = [list(t) for t in cs.sampler(partial["args"][0], partial["kwargs"]["seed"])][:3]
    assert got3 == partial["result_partial"]


def test_arlo_draw_sample_snapshot() -> None:
    a = VECTORS["arlo_draw_sample"]
    ballots = [(batch, position) for batch, positions in a["manifest"].items() for position in positions]
    call = a["sampler_call"]
    got = cs.sampler(
        ballots, a["seed"], call["with_replacement"], take=a["sample_size"], digits=call["digits"]
    )
    assert [[t.number, list(t.id), t.generation] for t in got] == a["expected"]
