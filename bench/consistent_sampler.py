"""Election-audit samplers, re-implemented from their published descriptions, as baselines.

- Rivest's 2011 sampler (SHA-256 in counter mode): pick number ``count`` (from 1) of a range
  ``a..b`` is ``a + int(SHA-256(seed + "," + str(count))) mod (b - a + 1)``; without replacement a
  pick already made is skipped (its counter is used up).
- Rivest's consistent sampler, as VotingWorks' Arlo uses it: every id gets a *ticket number*, a
  decimal fraction in (0, 1) written as a string: the decimal digits of ``int(SHA-256(text))``,
  zero-padded to at least 64 and reversed, after ``0.``; the first ticket of an id hashes
  ``SHA-256-hex(str(seed)) + str(id)``. A later generation (sampling with replacement) keeps the
  previous number's leading 9s and replaces the rest with ``SHA-256`` fractions of
  ``previous + ":" + str(i)``, i = 1, 2, … until it is larger. Objects come out by increasing
  ticket number (kept in a heap of the ``drop + take`` smallest); ticket numbers are shown trimmed
  to ``digits`` significant digits after the leading 9s.

``tests/test_draw_sampler.py`` checks both against the published vectors. ``draw_bench.py`` runs
the consistent sampler at the size of a Fairdraw draw.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple


def rivest_draws(seed: str, low: int, high: int, count: int, with_replacement: bool) -> list[int]:
    """Return ``count`` picks from ``low..high`` by Rivest's 2011 counter-mode SHA-256 sampler."""
    size, counter = high - low + 1, 0
    picks: list[int] = []
    while len(picks) < count:
        counter += 1
        digest = hashlib.sha256(f"{seed},{counter}".encode()).hexdigest()
        pick = low + int(digest, 16) % size
        if with_replacement or pick not in picks:
            picks.append(pick)
    return picks


class Ticket(NamedTuple):
    """A ticket number (a decimal fraction as text), the id it belongs to, and its generation."""

    number: str
    id: Any
    generation: int


def sha256_hex(value: object) -> str:
    """Return the hex SHA-256 of the UTF-8 text of ``value``."""
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


def sha256_uniform(value: object) -> str:
    """Return SHA-256 of ``str(value)`` as a fraction: "0." and the reversed decimal digits."""
    digits = f"{int(sha256_hex(value), 16):064d}"
    return "0." + digits[::-1]


def _leading_nines_end(number: str) -> int:
    # Index of the first digit after "0." that is not a 9 (in the number with a 0 appended).
    text = number + "0"
    return next(i for i in range(2, len(text)) if text[i] < "9")


def first_fraction(ident: object, seed: object, seed_hash: str | None = None) -> str:
    """Return the generation-1 ticket number of ``ident``."""
    return sha256_uniform((seed_hash or sha256_hex(seed)) + str(ident))


def next_fraction(number: str) -> str:
    """Return the next, larger ticket number after ``number``."""
    padded, keep = number + "0", _leading_nines_end(number)
    i, candidate = 0, "0."
    while candidate <= padded:
        i += 1
        candidate = padded[:keep] + sha256_uniform(f"{number}:{i}")[2:]
    return candidate


def trim(number: str, digits: int = 9) -> str:
    """Return ``number`` cut to ``digits`` significant digits after its leading 9s."""
    return number[: _leading_nines_end(number) + digits]


def sampler(
    ids: Iterable[Any],
    seed: object,
    with_replacement: bool = False,
    drop: int = 0,
    take: int | None = None,
    digits: int = 9,
) -> Iterator[Ticket]:
    """Yield the sample in ticket order: tickets ``drop+1 .. drop+take`` (all when take is None)."""
    seed_hash = sha256_hex(seed)
    tickets = (Ticket(first_fraction(i, seed, seed_hash), i, 1) for i in ids)
    heap = list(tickets) if take is None else heapq.nsmallest(drop + take, tickets)
    heapq.heapify(heap)
    count = 0
    while heap and (take is None or count < drop + take):
        ticket = heapq.heappop(heap)
        if with_replacement:
            heapq.heappush(heap, Ticket(next_fraction(ticket.number), ticket.id, ticket.generation + 1))
        count += 1
        if count > drop:
            yield Ticket(trim(ticket.number, digits), ticket.id, ticket.generation)
