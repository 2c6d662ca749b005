"""The hazardous layer: the only module that touches raw private-key bytes or imports a crypto library.

Ed25519 (RFC 8032) comes from PyNaCl, i.e. libsodium, whose verification is strict: it rejects
non-canonical encodings of S and of the public key, and public keys of small order. Key files use
Argon2id (RFC 9106) and ChaCha20-Poly1305 (RFC 8439) from pyca/cryptography.

Everything else in ``keys/`` goes through the names below, so ``grep -n _hazmat keys/*.py`` lists every
place a secret could flow. A :class:`PrivateKey` never shows its seed in ``repr`` or ``str``; the only
ways out are :func:`private_key_material` (the base64 form inside a Go private-key string) and
:func:`seal_private_key` (the key-file ciphertext).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
AEAD_KEY_SIZE = 32
AEAD_NONCE_SIZE = 12


class SealError(Exception):
    """A sealed private key did not open: wrong passphrase, or damaged ciphertext or parameters."""


class PrivateKey:
    """An Ed25519 private key (RFC 8032 §5.1.5), held as libsodium's expanded key; the seed stays inside."""

    __slots__ = ("_signing_key",)

    def __init__(self, signing_key: nacl.signing.SigningKey) -> None:
        self._signing_key = signing_key

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        """Return the key whose 32-byte RFC 8032 seed is `seed`. Raises ValueError on a wrong length."""
        if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
            raise ValueError(f"private key: wrong seed size {_size(seed)}, want {SEED_SIZE}")
        return cls(nacl.signing.SigningKey(seed))

    @classmethod
    def generate(cls, randbytes: Callable[[int], bytes]) -> PrivateKey:
        """Return a new key whose seed is ``randbytes(32)``. Raises ValueError if it returns another size."""
        return cls.from_seed(randbytes(SEED_SIZE))

    @property
    def public_key(self) -> bytes:
        """The 32-byte RFC 8032 encoding of the public key."""
        return bytes(self._signing_key.verify_key)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of `message` (deterministic, RFC 8032 §5.1.6)."""
        return bytes(self._signing_key.sign(message).signature)

    def __repr__(self) -> str:
        return f"PrivateKey(public_key={self.public_key.hex()})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("private keys cannot be pickled")


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Report whether `signature` is a valid Ed25519 signature of `message` by `public_key`.

    Any size mismatch or malformed point counts as a failed verification; nothing is raised.
    """
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        return False
    return True


def private_key_material(key: PrivateKey, sig_type: int) -> str:
    """Return base64(sig_type || seed), the secret part of a Go sumdb/note private-key string.

    The inverse of :func:`private_key_from_material`.
    """
    seed = bytes(key._signing_key)
    return base64.b64encode(bytes([sig_type]) + seed).decode("ascii")


def private_key_from_material(material: str, sig_type: int) -> PrivateKey:
    """Return the key encoded as base64(sig_type || seed); the inverse of :func:`private_key_material`.

    The base64 must be canonical (it re-encodes to itself) and its first byte must be `sig_type`.
    Raises ValueError naming what is wrong; the message never contains the secret.
    """
    try:
        raw = base64.b64decode(material, validate=True)
    except (ValueError, TypeError):
        raise ValueError("private key: malformed base64 key material") from None
    if not raw or base64.b64encode(raw).decode("ascii") != material:
        raise ValueError("private key: malformed base64 key material")
    if raw[0] != sig_type:
        raise ValueError(f"private key: unsupported signature type 0x{raw[0]:02x}, want 0x{sig_type:02x}")
    if len(raw) != 1 + SEED_SIZE:
        raise ValueError(f"private key: wrong key material size {len(raw)}, want {1 + SEED_SIZE}")
    return PrivateKey.from_seed(raw[1:])


def seal_private_key(
    key: PrivateKey, passphrase: bytes, salt: bytes, cost: tuple[int, int, int], nonce: bytes, ad: bytes
) -> bytes:
    """Return ChaCha20-Poly1305(Argon2id(passphrase, salt, cost), nonce, seed, ad): the sealed seed.

    `cost` is (memory in KiB, passes, lanes); one Argon2id derivation at that cost. The inverse of
    :func:`open_private_key`. Raises ValueError for parameters Argon2id or the AEAD refuse.
    """
    aead_key = _derive_aead_key(passphrase, salt, cost)
    return ChaCha20Poly1305(aead_key).encrypt(nonce, bytes(key._signing_key), ad)


def open_private_key(
    passphrase: bytes, salt: bytes, cost: tuple[int, int, int], nonce: bytes, ciphertext: bytes, ad: bytes
) -> PrivateKey:
    """Return the key sealed by :func:`seal_private_key`. Raises SealError if anything does not match."""
    aead_key = _derive_aead_key(passphrase, salt, cost)
    try:
        seed = ChaCha20Poly1305(aead_key).decrypt(nonce, ciphertext, ad)
    except InvalidTag:
        raise SealError("sealed key did not open") from None
    try:
        return PrivateKey.from_seed(seed)
    except ValueError:
        raise SealError("sealed key did not open") from None


def _derive_aead_key(passphrase: bytes, salt: bytes, cost: tuple[int, int, int]) -> bytes:
    """Return the 32-byte Argon2id (RFC 9106) key; `cost` is (memory in KiB, passes, lanes)."""
    memory_kib, iterations, lanes = cost
    kdf = Argon2id(
        salt=salt, length=AEAD_KEY_SIZE, iterations=iterations, lanes=lanes, memory_cost=memory_kib
    )
    return kdf.derive(passphrase)


def _size(value: object) -> str:
    return str(len(value)) if isinstance(value, bytes) else type(value).__name__
