"""Announced public numbers: results of public lotteries named in advance, keyed as RFC 3797 does.

Normative text: docs/draw-spec-randomness.md §4 (spec ``fairdraw-draw/1``).

The draw commitment names its sources in advance (game and issue number, e.g. a future
welfare-lottery draw). Once they are drawn, their numbers form the RFC 3797 §4 key string: each
source's numbers sorted ascending, each followed by ".", each source followed by "/", no spaces.
The source's output is::

    value = SHA-256("fairdraw-draw/1 lottery-value" || 0x00 || ASCII(key))

>>> format_rfc3797_key([[9319], [2, 5, 12, 8, 10], [9, 18, 26, 34, 41, 45]])
'9319./2.5.8.10.12./9.18.26.34.41.45./'

The RFC's own selection procedure (MD5 over the key with a 16-bit counter on both sides) is here
too, as ``rfc3797_select``: it lets the tests prove the key format against the RFC's worked example
and a real IETF NomCom draw. Fairdraw's selection does not use it.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VALUE_LABEL = b"fairdraw-draw/1 lottery-value\x00"
MAX_SOURCES = 16
MAX_NUMBERS_PER_SOURCE = 64
MAX_NUMBER = 2**53 - 1
MAX_DESCRIPTION_LENGTH = 200
MAX_UNIX_TIME = 2**53 - 1
RFC3797_MAX_POOL = 65535

_KEY = re.compile(r"(?:(?:(?:0|[1-9][0-9]*)\.)+/)+")


@dataclass(frozen=True)
class LotterySource:
    """A public draw named in advance: what it is (game and issue) and how many numbers it yields.

    ``description`` is NFC text of 1 to MAX_DESCRIPTION_LENGTH characters; ``count`` is 1 to
    MAX_NUMBERS_PER_SOURCE. Raises ValueError naming the field otherwise.
    """

    description: str
    count: int

    def __post_init__(self) -> None:
        text = self.description
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_DESCRIPTION_LENGTH:
            raise ValueError(f"lottery: description must be 1..{MAX_DESCRIPTION_LENGTH} characters")
        if unicodedata.normalize("NFC", text) != text or not text.isprintable() or text != text.strip():
            raise ValueError("lottery: description must be printable NFC text without surrounding space")
        _check_int("count", self.count, 1, MAX_NUMBERS_PER_SOURCE)


@dataclass(frozen=True)
class LotteryComplete:
    """Every named draw has its numbers; ``value`` is the source's 32-byte output."""

    value: bytes


@dataclass(frozen=True)
class LotteryPending:
    """The deadline has not passed; these sources (indexes in declared order) have no numbers yet."""

    missing: tuple[int, ...]


@dataclass(frozen=True)
class LotteryVoid:
    """The deadline passed while these sources (indexes in declared order) had no numbers: void."""

    missing: tuple[int, ...]


LotteryOutcome = LotteryComplete | LotteryPending | LotteryVoid


def format_rfc3797_key(seeds: Sequence[Sequence[int]]) -> str:
    """Return the RFC 3797 §4 key string of ``seeds``, one sequence of numbers per source.

    Requires 1 to MAX_SOURCES sources of 1 to MAX_NUMBERS_PER_SOURCE integers in 0..MAX_NUMBER
    each. Raises ValueError naming the source otherwise.
    """
    if isinstance(seeds, (str, bytes)) or not 1 <= len(seeds) <= MAX_SOURCES:
        raise ValueError(f"lottery: want 1..{MAX_SOURCES} sources of numbers")
    parts = []
    for index, numbers in enumerate(seeds):
        _check_numbers(index, numbers)
        parts.append("".join(f"{number}." for number in sorted(numbers)) + "/")
    return "".join(parts)


def parse_rfc3797_key(key: str) -> list[list[int]]:
    """Return the sources of an RFC 3797 key string (numbers ascending): the inverse of
    ``format_rfc3797_key``. Raises ValueError unless ``key`` is exactly what that function formats.
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"lottery: malformed RFC 3797 key {key!r}")
    seeds = [[int(number) for number in source.split(".")[:-1]] for source in key.split("/")[:-1]]
    if format_rfc3797_key(seeds) != key:
        raise ValueError(f"lottery: RFC 3797 key {key!r} is not in canonical (sorted) form")
    return seeds


def lottery_value(seeds: Sequence[Sequence[int]]) -> bytes:
    """Return the 32-byte output of the announced numbers ``seeds`` (sources in declared order):
    SHA-256(VALUE_LABEL || ASCII(format_rfc3797_key(seeds))). Raises ValueError as that function does.
    """
    return hashlib.sha256(VALUE_LABEL + format_rfc3797_key(seeds).encode("ascii")).digest()


@dataclass(frozen=True)
class LotteryDeclaration:
    """A draw's announced-numbers source: the public draws it names, in order, and the deadline
    (Unix seconds, inclusive) by which their numbers must be recorded.

    Requires 1 to MAX_SOURCES sources. Raises ValueError naming the field otherwise.
    """

    sources: tuple[LotterySource, ...]
    deadline: int

    def __post_init__(self) -> None:
        if not 1 <= len(self.sources) <= MAX_SOURCES:
            raise ValueError(f"lottery: {len(self.sources)} sources, want 1..{MAX_SOURCES}")
        if not all(isinstance(source, LotterySource) for source in self.sources):
            raise ValueError("lottery: sources must be LotterySource values")
        _check_int("deadline", self.deadline, 0, MAX_UNIX_TIME)


def parse_declaration(obj: Mapping[str, Any]) -> LotteryDeclaration:
    """Parse ``{"sources": [{"description": <text>, "count": <int>}, ...], "deadline": <int>}``.

    Raises ValueError naming the member for other keys or malformed values.
    """
    _check_keys("declaration", obj, {"sources", "deadline"})
    entries = obj["sources"]
    if not isinstance(entries, list):
        raise ValueError("lottery: declaration.sources must be a list")
    sources = []
    for index, entry in enumerate(entries):
        _check_keys(f"sources[{index}]", entry, {"description", "count"})
        sources.append(LotterySource(entry["description"], entry["count"]))
    return LotteryDeclaration(tuple(sources), obj["deadline"])


def declaration_record(declaration: LotteryDeclaration) -> dict[str, Any]:
    """Return the declaration object of ``declaration``: the inverse of ``parse_declaration``."""
    sources = [{"count": source.count, "description": source.description} for source in declaration.sources]
    return {"deadline": declaration.deadline, "sources": sources}


def lottery_outcome(
    declaration: LotteryDeclaration, results: Sequence[Sequence[int] | None], now: int
) -> LotteryOutcome:
    """Return the outcome at Unix time ``now`` of the declared sources (draw-spec-randomness §4.4).

    ``results[i]`` holds the numbers recorded for source i, or None while there are none. All
    present: LotteryComplete. Some missing: LotteryPending up to the deadline (inclusive),
    LotteryVoid after it. Raises ValueError if the lists differ in length or a result has the
    wrong count of numbers.
    """
    _check_int("now", now, 0, MAX_UNIX_TIME)
    sources = declaration.sources
    if len(results) != len(sources):
        raise ValueError(f"lottery: {len(results)} results for {len(sources)} sources")
    for index, (source, numbers) in enumerate(zip(sources, results, strict=True)):
        if numbers is not None and len(numbers) != source.count:
            raise ValueError(f"lottery: source {index} has {len(numbers)} numbers, want {source.count}")
    missing = tuple(index for index, numbers in enumerate(results) if numbers is None)
    if not missing:
        return LotteryComplete(lottery_value([numbers for numbers in results if numbers is not None]))
    if now <= declaration.deadline:
        return LotteryPending(missing)
    return LotteryVoid(missing)


# ---------------------------------------------------------------------------------------------
# RFC 3797 §4 selection (informative here; MD5 as the RFC specifies)


def rfc3797_digest(key: str, selection: int) -> bytes:
    """Return MD5(u16be(selection) || key || u16be(selection)), the RFC 3797 §4 hash for the
    0-based ``selection``. Requires 0 <= selection < 65536; raises ValueError otherwise.
    """
    _check_int("selection", selection, 0, 0xFFFF)
    counter = struct.pack(">H", selection)
    return hashlib.md5(counter + key.encode("ascii") + counter, usedforsecurity=False).digest()


def rfc3797_select(key: str, pool_size: int, count: int) -> list[int]:
    """Return the 1-based positions RFC 3797 §4 selects from a pool of ``pool_size``, in order.

    Selection i takes the remainder of rfc3797_digest(key, i), read as an unsigned big-endian
    integer, divided by the number of entries not yet selected, and picks that (0-based) entry
    among them in pool order. Requires 1 <= pool_size <= 65535 and 0 <= count <= pool_size;
    raises ValueError otherwise. Costs O(count * pool_size).
    """
    _check_int("pool_size", pool_size, 1, RFC3797_MAX_POOL)
    _check_int("count", count, 0, pool_size)
    remaining = list(range(1, pool_size + 1))
    selected = []
    for selection in range(count):
        digest = rfc3797_digest(key, selection)
        selected.append(remaining.pop(int.from_bytes(digest, "big") % len(remaining)))
    return selected


def _check_numbers(index: int, numbers: Sequence[int]) -> None:
    if isinstance(numbers, (str, bytes)) or not 1 <= len(numbers) <= MAX_NUMBERS_PER_SOURCE:
        raise ValueError(f"lottery: source {index} must have 1..{MAX_NUMBERS_PER_SOURCE} numbers")
    for number in numbers:
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= MAX_NUMBER:
            raise ValueError(f"lottery: source {index} has {number!r}, want an integer in 0..{MAX_NUMBER}")


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"lottery: {field} must be an int")
    if not low <= value <= high:
        raise ValueError(f"lottery: {field} {value} out of range {low}..{high}")


def _check_keys(field: str, obj: object, keys: set[str]) -> None:
    if not isinstance(obj, Mapping) or set(obj) != keys:
        raise ValueError(f"lottery: {field} must be an object with exactly the keys {sorted(keys)}")
