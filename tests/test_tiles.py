"""ledger.tiles against C2SP tlog-tiles: the Tessera tiny log byte for byte, the spec's examples,
the parts of Go's sumdb tile-path table that C2SP shares, and the recursive reference."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.checkpoint import Checkpoint, format_checkpoint, parse_checkpoint
from ledger.errors import FormatError
from ledger.tiles import (
    ENTRY_BUNDLE_LEVEL,
    TILE_WIDTH,
    Tile,
    format_entry_bundle,
    format_tile_path,
    new_tiles,
    parse_entry_bundle,
    parse_tile_path,
    read_tile_data,
    tile_hash_indexes,
)
from ledger.tree import MemoryHashStore, leaf_hash, stored_hash_count, tree_hash
from tests import reference_merkle as ref

VECTORS = Path(__file__).parent / "vectors"
TESSERA = json.loads((VECTORS / "tessera" / "tessera-tiny-log.json").read_text(encoding="utf-8"))
TESSERA_LOG = VECTORS / "tessera" / "testdata" / "log"
C2SP = json.loads((VECTORS / "tlog-formats" / "c2sp-spec-examples.json").read_text(encoding="utf-8"))
SUMDB = json.loads((VECTORS / "tlog-formats" / "sumdb-notes.json").read_text(encoding="utf-8"))
ENTRIES = [entry.encode("ascii") for entry in TESSERA["entries_ascii"]]


def tessera_store() -> MemoryHashStore:
    store = MemoryHashStore()
    for entry in ENTRIES:
        store.append(entry)
    return store


def write_tile(store: MemoryHashStore, tile: Tile) -> bytes:
    """What a log serves at the tile's path."""
    if tile.is_entry_bundle:
        first = tile.index * TILE_WIDTH
        return format_entry_bundle(ENTRIES[first : first + tile.width])
    return read_tile_data(tile, store)


# --- the Tessera tiny log ------------------------------------------------------------------------


def test_tessera_every_tile_and_bundle_byte_for_byte() -> None:
    store = tessera_store()
    published = {}
    for size in range(1, len(ENTRIES) + 1):
        grown = new_tiles(size - 1, size)
        assert grown == [Tile(ENTRY_BUNDLE_LEVEL, 0, size), Tile(0, 0, size)]
        for tile in grown:
            published[format_tile_path(tile)] = write_tile(store, tile)
    files = {
        str(path.relative_to(TESSERA_LOG)): path.read_bytes()
        for path in (TESSERA_LOG / "tile").rglob("*")
        if path.is_file()
    }
    assert len(files) == 30
    assert published == files


def test_tessera_bundles_parse_back_to_the_entries() -> None:
    for size in range(1, len(ENTRIES) + 1):
        data = (TESSERA_LOG / "tile" / "entries" / f"000.p/{size}").read_bytes()
        assert parse_entry_bundle(data) == ENTRIES[:size]


def test_tessera_checkpoint_bodies_for_every_size() -> None:
    store = tessera_store()
    for entry in TESSERA["checkpoints"]:
        size = entry["size"]
        signed = (TESSERA_LOG / f"checkpoint.{size}").read_text(encoding="utf-8")
        assert signed == entry["text"]
        body = signed[: signed.index("\n\n") + 1]
        ours = Checkpoint(TESSERA["origin"], size, tree_hash(size, store))
        assert format_checkpoint(ours) == body
        assert parse_checkpoint(body) == ours
    assert len(TESSERA["checkpoints"]) == 16
    assert (TESSERA_LOG / "checkpoint").read_bytes() == (TESSERA_LOG / "checkpoint.15").read_bytes()
    state = json.loads((TESSERA_LOG / ".state" / "treeState").read_text())
    assert state["size"] == 15
    assert state["root"] == TESSERA["checkpoints"][15]["root_hash_base64"]


# --- the C2SP spec's examples --------------------------------------------------------------------


def test_spec_tile_path_example() -> None:
    for example in C2SP["tile_path_examples"]:
        path = f"tile/0/{example['path_index']}"
        assert format_tile_path(Tile(0, example["index"], TILE_WIDTH)) == path
        assert parse_tile_path(path) == Tile(0, example["index"], TILE_WIDTH)


def layout_by_level(size: int) -> dict[int, tuple[int, int]]:
    """Per level: (full tiles, partial width), counted from new_tiles(0, size)."""
    result: dict[int, tuple[int, int]] = {}
    for tile in new_tiles(0, size):
        if tile.is_entry_bundle:
            continue
        full, partial = result.get(tile.level, (0, 0))
        result[tile.level] = (full + 1, partial) if tile.width == TILE_WIDTH else (full, tile.width)
    return result


@pytest.mark.parametrize(
    "example", C2SP["partial_tile_examples"], ids=lambda example: str(example["tree_size"])
)
def test_spec_partial_tile_examples(example: dict[str, int]) -> None:
    layout = layout_by_level(example["tree_size"])
    for level in range(3):
        full = example.get(f"full_level{level}_tiles", 0)
        partial = example.get(f"partial_level{level}_width", 0)
        assert layout.pop(level, (0, 0)) == (full, partial), level
    assert layout == {}


def expected_layout(size: int) -> set[Tile]:
    """The tiles of a tree of `size`, from the spec's formulas: floor(s / 256**(l+1)) full tiles and
    a partial tile of width floor(s / 256**l) mod 256 at level l; bundles as level 0."""
    tiles = set()
    for level in range(-1, 8):
        count = size // TILE_WIDTH ** max(level, 0)
        tiles |= {Tile(level, n, TILE_WIDTH) for n in range(count // TILE_WIDTH)}
        if count % TILE_WIDTH:
            tiles.add(Tile(level, count // TILE_WIDTH, count % TILE_WIDTH))
    return tiles


@given(st.integers(0, 1 << 18), st.integers(0, 1 << 17))
def test_new_tiles_is_the_difference_of_two_layouts(old: int, growth: int) -> None:
    new = old + growth
    grown = new_tiles(old, new)
    assert len(grown) == len(set(grown))
    assert set(new_tiles(0, new)) == expected_layout(new)
    assert set(grown) == expected_layout(new) - expected_layout(old)


def test_new_tiles_when_a_tree_of_256_to_the_5th_completes() -> None:
    size = 1 << 40
    want = [Tile(ENTRY_BUNDLE_LEVEL, (1 << 32) - 1, TILE_WIDTH)]
    want += [Tile(level, (1 << (32 - 8 * level)) - 1, TILE_WIDTH) for level in range(5)]
    assert new_tiles(size - 1, size) == [*want, Tile(5, 0, 1)]
    assert new_tiles(size, size) == []


# --- Go's sumdb tile paths, where C2SP is the same ----------------------------------------------


def test_go_tile_paths_where_c2sp_agrees() -> None:
    """Go writes tile/<H>/<L>/<N>[.p/<W>] with L "data" for entries; C2SP drops <H> (always 8) and names
    entries "entries". Full Go tiles are 2**H wide, so only the index encoding, the level, the partial
    width, and the rejections carry over; a full tile's width is C2SP's 256."""
    checked = 0
    for case in SUMDB["tile_paths"]:
        rest = case["path"].split("/", 2)[2].replace("data/", "entries/", 1)
        c2sp_path = "tile/" + rest
        if not case["valid"]:
            with pytest.raises(FormatError):
                parse_tile_path(c2sp_path)
            checked += 1
            continue
        partial = ".p/" in rest
        tile = parse_tile_path(c2sp_path)
        want_width = case["W"] if partial else TILE_WIDTH
        assert tile == Tile(ENTRY_BUNDLE_LEVEL if case["L"] == -1 else case["L"], case["N"], want_width)
        assert format_tile_path(tile) == c2sp_path
        checked += 1
    assert checked == 8


# --- tile contents against the recursive reference ----------------------------------------------


def test_tile_contents_against_reference_for_growing_trees() -> None:
    data = [f"entry {i}".encode() for i in range(600)]
    store = MemoryHashStore()
    for size in range(1, len(data) + 1):
        store.append(data[size - 1])
        for tile in new_tiles(size - 1, size):
            if tile.is_entry_bundle:
                assert parse_entry_bundle(write_bundle(data, tile)) == data[tile.index * 256 :][: tile.width]
                continue
            span = TILE_WIDTH**tile.level
            first = tile.index * TILE_WIDTH
            want = b"".join(
                ref.mth(data[(first + i) * span : (first + i + 1) * span]) for i in range(tile.width)
            )
            assert read_tile_data(tile, store) == want, (size, tile)


def write_bundle(data: list[bytes], tile: Tile) -> bytes:
    first = tile.index * TILE_WIDTH
    return format_entry_bundle(data[first : first + tile.width])


def test_level_two_tile_in_a_tree_of_70000() -> None:
    store = MemoryHashStore()
    for i in range(70000):
        store.append(i.to_bytes(4, "big"))
    assert read_tile_data(Tile(2, 0, 1), store) == tree_hash(65536, store)
    level1 = read_tile_data(Tile(1, 0, TILE_WIDTH), store)
    assert level1[-32:] == ref.mth([i.to_bytes(4, "big") for i in range(65280, 65536)])
    indexes = tile_hash_indexes(Tile(1, 1, 17))
    assert len(indexes) == 17 and max(indexes) < stored_hash_count(70000)


def test_tile_hash_indexes_are_increasing() -> None:
    indexes = tile_hash_indexes(Tile(0, 3, TILE_WIDTH))
    assert indexes == sorted(indexes) and len(set(indexes)) == TILE_WIDTH


# --- strict paths and bundles, with their error messages -----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/000.p/256",  # a full tile is never written with .p
        "tile/0/000.p/0",  # empty tiles are not served
        "tile/0/000.p/007",  # leading zeros in the width
        "tile/00/000",  # leading zeros in the level
        "tile/64/000",  # level above 63
        "tile/-1/000",  # negative level
        "tile/0/x000/001",  # leading zero group in the index
        "tile/0/1",  # index element not 3 digits
        "tile/0/0001",
        "tile/0/001/002",  # a non-final element without its x
        "tile/0/x001",  # a final element with an x
        "tile/data/000",  # Go's name for bundles
        "tile/8/0/000",  # Go's <H> element
        "/tile/0/000",
        "tile/0/000/",
        "tile/0/000.p/",
        "tile/0/000.p/1\n",
        "tile/entries/000.p/1x",
        "tile/0/x001/x234/x567/x890/x123/x456/x789/012",  # index of 2**64 or more
    ],
)
def test_parse_tile_path_rejects(path: str) -> None:
    with pytest.raises(FormatError, match=r"^ledger: (malformed|non-canonical) tile path"):
        parse_tile_path(path)


def test_parse_tile_path_messages() -> None:
    with pytest.raises(FormatError) as caught:
        parse_tile_path("tile/64/000")
    assert (
        str(caught.value)
        == "ledger: malformed tile path 'tile/64/000': ledger: tile level must be -1..63, got 64"
    )
    with pytest.raises(FormatError) as caught:
        parse_tile_path("tile/0/x000/001")
    assert str(caught.value) == "ledger: non-canonical tile path 'tile/0/x000/001'"
    assert isinstance(caught.value, ValueError)


@given(st.integers(-1, 63), st.integers(0, (1 << 64) - 1), st.integers(1, 256))
def test_tile_path_round_trip(level: int, index: int, width: int) -> None:
    tile = Tile(level, index, width)
    path = format_tile_path(tile)
    assert parse_tile_path(path) == tile
    assert ("/entries/" in path) == (level == -1) and (".p/" in path) == (width < 256)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((-2, 0, 1), "ledger: tile level must be -1..63, got -2"),
        ((0, -1, 1), "ledger: tile index must be 0..2**64-1, got -1"),
        ((0, 0, 0), "ledger: tile width must be 1..256, got 0"),
        ((0, 0, 257), "ledger: tile width must be 1..256, got 257"),
    ],
)
def test_tile_fields_are_checked(fields: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Tile(*fields)
    assert str(caught.value) == message


def test_bundles_have_no_stored_hashes() -> None:
    with pytest.raises(ValueError, match=r"^ledger: an entry bundle holds entries, not stored hashes$"):
        tile_hash_indexes(Tile(ENTRY_BUNDLE_LEVEL, 0, 1))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "ledger: an entry bundle holds 1..256 entries, got 0"),
        (b"\x00", "ledger: entry bundle truncated in the length of entry 0"),
        (b"\x00\x03one\x00", "ledger: entry bundle truncated in the length of entry 1"),
        (b"\x00\x04one", "ledger: entry bundle truncated in entry 0"),
        (b"\x00\x00" * 257, "ledger: an entry bundle holds 1..256 entries, got 257"),
    ],
    ids=["empty", "truncated-length", "trailing-byte", "truncated-entry", "257-entries"],
)
def test_parse_entry_bundle_rejects(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_entry_bundle(data)
    assert str(caught.value) == message


def test_format_entry_bundle_limits() -> None:
    assert parse_entry_bundle(format_entry_bundle([b"", b"x" * 65535])) == [b"", b"x" * 65535]
    with pytest.raises(ValueError, match=r"^ledger: entries\[1\] is 65536 bytes, more than 65535$"):
        format_entry_bundle([b"", b"x" * 65536])
    with pytest.raises(ValueError, match=r"^ledger: an entry bundle holds 1..256 entries, got 0$"):
        format_entry_bundle([])


def test_new_tiles_rejects_shrinking() -> None:
    with pytest.raises(ValueError, match=r"^ledger: new_tiles needs 0 <= old_size <= new_size, got 5 and 4$"):
        new_tiles(5, 4)


def test_leaf_hash_of_tessera_entries_is_the_level0_tile() -> None:
    data = (TESSERA_LOG / "tile" / "0" / "000.p" / "15").read_bytes()
    assert data == b"".join(leaf_hash(entry) for entry in ENTRIES)
