"""drand: chain info, the round rule, beacon verification (docs/draw-spec-randomness.md §2).

Vectors: tests/vectors/drand/drand.json (29 valid rounds, 14 must-reject cases; see SOURCE.txt).
Every verdict of draw.engine.drand (blst, through pyblst) is cross-checked by an independent
BLS12-381 implementation written here on top of the pure-Python py_ecc.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pyblst
import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_ecc.bls.hash_to_curve import hash_to_G1, hash_to_G2
from py_ecc.bls.point_compression import (
    compress_G1,
    compress_G2,
    decompress_G1,
    decompress_G2,
    modular_squareroot_in_FQ2,
)
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import G1, G2, curve_order, field_modulus, is_inf, multiply, neg
from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, miller_loop

from draw.engine import drand
from draw.engine.drand import MAINNET, QUICKNET, BeaconError, ChainInfo

VECTORS = json.loads((Path(__file__).parent / "vectors" / "drand" / "drand.json").read_text(encoding="utf-8"))
CHAINS = {entry["chain"]["id"]: entry for entry in VECTORS["chains"]}
UNSUPPORTED = "bls-bn254-unchained-on-g1"


# ---------------------------------------------------------------------------------------------
# An independent reference: BLS signature verification on py_ecc (pure Python, slow)

# scheme -> (chained, signature group, hash-to-curve DST), from drand's crypto/schemes.go
REFERENCE_SCHEMES = {
    "pedersen-bls-chained": (True, 2, b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"),
    "pedersen-bls-unchained": (False, 2, b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"),
    "bls-unchained-g1-rfc9380": (False, 1, b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"),
    "bls-unchained-on-g1": (False, 1, b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"),
}


def ref_g1(data: bytes) -> Any:
    if len(data) != 48:
        raise ValueError("size")
    point = decompress_G1(int.from_bytes(data, "big"))
    if is_inf(point) or not is_inf(multiply(point, curve_order)):
        raise ValueError("identity or not in subgroup")
    return point


def ref_g2(data: bytes) -> Any:
    if len(data) != 96:
        raise ValueError("size")
    point = decompress_G2((int.from_bytes(data[:48], "big"), int.from_bytes(data[48:], "big")))
    if is_inf(point) or not is_inf(multiply(point, curve_order)):
        raise ValueError("identity or not in subgroup")
    return point


def reference_verify(
    scheme: str, public_key: bytes, round: int, signature: bytes, previous: bytes | None
) -> bool:
    """e(pk, H(m)) == e(g1, sig) for G2 signatures, e(sig, g2) == e(H(m), pk) for G1 signatures."""
    chained, group, dst = REFERENCE_SCHEMES[scheme]
    if chained != (previous is not None):
        return False
    message = hashlib.sha256((previous or b"") + round.to_bytes(8, "big")).digest()
    try:
        if group == 2:
            key, sig = ref_g1(public_key), ref_g2(signature)
            product = miller_loop(hash_to_G2(message, dst, hashlib.sha256), key, False) * miller_loop(
                sig, neg(G1), False
            )
        else:
            key, sig = ref_g2(public_key), ref_g1(signature)
            product = miller_loop(G2, sig, False) * miller_loop(
                key, neg(hash_to_G1(message, dst, hashlib.sha256)), False
            )
    except ValueError:
        return False
    return final_exponentiate(product) == FQ12.one()


# ---------------------------------------------------------------------------------------------
# Building chain infos from the vectors


def chain_info(chain_id: str, scheme: str | None = None) -> ChainInfo:
    """The vector chain as a ChainInfo. Test keys come without period, genesis or seed: those get
    placeholders (period 30, genesis 0, zero seed), which beacon verification never reads."""
    chain = CHAINS[chain_id]["chain"]
    period = chain.get("period", 30)
    genesis_time = chain.get("genesis_time", 0)
    seed = bytes.fromhex(chain.get("genesis_seed", "00" * 32))
    beacon_id = chain.get("beacon_id", "default")
    public_key = bytes.fromhex(chain["public_key"])
    return ChainInfo(
        public_key=public_key,
        period=period,
        genesis_time=genesis_time,
        genesis_seed=seed,
        chain_hash=drand.chain_hash(public_key, period, genesis_time, seed, beacon_id),
        scheme=scheme or chain["scheme"],
        beacon_id=beacon_id,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


VALID = [(cid, rec) for cid, entry in CHAINS.items() for rec in entry.get("rounds", [])]
INVALID = [(cid, rec) for cid, entry in CHAINS.items() for rec in entry.get("invalid_rounds", [])]
VALID_IDS = [f"{cid}-round-{rec['round']}" for cid, rec in VALID]
INVALID_IDS = [f"{cid}-{rec['round']}-{_slug(rec['case'])}" for cid, rec in INVALID]
SUPPORTED_VALID = [(cid, rec) for cid, rec in VALID if CHAINS[cid]["chain"]["scheme"] != UNSUPPORTED]


def previous_of(chain_id: str, record: dict[str, Any]) -> bytes | None:
    """The vector's previous signature; unchained sources also print one, which the scheme ignores."""
    if CHAINS[chain_id]["chain"]["scheme"] != "pedersen-bls-chained" or "previous_signature" not in record:
        return None
    return bytes.fromhex(record["previous_signature"])


def test_vector_counts() -> None:
    assert len(VALID) == 29
    assert len(INVALID) == 14
    assert len(SUPPORTED_VALID) == 25


# ---------------------------------------------------------------------------------------------
# Valid rounds


@pytest.mark.parametrize(("chain_id", "record"), VALID, ids=VALID_IDS)
def test_valid_round_verifies(chain_id: str, record: dict[str, Any]) -> None:
    if CHAINS[chain_id]["chain"]["scheme"] == UNSUPPORTED:
        with pytest.raises(ValueError, match="drand: unsupported scheme 'bls-bn254-unchained-on-g1'"):
            chain_info(chain_id)
        return
    signature = bytes.fromhex(record["signature"])
    info = chain_info(chain_id)
    randomness = drand.verify_beacon(info, record["round"], signature, previous_of(chain_id, record))
    assert randomness == hashlib.sha256(signature).digest()
    if "randomness" in record:
        assert randomness.hex() == record["randomness"]


@pytest.mark.parametrize(
    ("chain_id", "record"), [(c, r) for c, r in SUPPORTED_VALID if "message" in r], ids=lambda v: str(v)[:20]
)
def test_beacon_message_matches_vector(chain_id: str, record: dict[str, Any]) -> None:
    message = drand.beacon_message(chain_info(chain_id), record["round"], previous_of(chain_id, record))
    assert message.hex() == record["message"]


@pytest.mark.parametrize(
    ("chain_id", "record"), SUPPORTED_VALID, ids=[f"{c}-{r['round']}" for c, r in SUPPORTED_VALID]
)
def test_reference_implementation_accepts_valid_round(chain_id: str, record: dict[str, Any]) -> None:
    chain = CHAINS[chain_id]["chain"]
    signature = bytes.fromhex(record["signature"])
    public_key = bytes.fromhex(chain["public_key"])
    assert reference_verify(
        chain["scheme"], public_key, record["round"], signature, previous_of(chain_id, record)
    )


def test_round_times_match_vectors() -> None:
    checked = 0
    for chain_id, record in SUPPORTED_VALID:
        if "round_time" in record:
            want = int(datetime.fromisoformat(record["round_time"].replace("Z", "+00:00")).timestamp())
            assert drand.round_time(chain_info(chain_id), record["round"]) == want
            checked += 1
    assert checked == 8


# ---------------------------------------------------------------------------------------------
# Must-reject cases


def _invalid_case_json(record: dict[str, Any]) -> str:
    beacon = {"round": record.get("expected_round", record["round"]), "signature": record["signature"]}
    for key in ("previous_signature", "randomness"):
        if key in record:
            beacon[key] = record[key]
    return json.dumps(beacon)


@pytest.mark.parametrize(("chain_id", "record"), INVALID, ids=INVALID_IDS)
def test_invalid_case_is_rejected(chain_id: str, record: dict[str, Any]) -> None:
    info = chain_info(chain_id, record.get("scheme"))
    if _is_format_failure(record):
        with pytest.raises(ValueError, match=r"drand: randomness has 8 bytes, want 32\.\.32"):
            drand.parse_beacon_json(_invalid_case_json(record))
        return
    round, signature, previous = drand.parse_beacon_json(_invalid_case_json(record))
    with pytest.raises(BeaconError, match=r"^invalid drand beacon$"):
        drand.verify_beacon(info, round, signature, previous)


def _is_format_failure(record: dict[str, Any]) -> bool:
    """The case whose stated randomness is not SHA-256(signature) fails before any signature check."""
    signature = bytes.fromhex(record["signature"])
    return "randomness" in record and record["randomness"] != hashlib.sha256(signature).hexdigest()


SIGNATURE_FAILURES = [(cid, rec) for cid, rec in INVALID if not _is_format_failure(rec)]


def test_one_must_reject_case_is_a_format_failure() -> None:
    assert len(SIGNATURE_FAILURES) == len(INVALID) - 1


@pytest.mark.parametrize(
    ("chain_id", "record"),
    SIGNATURE_FAILURES,
    ids=[name for name, case in zip(INVALID_IDS, INVALID, strict=True) if case in SIGNATURE_FAILURES],
)
def test_reference_implementation_rejects_invalid_case(chain_id: str, record: dict[str, Any]) -> None:
    scheme = record.get("scheme", CHAINS[chain_id]["chain"]["scheme"])
    previous = bytes.fromhex(record["previous_signature"]) if "previous_signature" in record else None
    round = record.get("expected_round", record["round"])
    public_key = bytes.fromhex(CHAINS[chain_id]["chain"]["public_key"])
    signature = bytes.fromhex(record["signature"])
    assert not reference_verify(scheme, public_key, round, signature, previous)


def test_randomness_mismatch_of_full_length_is_rejected() -> None:
    record = CHAINS["quicknet"]["rounds"][0]
    beacon = {"round": record["round"], "signature": record["signature"], "randomness": "00" * 32}
    with pytest.raises(ValueError, match=r"drand: beacon randomness is not SHA-256\(signature\)"):
        drand.parse_beacon_json(json.dumps(beacon))


# ---------------------------------------------------------------------------------------------
# Our own mutations of valid beacons, each checked by both implementations

QUICKNET_123 = CHAINS["quicknet"]["rounds"][0]
MAINNET_1337 = CHAINS["mainnet"]["rounds"][1]


def _flip_last_bit(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def _g1_point_outside_subgroup() -> bytes:
    """A compressed point on the G1 curve y^2 = x^3 + 4 that is not in the prime-order subgroup."""
    x = 1
    while True:
        y = FQ(x**3 + 4) ** ((field_modulus + 1) // 4)
        point = (FQ(x), y, FQ.one())
        if y * y == FQ(x**3 + 4) and not is_inf(multiply(point, curve_order)):
            return compress_G1(point).to_bytes(48, "big")
        x += 1


def _g2_point_outside_subgroup() -> bytes:
    """A compressed point on the twisted curve y^2 = x^3 + 4(1 + i) that is not in G2."""
    x = 1
    while True:
        xx = FQ2([x, 0])
        y = modular_squareroot_in_FQ2(xx**3 + FQ2([4, 4]))
        if y is not None:
            point = (xx, y, FQ2.one())
            if not is_inf(multiply(point, curve_order)):
                z1, z2 = compress_G2(point)
                return z1.to_bytes(48, "big") + z2.to_bytes(48, "big")
        x += 1


QUICKNET_SIG = bytes.fromhex(QUICKNET_123["signature"])
QUICKNET_MUTATIONS = {
    "signature-last-bit-flipped": (123, _flip_last_bit(QUICKNET_SIG)),
    "signature-truncated": (123, QUICKNET_SIG[:-1]),
    "signature-extra-byte": (123, QUICKNET_SIG + b"\x00"),
    "signature-identity": (123, b"\xc0" + bytes(47)),
    "signature-not-in-subgroup": (123, _g1_point_outside_subgroup()),
    "signature-compression-flag-cleared": (123, bytes([QUICKNET_SIG[0] & 0x7F]) + QUICKNET_SIG[1:]),
    "signature-sign-flag-flipped": (123, bytes([QUICKNET_SIG[0] ^ 0x20]) + QUICKNET_SIG[1:]),
    "round-plus-one": (124, QUICKNET_SIG),
    "round-minus-one": (122, QUICKNET_SIG),
}


@pytest.mark.parametrize("mutation", sorted(QUICKNET_MUTATIONS))
def test_quicknet_mutation_is_rejected(mutation: str) -> None:
    round, signature = QUICKNET_MUTATIONS[mutation]
    with pytest.raises(BeaconError, match=r"^invalid drand beacon$"):
        drand.verify_beacon(QUICKNET, round, signature)
    assert not reference_verify(QUICKNET.scheme, QUICKNET.public_key, round, signature, None)


MAINNET_SIG = bytes.fromhex(MAINNET_1337["signature"])
MAINNET_PREV = bytes.fromhex(MAINNET_1337["previous_signature"])
MAINNET_MUTATIONS = {
    "signature-last-bit-flipped": (1337, _flip_last_bit(MAINNET_SIG), MAINNET_PREV),
    "signature-identity": (1337, b"\xc0" + bytes(95), MAINNET_PREV),
    "signature-not-in-subgroup": (1337, _g2_point_outside_subgroup(), MAINNET_PREV),
    "signature-in-g1-size": (1337, MAINNET_SIG[:48], MAINNET_PREV),
    "previous-signature-last-bit-flipped": (1337, MAINNET_SIG, _flip_last_bit(MAINNET_PREV)),
    "previous-signature-truncated": (1337, MAINNET_SIG, MAINNET_PREV[:-1]),
    "previous-signature-missing": (1337, MAINNET_SIG, None),
    "round-plus-one": (1338, MAINNET_SIG, MAINNET_PREV),
}


@pytest.mark.parametrize("mutation", sorted(MAINNET_MUTATIONS))
def test_mainnet_mutation_is_rejected(mutation: str) -> None:
    round, signature, previous = MAINNET_MUTATIONS[mutation]
    with pytest.raises(BeaconError, match=r"^invalid drand beacon$"):
        drand.verify_beacon(MAINNET, round, signature, previous)
    assert not reference_verify(MAINNET.scheme, MAINNET.public_key, round, signature, previous)


def test_round_one_must_link_to_the_genesis_seed() -> None:
    record = CHAINS["mainnet"]["rounds"][0]
    signature = bytes.fromhex(record["signature"])
    assert drand.verify_beacon(MAINNET, 1, signature, MAINNET.genesis_seed).hex() == record["randomness"]
    with pytest.raises(BeaconError):
        drand.verify_beacon(MAINNET, 1, signature, _flip_last_bit(MAINNET.genesis_seed))


def test_previous_signature_given_to_an_unchained_scheme_is_rejected() -> None:
    signature = bytes.fromhex(QUICKNET_123["signature"])
    with pytest.raises(BeaconError, match=r"^invalid drand beacon$"):
        drand.verify_beacon(QUICKNET, 123, signature, bytes(96))


def test_beacon_of_another_chain_is_rejected() -> None:
    record = CHAINS["walkthrough"]["rounds"][0]
    signature = bytes.fromhex(record["signature"])
    drand.verify_beacon(chain_info("walkthrough"), record["round"], signature)
    with pytest.raises(BeaconError):
        drand.verify_beacon(QUICKNET, record["round"], signature)


def test_quicknet_beacon_under_the_deprecated_g1_tag_is_rejected() -> None:
    # Same key, seed and hash (the chain hash does not cover the scheme), the other hash-to-curve tag.
    fields = {name: getattr(QUICKNET, name) for name in QUICKNET.__dataclass_fields__}
    legacy = ChainInfo(**{**fields, "scheme": "bls-unchained-on-g1"})
    signature = bytes.fromhex(QUICKNET_123["signature"])
    with pytest.raises(BeaconError):
        drand.verify_beacon(legacy, 123, signature)
    assert not reference_verify("bls-unchained-on-g1", QUICKNET.public_key, 123, signature, None)


@pytest.mark.parametrize(
    ("round", "signature", "message"),
    [
        (0, b"", r"drand: round 0 out of range 1\.\.9007199254740991"),
        (-1, b"", r"drand: round -1 out of range"),
        (2**53, b"", r"drand: round 9007199254740992 out of range"),
        (True, b"", "drand: round must be an int"),
        (123, "b75c69d0", "drand: signature must be bytes"),
    ],
    ids=["round-zero", "round-negative", "round-too-large", "round-bool", "signature-str"],
)
def test_verify_beacon_caller_errors(round: Any, signature: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        drand.verify_beacon(QUICKNET, round, signature)


DST_G1 = REFERENCE_SCHEMES["bls-unchained-g1-rfc9380"][2]
DST_G2 = REFERENCE_SCHEMES["pedersen-bls-chained"][2]


@pytest.mark.parametrize(
    "message", [b"", b"abc", bytes.fromhex(QUICKNET_123["message"])], ids=["empty", "abc", "q123"]
)
def test_pyblst_and_py_ecc_hash_to_curve_agree(message: bytes) -> None:
    for dst in (DST_G1, DST_G2):
        ours = pyblst.BlstP1Element.hash_to_group(message, dst).compress()
        assert ours == compress_G1(hash_to_G1(message, dst, hashlib.sha256)).to_bytes(48, "big")
    z1, z2 = compress_G2(hash_to_G2(message, DST_G2, hashlib.sha256))
    assert pyblst.BlstP2Element.hash_to_group(message, DST_G2).compress() == z1.to_bytes(
        48, "big"
    ) + z2.to_bytes(48, "big")


def test_generators_are_the_standard_ones() -> None:
    g1 = compress_G1(G1).to_bytes(48, "big")
    z1, z2 = compress_G2(G2)
    g2 = z1.to_bytes(48, "big") + z2.to_bytes(48, "big")
    assert (g1, g2) == (drand._G1_GENERATOR, drand._G2_GENERATOR)


# ---------------------------------------------------------------------------------------------
# Chain info: pinning, JSON, chain hash

CHAIN_JSON = {(entry["chain"], entry["format"]): entry["json"] for entry in VECTORS["chain_info_json"]}


def test_pinned_chains_equal_the_published_chain_info() -> None:
    assert drand.parse_chain_info(CHAIN_JSON[("quicknet", "v2")]) == QUICKNET
    assert drand.parse_chain_info(CHAIN_JSON[("quicknet", "v1 (relay)")]) == QUICKNET
    assert drand.parse_chain_info(CHAIN_JSON[("mainnet", "v2")]) == MAINNET
    assert chain_info("quicknet") == QUICKNET
    assert chain_info("mainnet") == MAINNET


def test_format_chain_info_reproduces_drand_v2_text() -> None:
    assert drand.format_chain_info(QUICKNET) == CHAIN_JSON[("quicknet", "v2")]
    assert drand.format_chain_info(MAINNET) == CHAIN_JSON[("mainnet", "v2")]
    assert drand.parse_chain_info(drand.format_chain_info(chain_info("walkthrough"))) == chain_info(
        "walkthrough"
    )


@pytest.mark.parametrize("chain_id", ["mainnet", "testnet", "quicknet", "walkthrough", "evmnet"])
def test_chain_hash_matches_published_hash(chain_id: str) -> None:
    chain = CHAINS[chain_id]["chain"]
    got = drand.chain_hash(
        bytes.fromhex(chain["public_key"]),
        chain["period"],
        chain["genesis_time"],
        bytes.fromhex(chain["genesis_seed"]),
        chain["beacon_id"],
    )
    assert got.hex() == chain["chain_hash"]


def test_tlock_expectation_for_quicknet() -> None:
    case = next(c for c in VECTORS["tlock_fixed_network_expectations"]["cases"] if c["name"] == "quicknet")
    info = drand.parse_chain_info(CHAIN_JSON[("quicknet", "v2")])
    assert (info.chain_hash.hex(), info.scheme) == (case["want_hash"], case["want_scheme"])


def test_evmnet_chain_info_is_refused_as_unsupported() -> None:
    with pytest.raises(ValueError, match="drand: unsupported scheme 'bls-bn254-unchained-on-g1'"):
        drand.parse_chain_info(CHAIN_JSON[("evmnet", "v2")])


def test_pinned_chain_lookup() -> None:
    assert drand.pinned_chain("52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971") is QUICKNET
    assert drand.pinned_chain(MAINNET.chain_hash.hex()) is MAINNET
    with pytest.raises(ValueError, match="drand: chain 'cc9c3984' is not pinned"):
        drand.pinned_chain("cc9c3984")


def _v2_obj() -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(CHAIN_JSON[("quicknet", "v2")])
    return obj


CHAIN_INFO_MUTATIONS = {
    "chain-hash-last-digit-changed": (
        lambda o: {**o, "chain_hash": o["chain_hash"][:-1] + "0"},
        r"drand: chain_hash 52db9ba7.*70, want 52db9ba7.*71",
    ),
    "genesis-time-plus-one": (lambda o: {**o, "genesis_time": o["genesis_time"] + 1}, "drand: chain_hash"),
    "beacon-id-default": (lambda o: {**o, "beacon_id": "default"}, "drand: chain_hash"),
    "extra-key": (lambda o: {**o, "url": "x"}, "neither the v1 nor the v2 set"),
    "missing-key": (
        lambda o: {k: v for k, v in o.items() if k != "beacon_id"},
        "neither the v1 nor the v2 set",
    ),
    "uppercase-hex": (
        lambda o: {**o, "genesis_seed": o["genesis_seed"].upper()},
        "genesis_seed must be lowercase hex",
    ),
    "odd-length-hex": (
        lambda o: {**o, "chain_hash": o["chain_hash"][:-1]},
        "chain_hash must be lowercase hex",
    ),
    "period-as-string": (lambda o: {**o, "period": "3"}, "drand: period must be a JSON integer"),
    "period-as-bool": (lambda o: {**o, "period": True}, "drand: period must be a JSON integer"),
    "period-zero": (lambda o: {**o, "period": 0}, r"drand: period 0 out of range 1\.\.4294967295"),
    "beacon-id-empty": (lambda o: {**o, "beacon_id": ""}, "drand: malformed beacon_id ''"),
    "beacon-id-not-a-string": (lambda o: {**o, "beacon_id": 7}, "drand: beacon_id must be a JSON string"),
    "public-key-of-mainnet": (
        lambda o: {**o, "public_key": MAINNET.public_key.hex()},
        "drand: public_key has 48 bytes, want 96",
    ),
    "public-key-not-on-curve": (
        lambda o: {**o, "public_key": "a" + o["public_key"][1:-2] + "00"},
        "drand: public_key is not a valid G2 element",
    ),
    "scheme-unknown": (lambda o: {**o, "scheme": "bls-unchained-on-g3"}, "drand: unsupported scheme"),
}


@pytest.mark.parametrize("mutation", sorted(CHAIN_INFO_MUTATIONS))
def test_chain_info_mutation_is_rejected(mutation: str) -> None:
    change, message = CHAIN_INFO_MUTATIONS[mutation]
    with pytest.raises(ValueError, match=message):
        drand.parse_chain_info(json.dumps(change(_v2_obj())))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"period": 3, "period": 3}', "drand: duplicate key in JSON object"),
        ('{"period": 3.0}', "drand: non-integer number 3.0 in JSON"),
        ('{"period": NaN}', "drand: non-integer number NaN in JSON"),
        ("[1, 2]", "drand: chain info must be a JSON object"),
        ("{", "drand: chain info is not valid JSON"),
        (b"\xff", "drand: chain info is not valid JSON"),
        ("{}" + " " * 4096, "drand: chain info JSON of 4098 bytes, limit 4096"),
    ],
    ids=["duplicate-key", "float", "nan", "array", "truncated", "not-utf8", "oversized"],
)
def test_chain_info_malformed_json_is_rejected(text: str | bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        drand.parse_chain_info(text)


def test_chain_info_v1_metadata_must_be_exact() -> None:
    obj = json.loads(CHAIN_JSON[("quicknet", "v1 (relay)")])
    obj["metadata"]["extra"] = 1
    with pytest.raises(
        ValueError, match=r'drand: chain info metadata must be exactly \{"beaconID": \.\.\.\}'
    ):
        drand.parse_chain_info(json.dumps(obj))


# ---------------------------------------------------------------------------------------------
# Beacon JSON


def test_readme_beacon_example_parses() -> None:
    example = VECTORS["format_examples"][0]
    text = json.dumps({k: example[k] for k in ("round", "randomness", "signature", "previous_signature")})
    round, signature, previous = drand.parse_beacon_json(text)
    assert round == 367
    assert signature.hex() == example["signature"]
    assert previous is not None and previous.hex() == example["previous_signature"]


@pytest.mark.parametrize(
    ("chain_id", "record"), SUPPORTED_VALID, ids=[f"{c}-{r['round']}" for c, r in SUPPORTED_VALID]
)
def test_valid_round_as_http_json_parses_and_verifies(chain_id: str, record: dict[str, Any]) -> None:
    beacon = {"round": record["round"], "signature": record["signature"]}
    if previous_of(chain_id, record) is not None:
        beacon["previous_signature"] = record["previous_signature"]
    beacon["randomness"] = hashlib.sha256(bytes.fromhex(record["signature"])).hexdigest()
    round, signature, previous = drand.parse_beacon_json(json.dumps(beacon).encode())
    drand.verify_beacon(chain_info(chain_id), round, signature, previous)


BEACON = {"round": 123, "signature": QUICKNET_123["signature"]}
BEACON_MUTATIONS = {
    "unknown-key": ({**BEACON, "chain": "quicknet"}, "drand: beacon keys"),
    "missing-signature": ({"round": 123}, "drand: beacon keys"),
    "round-as-string": ({**BEACON, "round": "123"}, "drand: round must be a JSON integer"),
    "round-zero": ({**BEACON, "round": 0}, r"drand: round 0 out of range 1\.\."),
    "signature-uppercase": (
        {**BEACON, "signature": BEACON["signature"].upper()},
        "signature must be lowercase hex",
    ),
    "signature-47-bytes": (
        {**BEACON, "signature": BEACON["signature"][:-2]},
        r"signature has 47 bytes, want 48\.\.96",
    ),
    "previous-signature-null": (
        {**BEACON, "previous_signature": None},
        "previous_signature must be lowercase hex",
    ),
}


@pytest.mark.parametrize("mutation", sorted(BEACON_MUTATIONS))
def test_beacon_json_mutation_is_rejected(mutation: str) -> None:
    obj, message = BEACON_MUTATIONS[mutation]
    with pytest.raises(ValueError, match=message):
        drand.parse_beacon_json(json.dumps(obj))


# ---------------------------------------------------------------------------------------------
# Rounds and the round rule


@pytest.mark.parametrize("info", [QUICKNET, MAINNET], ids=["quicknet", "mainnet"])
def test_round_one_is_at_genesis(info: ChainInfo) -> None:
    assert drand.round_time(info, 1) == info.genesis_time
    assert drand.round_at(info, info.genesis_time) == 1
    assert drand.round_at(info, info.genesis_time + info.period - 1) == 1
    assert drand.round_at(info, info.genesis_time + info.period) == 2


@pytest.mark.parametrize("info", [QUICKNET, MAINNET], ids=["quicknet", "mainnet"])
def test_before_genesis_is_an_error(info: ChainInfo) -> None:
    with pytest.raises(
        ValueError, match=f"drand: time {info.genesis_time - 1} is before genesis {info.genesis_time}"
    ):
        drand.round_at(info, info.genesis_time - 1)
    with pytest.raises(ValueError, match=r"drand: commitment time \d+ is before genesis"):
        drand.round_for_commitment(info, info.genesis_time - 1, 60)


def test_commitment_at_genesis() -> None:
    # quicknet: 30 s after genesis is 10 periods, round 11; mainnet: one period, round 2.
    assert drand.round_for_commitment(QUICKNET, QUICKNET.genesis_time, 30) == 11
    assert drand.round_for_commitment(MAINNET, MAINNET.genesis_time, 30) == 2


def test_round_exactly_at_the_margin_is_chosen() -> None:
    # mainnet round 2634945 is at genesis + 2634944 * 30 = 1674479370.
    at = MAINNET.genesis_time + 2634944 * 30
    assert drand.round_for_commitment(MAINNET, at - 60, 60) == 2634945
    assert drand.round_for_commitment(MAINNET, at - 61, 60) == 2634945
    assert drand.round_for_commitment(MAINNET, at - 59, 60) == 2634946
    assert drand.round_for_commitment(MAINNET, at - 89, 60) == 2634945
    assert drand.round_for_commitment(MAINNET, at - 90, 60) == 2634944


@pytest.mark.parametrize(
    ("margin", "message"),
    [
        (29, r"drand: margin_seconds 29 out of range 30\.\.31622400"),
        (366 * 86400 + 1, "drand: margin_seconds 31622401 out of range"),
        (60.0, "drand: margin_seconds must be an int"),
    ],
    ids=["below-minimum", "above-maximum", "float"],
)
def test_margin_limits(margin: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        drand.round_for_commitment(QUICKNET, 1728925951, margin)


def test_round_time_limits() -> None:
    with pytest.raises(ValueError, match=r"drand: round 0 out of range 1\.\."):
        drand.round_time(QUICKNET, 0)
    with pytest.raises(ValueError, match="drand: unix_time must be an int"):
        drand.round_at(QUICKNET, 1728925951.5)  # type: ignore[arg-type]


@given(
    offset=st.integers(min_value=0, max_value=10**10),
    margin=st.integers(min_value=drand.MIN_MARGIN_SECONDS, max_value=drand.MAX_MARGIN_SECONDS),
    mainnet=st.booleans(),
)
def test_round_rule_picks_the_first_round_at_or_after_the_margin(
    offset: int, margin: int, mainnet: bool
) -> None:
    info = MAINNET if mainnet else QUICKNET
    committed_at = info.genesis_time + offset
    round = drand.round_for_commitment(info, committed_at, margin)
    assert drand.round_time(info, round) >= committed_at + margin
    assert drand.round_time(info, round - 1) < committed_at + margin
    assert drand.round_at(info, drand.round_time(info, round)) == round


@given(round=st.integers(min_value=1, max_value=10**12))
def test_round_at_inverts_round_time(round: int) -> None:
    assert drand.round_at(QUICKNET, drand.round_time(QUICKNET, round)) == round
    assert drand.round_at(MAINNET, drand.round_time(MAINNET, round) + MAINNET.period - 1) == round


# ---------------------------------------------------------------------------------------------
# Beacon records, the declaration, the declared round and the deadline


def test_beacon_record_round_trip() -> None:
    record = CHAINS["mainnet"]["rounds"][1]
    signature, previous = bytes.fromhex(record["signature"]), bytes.fromhex(record["previous_signature"])
    written = drand.beacon_record(1337, signature, previous)
    assert written == {
        "round": 1337,
        "signature": record["signature"],
        "previous_signature": record["previous_signature"],
        "randomness": record["randomness"],
    }
    assert drand.parse_beacon_record(written) == (1337, signature, previous)
    assert "previous_signature" not in drand.beacon_record(123, bytes.fromhex(QUICKNET_123["signature"]))


def test_beacon_record_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="drand: beacon must be a JSON object"):
        drand.parse_beacon_json("[123]")


def test_declaration_round_trip() -> None:
    record = {"chain_hash": QUICKNET.chain_hash.hex(), "margin_seconds": drand.DEFAULT_MARGIN_SECONDS}
    declaration = drand.parse_declaration(record)
    assert declaration == drand.DrandDeclaration(QUICKNET, 60)
    assert drand.declaration_record(declaration) == record


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"chain_hash": QUICKNET.chain_hash.hex()}, "drand: declaration must be exactly"),
        (
            {"chain_hash": QUICKNET.chain_hash.hex(), "margin_seconds": 60, "round": 5},
            "drand: declaration must be",
        ),
        (
            {"chain_hash": "cc9c398442737cbd", "margin_seconds": 60},
            "drand: chain 'cc9c398442737cbd' is not pinned",
        ),
        (
            {"chain_hash": QUICKNET.chain_hash.hex(), "margin_seconds": 10},
            "drand: margin_seconds 10 out of range",
        ),
        (
            {"chain_hash": QUICKNET.chain_hash.hex(), "margin_seconds": "60"},
            "drand: margin_seconds must be a JSON",
        ),
    ],
    ids=["missing-margin", "extra-round", "unpinned-chain", "margin-too-small", "margin-as-string"],
)
def test_declaration_is_strict(record: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        drand.parse_declaration(record)


def test_declared_round_rounds_the_commitment_time_up() -> None:
    declaration = drand.DrandDeclaration(MAINNET, 60)
    at = MAINNET.genesis_time + 2634944 * 30  # round 2634945
    assert drand.declared_round(declaration, (at - 60) * 1000) == 2634945
    assert drand.declared_round(declaration, (at - 60) * 1000 + 1) == 2634946
    with pytest.raises(ValueError, match="drand: commitment_time_ms must be an int"):
        drand.declared_round(declaration, 1.5)  # type: ignore[arg-type]


def test_beacon_deadline_is_seven_days_after_the_round() -> None:
    assert drand.beacon_deadline(QUICKNET, 12040883) == 1728926013 + 7 * 86400
