"""drand beacons: pinned chain information, the round rule, and beacon verification.

Normative text: docs/draw-spec-randomness.md §2 (spec ``fairdraw-draw/1``).

A drand chain is fixed by its *chain info*: a BLS12-381 group public key, the period and genesis time
of its rounds, its genesis seed, its scheme and its beacon ID. The chain hash binds them::

    chain_hash = SHA-256(u32be(period) || i64be(genesis_time) || public_key || genesis_seed
                         || beacon_id)        # beacon_id omitted when it is "default"

Round 1 is at ``genesis_time`` and round ``r`` at ``genesis_time + (r - 1) * period``. A draw uses the
first round whose time is at least ``margin_seconds`` after its commitment (``round_for_commitment``).

A beacon for round ``r`` is a BLS signature over ``SHA-256(previous_signature || u64be(r))``
(chained scheme) or ``SHA-256(u64be(r))`` (unchained schemes), hashed to the curve as RFC 9380
specifies with the scheme's domain separation tag; its randomness is ``SHA-256(signature)``.

>>> round_for_commitment(QUICKNET, 1728925951, 60)
12040883
>>> round_time(QUICKNET, 12040883) - 1728925951
62

Pairing arithmetic is done by blst (through ``pyblst``); points are exchanged in the compressed
Zcash encoding (48 bytes in G1, 96 bytes in G2) and must be canonical members of the prime-order
subgroup other than the identity.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyblst  # type: ignore[import-untyped]

MAX_ROUND = 2**53 - 1
MAX_UNIX_TIME = 2**53 - 1
MIN_MARGIN_SECONDS = 30
DEFAULT_MARGIN_SECONDS = 60
MAX_MARGIN_SECONDS = 366 * 86400
MAX_JSON_SIZE = 4096
BEACON_GRACE_SECONDS = 7 * 86400

DEFAULT_BEACON_ID = "default"

_DST_G1 = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
_DST_G2 = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"

# The standard generators of BLS12-381, compressed (Zcash encoding).
_G1_GENERATOR = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
)
_G2_GENERATOR = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
    "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
)
_POINT_SIZE = {1: 48, 2: 96}
_INFINITY_FLAG = 0x40

_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_BEACON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class BeaconError(Exception):
    """A drand beacon failed verification. Raised for every kind of failure, with one message."""

    def __init__(self) -> None:
        super().__init__("invalid drand beacon")


@dataclass(frozen=True)
class _Scheme:
    name: str
    chained: bool
    signature_group: int  # 1: signatures in G1, keys in G2; 2: signatures in G2, keys in G1
    dst: bytes


_SCHEMES = {
    scheme.name: scheme
    for scheme in (
        _Scheme("pedersen-bls-chained", True, 2, _DST_G2),
        _Scheme("pedersen-bls-unchained", False, 2, _DST_G2),
        _Scheme("bls-unchained-g1-rfc9380", False, 1, _DST_G1),
        # Deprecated by drand (its fastnet): G1 signatures hashed with the G2 tag.
        _Scheme("bls-unchained-on-g1", False, 1, _DST_G2),
    )
}
SCHEMES = tuple(_SCHEMES)


def chain_hash(
    public_key: bytes, period: int, genesis_time: int, genesis_seed: bytes, beacon_id: str
) -> bytes:
    """Return drand's chain hash of the given chain parameters (32 bytes).

    The beacon ID is hashed only when it is not the default one, as drand does. Requires
    0 < period < 2**32 and 0 <= genesis_time < 2**63; raises ValueError otherwise.
    """
    if not 0 < period < 2**32:
        raise ValueError(f"drand: period {period} out of range")
    if not 0 <= genesis_time < 2**63:
        raise ValueError(f"drand: genesis_time {genesis_time} out of range")
    suffix = b"" if beacon_id == DEFAULT_BEACON_ID else beacon_id.encode("ascii")
    data = struct.pack(">Iq", period, genesis_time) + public_key + genesis_seed + suffix
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class ChainInfo:
    """The public information of one drand chain. Construction checks every field and the chain hash.

    Raises ValueError naming the field for an unsupported scheme, a public key that is not a valid
    group element for the scheme, out-of-range numbers, or a chain hash that does not match.
    """

    public_key: bytes
    period: int
    genesis_time: int
    genesis_seed: bytes
    chain_hash: bytes
    scheme: str
    beacon_id: str

    def __post_init__(self) -> None:
        if self.scheme not in _SCHEMES:
            raise ValueError(f"drand: unsupported scheme {self.scheme!r}")
        _check_int("period", self.period, 1, 2**32 - 1)
        _check_int("genesis_time", self.genesis_time, 0, MAX_UNIX_TIME)
        _check_bytes("genesis_seed", self.genesis_seed, 32)
        _check_bytes("chain_hash", self.chain_hash, 32)
        if not isinstance(self.beacon_id, str) or not _BEACON_ID.fullmatch(self.beacon_id):
            raise ValueError(f"drand: malformed beacon_id {self.beacon_id!r}")
        key_group = 3 - _SCHEMES[self.scheme].signature_group
        _check_bytes("public_key", self.public_key, _POINT_SIZE[key_group])
        if _decode_point(key_group, self.public_key) is None:
            raise ValueError(f"drand: public_key is not a valid G{key_group} element")
        want = chain_hash(self.public_key, self.period, self.genesis_time, self.genesis_seed, self.beacon_id)
        if self.chain_hash != want:
            raise ValueError(f"drand: chain_hash {self.chain_hash.hex()}, want {want.hex()}")


# ---------------------------------------------------------------------------------------------
# Chain info JSON (drand's HTTP /info: v2 field names, and the v1 names relays still serve)

_V2_KEYS = {"public_key", "period", "genesis_time", "genesis_seed", "chain_hash", "scheme", "beacon_id"}
_V1_KEYS = {"public_key", "period", "genesis_time", "hash", "groupHash", "schemeID", "metadata"}


def parse_chain_info(data: str | bytes) -> ChainInfo:
    """Parse drand chain-info JSON, in its v2 or v1 field names, strictly.

    Exactly the format's keys (no others, no duplicates), integers as JSON integers, byte strings
    as lowercase hex. At most MAX_JSON_SIZE bytes. Raises ValueError naming the field, including
    when the stated chain hash does not match the one computed from the other fields.
    """
    obj = _load_json_object(data, "chain info")
    if obj.keys() == _V2_KEYS:
        fields = {name: obj[name] for name in ("public_key", "genesis_seed", "chain_hash", "scheme")}
        fields["beacon_id"] = obj["beacon_id"]
    elif obj.keys() == _V1_KEYS:
        fields = _v1_fields(obj)
    else:
        raise ValueError(f"drand: chain info keys {sorted(obj)} are neither the v1 nor the v2 set")
    scheme = _parse_str("scheme", fields["scheme"])
    if scheme not in _SCHEMES:
        raise ValueError(f"drand: unsupported scheme {scheme!r}")
    return ChainInfo(
        public_key=_parse_hex("public_key", fields["public_key"], 48, 96),
        period=_parse_int("period", obj["period"]),
        genesis_time=_parse_int("genesis_time", obj["genesis_time"]),
        genesis_seed=_parse_hex("genesis_seed", fields["genesis_seed"], 32, 32),
        chain_hash=_parse_hex("chain_hash", fields["chain_hash"], 32, 32),
        scheme=scheme,
        beacon_id=_parse_str("beacon_id", fields["beacon_id"]),
    )


def _v1_fields(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj["metadata"]
    if not isinstance(metadata, dict) or metadata.keys() != {"beaconID"}:
        raise ValueError('drand: chain info metadata must be exactly {"beaconID": ...}')
    return {
        "public_key": obj["public_key"],
        "genesis_seed": obj["groupHash"],
        "chain_hash": obj["hash"],
        "scheme": obj["schemeID"],
        "beacon_id": metadata["beaconID"],
    }


def format_chain_info(info: ChainInfo) -> str:
    """Return the v2 chain-info JSON of ``info``, in the field order and spacing drand serves."""
    obj = {
        "public_key": info.public_key.hex(),
        "period": info.period,
        "genesis_time": info.genesis_time,
        "genesis_seed": info.genesis_seed.hex(),
        "chain_hash": info.chain_hash.hex(),
        "scheme": info.scheme,
        "beacon_id": info.beacon_id,
    }
    return json.dumps(obj, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Rounds and the round rule


def round_time(info: ChainInfo, round: int) -> int:
    """Return the Unix time (seconds) of ``round``: genesis_time + (round - 1) * period.

    Requires 1 <= round <= MAX_ROUND; raises ValueError otherwise.
    """
    _check_int("round", round, 1, MAX_ROUND)
    return info.genesis_time + (round - 1) * info.period


def round_at(info: ChainInfo, unix_time: int) -> int:
    """Return the latest round whose time is at most ``unix_time`` (the inverse of ``round_time``).

    Requires genesis_time <= unix_time <= MAX_UNIX_TIME; raises ValueError otherwise (no round
    exists before genesis).
    """
    _check_int("unix_time", unix_time, 0, MAX_UNIX_TIME)
    if unix_time < info.genesis_time:
        raise ValueError(f"drand: time {unix_time} is before genesis {info.genesis_time}")
    return (unix_time - info.genesis_time) // info.period + 1


def round_for_commitment(info: ChainInfo, committed_at_unix: int, margin_seconds: int) -> int:
    """Return the round a draw committed at ``committed_at_unix`` must use: the first round whose
    time is at least ``committed_at_unix + margin_seconds`` (docs/draw-spec-randomness.md §2.3).

    Requires genesis_time <= committed_at_unix <= MAX_UNIX_TIME and MIN_MARGIN_SECONDS <=
    margin_seconds <= MAX_MARGIN_SECONDS; raises ValueError otherwise.
    """
    _check_int("committed_at_unix", committed_at_unix, 0, MAX_UNIX_TIME)
    _check_int("margin_seconds", margin_seconds, MIN_MARGIN_SECONDS, MAX_MARGIN_SECONDS)
    if committed_at_unix < info.genesis_time:
        raise ValueError(f"drand: commitment time {committed_at_unix} is before genesis {info.genesis_time}")
    elapsed = committed_at_unix + margin_seconds - info.genesis_time
    return -(-elapsed // info.period) + 1  # ceiling division


def beacon_deadline(info: ChainInfo, round: int) -> int:
    """Return the Unix time after which a draw whose ``round`` has no verifying beacon recorded is
    void: round_time(round) + BEACON_GRACE_SECONDS (docs/draw-spec-randomness.md §2.6).
    """
    return round_time(info, round) + BEACON_GRACE_SECONDS


# ---------------------------------------------------------------------------------------------
# Beacon verification


def beacon_message(info: ChainInfo, round: int, previous_signature: bytes | None = None) -> bytes:
    """Return the 32-byte digest the chain signs for ``round``.

    Chained scheme: SHA-256(previous_signature || u64be(round)); unchained: SHA-256(u64be(round)).
    Requires 1 <= round <= MAX_ROUND. Raises BeaconError if ``previous_signature`` is missing for
    the chained scheme, or present for an unchained one.
    """
    _check_int("round", round, 1, MAX_ROUND)
    chained = _SCHEMES[info.scheme].chained
    if chained != (previous_signature is not None):
        raise BeaconError
    prefix = previous_signature if previous_signature is not None else b""
    return hashlib.sha256(prefix + struct.pack(">Q", round)).digest()


def verify_beacon(
    info: ChainInfo, round: int, signature: bytes, previous_signature: bytes | None = None
) -> bytes:
    """Verify the beacon of ``round`` on chain ``info`` and return its randomness, SHA-256(signature).

    ``previous_signature`` is required for the chained scheme (for round 1 it is the chain's
    genesis seed) and must be None for the unchained ones. Costs two pairings (about 4 ms).
    Raises ValueError for a round out of range or arguments that are not bytes, and BeaconError
    for every other failure.
    """
    _check_int("round", round, 1, MAX_ROUND)
    _check_bytes("signature", signature, None)
    if previous_signature is not None:
        _check_bytes("previous_signature", previous_signature, None)
    message = beacon_message(info, round, previous_signature)
    _check_previous_signature(info, round, previous_signature)
    if not _verify_bls(_SCHEMES[info.scheme], info.public_key, message, signature):
        raise BeaconError
    return hashlib.sha256(signature).digest()


def _check_previous_signature(info: ChainInfo, round: int, previous_signature: bytes | None) -> None:
    """Check a chained beacon's link: round 1 links to the genesis seed, later rounds to a G2 signature."""
    if previous_signature is None:
        return
    if round == 1:
        if not hmac.compare_digest(previous_signature, info.genesis_seed):
            raise BeaconError
    elif len(previous_signature) != _POINT_SIZE[_SCHEMES[info.scheme].signature_group]:
        raise BeaconError


def _verify_bls(scheme: _Scheme, public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Return whether ``signature`` is the BLS signature of ``message`` under ``public_key``.

    Signatures in G2: e(pk, H(m)) == e(g1, sig). Signatures in G1: e(sig, g2) == e(H(m), pk).
    """
    sig_group = scheme.signature_group
    sig = _decode_point(sig_group, signature)
    key = _decode_point(3 - sig_group, public_key)
    if sig is None or key is None:
        return False
    # pyblst's hash_to_group(msg, dst) is blst's hash_to_g1/g2: RFC 9380 hash_to_curve, no augmentation.
    if sig_group == 2:
        hashed = pyblst.BlstP2Element.hash_to_group(message, scheme.dst)
        g1 = pyblst.BlstP1Element.uncompress(_G1_GENERATOR)
        return bool(pyblst.final_verify(pyblst.miller_loop(key, hashed), pyblst.miller_loop(g1, sig)))
    hashed = pyblst.BlstP1Element.hash_to_group(message, scheme.dst)
    g2 = pyblst.BlstP2Element.uncompress(_G2_GENERATOR)
    return bool(pyblst.final_verify(pyblst.miller_loop(sig, g2), pyblst.miller_loop(hashed, key)))


def _decode_point(group: int, data: bytes) -> Any:
    """Return the element of G1 or G2 that ``data`` encodes, or None.

    None unless ``data`` is the canonical compressed encoding of a point in the prime-order
    subgroup other than the identity (blst checks the curve and the subgroup).
    """
    if len(data) != _POINT_SIZE[group] or data[0] & _INFINITY_FLAG:
        return None
    cls = pyblst.BlstP1Element if group == 1 else pyblst.BlstP2Element
    try:
        point = cls.uncompress(data)
    except ValueError:
        return None
    return point if point.compress() == data else None


# ---------------------------------------------------------------------------------------------
# Beacon JSON (drand's HTTP /public/{round})

_BEACON_REQUIRED = {"round", "signature"}
_BEACON_OPTIONAL = {"randomness", "previous_signature"}


def parse_beacon_json(data: str | bytes) -> tuple[int, bytes, bytes | None]:
    """Parse a beacon as drand's HTTP API serves it; return (round, signature, previous_signature).

    At most MAX_JSON_SIZE bytes of JSON holding an object that ``parse_beacon_record`` accepts.
    Raises ValueError naming the field.
    """
    return parse_beacon_record(_load_json_object(data, "beacon"))


def parse_beacon_record(obj: Mapping[str, Any]) -> tuple[int, bytes, bytes | None]:
    """Parse a beacon object; return (round, signature, previous_signature).

    Keys: ``round`` and ``signature``, optionally ``previous_signature`` and ``randomness`` (which
    must then equal SHA-256(signature)); no others; lowercase hex. This checks the format only:
    the signature is checked by ``verify_beacon``. Raises ValueError naming the field.
    """
    if not isinstance(obj, Mapping):
        raise ValueError("drand: beacon must be a JSON object")
    keys = set(obj)
    if not _BEACON_REQUIRED <= keys <= _BEACON_REQUIRED | _BEACON_OPTIONAL:
        want = "round, signature[, previous_signature][, randomness]"
        raise ValueError(f"drand: beacon keys {sorted(keys)}, want {want}")
    round = _parse_int("round", obj["round"])
    _check_int("round", round, 1, MAX_ROUND)
    signature = _parse_hex("signature", obj["signature"], 48, 96)
    previous_signature = None
    if "previous_signature" in obj:
        previous_signature = _parse_hex("previous_signature", obj["previous_signature"], 32, 96)
    if "randomness" in obj:
        randomness = _parse_hex("randomness", obj["randomness"], 32, 32)
        if randomness != hashlib.sha256(signature).digest():
            raise ValueError("drand: beacon randomness is not SHA-256(signature)")
    return round, signature, previous_signature


def beacon_record(round: int, signature: bytes, previous_signature: bytes | None = None) -> dict[str, Any]:
    """Return the beacon object for the ledger: round, signature, previous_signature (when chained)
    and randomness, as drand's HTTP API spells them. ``parse_beacon_record`` is its inverse.
    """
    record: dict[str, Any] = {"round": round, "signature": signature.hex()}
    if previous_signature is not None:
        record["previous_signature"] = previous_signature.hex()
    record["randomness"] = hashlib.sha256(signature).hexdigest()
    return record


# ---------------------------------------------------------------------------------------------
# The drand source's declaration in a draw commitment (docs/draw-spec-randomness.md §2.2)


@dataclass(frozen=True)
class DrandDeclaration:
    """A draw's drand source: a pinned chain and the margin of the round rule."""

    chain: ChainInfo
    margin_seconds: int


def parse_declaration(obj: Mapping[str, Any]) -> DrandDeclaration:
    """Parse ``{"chain_hash": <hex of a pinned chain>, "margin_seconds": <int>}``.

    Raises ValueError naming the member for other keys, an unpinned chain or a margin outside
    MIN_MARGIN_SECONDS..MAX_MARGIN_SECONDS.
    """
    if not isinstance(obj, Mapping) or set(obj) != {"chain_hash", "margin_seconds"}:
        raise ValueError('drand: declaration must be exactly {"chain_hash": ..., "margin_seconds": ...}')
    margin = _parse_int("margin_seconds", obj["margin_seconds"])
    _check_int("margin_seconds", margin, MIN_MARGIN_SECONDS, MAX_MARGIN_SECONDS)
    return DrandDeclaration(pinned_chain(obj["chain_hash"]), margin)


def declaration_record(declaration: DrandDeclaration) -> dict[str, Any]:
    """Return the declaration object of ``declaration``: the inverse of ``parse_declaration``."""
    return {"chain_hash": declaration.chain.chain_hash.hex(), "margin_seconds": declaration.margin_seconds}


def declared_round(declaration: DrandDeclaration, commitment_time_ms: int) -> int:
    """Return the round of a draw whose commitment entry the ledger sequenced at ``commitment_time_ms``
    (milliseconds since the epoch): ``round_for_commitment`` at ceil(commitment_time_ms / 1000).
    Raises ValueError as that function does.
    """
    _check_int("commitment_time_ms", commitment_time_ms, 0, MAX_UNIX_TIME)
    committed_at_unix = -(-commitment_time_ms // 1000)
    return round_for_commitment(declaration.chain, committed_at_unix, declaration.margin_seconds)


# ---------------------------------------------------------------------------------------------
# Strict parsing helpers


def _load_json_object(data: str | bytes, what: str) -> dict[str, Any]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes):
        raise ValueError(f"drand: {what} must be str or bytes")
    if len(data) > MAX_JSON_SIZE:
        raise ValueError(f"drand: {what} JSON of {len(data)} bytes, limit {MAX_JSON_SIZE}")
    try:
        obj = json.loads(
            data, object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_float
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"drand: {what} is not valid JSON: {err}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"drand: {what} must be a JSON object")
    return obj


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("drand: duplicate key in JSON object")
    return obj


def _no_float(text: str) -> Any:
    raise ValueError(f"drand: non-integer number {text} in JSON")


def _parse_int(field: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"drand: {field} must be a JSON integer")
    return value


def _parse_str(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"drand: {field} must be a JSON string")
    return value


def _parse_hex(field: str, value: object, min_size: int, max_size: int) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise ValueError(f"drand: {field} must be lowercase hex")
    if not min_size <= len(value) // 2 <= max_size:
        raise ValueError(f"drand: {field} has {len(value) // 2} bytes, want {min_size}..{max_size}")
    return bytes.fromhex(value)


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"drand: {field} must be an int")
    if not low <= value <= high:
        raise ValueError(f"drand: {field} {value} out of range {low}..{high}")


def _check_bytes(field: str, value: object, size: int | None) -> None:
    if not isinstance(value, bytes):
        raise ValueError(f"drand: {field} must be bytes")
    if size is not None and len(value) != size:
        raise ValueError(f"drand: {field} has {len(value)} bytes, want {size}")


# ---------------------------------------------------------------------------------------------
# Pinned chain infos (docs/draw-spec-randomness.md §2.1), from drand's published chain info.
QUICKNET = ChainInfo(
    public_key=bytes.fromhex(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d"
        "1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    period=3,
    genesis_time=1692803367,
    genesis_seed=bytes.fromhex("f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e"),
    chain_hash=bytes.fromhex("52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"),
    scheme="bls-unchained-g1-rfc9380",
    beacon_id="quicknet",
)
MAINNET = ChainInfo(
    public_key=bytes.fromhex(
        "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a569937c529eeda66c7293784a9402801af31"
    ),
    period=30,
    genesis_time=1595431050,
    genesis_seed=bytes.fromhex("176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a"),
    chain_hash=bytes.fromhex("8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce"),
    scheme="pedersen-bls-chained",
    beacon_id="default",
)
PINNED_CHAINS = {info.chain_hash.hex(): info for info in (QUICKNET, MAINNET)}


def pinned_chain(chain_hash_hex: str) -> ChainInfo:
    """Return the pinned chain whose chain hash is ``chain_hash_hex`` (lowercase hex).

    Raises ValueError for any other chain: a draw may only name a pinned chain.
    """
    info = PINNED_CHAINS.get(chain_hash_hex) if isinstance(chain_hash_hex, str) else None
    if info is None:
        raise ValueError(f"drand: chain {chain_hash_hex!r} is not pinned")
    return info
