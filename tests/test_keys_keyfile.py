"""Encrypted key files: round trip, 0600, no overwrite, wrong passphrase, every tampered byte, the format."""

import base64
import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from keys import (
    DEFAULT_KDF,
    KdfParams,
    KeyFileError,
    generate,
    parse_private_key,
    passphrase_from_env,
    read_key_file,
    write_key_file,
)
from tests.vector_keys import PETER_SKEY

CHEAP = KdfParams(memory_kib=8, iterations=1, lanes=1)
PASSPHRASE = "正确的马 battery staple".encode()
KEY = parse_private_key(PETER_SKEY)


def counter() -> Callable[[int], bytes]:
    state = [0]

    def randbytes(n: int) -> bytes:
        state[0] += 1
        return bytes([state[0]]) * n

    return randbytes


def write(path: Path, kdf: KdfParams = CHEAP) -> Path:
    write_key_file(path, KEY, PASSPHRASE, kdf=kdf, randbytes=counter())
    return path


def test_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path / "log.key")
    key = read_key_file(path, PASSPHRASE)
    assert key.verifier_key == KEY.verifier_key
    assert key.signer().sign(b"m") == KEY.signer().sign(b"m")


def test_default_cost_is_rfc9106_second_recommendation(tmp_path: Path) -> None:
    assert (DEFAULT_KDF.memory_kib, DEFAULT_KDF.iterations, DEFAULT_KDF.lanes) == (2**16, 3, 4)
    path = tmp_path / "strong.key"
    write_key_file(path, KEY, PASSPHRASE)
    kdf = json.loads(path.read_text(encoding="utf-8"))["kdf"]
    assert (kdf["memory_kib"], kdf["iterations"], kdf["lanes"]) == (65536, 3, 4)
    assert read_key_file(path, PASSPHRASE).verifier_key == KEY.verifier_key


def test_file_is_0600_and_directory_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = write(tmp_path / "home" / "keys" / "log.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["log.key"]


def test_never_overwrites(tmp_path: Path) -> None:
    path = write(tmp_path / "log.key")
    before = path.read_bytes()
    other = generate("other")
    with pytest.raises(
        KeyFileError, match="^" + re.escape(f"key file already exists, not overwriting: {path}") + "$"
    ):
        write_key_file(path, other, PASSPHRASE, kdf=CHEAP)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.key"]


def test_never_overwrites_a_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "log.key"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(KeyFileError, match="key file already exists"):
        write(link)
    assert not (tmp_path / "elsewhere").exists()


def test_wrong_passphrase(tmp_path: Path) -> None:
    path = write(tmp_path / "log.key")
    with pytest.raises(
        KeyFileError, match="^" + re.escape(f"wrong passphrase or damaged key file: {path}") + "$"
    ):
        read_key_file(path, b"wrong")
    with pytest.raises(ValueError, match=re.escape("passphrase: must be non-empty bytes")):
        read_key_file(path, b"")


def test_every_tampered_byte_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path / "log.key")
    original = path.read_bytes()
    tampered = tmp_path / "tampered.key"
    message = "^" + re.escape(f"wrong passphrase or damaged key file: {tampered}") + "$"
    for index in range(len(original)):
        for xor in (0x01, 0x20):
            tampered.write_bytes(original[:index] + bytes([original[index] ^ xor]) + original[index + 1 :])
            with pytest.raises(KeyFileError, match=message):
                read_key_file(tampered, PASSPHRASE)


@pytest.mark.parametrize(
    "mutation",
    ["truncated", "appended-byte", "reformatted-json", "not-json", "deeply-nested", "empty", "crlf"],
)
def test_damaged_files(tmp_path: Path, mutation: str) -> None:
    data = write(tmp_path / "log.key").read_bytes()
    damaged = {
        "truncated": data[:-10],
        "appended-byte": data + b" ",
        "reformatted-json": json.dumps(json.loads(data)).encode(),
        "not-json": b"PRIVATE+KEY+...",
        "deeply-nested": b"[" * 30000 + b"]" * 30000,
        "empty": b"",
        "crlf": data.replace(b"\n", b"\r\n"),
    }[mutation]
    path = tmp_path / "damaged.key"
    path.write_bytes(damaged)
    with pytest.raises(KeyFileError, match=re.escape(f"wrong passphrase or damaged key file: {path}")):
        read_key_file(path, PASSPHRASE)


def test_resealed_under_other_name_is_detected(tmp_path: Path) -> None:
    obj = json.loads(write(tmp_path / "log.key").read_text(encoding="utf-8"))
    other = generate("Other", randbytes=lambda n: bytes(n))
    obj["name"], obj["verifier_key"] = other.name, other.verifier_key
    path = tmp_path / "swapped.key"
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(KeyFileError, match="wrong passphrase or damaged key file"):
        read_key_file(path, PASSPHRASE)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(
        KeyFileError, match="^" + re.escape(f"cannot read key file: {path}: No such file or directory")
    ):
        read_key_file(path, PASSPHRASE)


def test_format_is_as_documented_and_opens_independently(tmp_path: Path) -> None:
    """Decrypt with cryptography directly, following only the format in keys/keyfile.py's docstring."""
    data = write(tmp_path / "log.key").read_bytes()
    obj = json.loads(data)
    assert list(obj) == ["format", "name", "verifier_key", "kdf", "aead", "ciphertext"]
    assert data == (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()
    assert (obj["format"], obj["kdf"]["name"], obj["aead"]["name"]) == (
        "fairdraw-key-file/v1",
        "argon2id",
        "chacha20-poly1305",
    )
    kdf = obj["kdf"]
    salt, nonce = base64.b64decode(kdf["salt"]), base64.b64decode(obj["aead"]["nonce"])
    assert (len(salt), len(nonce)) == (16, 12)
    aead_key = Argon2id(
        salt=salt, length=32, iterations=kdf["iterations"], lanes=kdf["lanes"], memory_cost=kdf["memory_kib"]
    ).derive(PASSPHRASE)
    ad = f"fairdraw-key-file/v1\n{obj['name']}\n{obj['verifier_key']}\n".encode()
    seed = ChaCha20Poly1305(aead_key).decrypt(nonce, base64.b64decode(obj["ciphertext"]), ad)
    assert seed == base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:]
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert base64.b64decode(obj["verifier_key"].split("+", 2)[2]) == b"\x01" + public
    assert base64.b64encode(seed).decode() not in data.decode()


def test_salt_and_nonce_come_from_randbytes(tmp_path: Path) -> None:
    obj = json.loads(write(tmp_path / "log.key").read_text(encoding="utf-8"))
    assert base64.b64decode(obj["kdf"]["salt"]) == b"\x01" * 16
    assert base64.b64decode(obj["aead"]["nonce"]) == b"\x02" * 12
    with pytest.raises(ValueError, match="randbytes: returned the wrong number of bytes"):
        write_key_file(tmp_path / "bad.key", KEY, PASSPHRASE, kdf=CHEAP, randbytes=lambda n: b"short")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ((8, 1, 0), "kdf: lanes 0 out of range 1..64"),
        ((8, 0, 1), "kdf: iterations 0 out of range 1..64"),
        ((15, 1, 2), "kdf: memory_kib 15 out of range 16..4194304"),
        ((2**23, 1, 1), "kdf: memory_kib 8388608 out of range 8..4194304"),
        ((8, True, 1), "kdf: iterations True out of range 1..64"),
    ],
)
def test_kdf_params_are_checked(params: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        KdfParams(*params)


# --- passphrase from the environment ---------------------------------------------------------------


def test_passphrase_from_variable() -> None:
    assert passphrase_from_env({"FAIRDRAW_KEY_PASSPHRASE": "秘密 words"}) == "秘密 words".encode()


@pytest.mark.parametrize(
    ("content", "want"),
    [(b"secret\n", b"secret"), (b"secret\r\n", b"secret"), (b"secret", b"secret"), (b"two\n\n", b"two\n")],
)
def test_passphrase_from_file(tmp_path: Path, content: bytes, want: bytes) -> None:
    path = tmp_path / "passphrase"
    path.write_bytes(content)
    assert passphrase_from_env({"FAIRDRAW_KEY_PASSPHRASE_FILE": str(path)}) == want


def test_passphrase_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    cases = [
        ({}, "no key passphrase: set FAIRDRAW_KEY_PASSPHRASE or FAIRDRAW_KEY_PASSPHRASE_FILE"),
        (
            {"FAIRDRAW_KEY_PASSPHRASE": "a", "FAIRDRAW_KEY_PASSPHRASE_FILE": str(empty)},
            "set only one of FAIRDRAW_KEY_PASSPHRASE and FAIRDRAW_KEY_PASSPHRASE_FILE",
        ),
        ({"FAIRDRAW_KEY_PASSPHRASE": ""}, "empty key passphrase in FAIRDRAW_KEY_PASSPHRASE"),
        (
            {"FAIRDRAW_KEY_PASSPHRASE_FILE": str(empty)},
            f"empty key passphrase in FAIRDRAW_KEY_PASSPHRASE_FILE {empty}",
        ),
        (
            {"FAIRDRAW_KEY_PASSPHRASE_FILE": str(tmp_path / "absent")},
            f"cannot read passphrase file: {tmp_path / 'absent'}: No such file or directory",
        ),
    ]
    for env, message in cases:
        with pytest.raises(KeyFileError, match="^" + re.escape(message) + "$"):
            passphrase_from_env(env)
