"""C2SP signed notes (c2sp.org/signed-note): key names, key IDs, verifier keys, signing and opening.

A signed note is a text ending in a newline, a blank line, then one or more signature lines::

    <text, one or more lines, each ending in U+000A>
    <empty line>
    — <key name> base64(key ID || signature)        (U+2014 em dash, space, name, space, base64, newline)

* The whole note is valid UTF-8 with no ASCII control character other than newline. The text is
  separated from the signatures by the *last* empty line, so the text may itself contain empty lines.
* A key name is non-empty and contains no Unicode space and no plus sign.
* key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], read as a big-endian uint32.
  Signature type 0x01 is Ed25519 over the note text (RFC 8032); 0x04 is a timestamped cosignature
  (c2sp.org/tlog-cosignature, see ``keys.cosignature``).
* A verifier key ("vkey") is ``<name>+<hex(key ID)>+base64(signature type || public key)``.

Opening a note follows the spec's rules. Signatures whose (name, key ID) pair is unknown are kept
aside, unverified. A known key's signature that fails to verify rejects the whole note. A note with no
verified signature is rejected. This implementation is stricter than the spec in three ways: a note
may be at most 1,000,000 bytes and carry at most 100 signatures, two signatures by the same (name,
key ID) pair reject the note, and the base64 must be canonical.

The spec's own example, verified:

>>> from keys.note import new_verifier, open_note
>>> verifier = new_verifier("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
>>> signed = (
...     "This is an example message.\\n"
...     "\\n"
...     "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRK"
...     "uwHjG1Yu72IneyaQM=\\n"
... ).encode()
>>> note = open_note(signed, [verifier])
>>> note.text
'This is an example message.\\n'
>>> [(sig.name, f"{sig.key_id:08x}") for sig in note.sigs]
[('example.com/foo', '530d903a')]
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from keys import _hazmat

SIG_TYPE_ED25519 = 0x01
SIG_TYPE_COSIGNATURE_V1 = 0x04
MAX_SIGNATURES = 100
MAX_NOTE_SIZE = 1_000_000

_PUBLIC_KEY_SIZES = {SIG_TYPE_ED25519: 32, SIG_TYPE_COSIGNATURE_V1: 32}
_SIG_PREFIX = "— "  # U+2014 em dash, space
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX8 = re.compile(r"[0-9a-f]{8}")


class InvalidSignatureError(Exception):
    """The one verification failure of ``keys``: a note, signature or statement that does not verify.

    The message for a failed signature is only "invalid signature"; subclasses say more where the input
    is malformed rather than forged.
    """


class MalformedNoteError(InvalidSignatureError):
    """The bytes are not a well-formed signed note (or signature line); the message names the fault."""


class UnverifiedNoteError(InvalidSignatureError):
    """No signature on the note is by a known key. ``note`` holds the parsed, unverified note."""

    def __init__(self, note: Note) -> None:
        super().__init__("note has no verifiable signatures")
        self.note = note


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID (uint32) and base64(key ID || signature)."""

    name: str
    key_id: int
    base64: str

    @property
    def raw(self) -> bytes:
        """The signature bytes that follow the 4-byte key ID."""
        return base64.b64decode(self.base64)[4:]


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures verified, and those by keys the caller did not know."""

    text: str
    sigs: tuple[Signature, ...]
    unverified_sigs: tuple[Signature, ...]


class Signer(Protocol):
    """Anything that signs note texts under a key name and key ID."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes:
        """Return the signature of `message` (the note text as UTF-8), without the key ID prefix."""
        ...


class Verifier(Protocol):
    """Anything that checks signatures made under a key name and key ID."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether `signature` (without key ID) is valid for `message` (the note text as UTF-8)."""
        ...


def is_valid_name(name: str) -> bool:
    """Report whether `name` is a valid key name: non-empty, no Unicode space, no "+", no control."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(c.isspace() for c in name)
        and _CONTROL.search(name) is None
    )


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """Return SHA-256(name || 0x0A || sig_type || public_key)[:4] as a big-endian uint32.

    Raises ValueError if `name` is not a valid key name or `sig_type` is not a byte.
    """
    _check_name(name, "key name")
    if not 0 <= sig_type <= 0xFF:
        raise ValueError(f"signature type {sig_type} is not a byte")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class VerifierKey:
    """A parsed verifier key: name, key ID, signature type and public key."""

    name: str
    key_id: int
    sig_type: int
    public_key: bytes


def format_verifier_key(name: str, public_key: bytes, sig_type: int = SIG_TYPE_ED25519) -> str:
    """Return the vkey ``name+hex8(key ID)+base64(sig_type || public_key)``.

    The inverse of :func:`parse_verifier_key`. Supports Ed25519 (0x01) and Ed25519 cosignature (0x04)
    keys. Raises ValueError on an invalid name, an unsupported type or a wrong key size.
    """
    _check_public_key(sig_type, public_key, "verifier key")
    material = base64.b64encode(bytes([sig_type]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, sig_type, public_key):08x}+{material}"


def parse_verifier_key(vkey: str) -> VerifierKey:
    """Return the parts of a vkey ``name+hex8+base64(sig_type || public_key)``.

    Strict: the key ID is 8 lowercase hex digits equal to the computed key ID, the base64 is canonical,
    and the key re-formats to `vkey`. Raises ValueError naming the faulty part.
    """
    name, _, rest = vkey.partition("+")
    hex8, _, material = rest.partition("+")
    _check_name(name, "verifier key: name")
    if _HEX8.fullmatch(hex8) is None:
        raise ValueError(f"verifier key: malformed key ID {hex8!r}, want 8 lowercase hex digits")
    raw = _decode_base64(material, "verifier key: key material")
    sig_type, public_key = raw[0], raw[1:]
    _check_public_key(sig_type, public_key, "verifier key")
    want = key_id(name, sig_type, public_key)
    if int(hex8, 16) != want:
        raise ValueError(f"verifier key: key ID {hex8} does not match name and key, want {want:08x}")
    if format_verifier_key(name, public_key, sig_type) != vkey:
        raise AssertionError("keys: verifier key does not round-trip")
    return VerifierKey(name, want, sig_type, public_key)


class Ed25519Verifier:
    """Verifies Ed25519 (signature type 0x01) note signatures by one public key."""

    __slots__ = ("_key_id", "_name", "_public_key")

    def __init__(self, name: str, public_key: bytes) -> None:
        """Raises ValueError on an invalid name or a public key that is not 32 bytes."""
        _check_public_key(SIG_TYPE_ED25519, public_key, "Ed25519 verifier")
        self._name = name
        self._public_key = public_key
        self._key_id = key_id(name, SIG_TYPE_ED25519, public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public_key

    @property
    def verifier_key(self) -> str:
        return format_verifier_key(self._name, self._public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether `signature` is this key's RFC 8032 signature of `message`."""
        return _hazmat.verify(self._public_key, message, signature)

    def __repr__(self) -> str:
        return f"Ed25519Verifier({self.verifier_key!r})"


def new_verifier(vkey: str) -> Ed25519Verifier:
    """Return the verifier for an Ed25519 (type 0x01) vkey. Raises ValueError for any other vkey."""
    parsed = parse_verifier_key(vkey)
    if parsed.sig_type != SIG_TYPE_ED25519:
        raise ValueError(f"verifier key: signature type 0x{parsed.sig_type:02x}, want 0x01 (Ed25519)")
    return Ed25519Verifier(parsed.name, parsed.public_key)


def format_signature_line(signature: Signature) -> str:
    """Return ``— <name> <base64>\\n``; the inverse of :func:`parse_signature_line`."""
    return f"{_SIG_PREFIX}{signature.name} {signature.base64}\n"


def parse_signature_line(line: str) -> Signature:
    """Return the signature on one line ``— <name> base64(key ID || signature)\\n``.

    The base64 must be canonical and hold at least 5 bytes. Raises MalformedNoteError naming the fault.
    """
    if not line.startswith(_SIG_PREFIX) or not line.endswith("\n"):
        raise MalformedNoteError(f"malformed note: signature line {line!r} is not '— <name> <signature>\\n'")
    name, space, b64 = line[len(_SIG_PREFIX) : -1].partition(" ")
    if not space or not is_valid_name(name):
        raise MalformedNoteError(f"malformed note: bad key name in signature line {line!r}")
    try:
        raw = _decode_base64(b64, "signature")
    except ValueError as err:
        raise MalformedNoteError(f"malformed note: {err} in signature line {line!r}") from None
    if len(raw) < 5:
        raise MalformedNoteError(f"malformed note: signature of {len(raw)} bytes, want at least 5: {line!r}")
    signature = Signature(name, int.from_bytes(raw[:4], "big"), b64)
    if format_signature_line(signature) != line:
        raise AssertionError("keys: signature line does not round-trip")
    return signature


def sign_note(text: str, *signers: Signer) -> bytes:
    """Return `text` signed by every signer, in order, as signed-note bytes.

    `text` must end in a newline and contain no control character but newline. Needs 1 to 100 signers
    with valid names and distinct (name, key ID) pairs. Costs one signature per signer. Raises
    ValueError on bad input, and if the note would exceed 1,000,000 bytes.
    """
    body = _check_text(text)
    if not 1 <= len(signers) <= MAX_SIGNATURES:
        raise ValueError(f"sign_note: {len(signers)} signers, want 1 to {MAX_SIGNATURES}")
    _check_distinct((s.name, s.key_id) for s in signers)
    sigs = [_sign_one(signer, body) for signer in signers]
    msg = body + b"\n" + "".join(map(format_signature_line, sigs)).encode("utf-8")
    if len(msg) > MAX_NOTE_SIZE:
        raise ValueError(f"sign_note: note of {len(msg)} bytes, limit {MAX_NOTE_SIZE}")
    if _split_note(msg) != (text, sigs):
        raise AssertionError("keys: sign_note output does not parse back")
    return msg


def open_note(msg: bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse the signed note `msg` and verify every signature by a key in `verifiers`.

    Signatures by unknown (name, key ID) pairs go to ``unverified_sigs``. Costs one verification per
    known signature. Raises TypeError if `msg` is not bytes, ValueError if two verifiers share a
    (name, key ID) pair,
    MalformedNoteError if `msg` is not a well-formed note, InvalidSignatureError("invalid signature")
    if a known key's signature fails, and UnverifiedNoteError if no known key signed.
    """
    index = _index_verifiers(verifiers)
    text, sigs = _split_note(msg)
    body = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for sig in sigs:
        verifier = index.get((sig.name, sig.key_id))
        if verifier is None:
            unverified.append(sig)
        elif verifier.verify(body, sig.raw):
            verified.append(sig)
        else:
            raise InvalidSignatureError("invalid signature")
    note = Note(text, tuple(verified), tuple(unverified))
    if not verified:
        raise UnverifiedNoteError(note)
    return note


def _split_note(msg: bytes) -> tuple[str, list[Signature]]:
    """Return (text, signatures) of a note without verifying anything. Raises MalformedNoteError."""
    if not isinstance(msg, bytes):
        raise TypeError(f"note must be bytes, not {type(msg).__name__}")
    if len(msg) > MAX_NOTE_SIZE:
        raise MalformedNoteError(f"malformed note: {len(msg)} bytes, limit {MAX_NOTE_SIZE}")
    try:
        decoded = msg.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MalformedNoteError(f"malformed note: invalid UTF-8 at byte {err.start}") from None
    control = _CONTROL.search(decoded)
    if control is not None:
        raise MalformedNoteError(f"malformed note: control character U+{ord(control[0]):04X}")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("malformed note: no blank line before the signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block:
        raise MalformedNoteError("malformed note: no signature lines after the last blank line")
    if not block.endswith("\n"):
        raise MalformedNoteError("malformed note: missing final newline")
    lines = [line + "\n" for line in block[:-1].split("\n")]
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"malformed note: {len(lines)} signatures, limit {MAX_SIGNATURES}")
    sigs = [parse_signature_line(line) for line in lines]
    try:
        _check_distinct((sig.name, sig.key_id) for sig in sigs)
    except ValueError as err:
        raise MalformedNoteError(f"malformed note: {err}") from None
    return text, sigs


def _sign_one(signer: Signer, body: bytes) -> Signature:
    _check_name(signer.name, "signer name")
    if not 0 <= signer.key_id <= 0xFFFFFFFF:
        raise ValueError(f"signer {signer.name}: key ID {signer.key_id} is not a uint32")
    signature = signer.sign(body)
    if not isinstance(signature, bytes) or not signature:
        raise ValueError(f"signer {signer.name}: sign() must return non-empty bytes")
    raw = signer.key_id.to_bytes(4, "big") + signature
    return Signature(signer.name, signer.key_id, base64.b64encode(raw).decode("ascii"))


def _index_verifiers(verifiers: Iterable[Verifier]) -> dict[tuple[str, int], Verifier]:
    index: dict[tuple[str, int], Verifier] = {}
    for verifier in verifiers:
        pair = (verifier.name, verifier.key_id)
        if pair in index:
            raise ValueError(f"verifiers: two verifiers for {pair[0]}+{pair[1]:08x}")
        index[pair] = verifier
    return index


def _check_distinct(pairs: Iterable[tuple[str, int]]) -> None:
    seen: set[tuple[str, int]] = set()
    for name, kid in pairs:
        if (name, kid) in seen:
            raise ValueError(f"two signatures by {name}+{kid:08x}")
        seen.add((name, kid))


def _check_text(text: str) -> bytes:
    """Return the UTF-8 of a valid note text. Raises ValueError naming the fault."""
    if not isinstance(text, str):
        raise ValueError(f"note text: must be str, not {type(text).__name__}")
    if not text.endswith("\n"):
        raise ValueError("note text: must end with a newline")
    control = _CONTROL.search(text)
    if control is not None:
        raise ValueError(f"note text: control character U+{ord(control[0]):04X} at offset {control.start()}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"note text: not encodable as UTF-8 at offset {err.start}") from None


def _check_name(name: str, field: str) -> None:
    if not is_valid_name(name):
        raise ValueError(f"{field}: {name!r} is not a valid key name (non-empty, no spaces, no '+')")


def _check_public_key(sig_type: int, public_key: bytes, field: str) -> None:
    size = _PUBLIC_KEY_SIZES.get(sig_type)
    if size is None:
        raise ValueError(f"{field}: unsupported signature type 0x{sig_type:02x}")
    if not isinstance(public_key, bytes) or len(public_key) != size:
        got = len(public_key) if isinstance(public_key, bytes) else type(public_key).__name__
        raise ValueError(f"{field}: wrong public key size {got}, want {size}")


def _decode_base64(text: str, field: str) -> bytes:
    """Return the bytes of canonical, non-empty standard base64 `text`. Raises ValueError."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError(f"{field}: malformed base64") from None
    if not raw or base64.b64encode(raw).decode("ascii") != text:
        raise ValueError(f"{field}: malformed base64")
    return raw
