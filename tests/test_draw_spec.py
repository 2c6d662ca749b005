"""docs/draw-spec.md stays true: its examples, tables and the modules' doctests are checked against
the engine and against the spec's second implementation (tests/spec_draw/reference.py).
"""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from draw.engine import commit, model, seed, select, uscc
from tests.spec_draw import reference

SPEC = (Path(__file__).parent.parent / "docs" / "draw-spec.md").read_text(encoding="utf-8")


def example(name: str) -> list[str]:
    match = re.search(rf"```draw-example {name}\n(.*?)```", SPEC, re.S)
    assert match, name
    return match[1].splitlines()


def values(name: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in (line.split("=", 1) for line in example(name))}


def section(title: str) -> str:
    start = SPEC.index(title)
    return SPEC[start : SPEC.index("\n## ", start + 1)]


def test_sample_size_examples() -> None:
    lines = example("sample-sizes")
    assert len(lines) == 8
    for line in lines:
        given, want = line.split(" -> k=")
        fields = dict(part.split("=") for part in given.split())
        n = int(fields.pop("N"))
        record: dict[str, Any] = {
            "ratio": None,
            "rounding": None,
            "count": None,
            "min": None,
            "max": None,
            "batch_size": None,
        }
        for key, value in fields.items():
            record[key] = int(value) if key in ("count", "min", "max") else value
        rule = model.StratumRule("A", **record)
        model.check_rule(rule)
        assert model.sample_size(rule, n) == int(want) == reference.sample_size(model.rule_record(rule), n)


def test_leaf_example() -> None:
    v = values("leaf")
    secret = bytes.fromhex(v["secret"])
    obj = model.parse_object_record(json.loads(v["record"]))
    assert obj.id == v["id"]
    salt = commit.derive_salt(secret, obj.id)
    assert salt.hex() == v["salt"] == reference.salt(secret, obj.id).hex()
    leaf = commit.leaf_commitment(salt, commit.encode_object(obj))
    assert leaf.hex() == v["leaf"] == reference.leaf(salt, model.object_record(obj)).hex()
    assert commit.secret_hash(secret).hex() == v["secret_hash"]


def test_seed_example() -> None:
    v = values("seed")
    got = seed.derive_seed(bytes.fromhex(v["commitment_hash"]), [bytes.fromhex(v["values"])])
    assert got.hex() == v["seed"] == reference.seed(bytes(32), [bytes(32)]).hex()


def test_ticket_example() -> None:
    v = values("tickets")
    s = bytes.fromhex(v["seed"])
    leaves = [bytes.fromhex(v[f"leaf_{i}"]) for i in range(5)]
    for i, leaf in enumerate(leaves):
        assert select.ticket(s, v["stratum"], leaf).hex() == v[f"ticket_{i}"]
        assert reference.ticket(s, v["stratum"], leaf).hex() == v[f"ticket_{i}"]
    order = [leaves.index(leaf) for _, leaf in select.lowest_tickets(s, v["stratum"], leaves, 5)]
    assert order == [int(x) for x in v["order"].split()]


def test_domain_tag_table() -> None:
    rows = re.findall(r"^\| `([a-z-]+)` \| §[0-9.]+ \| `([0-9a-f]+)` \|$", section("### 1.3"), re.M)
    assert len(rows) == 10
    for purpose, tag in rows:
        assert model.domain_tag(purpose).hex() == tag == reference.tag(purpose).hex()


def test_replacement_reasons_table() -> None:
    rows = re.findall(r"^\| `([a-z-]+)` \| (\S+) \|$", section("### 14.1"), re.M)
    assert dict(rows) == select.REASONS


def test_worked_identifier_examples() -> None:
    assert uscc.uscc_check_char("91350100M000100Y4") == "3"
    assert uscc.org_code_check_char("M000100Y") == "4"
    uscc.check_regno("110108000000016")
    assert "139 mod 11 = 7, C9 = 4" in SPEC and "sum is 1640, 1640 mod 31 = 28" in SPEC


@pytest.mark.parametrize("module", [model, uscc, commit, seed, select], ids=lambda m: m.__name__)
def test_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
