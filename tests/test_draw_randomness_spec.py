"""docs/draw-spec-randomness.md stays true: its worked examples, tags, limits and named functions
are checked against the code and against independent computations (hashlib/struct only).
"""

from __future__ import annotations

import doctest
import hashlib
import json
import re
import struct
from pathlib import Path
from types import ModuleType

import pytest

from draw.engine import ceremony, drand, lottery

ROOT = Path(__file__).resolve().parent.parent
SPEC = (ROOT / "docs" / "draw-spec-randomness.md").read_text(encoding="utf-8")
DRAND_VECTORS = json.loads((ROOT / "tests" / "vectors" / "drand" / "drand.json").read_text(encoding="utf-8"))


def example_block(kind: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of the spec's fenced block tagged ``kind``, in order."""
    match = re.search(rf"```{kind}\n(.*?)```", SPEC, re.DOTALL)
    assert match, kind
    return [(k.strip(), v.strip()) for k, v in (line.split("=", 1) for line in match.group(1).splitlines())]


@pytest.mark.parametrize("module", [drand, ceremony, lottery], ids=lambda m: m.__name__)
def test_module_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_domain_tag_table() -> None:
    tags = dict(re.findall(r"\| `([a-z-]+)` \| `([0-9a-f]+)` \|", SPEC))
    assert tags == {
        "ceremony-commit": ceremony.COMMIT_LABEL.hex(),
        "ceremony-value": ceremony.VALUE_LABEL.hex(),
        "lottery-value": lottery.VALUE_LABEL.hex(),
    }
    for purpose, tag in tags.items():
        assert bytes.fromhex(tag) == f"fairdraw-draw/1 {purpose}".encode("ascii") + b"\x00"


def test_pinned_chain_table() -> None:
    for info in (drand.QUICKNET, drand.MAINNET):
        for value in (info.chain_hash, info.genesis_seed, info.public_key):
            assert f"`{value.hex()}`" in SPEC
        assert f"| {info.genesis_time} (" in SPEC or f"| genesis time | {info.genesis_time} (" in SPEC


def test_round_rule_worked_example() -> None:
    declaration = drand.parse_declaration(
        {"chain_hash": drand.QUICKNET.chain_hash.hex(), "margin_seconds": 60}
    )
    assert "commitment_time_ms = 1728925950200" in SPEC
    round = drand.declared_round(declaration, 1728925950200)
    assert round == 12040883 == -(-(1728925951 + 60 - 1692803367) // 3) + 1
    assert drand.round_time(drand.QUICKNET, round) == 1728926013
    assert drand.round_time(drand.QUICKNET, round - 1) == 1728926010
    assert "round_time   = 1692803367 + 12040882 * 3 = 1728926013" in SPEC


def test_round_rule_example_beacon() -> None:
    lines = dict(
        re.findall(r"^    (signature|message|randomness) += (?:[^\n]*= )?([0-9a-f]{64,})$", SPEC, re.M)
    )
    record = next(r for r in DRAND_VECTORS["chains"][2]["rounds"] if r["round"] == 12040883)
    assert lines["signature"] == record["signature"]
    signature = bytes.fromhex(lines["signature"])
    assert drand.verify_beacon(drand.QUICKNET, 12040883, signature).hex() == lines["randomness"]
    assert hashlib.sha256(signature).hexdigest() == lines["randomness"] == record["randomness"]
    assert hashlib.sha256(struct.pack(">Q", 12040883)).hexdigest() == lines["message"]
    assert drand.beacon_message(drand.QUICKNET, 12040883).hex() == lines["message"]


def test_ceremony_worked_example() -> None:
    ex = dict(example_block("ceremony-example"))
    openings = [(ex[f"name_{i}"], ex[f"contribution_{i}"], bytes.fromhex(ex[f"nonce_{i}"])) for i in (1, 2)]
    name, contribution, nonce = openings[0]
    preimage = (
        b"fairdraw-draw/1 ceremony-commit\x00"
        + struct.pack(">I", len(name.encode()))
        + name.encode()
        + struct.pack(">I", len(contribution.encode()))
        + contribution.encode()
        + nonce
    )
    assert preimage.hex() == ex["preimage_1"]
    for i, opening in enumerate(openings, start=1):
        assert ceremony.commit_contribution(*opening).hex() == ex[f"commitment_{i}"]
    assert hashlib.sha256(preimage).hexdigest() == ex["commitment_1"]
    participants = tuple(ceremony.Participant(ex[f"name_{i}"], ex[f"role_{i}"]) for i in (1, 2))
    declared = ceremony.Ceremony(
        participants, tuple(bytes.fromhex(ex[f"commitment_{i}"]) for i in (1, 2)), 100
    )
    reveals = [ceremony.Reveal(*opening, 50) for opening in openings]
    assert ceremony.ceremony_outcome(declared, reveals, 60) == ceremony.CeremonyComplete(
        bytes.fromhex(ex["value"])
    )
    assert ceremony.ceremony_value(reveals[::-1]).hex() == ex["value_reversed"]


def test_ceremony_value_example_independently() -> None:
    ex = dict(example_block("ceremony-example"))
    data = b"fairdraw-draw/1 ceremony-value\x00" + struct.pack(">I", 2)
    for i in (1, 2):
        n, c = ex[f"name_{i}"].encode(), ex[f"contribution_{i}"].encode()
        data += (
            struct.pack(">I", len(n)) + n + struct.pack(">I", len(c)) + c + bytes.fromhex(ex[f"nonce_{i}"])
        )
    assert hashlib.sha256(data).hexdigest() == ex["value"]


def test_lottery_worked_examples() -> None:
    lines = example_block("lottery-example")
    assert [k for k, _ in lines] == ["seeds", "key", "value"] * 2
    for (_, seeds_text), (_, key), (_, value) in zip(lines[0::3], lines[1::3], lines[2::3], strict=True):
        seeds = json.loads(seeds_text)
        assert lottery.format_rfc3797_key(seeds) == key
        assert lottery.lottery_value(seeds).hex() == value
        assert hashlib.sha256(b"fairdraw-draw/1 lottery-value\x00" + key.encode()).hexdigest() == value


def test_limits_stated_in_the_spec_match_the_code() -> None:
    assert f"MUST be in {drand.MIN_MARGIN_SECONDS}..{drand.MAX_MARGIN_SECONDS}" in SPEC
    assert f"the default is {drand.DEFAULT_MARGIN_SECONDS}" in SPEC
    assert drand.BEACON_GRACE_SECONDS == 7 * 86400 and "**7 days after its round time**" in SPEC
    assert f"1 to {ceremony.MAX_NAME_LENGTH} characters" in SPEC
    assert f"1 to {ceremony.MAX_PARTICIPANTS}\nparticipants" in SPEC
    assert f"NFC text of 1 to {ceremony.MAX_CONTRIBUTION_LENGTH} characters" in SPEC
    assert f"1 to {lottery.MAX_SOURCES} sources" in SPEC
    assert f'"count": <1..{lottery.MAX_NUMBERS_PER_SOURCE}>' in SPEC
    assert f"printable NFC text of 1 to {lottery.MAX_DESCRIPTION_LENGTH} characters" in SPEC


@pytest.mark.parametrize(
    "name",
    [
        "drand.QUICKNET",
        "drand.MAINNET",
        "drand.parse_chain_info",
        "drand.format_chain_info",
        "drand.declared_round",
        "drand.round_for_commitment",
        "drand.verify_beacon",
        "drand.beacon_deadline",
        "drand.parse_beacon_json",
        "parse_beacon_record",
        "drand.beacon_record",
        "ceremony.parse_declaration",
        "ceremony.declaration_record",
        "ceremony.check_reveal",
        "ceremony.ceremony_outcome",
        "ceremony.ceremony_value",
        "lottery.parse_declaration",
        "lottery.declaration_record",
        "lottery.format_rfc3797_key",
        "lottery.parse_rfc3797_key",
        "lottery.lottery_value",
        "lottery.lottery_outcome",
        "lottery.rfc3797_select",
    ],
)
def test_spec_names_exist_in_code(name: str) -> None:
    assert f"`{name}`" in SPEC
    module_name, _, attribute = name.rpartition(".")
    module = {"drand": drand, "ceremony": ceremony, "lottery": lottery}.get(module_name, drand)
    assert hasattr(module, attribute)
