"""Signed requests (``fairdraw-request/v1``): a department's Ed25519 signature over one API request.

A department that registered a verifier key signs each POST as a C2SP signed note
(``keys.sign_note``) whose text names the request exactly, one ``label value`` line each::

    fairdraw-request/v1
    origin <log origin>
    department <department code>
    method <HTTP method>
    path <request path as sent, with "?query" if any>
    idempotency-key <Idempotency-Key, serialized as an RFC 9651 sf-string>
    time <milliseconds since 1970-01-01T00:00:00Z>
    content-digest sha-256=:<base64 SHA-256 of the request body>:

The last line is an RFC 9530 ``Content-Digest`` field value with one ``sha-256`` member. The note
must carry exactly one signature, by the department's key. It travels in the request header
``Fairdraw-Signature`` as standard base64 (with padding) of the note's bytes. A signed body must be
RFC 8785 canonical JSON, so that the body recorded in the ledger can be re-canonicalized and hashed by
anyone. The service records the note verbatim in the ledger entry the request causes
(:func:`request_record`); with the department's key in force for that entry (its latest ``dept.register``
or ``dept.key`` entry before it, ``draw.service.department_keys``) anyone can check
it (:func:`check_request_record`): the department cannot deny the request and the operator cannot
alter it.

Every verification failure raises the one opaque :class:`RequestSignatureError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from draw.service.sfstring import format_sf_string, parse_sf_string
from keys import InvalidSignatureError, Signer, Verifier, new_verifier, open_note, sign_note
from ledger import jcs

HEADER = "Fairdraw-Signature"
FORMAT_LINE = "fairdraw-request/v1"
MAX_HEADER_SIZE = 8192
_LABELS = ("origin", "department", "method", "path", "idempotency-key", "time", "content-digest")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,15}")
_DIGEST = re.compile(r"sha-256=:([A-Za-z0-9+/]{43}=):")
_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


class RequestSignatureError(Exception):
    """A signed request that does not verify. Deliberately carries no detail."""

    def __init__(self) -> None:
        super().__init__("invalid request signature")


@dataclass(frozen=True)
class SignedFields:
    """The request a ``fairdraw-request/v1`` note names. ``idempotency_key`` is the key's value (not
    its sf-string serialization); ``content_digest`` is the raw 32-byte SHA-256 of the body."""

    origin: str
    department: str
    method: str
    path: str
    idempotency_key: str
    time_ms: int
    content_digest: bytes


@dataclass(frozen=True)
class SignedRequest:
    """A verified signed request: what it names, and the signed note exactly as received."""

    fields: SignedFields
    note: bytes


def content_digest(body: bytes) -> str:
    """Return the RFC 9530 ``Content-Digest`` value of ``body``: ``sha-256=:<base64>:``."""
    return _format_digest(hashlib.sha256(body).digest())


def _format_digest(digest: bytes) -> str:
    return f"sha-256=:{base64.b64encode(digest).decode('ascii')}:"


def format_request(fields: SignedFields) -> str:
    """Return the note text naming ``fields``. The inverse of :func:`parse_request`.

    Raises ValueError if a value would not survive the round trip (empty, a control character, a
    non-ASCII character, leading or trailing space, a digest that is not 32 bytes).
    """
    if len(fields.content_digest) != 32 or not 0 <= fields.time_ms <= jcs.MAX_SAFE_INTEGER:
        raise ValueError("request signature: bad digest size or time")
    values = (
        fields.origin,
        fields.department,
        fields.method,
        fields.path,
        format_sf_string(fields.idempotency_key),
        str(fields.time_ms),
        _format_digest(fields.content_digest),
    )
    for label, value in zip(_LABELS, values, strict=True):
        if not _VALUE.fullmatch(value):
            raise ValueError(f"request signature: {label} must be printable ASCII without edge spaces")
    return (
        FORMAT_LINE
        + "\n"
        + "".join(f"{label} {value}\n" for label, value in zip(_LABELS, values, strict=True))
    )


def parse_request(text: str) -> SignedFields:
    """Parse a ``fairdraw-request/v1`` note text strictly. Raises ValueError naming the faulty line."""
    lines = text.split("\n")
    if len(lines) != len(_LABELS) + 2 or lines[0] != FORMAT_LINE or lines[-1] != "":
        raise ValueError(f"request signature: not a {FORMAT_LINE} text")
    values: list[str] = []
    for label, line in zip(_LABELS, lines[1:-1], strict=True):
        name, sep, value = line.partition(" ")
        if name != label or not sep:
            raise ValueError(f"request signature: line {label!r} missing or out of order")
        values.append(value)
    digest = _DIGEST.fullmatch(values[6])
    if not _DECIMAL.fullmatch(values[5]) or digest is None:
        raise ValueError("request signature: malformed time or content-digest")
    try:
        key = parse_sf_string(values[4])
    except ValueError:
        raise ValueError("request signature: malformed idempotency-key") from None
    fields = SignedFields(
        values[0], values[1], values[2], values[3], key, int(values[5]),
        base64.b64decode(digest.group(1), validate=True),
    )
    if format_request(fields) != text:
        raise ValueError("request signature: text is not in canonical form")
    return fields


def sign_request(signer: Signer, fields: SignedFields) -> str:
    """Return the ``Fairdraw-Signature`` header value: base64 of the note for ``fields`` signed by
    ``signer``. The client side of :func:`verify_request_signature`; costs one signature."""
    note = sign_note(format_request(fields), signer)
    return base64.b64encode(note).decode("ascii")


def verify_request_signature(
    header: str, verifier: Verifier, want: SignedFields, now_ms: int, window_ms: int
) -> SignedRequest:
    """Check that ``header`` is ``verifier``'s signature of exactly the request ``want``.

    ``want`` holds what the server saw (its ``time_ms`` is ignored); the signed time must lie within
    ``window_ms`` of ``now_ms``. The note must carry exactly one signature, ``verifier``'s. Costs one
    signature verification. Raises RequestSignatureError for every failure.
    """
    try:
        note = _decode_header(header)
        opened = open_note(note, [verifier])
        fields = parse_request(opened.text)
    except (InvalidSignatureError, ValueError):
        raise RequestSignatureError() from None
    if opened.unverified_sigs or len(opened.sigs) != 1:
        raise RequestSignatureError()
    expected = SignedFields(
        want.origin,
        want.department,
        want.method,
        want.path,
        want.idempotency_key,
        fields.time_ms,
        want.content_digest,
    )
    if fields != expected or abs(fields.time_ms - now_ms) > window_ms:
        raise RequestSignatureError()
    return SignedRequest(fields, note)


def _decode_header(header: str) -> bytes:
    if len(header) > MAX_HEADER_SIZE:
        raise ValueError("request signature: header too long")
    try:
        note = base64.b64decode(header, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("request signature: header is not base64") from None
    if base64.b64encode(note).decode("ascii") != header:
        raise ValueError("request signature: base64 is not canonical")
    return note


def request_record(signed: SignedRequest) -> dict[str, str]:
    """Return the members that record ``signed`` in a ledger entry body:
    ``{"note": <the signed note, verbatim>, "content_digest": "sha-256=:...:"}``.

    The entry must also carry the request body (or a blob reference to it) so that
    :func:`check_request_record` can recompute the digest.
    """
    return {
        "note": signed.note.decode("utf-8"),
        "content_digest": _format_digest(signed.fields.content_digest),
    }


def check_request_record(record: Any, vkey: str, body: Any) -> SignedFields:
    """Check a recorded request against the department key ``vkey`` and the recorded ``body``.

    ``body`` is the request body as recorded (a JSON value); its RFC 8785 canonical bytes must have the
    signed digest. Returns the signed fields. Raises RequestSignatureError for every failure, and
    ValueError if ``vkey`` is not an Ed25519 verifier key.
    """
    verifier = new_verifier(vkey)
    if not isinstance(record, dict) or set(record) != {"note", "content_digest"}:
        raise RequestSignatureError()
    try:
        opened = open_note(str(record["note"]).encode("utf-8"), [verifier])
        fields = parse_request(opened.text)
        digest = hashlib.sha256(jcs.canonicalize(body)).digest()
    except (InvalidSignatureError, ValueError):
        raise RequestSignatureError() from None
    if opened.unverified_sigs or not hmac.compare_digest(fields.content_digest, digest):
        raise RequestSignatureError()
    if record["content_digest"] != _format_digest(digest):
        raise RequestSignatureError()
    return fields
