"""C2SP Ed25519 checkpoint cosignatures (c2sp.org/tlog-cosignature, "cosignature/v1", type 0x04).

A cosignature is an ordinary signed-note signature line on a checkpoint, made by a witness::

    — <cosigner name> base64(key ID || timestamp || Ed25519 signature)

* key ID = SHA-256(name || 0x0A || 0x04 || 32-byte Ed25519 public key)[:4]; the vkey carries type 0x04.
* timestamp: 8 bytes, big-endian, POSIX seconds, at most 2^63 - 1.
* The Ed25519 signature covers ``cosignature/v1\\ntime <timestamp>\\n`` followed by the whole
  checkpoint body (the note text, final newline included, no signature lines). The timestamp is
  ASCII decimal without leading zeros.

A :class:`CosignatureVerifier` plugs into ``keys.note.open_note`` like any verifier; once the note is
open, :func:`cosignature_timestamp` reads the (now verified) time of each cosignature in ``note.sigs``.

>>> from keys.cosignature import cosigned_message
>>> cosigned_message(b"example.com/behind-the-sofa\\n20852163\\n", 1679315147)
b'cosignature/v1\\ntime 1679315147\\nexample.com/behind-the-sofa\\n20852163\\n'
"""

from __future__ import annotations

from keys import _hazmat
from keys.note import (
    SIG_TYPE_COSIGNATURE_V1,
    Signature,
    format_verifier_key,
    key_id,
    parse_verifier_key,
)
from keys.signing import SigningKey

MAX_TIMESTAMP = 2**63 - 1
_TIMESTAMP_SIZE = 8
_HEADER = b"cosignature/v1\n"


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """Return ``cosignature/v1\\ntime <timestamp>\\n`` || `body`, the bytes an Ed25519 cosigner signs.

    Requires 0 <= timestamp <= 2^63 - 1 and a `body` ending in a newline; raises ValueError otherwise.
    """
    _check_timestamp(timestamp)
    if not body.endswith(b"\n"):
        raise ValueError("cosigned body: must end with a newline")
    return _HEADER + b"time %d\n" % timestamp + body


class CosignatureSigner:
    """Cosigns checkpoints with one Ed25519 key at one fixed time (passed in, never read from a clock)."""

    __slots__ = ("_key", "_key_id", "_timestamp")

    def __init__(self, key: SigningKey, timestamp: int) -> None:
        """Raises ValueError unless 0 <= timestamp <= 2^63 - 1."""
        _check_timestamp(timestamp)
        self._key = key.signer()
        self._timestamp = timestamp
        self._key_id = key_id(key.name, SIG_TYPE_COSIGNATURE_V1, key.public_key)

    @property
    def name(self) -> str:
        return self._key.name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def timestamp(self) -> int:
        return self._timestamp

    def sign(self, message: bytes) -> bytes:
        """Return timestamp (8 bytes, big-endian) || Ed25519 signature of the cosigned message."""
        signature = self._key.sign(cosigned_message(message, self._timestamp))
        return self._timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature

    def __repr__(self) -> str:
        return f"CosignatureSigner({self.name!r}, key_id={self._key_id:08x}, timestamp={self._timestamp})"


class CosignatureVerifier:
    """Verifies one cosigner's "cosignature/v1" signatures; use it in ``open_note``'s verifiers."""

    __slots__ = ("_key_id", "_name", "_public_key", "_verifier_key")

    def __init__(self, name: str, public_key: bytes) -> None:
        """Raises ValueError on an invalid name or a public key that is not 32 bytes."""
        self._verifier_key = format_verifier_key(name, public_key, SIG_TYPE_COSIGNATURE_V1)
        self._key_id = key_id(name, SIG_TYPE_COSIGNATURE_V1, public_key)
        self._name = name
        self._public_key = public_key

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def verifier_key(self) -> str:
        return self._verifier_key

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether `signature` (timestamp || Ed25519 signature) cosigns the checkpoint `message`.

        False for a wrong size, a timestamp above 2^63 - 1 or a body without final newline.
        """
        if len(signature) != _TIMESTAMP_SIZE + _hazmat.SIGNATURE_SIZE or not message.endswith(b"\n"):
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        signed = cosigned_message(message, timestamp)
        return _hazmat.verify(self._public_key, signed, signature[_TIMESTAMP_SIZE:])

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self.verifier_key!r})"


def cosigner_verifier_key(key: SigningKey) -> str:
    """Return the type 0x04 vkey ``name+hex8+base64(0x04 || public key)`` of `key` as a cosigner."""
    return format_verifier_key(key.name, key.public_key, SIG_TYPE_COSIGNATURE_V1)


def new_cosignature_verifier(vkey: str) -> CosignatureVerifier:
    """Return the verifier for a cosigner vkey of type 0x04. Raises ValueError for any other vkey."""
    parsed = parse_verifier_key(vkey)
    if parsed.sig_type != SIG_TYPE_COSIGNATURE_V1:
        raise ValueError(f"verifier key: signature type 0x{parsed.sig_type:02x}, want 0x04 (cosignature/v1)")
    return CosignatureVerifier(parsed.name, parsed.public_key)


def cosignature_timestamp(signature: Signature) -> int:
    """Return the timestamp of a cosignature; meaningful only for one in an opened note's ``sigs``.

    Raises ValueError unless the bytes after the key ID are 8 (timestamp) + 64 (signature) long.
    """
    raw = signature.raw
    want = _TIMESTAMP_SIZE + _hazmat.SIGNATURE_SIZE
    if len(raw) != want:
        raise ValueError(f"cosignature: wrong signature size {len(raw)}, want {want}")
    return int.from_bytes(raw[:_TIMESTAMP_SIZE], "big")


def _check_timestamp(timestamp: int) -> None:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"cosignature: timestamp {timestamp!r} out of range 0..2^63-1")
