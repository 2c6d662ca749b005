"""C2SP tlog-proof@v1 (c2sp.org/tlog-proof): an offline-verifiable receipt that an entry is logged.

The text, lines separated by newlines (U+000A)::

    c2sp.org/tlog-proof@v1
    extra <base64 opaque extra data>      (only when there is extra data)
    index <zero-based index, decimal, no leading zeros>
    <base64 inclusion proof hash>          (zero or more, leaf's sibling first)

    <the signed checkpoint note, verbatim>

Parsing is strict and checks the round trip. The signed checkpoint is kept as bytes; its
body must be a well-formed checkpoint and at least one ``— `` signature line must follow,
but signatures are verified by ``keys`` (open the note, then ``parse_checkpoint`` its text,
then ``tree.check_inclusion``). The extra data is not authenticated.

>>> checkpoint = "example.com/log\\n1\\n" + "A" * 43 + "=\\n\\n— example.com/log AAAA\\n"
>>> text = format_proof(0, [], checkpoint.encode())
>>> text.splitlines()[:3]
['c2sp.org/tlog-proof@v1', 'index 0', '']
>>> parse_proof(text).signed_checkpoint == checkpoint.encode()
True
"""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.checkpoint import (
    MAX_CHECKPOINT_SIZE,
    check_decimal_range,
    parse_checkpoint,
    parse_decimal,
    parse_hash,
)
from ledger.errors import FormatError

PROOF_HEADER = "c2sp.org/tlog-proof@v1"
"""The first line of every tlog-proof."""

MAX_PROOF_HASHES = 64
"""The longest inclusion proof a tree of up to 2**64 entries needs."""

MAX_EXTRA_SIZE = 65_536
"""The largest extra data accepted, in bytes."""

_MAX_PROOF_TEXT = MAX_CHECKPOINT_SIZE + 4 * MAX_EXTRA_SIZE
_SIGNATURE_PREFIX = "— "


@dataclass(frozen=True)
class TlogProof:
    """A parsed tlog-proof: entry ``index``, inclusion ``proof_hashes``, the ``signed_checkpoint`` note
    bytes as given, and the opaque ``extra`` data (``b""`` when absent)."""

    index: int
    proof_hashes: tuple[bytes, ...]
    signed_checkpoint: bytes
    extra: bytes = b""


def format_proof(
    index: int, proof_hashes: Sequence[bytes], signed_checkpoint: bytes, extra: bytes = b""
) -> str:
    """Return the tlog-proof text for entry ``index``.

    ``proof_hashes`` is the inclusion proof in the checkpointed tree (at most 64 hashes of
    32 bytes), ``signed_checkpoint`` the whole signed note (UTF-8), ``extra`` opaque data
    of at most 64 KiB, left out when empty. Raises ValueError naming the bad argument.
    """
    check_decimal_range("index", index)
    if len(proof_hashes) > MAX_PROOF_HASHES:
        raise ValueError(f"ledger: proof_hashes has {len(proof_hashes)} hashes, more than {MAX_PROOF_HASHES}")
    for position, value in enumerate(proof_hashes):
        if not isinstance(value, bytes) or len(value) != 32:
            raise ValueError(f"ledger: proof_hashes[{position}] must be 32 bytes")
    if not isinstance(extra, bytes) or len(extra) > MAX_EXTRA_SIZE:
        raise ValueError(f"ledger: extra must be bytes of at most {MAX_EXTRA_SIZE} bytes")
    checkpoint_text = _check_signed_checkpoint(signed_checkpoint)
    lines = [PROOF_HEADER]
    if extra:
        lines.append("extra " + base64.b64encode(extra).decode("ascii"))
    lines.append(f"index {index}")
    lines += [base64.b64encode(value).decode("ascii") for value in proof_hashes]
    return "".join(line + "\n" for line in lines) + "\n" + checkpoint_text


def parse_proof(text: str) -> TlogProof:
    """Return the tlog-proof written as ``text``; the inverse of ``format_proof``.

    Strict: anything ``format_proof`` would not write, including an empty ``extra``
    line, raises FormatError naming the part that is wrong.
    """
    if not isinstance(text, str) or len(text) > _MAX_PROOF_TEXT:
        raise FormatError("ledger: tlog-proof must be a str of bounded size")
    if not text.endswith("\n"):
        raise FormatError("ledger: tlog-proof must end with a newline")
    lines = text.split("\n")
    if lines[0] != PROOF_HEADER:
        raise FormatError(f"ledger: tlog-proof must start with {PROOF_HEADER!r}")
    position = 1
    extra = b""
    if lines[position].startswith("extra "):
        extra = _parse_extra(lines[position][len("extra ") :])
        position += 1
    if not lines[position].startswith("index "):
        raise FormatError("ledger: tlog-proof is missing its index line")
    index = parse_decimal("tlog-proof index", lines[position][len("index ") :])
    proof_hashes, position = _parse_proof_hashes(lines, position + 1)
    signed = "\n".join(lines[position:]).encode("utf-8", errors="surrogatepass")
    if not signed:
        raise FormatError("ledger: tlog-proof has no checkpoint after its proof hashes")
    proof = TlogProof(index, tuple(proof_hashes), signed, extra)
    if format_proof(proof.index, proof.proof_hashes, proof.signed_checkpoint, proof.extra) != text:
        raise FormatError("ledger: tlog-proof is not in canonical form")
    return proof


def _parse_extra(text: str) -> bytes:
    """Return the extra data written as canonical, non-empty base64 ``text``. Raises FormatError."""
    try:
        extra = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise FormatError("ledger: malformed base64 in tlog-proof extra") from None
    if not extra or len(extra) > MAX_EXTRA_SIZE or base64.b64encode(extra).decode("ascii") != text:
        raise FormatError(f"ledger: tlog-proof extra must be canonical base64 of 1..{MAX_EXTRA_SIZE} bytes")
    return extra


def _parse_proof_hashes(lines: list[str], position: int) -> tuple[list[bytes], int]:
    """Return the proof hashes up to the empty line at or after ``position``, and the index after it.

    Requires ``lines`` to end with an empty string (the text ends with a newline).
    """
    hashes: list[bytes] = []
    while position < len(lines) and lines[position]:
        if len(hashes) == MAX_PROOF_HASHES:
            raise FormatError(f"ledger: tlog-proof has more than {MAX_PROOF_HASHES} proof hashes")
        hashes.append(parse_hash(f"tlog-proof hash {len(hashes)}", lines[position]))
        position += 1
    return hashes, position + 1


def _check_signed_checkpoint(signed_checkpoint: bytes) -> str:
    """Return ``signed_checkpoint`` as text after checking it looks like a signed checkpoint note.

    The note text (up to the last empty line) must parse as a checkpoint, and one or more
    lines starting with an em dash and a space must follow. Signatures are not verified.
    Raises FormatError (a ValueError).
    """
    if not isinstance(signed_checkpoint, bytes) or len(signed_checkpoint) > MAX_CHECKPOINT_SIZE:
        raise FormatError(f"ledger: signed checkpoint must be bytes of at most {MAX_CHECKPOINT_SIZE} bytes")
    try:
        note = signed_checkpoint.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError("ledger: signed checkpoint is not valid UTF-8") from None
    split = note.rfind("\n\n")
    signatures = note[split + 2 :]
    if split < 0 or not signatures.endswith("\n"):
        raise FormatError("ledger: signed checkpoint needs its note text, an empty line and signature lines")
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_SIGNATURE_PREFIX) or any(char < "\x20" for char in line):
            raise FormatError(f"ledger: malformed signature line {line[:60]!r} in signed checkpoint")
    parse_checkpoint(note[: split + 1])
    return note
