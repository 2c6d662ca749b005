"""Encrypted key files: one signing key under a passphrase, format "fairdraw-key-file/v1".

The file is one JSON object, UTF-8, written exactly as below (this field order, two-space indent,
final newline); a reader accepts only the bytes the writer would produce::

    {
      "format": "fairdraw-key-file/v1",
      "name": "<key name>",
      "verifier_key": "<name>+<hex8>+<base64(0x01 || public key)>",
      "kdf": {
        "name": "argon2id",
        "memory_kib": 65536,
        "iterations": 3,
        "lanes": 4,
        "salt": "<base64, 16 bytes>"
      },
      "aead": {
        "name": "chacha20-poly1305",
        "nonce": "<base64, 12 bytes>"
      },
      "ciphertext": "<base64, 32-byte seed + 16-byte tag>"
    }

* key = Argon2id(passphrase, salt, memory_kib, iterations, lanes) (RFC 9106), 32 bytes. The default
  cost is RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes); the parameters live in the
  file so that a cheaper file (tests) or a dearer one still opens.
* ciphertext = ChaCha20-Poly1305(key, nonce, seed, ad) (RFC 8439), where the associated data is
  ``fairdraw-key-file/v1\\n<name>\\n<verifier_key>\\n``: name and verifier key are in clear and bound.
* After decryption the seed's public key must equal the verifier key's.

Files are created with mode 0600 in a temporary file, fsynced, then linked into place (which fails if
the target exists: a key file is never overwritten). Reading never shows a traceback for a wrong
passphrase or damaged file: it raises ``KeyFileError("wrong passphrase or damaged key file: PATH")``.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys import _hazmat
from keys.note import SIG_TYPE_ED25519, parse_verifier_key
from keys.signing import SigningKey

FORMAT = "fairdraw-key-file/v1"
PASSPHRASE_ENV = "FAIRDRAW_KEY_PASSPHRASE"  # noqa: S105 (the variable's name, not a secret)
PASSPHRASE_FILE_ENV = "FAIRDRAW_KEY_PASSPHRASE_FILE"  # noqa: S105 (a name, not a secret)
MAX_KEY_FILE_SIZE = 64 * 1024
_SALT_SIZE = 16
_KDF_NAME = "argon2id"
_AEAD_NAME = "chacha20-poly1305"
_FIELDS = ["format", "name", "verifier_key", "kdf", "aead", "ciphertext"]
_KDF_FIELDS = ["name", "memory_kib", "iterations", "lanes", "salt"]
_AEAD_FIELDS = ["name", "nonce"]


class KeyFileError(Exception):
    """A key file or passphrase that cannot be used; the message is one plain line for the operator."""


def _check_range(field: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"kdf: {field} {value!r} out of range {low}..{high}")


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost: memory in KiB (at least 8 per lane, at most 4 GiB), passes, lanes (1 to 64)."""

    memory_kib: int
    iterations: int
    lanes: int

    def __post_init__(self) -> None:
        _check_range("lanes", self.lanes, 1, 64)
        _check_range("iterations", self.iterations, 1, 64)
        _check_range("memory_kib", self.memory_kib, 8 * self.lanes, 4 * 1024 * 1024)


DEFAULT_KDF = KdfParams(memory_kib=64 * 1024, iterations=3, lanes=4)


@dataclass(frozen=True)
class _KeyFile:
    name: str
    verifier_key: str
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    ciphertext: bytes


def write_key_file(
    path: Path,
    key: SigningKey,
    passphrase: bytes,
    *,
    kdf: KdfParams = DEFAULT_KDF,
    randbytes: Callable[[int], bytes] = os.urandom,
) -> None:
    """Encrypt `key` under `passphrase` into a new file at `path` (mode 0600), creating its directory.

    Costs one Argon2id derivation at `kdf`. Raises ValueError on an empty passphrase and KeyFileError
    if `path` exists (it is never overwritten) or cannot be written.
    """
    _check_passphrase(passphrase)
    if os.path.lexists(path):
        raise KeyFileError(f"key file already exists, not overwriting: {path}")
    salt, nonce = randbytes(_SALT_SIZE), randbytes(_hazmat.AEAD_NONCE_SIZE)
    if len(salt) != _SALT_SIZE or len(nonce) != _hazmat.AEAD_NONCE_SIZE:
        raise ValueError("randbytes: returned the wrong number of bytes")
    ad = _associated_data(key.name, key.verifier_key)
    ciphertext = _hazmat.seal_private_key(key._private_key, passphrase, salt, _cost(kdf), nonce, ad)
    data = _format_key_file(_KeyFile(key.name, key.verifier_key, kdf, salt, nonce, ciphertext))
    _write_new_file(path, data)


def read_key_file(path: Path, passphrase: bytes) -> SigningKey:
    """Return the signing key in the key file at `path`, decrypted with `passphrase`.

    Costs one Argon2id derivation at the file's parameters. Raises KeyFileError: "cannot read key
    file" when the file cannot be read, else "wrong passphrase or damaged key file" for any fault.
    """
    _check_passphrase(passphrase)
    data = _read_small_file(path)
    damaged = KeyFileError(f"wrong passphrase or damaged key file: {path}")
    try:
        sealed = _parse_key_file(data)
        ad = _associated_data(sealed.name, sealed.verifier_key)
        cost = _cost(sealed.kdf)
        private_key = _hazmat.open_private_key(
            passphrase, sealed.salt, cost, sealed.nonce, sealed.ciphertext, ad
        )
    except (ValueError, RecursionError, _hazmat.SealError):
        raise damaged from None
    key = SigningKey(sealed.name, private_key)
    if key.verifier_key != sealed.verifier_key:
        raise damaged
    return key


def passphrase_from_env(env: Mapping[str, str]) -> bytes:
    """Return the key-file passphrase from FAIRDRAW_KEY_PASSPHRASE or FAIRDRAW_KEY_PASSPHRASE_FILE.

    Exactly one must be set. A passphrase file's content is used as bytes, less one final newline.
    Raises KeyFileError when neither or both are set, the file cannot be read, or the result is empty.
    """
    direct, file_name = env.get(PASSPHRASE_ENV), env.get(PASSPHRASE_FILE_ENV)
    if direct is not None and file_name is not None:
        raise KeyFileError(f"set only one of {PASSPHRASE_ENV} and {PASSPHRASE_FILE_ENV}")
    if direct is not None:
        passphrase = direct.encode("utf-8", "surrogateescape")
        source = PASSPHRASE_ENV
    elif file_name is not None:
        passphrase = _strip_newline(_read_small_file(Path(file_name), what="passphrase file"))
        source = f"{PASSPHRASE_FILE_ENV} {file_name}"
    else:
        raise KeyFileError(f"no key passphrase: set {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV}")
    if not passphrase:
        raise KeyFileError(f"empty key passphrase in {source}")
    return passphrase


def _format_key_file(sealed: _KeyFile) -> bytes:
    """Return the file bytes for `sealed`; the inverse of :func:`_parse_key_file`."""
    obj = {
        "format": FORMAT,
        "name": sealed.name,
        "verifier_key": sealed.verifier_key,
        "kdf": {
            "name": _KDF_NAME,
            "memory_kib": sealed.kdf.memory_kib,
            "iterations": sealed.kdf.iterations,
            "lanes": sealed.kdf.lanes,
            "salt": _b64(sealed.salt),
        },
        "aead": {"name": _AEAD_NAME, "nonce": _b64(sealed.nonce)},
        "ciphertext": _b64(sealed.ciphertext),
    }
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _parse_key_file(data: bytes) -> _KeyFile:
    """Return the fields of a key file. Strict: exact fields and types, round trip. Raises ValueError."""
    obj = _object(json.loads(data.decode("utf-8")), _FIELDS)
    kdf, aead = _object(obj["kdf"], _KDF_FIELDS), _object(obj["aead"], _AEAD_FIELDS)
    if (obj["format"], kdf["name"], aead["name"]) != (FORMAT, _KDF_NAME, _AEAD_NAME):
        raise ValueError("key file: unsupported format, kdf or aead")
    vkey = parse_verifier_key(_str(obj["verifier_key"]))
    if vkey.sig_type != SIG_TYPE_ED25519 or vkey.name != obj["name"]:
        raise ValueError("key file: name and verifier key disagree")
    params = KdfParams(kdf["memory_kib"], kdf["iterations"], kdf["lanes"])
    sealed = _KeyFile(
        vkey.name,
        _str(obj["verifier_key"]),
        params,
        _unb64(kdf["salt"], _SALT_SIZE),
        _unb64(aead["nonce"], _hazmat.AEAD_NONCE_SIZE),
        _unb64(obj["ciphertext"], _hazmat.SEED_SIZE + 16),
    )
    if _format_key_file(sealed) != data:
        raise ValueError("key file: not in canonical form")
    return sealed


def _associated_data(name: str, verifier_key: str) -> bytes:
    return f"{FORMAT}\n{name}\n{verifier_key}\n".encode()


def _cost(kdf: KdfParams) -> tuple[int, int, int]:
    return (kdf.memory_kib, kdf.iterations, kdf.lanes)


def _write_new_file(path: Path, data: bytes) -> None:
    """Write `data` to a new file at `path`, atomically: temp file (0600), fsync, link, fsync dir."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.urandom(8).hex()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.link(temp, path)
        finally:
            os.unlink(temp)
        _fsync_dir(path.parent)
    except FileExistsError:
        raise KeyFileError(f"key file already exists, not overwriting: {path}") from None
    except OSError as err:
        raise KeyFileError(f"cannot write key file: {path}: {err.strerror}") from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_small_file(path: Path, what: str = "key file") -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_KEY_FILE_SIZE + 1)
    except OSError as err:
        raise KeyFileError(f"cannot read {what}: {path}: {err.strerror}") from None
    if len(data) > MAX_KEY_FILE_SIZE:
        raise KeyFileError(f"{what} larger than {MAX_KEY_FILE_SIZE} bytes: {path}")
    return data


def _strip_newline(data: bytes) -> bytes:
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith(b"\n") else data


def _check_passphrase(passphrase: bytes) -> None:
    if not isinstance(passphrase, bytes) or not passphrase:
        raise ValueError("passphrase: must be non-empty bytes")


def _object(value: Any, fields: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or list(value) != fields:
        raise ValueError(f"key file: want an object with fields {fields}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("key file: want a string")
    return value


def _unb64(value: Any, size: int) -> bytes:
    raw = base64.b64decode(_str(value), validate=True)
    if len(raw) != size or _b64(raw) != value:
        raise ValueError(f"key file: want canonical base64 of {size} bytes")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
