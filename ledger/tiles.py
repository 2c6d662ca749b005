"""C2SP tlog-tiles (c2sp.org/tlog-tiles): tile and entry-bundle paths, contents and layout.

A tile is a run of consecutive Merkle tree hashes at one height. Tiles are 8 levels high,
so a full tile holds 256 hashes (8,192 bytes). Tile ``N`` at tile level ``L`` holds, for
``i`` in 0..255 (C2SP tlog-tiles, RFC 9162 notation)::

    MTH(D[(N * 256 + i) * 256**L : (N * 256 + i + 1) * 256**L])

that is, the complete subtree hashes at tree height ``8L`` with indexes ``N * 256 + i``.
A tree of size ``s`` has ``floor(s / 256**(L+1))`` full tiles at level ``L`` and, if
``w = floor(s / 256**L) mod 256`` is not 0, one partial tile of width ``w``. An entry
bundle holds the entries whose leaf hashes make up the level-0 tile of the same index,
each as a big-endian uint16 length and the entry bytes.

Paths (relative to the log prefix)::

    tile/<L>/<N>[.p/<W>]        tile/entries/<N>[.p/<W>]

``<N>`` is written in 3-digit groups, all but the last prefixed with ``x``; ``.p/<W>``
marks a partial tile of width ``W`` (1..255). A ``Tile`` with level ``ENTRY_BUNDLE_LEVEL``
(-1, as Go's sumdb/tlog marks its data tiles) stands for an entry bundle.

>>> format_tile_path(Tile(level=0, index=1234067, width=256))
'tile/0/x001/x234/067'
>>> parse_tile_path("tile/entries/000.p/3")
Tile(level=-1, index=0, width=3)
>>> [format_tile_path(tile) for tile in new_tiles(0, 256)]
['tile/entries/000', 'tile/0/000', 'tile/1/000.p/1']
"""

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import FormatError
from ledger.tree import HashReader, read_stored_hashes, stored_hash_index

TILE_HEIGHT = 8
"""Tree levels spanned by one tile."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes (or entries) in a full tile or entry bundle: 256."""

MAX_TILE_LEVEL = 63
"""The highest tile level a path may name (C2SP tlog-tiles)."""

ENTRY_BUNDLE_LEVEL = -1
"""The ``Tile.level`` that marks an entry bundle rather than a hash tile."""

MAX_ENTRY_SIZE = 0xFFFF
"""The largest entry an entry bundle can hold (uint16 length prefix)."""

_MAX_INDEX = 1 << 64
# The longest canonical path, tile/entries/x018/x446/x744/x073/x709/x551/615.p/255, has 52 characters.
_MAX_PATH_LENGTH = 64
_PATH = re.compile(r"tile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


@dataclass(frozen=True)
class Tile:
    """Tile ``index`` at tile ``level`` (or an entry bundle), ``width`` hashes wide (256 when full).

    Raises ValueError on construction if a field is out of range.
    """

    level: int
    index: int
    width: int

    def __post_init__(self) -> None:
        if not ENTRY_BUNDLE_LEVEL <= self.level <= MAX_TILE_LEVEL:
            raise ValueError(f"ledger: tile level must be -1..63, got {self.level}")
        if not 0 <= self.index < _MAX_INDEX:
            raise ValueError(f"ledger: tile index must be 0..2**64-1, got {self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise ValueError(f"ledger: tile width must be 1..256, got {self.width}")

    @property
    def is_entry_bundle(self) -> bool:
        """Whether this names an entry bundle rather than a hash tile."""
        return self.level == ENTRY_BUNDLE_LEVEL

    @property
    def is_partial(self) -> bool:
        """Whether this tile is narrower than a full tile."""
        return self.width < TILE_WIDTH


def _format_index(index: int) -> str:
    """Return ``index`` as 3-digit path elements, all but the last prefixed with x."""
    parts = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        parts.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(parts))


def format_tile_path(tile: Tile) -> str:
    """Return the C2SP path of ``tile``, such as ``tile/1/x001/234.p/17`` or ``tile/entries/000``."""
    level = "entries" if tile.is_entry_bundle else str(tile.level)
    suffix = f".p/{tile.width}" if tile.is_partial else ""
    return f"tile/{level}/{_format_index(tile.index)}{suffix}"


def parse_tile_path(path: str) -> Tile:
    """Return the tile that ``path`` names; the inverse of ``format_tile_path``.

    Strict: the path must be exactly what ``format_tile_path`` writes (no leading zero
    groups, no ``.p/256``, level at most 63). Raises FormatError otherwise.
    """
    match = _PATH.fullmatch(path) if len(path) <= _MAX_PATH_LENGTH else None
    if match is None:
        raise FormatError(f"ledger: malformed tile path {path!r}")
    level_text, index_text, width_text = match.groups()
    level = ENTRY_BUNDLE_LEVEL if level_text == "entries" else int(level_text)
    index = int(index_text.replace("x", "").replace("/", ""))
    width = int(width_text) if width_text is not None else TILE_WIDTH
    try:
        tile = Tile(level, index, width)
    except ValueError as error:
        raise FormatError(f"ledger: malformed tile path {path!r}: {error}") from None
    if format_tile_path(tile) != path:
        raise FormatError(f"ledger: non-canonical tile path {path!r}")
    return tile


def tile_hash_indexes(tile: Tile) -> list[int]:
    """Return the stored-hash indexes whose hashes, concatenated in order, are the tile's bytes.

    Tile (L, N, W) holds the subtree hashes at tree height 8L with indexes N*256 .. N*256+W-1.
    Raises ValueError for an entry bundle (its contents are entries, not hashes).
    """
    if tile.is_entry_bundle:
        raise ValueError("ledger: an entry bundle holds entries, not stored hashes")
    first = tile.index * TILE_WIDTH
    height = tile.level * TILE_HEIGHT
    return [stored_hash_index(height, first + i) for i in range(tile.width)]


def read_tile_data(tile: Tile, reader: HashReader) -> bytes:
    """Return the bytes of ``tile``: its hashes read in one call and concatenated (32·width bytes).

    Requires every hash of the tile to be stored. Raises ValueError for an entry bundle,
    StorageError if ``reader`` misbehaves.
    """
    return b"".join(read_stored_hashes(reader, tile_hash_indexes(tile)))


def new_tiles(old_size: int, new_size: int) -> list[Tile]:
    """Return every entry bundle and tile to publish when the tree grows from ``old_size`` to ``new_size``.

    These are the bundles and tiles, full and partial, whose contents differ between the
    two sizes; ``new_tiles(0, s)`` is the whole layout for a checkpoint of size ``s``.
    Entry bundles come first, then tiles by level, each in index order. Requires
    ``0 <= old_size <= new_size``; raises ValueError otherwise.
    """
    if not isinstance(old_size, int) or not isinstance(new_size, int) or not 0 <= old_size <= new_size:
        raise ValueError(f"ledger: new_tiles needs 0 <= old_size <= new_size, got {old_size} and {new_size}")
    tiles = _new_tiles_at(ENTRY_BUNDLE_LEVEL, old_size, new_size)
    level = 0
    while new_size >> (TILE_HEIGHT * level) > 0:
        tiles += _new_tiles_at(level, old_size >> (TILE_HEIGHT * level), new_size >> (TILE_HEIGHT * level))
        level += 1
    return tiles


def _new_tiles_at(level: int, old_count: int, new_count: int) -> list[Tile]:
    """Return the tiles of one level that change when it grows from ``old_count`` to ``new_count`` hashes."""
    if old_count == new_count:
        return []
    tiles = [Tile(level, n, TILE_WIDTH) for n in range(old_count // TILE_WIDTH, new_count // TILE_WIDTH)]
    if new_count % TILE_WIDTH:
        tiles.append(Tile(level, new_count // TILE_WIDTH, new_count % TILE_WIDTH))
    return tiles


def format_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Return the entry bundle of ``entries``: each as a big-endian uint16 length, then its bytes.

    Requires 1 to 256 entries of at most 65,535 bytes each; raises ValueError otherwise.
    """
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise ValueError(f"ledger: an entry bundle holds 1..256 entries, got {len(entries)}")
    parts = []
    for position, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise ValueError(f"ledger: entries[{position}] is {len(entry)} bytes, more than 65535")
        parts += [struct.pack(">H", len(entry)), entry]
    return b"".join(parts)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """Return the entries of the entry bundle ``data``; the inverse of ``format_entry_bundle``.

    Strict: a truncated entry, or fewer than 1 or more than 256 entries, raises FormatError.
    """
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise FormatError(f"ledger: entry bundle truncated in the length of entry {len(entries)}")
        (size,) = struct.unpack_from(">H", data, offset)
        if offset + 2 + size > len(data):
            raise FormatError(f"ledger: entry bundle truncated in entry {len(entries)}")
        entries.append(data[offset + 2 : offset + 2 + size])
        offset += 2 + size
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise FormatError(f"ledger: an entry bundle holds 1..256 entries, got {len(entries)}")
    if format_entry_bundle(entries) != data:
        raise AssertionError("ledger: entry bundle round trip failed")
    return entries
