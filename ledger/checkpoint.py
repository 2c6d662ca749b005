"""The C2SP checkpoint note body (c2sp.org/tlog-checkpoint). Signing it is the job of ``keys``.

The body is at least three non-empty lines, each ending in a newline (U+000A):

1. the origin, the log's unique name (non-empty);
2. the tree size, ASCII decimal without leading zeros (``0`` for the empty tree);
3. the root hash, standard base64 (RFC 4648 §4) of the 32-byte RFC 9162 root;
4. optional extension lines, opaque and non-empty.

As in every signed note, no ASCII control character other than the newline may appear.
Parsing is strict: ``format_checkpoint(parse_checkpoint(text)) == text`` always holds.

>>> text = "example.com/log/testdata\\n1\\n0Nc2CrefWKseHj/mStd+LqC8B+NrX0btIiPt2SmN+ek=\\n"
>>> cp = parse_checkpoint(text)
>>> cp.origin, cp.size, cp.root.hex()[:16]
('example.com/log/testdata', 1, 'd0d7360ab79f58ab')
>>> format_checkpoint(cp) == text
True
"""

import base64
import binascii
import re
from dataclasses import dataclass

from ledger.errors import FormatError

MAX_CHECKPOINT_SIZE = 1_000_000
"""The largest checkpoint (or signed checkpoint note) accepted, in UTF-8 bytes."""

MAX_TREE_SIZE = (1 << 64) - 1
"""The largest tree size or index: tree sizes are uint64 in RFC 9162."""

ROOT_SIZE = 32
"""Bytes in a root hash (SHA-256)."""

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: ``origin``, tree ``size``, ``root`` hash and opaque ``extensions`` lines.

    Raises ValueError on construction if a field breaks the format.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_line("origin", self.origin)
        check_decimal_range("size", self.size)
        if not isinstance(self.root, bytes) or len(self.root) != ROOT_SIZE:
            got = len(self.root) if isinstance(self.root, bytes) else type(self.root).__name__
            raise ValueError(f"ledger: checkpoint root must be {ROOT_SIZE} bytes, got {got}")
        if not isinstance(self.extensions, tuple):
            raise ValueError("ledger: checkpoint extensions must be a tuple of lines")
        for position, line in enumerate(self.extensions):
            check_line(f"extensions[{position}]", line)


def check_line(name: str, line: str) -> None:
    """Raise ValueError unless ``line`` is a non-empty note line: str, no control characters, valid UTF-8.

    Control characters are U+0000..U+001F (newline included, since it ends the line).
    """
    if not isinstance(line, str) or not line:
        raise ValueError(f"ledger: checkpoint {name} must be a non-empty string")
    for char in line:
        if char < "\x20":
            raise ValueError(f"ledger: checkpoint {name} contains control character {char!r}")
        if "\ud800" <= char <= "\udfff":
            raise ValueError(f"ledger: checkpoint {name} contains a lone surrogate {char!r}")


def check_decimal_range(name: str, value: int) -> None:
    """Raise ValueError unless ``value`` is an int in 0..2**64-1 (bool excluded)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TREE_SIZE:
        raise ValueError(f"ledger: {name} must be an integer in 0..2**64-1, got {value!r}")


def parse_decimal(name: str, text: str) -> int:
    """Return the uint64 written as ``text``: ASCII digits, no sign, no leading zeros. Raises FormatError."""
    if _DECIMAL.fullmatch(text) is None or int(text) > MAX_TREE_SIZE:
        raise FormatError(f"ledger: malformed {name} {text[:40]!r}")
    return int(text)


def parse_hash(name: str, text: str) -> bytes:
    """Return the 32 bytes written as canonical standard base64 ``text``. Raises FormatError."""
    try:
        value = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise FormatError(f"ledger: malformed base64 in {name} {text[:60]!r}") from None
    if len(value) != ROOT_SIZE or base64.b64encode(value).decode("ascii") != text:
        raise FormatError(f"ledger: {name} must be canonical base64 of {ROOT_SIZE} bytes, got {text[:60]!r}")
    return value


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """Return the note body of ``checkpoint``: origin, size, base64 root, extensions, one per line."""
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root).decode("ascii"),
        *checkpoint.extensions,
    ]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Return the checkpoint whose note body is ``text``; the inverse of ``format_checkpoint``.

    ``text`` is the body only (up to and including its last newline, no signatures);
    take it from a note whose signature has been verified. Strict: anything that
    ``format_checkpoint`` would not write raises FormatError, which names the field.
    At most ``MAX_CHECKPOINT_SIZE`` bytes.
    """
    if not isinstance(text, str):
        raise FormatError(f"ledger: checkpoint must be str, got {type(text).__name__}")
    if len(text) > MAX_CHECKPOINT_SIZE or len(text.encode("utf-8", "surrogatepass")) > MAX_CHECKPOINT_SIZE:
        raise FormatError(f"ledger: checkpoint is longer than {MAX_CHECKPOINT_SIZE} bytes")
    if not text.endswith("\n"):
        raise FormatError("ledger: checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise FormatError(f"ledger: checkpoint has {len(lines)} lines, want at least 3")
    try:
        check_line("origin", lines[0])
        size = parse_decimal("checkpoint size", lines[1])
        root = parse_hash("checkpoint root", lines[2])
        checkpoint = Checkpoint(lines[0], size, root, tuple(lines[3:]))
    except ValueError as error:  # FormatError included
        raise FormatError(str(error)) from None
    if format_checkpoint(checkpoint) != text:
        raise FormatError("ledger: checkpoint is not in canonical form")
    return checkpoint
