"""The draw vectors (tests/vectors/draw/): the engine writes them, the spec's second implementation
(tests/spec_draw/reference.py) reproduces them byte for byte, and every named mutation fails with
the reason docs/draw-spec.md §15 gives it.
"""

from __future__ import annotations

import json
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pytest

from draw.engine.verify import DrawVerificationError, verify_draw
from tests.spec_draw import make_vectors, reference

VECTORS = Path(__file__).parent / "vectors" / "draw"
FILES = sorted(VECTORS.glob("*/*.json"))
HAPPY = sorted(VECTORS.glob("*/happy-path.json"))


def load(path: Path) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return content


def test_there_are_vectors() -> None:
    assert len(HAPPY) == 2
    assert len(FILES) >= 30


def test_the_engine_still_writes_exactly_these_vectors() -> None:
    written = {
        f"{folder}/{name}.json": content
        for folder, files in make_vectors.cases().items()
        for name, content in files.items()
    }
    stored = {f"{p.parent.name}/{p.name}": load(p) for p in FILES}
    assert written.keys() == stored.keys()
    for name, content in written.items():
        assert json.loads(json.dumps(content, ensure_ascii=False)) == stored[name], name


@pytest.mark.parametrize("path", HAPPY, ids=lambda p: p.parent.name)
def test_reference_reproduces_the_commitment(path: Path) -> None:
    v = load(path)
    c = reference.commit(v["inputs"])
    assert c["encoded"].decode() == v["verify"]["commitment"]
    assert c["hash"].hex() == v["outputs"]["commitment_hash"]
    assert {a: b.hex() for a, b in c["blobs"].items()} == v["verify"]["blobs"]
    for stratum, leaves in v["outputs"]["leaves"].items():
        assert [x.hex() for x in c["leaves"][stratum]] == leaves
    secret = bytes.fromhex(v["inputs"]["secret"])
    salts = [reference.salt(secret, obj["id"]).hex() for obj in v["inputs"]["objects"]]
    assert salts == v["outputs"]["salts"]


@pytest.mark.parametrize("path", HAPPY, ids=lambda p: p.parent.name)
def test_reference_reproduces_the_result_and_replacements(path: Path) -> None:
    v = load(path)
    c = reference.commit(v["inputs"])
    d = reference.draw(v["inputs"], c)
    assert d["seed"].hex() == v["outputs"]["seed"]
    for stratum, leaves in c["leaves"].items():
        tickets = [reference.ticket(d["seed"], stratum, x).hex() for x in leaves]
        assert tickets == v["outputs"]["tickets"][stratum]
    assert d["targets"] == v["outputs"]["targets"]
    assert d["encoded"].decode() == v["verify"]["result"]
    assert d["hash"].hex() == v["outputs"]["result_hash"] == v["verify"]["sealed"]
    replacements = reference.replacements(v["inputs"], c, d)
    assert [r.decode() for r in replacements] == v["verify"]["replacements"]
    hashes = [reference.sha256(reference.tag("replacement") + r).hex() for r in replacements]
    assert hashes == v["outputs"]["replacement_hashes"]


def test_the_basic_case_covers_what_it_claims() -> None:
    v = load(VECTORS / "basic" / "happy-path.json")
    kinds = {
        obj["id"].split(":")[0] if ":" in obj["id"] else len(obj["id"]) for obj in v["inputs"]["objects"]
    }
    assert kinds == {18, 15, "product", "project", "behaviour"}
    takes = [(rule["take"], rule["batch_size"]) for rule in v["inputs"]["request"]["strata"]]
    assert takes == [("ratio", None), ("ratio", None), ("count", None), ("all", 2)]
    result = json.loads(v["verify"]["result"])
    assert result["teams"]["ineligible"] == [{"inspector": "ZF-109", "reason": "certificate"}]
    assert len(v["verify"]["replacements"]) == 2


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_verify_gives_each_vector_its_verdict(path: Path) -> None:
    v = load(path)
    if v["want_err"] is None:
        verify_draw(*make_vectors.verify_inputs(v["verify"]))
        return
    with pytest.raises(DrawVerificationError) as e:
        verify_draw(*make_vectors.verify_inputs(v["verify"]))
    assert e.value.reason == v["want_err"]
    assert str(e.value) == f"invalid draw: {v['want_err']}"


def test_a_process_pool_gives_each_vector_its_verdict(process_pool: Executor) -> None:
    # The roots are then compared after the later checks: a root mismatch must still come first.
    for path in FILES:
        v = load(path)
        try:
            verify_draw(*make_vectors.verify_inputs(v["verify"]), executor=process_pool)
        except DrawVerificationError as e:
            assert (path.stem, e.reason) == (path.stem, v["want_err"])
        else:
            assert (path.stem, None) == (path.stem, v["want_err"])


def spec_failure_names() -> set[str]:
    """Return the failure names of the verification table, docs/draw-spec.md §15."""
    spec = (Path(__file__).parent.parent / "docs" / "draw-spec.md").read_text(encoding="utf-8")
    section = spec[spec.index("## 15. Verification") : spec.index("## 16.")]
    names: set[str] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) == 5 and cells[1].isdigit():
            names.update(n.strip().strip("`") for n in cells[3].split(","))
    return names


def test_every_failure_of_the_spec_has_a_vector() -> None:
    names = spec_failure_names()
    assert len(names) == 27
    tested_elsewhere = {"matching inputs malformed"}  # tests/test_draw_verify.py
    assert names - tested_elsewhere == {load(p)["want_err"] for p in FILES} - {None}
