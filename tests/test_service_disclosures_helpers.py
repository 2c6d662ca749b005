"""Helpers for the disclosure tests: a TargetSource test double, request bodies, Beijing-time clocks."""

from __future__ import annotations

import datetime
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from draw.service.core import Service
from draw.service.disclosures import Target, TargetError

D = datetime.date
_SALTS = itertools.count(1)


def salt() -> str:
    """Return a fresh salt (32 lowercase hex digits)."""
    return hashlib.sha256(f"salt-{next(_SALTS)}".encode()).hexdigest()[:32]


def result_body(**changes: Any) -> dict[str, Any]:
    """Return a valid DisclosureIn body (code table 2), with ``changes`` applied (None removes a member)."""
    body: dict[str, Any] = {
        "code_table": 2,
        "results": ["B", "E"],
        "measures": ["M3"],
        "inspected_on": "2025-11-19",
        "salt": salt(),
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def beijing_noon_ms(day: D) -> int:
    """Return epoch milliseconds of 12:00 Beijing time (04:00 UTC) on ``day``."""
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    noon = datetime.datetime(day.year, day.month, day.day, 4, tzinfo=datetime.UTC)
    return (noon - epoch) // datetime.timedelta(milliseconds=1)


@dataclass
class Draw:
    """A draw as the test double knows it: its owner, whether results are due, and its objects."""

    owner: str
    objects: dict[str, D]
    ready: bool = True


@dataclass
class FakeTargets:
    """A TargetSource test double over a dict of draws; records the calls it gets."""

    draws: dict[str, Draw] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def disclosure_target(self, service: Service, draw_id: str, object_id: str, department: str) -> Target:
        self.calls.append((draw_id, object_id, department))
        draw = self.draws.get(draw_id)
        if draw is None:
            raise TargetError("no-draw", f"no draw {draw_id}")
        if draw.owner != department:
            raise TargetError("not-owner", f"draw {draw_id} belongs to {draw.owner}")
        if not draw.ready:
            raise TargetError("not-ready", f"draw {draw_id} is not revealed yet")
        if object_id not in draw.objects:
            raise TargetError("not-in-draw", f"object {object_id} was not drawn in {draw_id}")
        return Target(draw_id, object_id, department, draw.objects[object_id])

    def disclosure_targets(self, service: Service, department: str) -> Iterable[Target]:
        for draw_id, draw in self.draws.items():
            if draw.owner == department and draw.ready:
                for object_id, end in draw.objects.items():
                    yield Target(draw_id, object_id, department, end)


def iter_entries(world: Any, first: int) -> Iterator[dict[str, Any]]:
    """Yield the decoded entries of ``world``'s ledger from index ``first`` on."""
    from ledger.entries import decode_entry

    for index in range(first, world.log.size()):
        entry = decode_entry(world.log.entry(index))
        yield {"index": index, "type": entry.type, "body": entry.body}
