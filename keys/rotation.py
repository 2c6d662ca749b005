"""Key rotation statements: a signed note in which the old key hands over to the new one.

The note text is exactly four lines::

    fairdraw.key-rotation/v1
    <origin>
    old <old verifier key>
    new <new verifier key>

It carries exactly two Ed25519 signatures: first by the old key, then by the new key. Both keys are
Ed25519 (type 0x01) verifier keys and differ. The origin is the log's origin line: non-empty, no
control characters. The ledger stores the note in a ``key.rotate`` entry; a reader who trusts the old
key learns the new one from :func:`check_rotation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keys.note import InvalidSignatureError, new_verifier, open_note, sign_note
from keys.signing import SigningKey

ROTATION_HEADER = "fairdraw.key-rotation/v1"
_CONTROL = re.compile(r"[\x00-\x1f]")


@dataclass(frozen=True)
class Rotation:
    """The content of a rotation statement: log origin, old and new verifier keys."""

    origin: str
    old: str
    new: str


def format_rotation(rotation: Rotation) -> str:
    """Return the statement text; the inverse of :func:`parse_rotation`. Raises ValueError on bad fields."""
    _check_rotation_fields(rotation)
    return f"{ROTATION_HEADER}\n{rotation.origin}\nold {rotation.old}\nnew {rotation.new}\n"


def parse_rotation(text: str) -> Rotation:
    """Return the fields of a statement text. Strict: re-formats to `text`. Raises ValueError."""
    lines = text.split("\n")
    if len(lines) != 5 or lines[0] != ROTATION_HEADER or lines[4] != "":
        raise ValueError(f"rotation: want 4 lines starting with {ROTATION_HEADER!r}")
    old_prefix, _, old = lines[2].partition(" ")
    new_prefix, _, new = lines[3].partition(" ")
    if old_prefix != "old" or new_prefix != "new":
        raise ValueError("rotation: want lines 'old <vkey>' and 'new <vkey>'")
    rotation = Rotation(lines[1], old, new)
    if format_rotation(rotation) != text:
        raise ValueError("rotation: text does not round-trip")
    return rotation


def sign_rotation(origin: str, old: SigningKey, new: SigningKey) -> bytes:
    """Return the rotation statement from `old` to `new` for the log `origin`, signed by old then new.

    Raises ValueError on an origin with control characters, or if the two keys have the same vkey.
    """
    text = format_rotation(Rotation(origin, old.verifier_key, new.verifier_key))
    return sign_note(text, old.signer(), new.signer())


def check_rotation(note: bytes, old_vkey: str, *, origin: str | None = None) -> str:
    """Return the new verifier key announced by the rotation statement `note` from `old_vkey`.

    The text must be exactly well-formed, name `old_vkey` (and `origin`, when given), and carry exactly
    two valid signatures: by the old key, then by the new key. Costs three signature verifications.
    Raises ValueError if `old_vkey` is not an Ed25519 vkey, and InvalidSignatureError otherwise.
    """
    old_verifier = new_verifier(old_vkey)
    opened = open_note(note, [old_verifier])
    try:
        rotation = parse_rotation(opened.text)
    except ValueError:
        raise InvalidSignatureError("invalid key rotation statement") from None
    if rotation.old != old_vkey or (origin is not None and rotation.origin != origin):
        raise InvalidSignatureError("invalid key rotation statement")
    new_key = new_verifier(rotation.new)
    both = open_note(note, [old_verifier, new_key])
    signers = [(sig.name, sig.key_id) for sig in both.sigs]
    want = [(old_verifier.name, old_verifier.key_id), (new_key.name, new_key.key_id)]
    if signers != want or both.unverified_sigs:
        raise InvalidSignatureError("invalid key rotation statement")
    return rotation.new


def _check_rotation_fields(rotation: Rotation) -> None:
    if not rotation.origin or _CONTROL.search(rotation.origin) is not None:
        raise ValueError(f"rotation: origin {rotation.origin!r} must be non-empty without control characters")
    old, new = new_verifier(rotation.old), new_verifier(rotation.new)
    if (old.name, old.public_key) == (new.name, new.public_key):
        raise ValueError("rotation: the new key is the old key")
