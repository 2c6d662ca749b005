"""Signing keys: generation, Ed25519 note signers, and the private-key strings of Go's sumdb/note.

A :class:`SigningKey` is a key name and an Ed25519 private key. Its ``repr`` and ``str`` show the
verifier key only; the secret leaves it only through :func:`format_private_key` or an encrypted key
file (``keys.keyfile``).

The private-key string is the form Go's ``golang.org/x/mod/sumdb/note`` reads and writes (C2SP does
not define one); published test vectors use it::

    PRIVATE+KEY+<name>+<hex8(key ID)>+base64(0x01 || 32-byte Ed25519 seed)

The key ID is the one of the matching verifier key, SHA-256(name || 0x0A || 0x01 || public key)[:4].
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from keys import _hazmat
from keys.note import SIG_TYPE_ED25519, format_verifier_key, is_valid_name, key_id

_PRIVATE_PREFIX = "PRIVATE+KEY+"
_HEX8 = re.compile(r"[0-9a-f]{8}")


class Ed25519Signer:
    """Signs note texts with one Ed25519 key (signature type 0x01). Made by :meth:`SigningKey.signer`."""

    __slots__ = ("_key_id", "_name", "_private_key")

    def __init__(self, name: str, private_key: _hazmat.PrivateKey) -> None:
        self._name = name
        self._private_key = private_key
        self._key_id = key_id(name, SIG_TYPE_ED25519, private_key.public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._private_key.public_key

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte RFC 8032 signature of `message`."""
        return self._private_key.sign(message)

    def __repr__(self) -> str:
        return f"Ed25519Signer({format_verifier_key(self._name, self.public_key)!r})"


class SigningKey:
    """A named Ed25519 signing key, from :func:`generate`, :func:`parse_private_key` or a key file."""

    __slots__ = ("_name", "_private_key")

    def __init__(self, name: str, private_key: _hazmat.PrivateKey) -> None:
        """Raises ValueError if `name` is not a valid key name."""
        if not is_valid_name(name):
            raise ValueError(f"key name: {name!r} is not a valid key name (non-empty, no spaces, no '+')")
        self._name = name
        self._private_key = private_key

    @property
    def name(self) -> str:
        return self._name

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._private_key.public_key

    @property
    def key_id(self) -> int:
        """The signed-note key ID of this key as an Ed25519 (type 0x01) key."""
        return key_id(self._name, SIG_TYPE_ED25519, self.public_key)

    @property
    def verifier_key(self) -> str:
        """The vkey ``name+hex8+base64(0x01 || public key)`` that verifies this key's notes."""
        return format_verifier_key(self._name, self.public_key)

    def signer(self) -> Ed25519Signer:
        """Return a note signer for this key."""
        return Ed25519Signer(self._name, self._private_key)

    def __repr__(self) -> str:
        return f"SigningKey({self.verifier_key!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("signing keys cannot be pickled")


def generate(name: str, randbytes: Callable[[int], bytes] = os.urandom) -> SigningKey:
    """Return a new signing key named `name` whose seed is ``randbytes(32)``.

    Raises ValueError if `name` is not a valid key name or `randbytes` returns another size.
    """
    if not is_valid_name(name):
        raise ValueError(f"key name: {name!r} is not a valid key name (non-empty, no spaces, no '+')")
    return SigningKey(name, _hazmat.PrivateKey.generate(randbytes))


def format_private_key(key: SigningKey) -> str:
    """Return ``PRIVATE+KEY+name+hex8+base64(0x01 || seed)``; the inverse of :func:`parse_private_key`.

    The result is the secret in clear: write it only where a secret may go.
    """
    material = _hazmat.private_key_material(key._private_key, SIG_TYPE_ED25519)
    return f"{_PRIVATE_PREFIX}{key.name}+{key.key_id:08x}+{material}"


def parse_private_key(skey: str) -> SigningKey:
    """Return the signing key in a Go sumdb/note private-key string.

    Strict: the prefix is ``PRIVATE+KEY+``, the key ID is 8 lowercase hex digits equal to the computed
    one, the base64 is canonical and holds 0x01 and a 32-byte seed. Raises ValueError naming the faulty
    part; no message contains the secret.
    """
    if not skey.startswith(_PRIVATE_PREFIX):
        raise ValueError("private key: missing 'PRIVATE+KEY+' prefix")
    name, _, rest = skey[len(_PRIVATE_PREFIX) :].partition("+")
    hex8, _, material = rest.partition("+")
    if not is_valid_name(name):
        raise ValueError(f"private key: name {name!r} is not a valid key name")
    if _HEX8.fullmatch(hex8) is None:
        raise ValueError(f"private key: malformed key ID {hex8!r}, want 8 lowercase hex digits")
    key = SigningKey(name, _hazmat.private_key_from_material(material, SIG_TYPE_ED25519))
    if int(hex8, 16) != key.key_id:
        raise ValueError(f"private key: key ID {hex8} does not match name and key, want {key.key_id:08x}")
    if format_private_key(key) != skey:
        raise AssertionError("keys: private key does not round-trip")
    return key
