"""Signing keys: RFC 8032 known answers, Go private-key strings, secrecy, and the hazmat boundary."""

import ast
import base64
import copy
import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from keys import (
    SigningKey,
    format_private_key,
    format_verifier_key,
    generate,
    key_id,
    new_verifier,
    parse_private_key,
)

ROOT = Path(__file__).resolve().parent.parent
VECTORS = Path(__file__).parent / "vectors" / "notes"
RFC8032 = json.loads((VECTORS / "rfc8032.json").read_text(encoding="utf-8"))["tests"]
GO = json.loads((VECTORS / "sumdb-notes.json").read_text(encoding="utf-8"))
TESSERA = json.loads((VECTORS / "tessera-tiny-log.json").read_text(encoding="utf-8"))
PETER_SKEY = GO["keys"]["PeterNeumann"]["skey"]


def fixed(seed: bytes) -> Callable[[int], bytes]:
    def randbytes(n: int) -> bytes:
        assert n == len(seed)
        return seed

    return randbytes


@pytest.mark.parametrize("vector", RFC8032, ids=lambda v: v["name"])
def test_rfc8032_known_answers(vector: dict[str, str]) -> None:
    key = generate("rfc8032", randbytes=fixed(bytes.fromhex(vector["secret_key"])))
    assert key.public_key.hex() == vector["public_key"]
    signature = key.signer().sign(bytes.fromhex(vector["message"]))
    assert signature.hex() == vector["signature"]
    verifier = new_verifier(key.verifier_key)
    assert verifier.verify(bytes.fromhex(vector["message"]), signature)
    assert not verifier.verify(bytes.fromhex(vector["message"]) + b"x", signature)


@pytest.mark.parametrize(
    ("skey", "vkey"),
    [(PETER_SKEY, GO["keys"]["PeterNeumann"]["vkey"]), (TESSERA["skey"], TESSERA["vkey"])],
    ids=["go-peter-neumann", "tessera-testdata"],
)
def test_published_private_keys_round_trip(skey: str, vkey: str) -> None:
    key = parse_private_key(skey)
    assert key.verifier_key == vkey
    assert format_private_key(key) == skey
    assert key.key_id == int(vkey.split("+")[1], 16) == key_id(key.name, 1, key.public_key)


def test_generated_key_matches_its_private_string() -> None:
    key = generate("example.com/log", randbytes=fixed(bytes(range(32))))
    again = parse_private_key(format_private_key(key))
    assert again.verifier_key == key.verifier_key
    assert again.signer().sign(b"m") == key.signer().sign(b"m")


SKEY_MUTATIONS = {
    "lowercase-prefix": (
        PETER_SKEY.replace("PRIVATE+KEY", "private+key"),
        "private key: missing 'PRIVATE+KEY+' prefix",
    ),
    "no-prefix": (PETER_SKEY.removeprefix("PRIVATE+KEY+"), "private key: missing 'PRIVATE+KEY+' prefix"),
    "empty-name": (PETER_SKEY.replace("PeterNeumann", ""), "private key: name '' is not a valid key name"),
    "uppercase-key-id": (
        PETER_SKEY.replace("c74f20a3", "C74F20A3"),
        "private key: malformed key ID 'C74F20A3', want 8 lowercase hex digits",
    ),
    "wrong-key-id": (
        PETER_SKEY.replace("c74f20a3", "c74f20a4"),
        "private key: key ID c74f20a4 does not match name and key, want c74f20a3",
    ),
    "bad-base64": (PETER_SKEY.replace("+AYEK", "+AYE!"), "private key: malformed base64 key material"),
    "base64-extra-char": (PETER_SKEY + "A", "private key: malformed base64 key material"),
    "cosignature-type": (
        PETER_SKEY.replace("+AYEK", "+BIEK"),
        "private key: unsupported signature type 0x04, want 0x01",
    ),
    "short-seed": (
        "PRIVATE+KEY+PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
        "private key: wrong key material size 32, want 33",
    ),
    "long-seed": (
        "PRIVATE+KEY+PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(33)).decode(),
        "private key: wrong key material size 34, want 33",
    ),
}


@pytest.mark.parametrize("mutation", list(SKEY_MUTATIONS))
def test_mutated_private_key_is_rejected_without_leaking_it(mutation: str) -> None:
    skey, message = SKEY_MUTATIONS[mutation]
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$") as caught:
        parse_private_key(skey)
    material = PETER_SKEY.split("+", 4)[4]
    assert material not in str(caught.value)
    assert material[8:16] not in str(caught.value)


def test_generate_checks_name_and_randomness() -> None:
    with pytest.raises(ValueError, match=re.escape("key name: 'a b' is not a valid key name")):
        generate("a b")
    with pytest.raises(ValueError, match=re.escape("private key: wrong seed size 31, want 32")):
        generate("a", randbytes=lambda n: bytes(n - 1))
    assert generate("a").public_key != generate("a").public_key


def test_secret_never_shows() -> None:
    key = parse_private_key(PETER_SKEY)
    material = PETER_SKEY.split("+", 4)[4]
    seed = base64.b64decode(material)[1:]
    shown = [repr(key), str(key), repr(key.signer()), repr(key._private_key), f"{key}", f"{key!r}"]
    for text in shown:
        assert material not in text
        assert seed.hex() not in text
    assert str(key) == f"SigningKey({key.verifier_key!r})"
    with pytest.raises(TypeError, match="signing keys cannot be pickled"):
        pickle.dumps(key)
    with pytest.raises(TypeError, match="private keys cannot be pickled"):
        pickle.dumps(key._private_key)
    with pytest.raises(TypeError):
        copy.copy(key)
    assert not hasattr(key, "__dict__")


def test_signing_key_rejects_bad_names() -> None:
    key = parse_private_key(PETER_SKEY)
    with pytest.raises(ValueError, match=re.escape("key name: 'a+b' is not a valid key name")):
        SigningKey("a+b", key._private_key)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_hazmat_imports_crypto_libraries() -> None:
    modules = sorted((ROOT / "keys").glob("*.py"))
    crypto = {path.name for path in modules if _imports(path) & {"nacl", "cryptography"}}
    assert crypto == {"_hazmat.py"}
    assert len(modules) >= 8


def test_only_hazmat_exports_seed_bytes() -> None:
    for path in sorted((ROOT / "keys").glob("*.py")):
        if path.name != "_hazmat.py":
            assert re.search(r"\._signing_key\b", path.read_text(encoding="utf-8")) is None, path.name


def test_identity_public_key_with_trivial_signature_is_rejected() -> None:
    """A lax verifier accepts R = identity, S = 0 under the identity key for any message; we must not."""
    identity = b"\x01" + bytes(31)
    verifier = new_verifier(format_verifier_key("weak", identity))
    for message in (b"", b"any message\n"):
        assert not verifier.verify(message, identity + bytes(32))


def test_non_canonical_s_is_rejected() -> None:
    """RFC 8032 §5.1.7: S must be below the group order L; S + L must not verify."""
    group_order = 2**252 + 27742317777372353535851937790883648493
    key = parse_private_key(PETER_SKEY)
    signature = key.signer().sign(b"m")
    s = int.from_bytes(signature[32:], "little") + group_order
    assert s < 2**256
    verifier = new_verifier(key.verifier_key)
    assert verifier.verify(b"m", signature)
    assert not verifier.verify(b"m", signature[:32] + s.to_bytes(32, "little"))
