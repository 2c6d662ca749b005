"""The input data model of a draw (docs/draw-spec.md §2-§5): objects, strata rules, sources, request.

Every value here is plain, immutable data (tuples of strings and integers; objects are
NamedTuples so that a million of them stay cheap), built by the ``make_*`` functions (which
normalize text to Unicode NFC) and checked by the ``check_*`` functions (which raise ValueError
naming the field, e.g. ``draw: objects[12].id: uscc: check character 'N', want 'L'``). Nothing here
reads a clock or a random source.

A stratum rule fixes the sample size ``k`` from the stratum size ``N`` with exact integer arithmetic:

>>> rule = make_rule("A", take="ratio", ratio="3/100", rounding="ceil", min=2)
>>> sample_size(rule, 1000), sample_size(rule, 10), sample_size(rule, 1)
(30, 2, 1)
>>> sample_size(make_rule("B", take="ratio", ratio="250bp", rounding="half-up"), 20)
1
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeGuard, TypeVar

from draw.engine import teams, uscc

SPEC = "fairdraw-draw/1"
"""The version string of docs/draw-spec.md, written into every record."""

_T = TypeVar("_T")

MAX_SAFE = 2**53 - 1
TAKES = ("ratio", "count", "all")
ROUNDINGS = ("floor", "ceil", "half-up")
DISCLOSURES = ("confidential", "full")
SOURCE_KINDS = ("drand", "ceremony", "lottery")

# Code points no text field may hold: C0 and C1 controls, DEL, and lone surrogates.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RATIO = re.compile(r"(0|[1-9][0-9]{0,15})/([1-9][0-9]{0,15})")
_BASIS_POINTS = re.compile(r"(0|[1-9][0-9]{0,4})bp")
_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
_GOOD_DATES: set[str] = set()  # dates check_date has accepted, so objects skip the calendar check
_PLAIN_TEXTS: set[str] = set()  # areas, strata and tags is_plain_object has passed


class InspectionObject(NamedTuple):
    """One entry of the 检查对象名录库 as a draw sees it (spec §4)."""

    id: str
    name: str
    area: str
    stratum: str
    tags: tuple[str, ...] = ()
    last_inspected: str | None = None


@dataclass(frozen=True)
class StratumRule:
    """How many objects of one stratum are drawn (spec §5). ``check_rule`` validates it."""

    stratum: str
    take: str
    ratio: str | None = None
    count: int | None = None
    rounding: str | None = None
    min: int | None = None
    max: int | None = None
    batch_size: int | None = None


class SourceSlot(NamedTuple):
    """One declared randomness source (spec §8): a name, its kind and the kind's declaration record.

    Kinds and their declarations are defined in docs/draw-spec-randomness.md.
    """

    name: str
    kind: str
    declaration: Mapping[str, Any]


def domain_tag(purpose: str) -> bytes:
    """Return the domain-separation prefix of one hash input (spec §1.3): ASCII("fairdraw-draw/1 " +
    ``purpose``) followed by one 0x00 byte.

    >>> domain_tag("leaf")
    b'fairdraw-draw/1 leaf\\x00'
    """
    return f"{SPEC} {purpose}".encode("ascii") + b"\x00"


def load_json(data: bytes, convert: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    """Parse JSON strictly — UTF-8, no duplicate member names, integers only, no NaN or infinity —
    without ``ledger.jcs.loads``'s second, canonicalizing pass: for large records whose parser
    re-encodes what it read and compares it with ``data`` (which proves the canonical form).
    ``convert``, if given, is applied to each JSON object as it is read (innermost first) and its
    result stands in the object's place. Raises ValueError (and whatever ``convert`` raises).
    """
    hook = _no_duplicates if convert is None else (lambda pairs: convert(_no_duplicates(pairs)))
    return json.loads(
        data.decode("utf-8"),
        object_pairs_hook=hook,
        parse_float=_refuse_number,
        parse_constant=_refuse_number,
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("draw: duplicate member name in JSON")
    return obj


def _refuse_number(text: str) -> Any:
    raise ValueError(f"draw: {text} is not a JSON integer")


def record_members(value: object, keys: frozenset[str], field: str) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object with exactly the member names ``keys``.

    Raises ValueError naming ``field`` otherwise.
    """
    if not isinstance(value, dict) or value.keys() != keys:
        raise ValueError(f"draw: {field}: want exactly the members {', '.join(sorted(keys))}")
    return value


def record_list(value: object, field: str) -> list[Any]:
    """Return ``value`` if it is a JSON array. Raises ValueError naming ``field`` otherwise."""
    if not isinstance(value, list):
        raise ValueError(f"draw: {field}: want a list")
    return value


def nfc(text: str) -> str:
    """Return ``text`` in Unicode Normalization Form C."""
    return unicodedata.normalize("NFC", text)


def check_text(value: object, field: str, max_len: int) -> None:
    """Check a text field: a str of 1..``max_len`` code points, NFC, no control characters, no
    leading or trailing white space.

    Raises ValueError naming ``field``.
    """
    if not isinstance(value, str):
        raise ValueError(f"draw: {field}: want a string, got {type(value).__name__}")
    if not 1 <= len(value) <= max_len:
        raise ValueError(f"draw: {field}: length {len(value)}, want 1..{max_len}")
    if _FORBIDDEN.search(value):
        raise ValueError(f"draw: {field}: control character or lone surrogate")
    if value != value.strip():
        raise ValueError(f"draw: {field}: leading or trailing white space")
    if not unicodedata.is_normalized("NFC", value):
        raise ValueError(f"draw: {field}: not in Unicode NFC")


def check_date(value: object, field: str) -> None:
    """Check an ISO 8601 calendar date written YYYY-MM-DD. Raises ValueError naming ``field``."""
    if not (isinstance(value, str) and _DATE.fullmatch(value)):
        raise ValueError(f"draw: {field}: want a date YYYY-MM-DD, got {value!r}")
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"draw: {field}: no such date {value!r}") from None
    if len(_GOOD_DATES) < 100_000:
        _GOOD_DATES.add(value)


def check_count(value: object, field: str, *, low: int = 0) -> None:
    """Check an integer in ``low``..2^53-1 (bool is not an integer here). Raises ValueError."""
    if type(value) is not int or not low <= value <= MAX_SAFE:
        raise ValueError(f"draw: {field}: want an integer in {low}..2^53-1, got {value!r}")


# ---------------------------------------------------------------------------
# Objects (spec §3-§4).


def make_object(
    id: str,
    name: str,
    area: str,
    stratum: str,
    tags: Sequence[str] = (),
    last_inspected: str | None = None,
) -> InspectionObject:
    """Return an object with every string NFC-normalized and the tags sorted and deduplicated.

    Does not validate; ``check_object`` does. Cost is linear in the text.
    """
    clean_tags = tuple(sorted({nfc(t) for t in tags}))
    return InspectionObject(nfc(id), nfc(name), nfc(area), nfc(stratum), clean_tags, last_inspected)


def check_object(obj: InspectionObject, field: str = "object") -> None:
    """Check every field of ``obj`` against spec §3-§4.

    Text fields follow ``check_text`` (id ≤ 160, name ≤ 256, area ≤ 128, stratum ≤ 64 code points);
    the id is a valid USCC, 注册号 or ``kind:local`` id; tags are sorted, distinct, at most 32 of
    1..64 code points; last_inspected is None or a date. Raises ValueError naming ``field`` and the
    member, e.g. ``draw: objects[3].tags``. A few microseconds for a typical object.
    """
    if is_plain_object(obj):
        return
    if not isinstance(obj, InspectionObject):
        raise ValueError(f"draw: {field}: want an InspectionObject, got {type(obj).__name__}")
    for member, max_len in (("id", 160), ("name", 256), ("area", 128), ("stratum", 64)):
        check_text(getattr(obj, member), f"{field}.{member}", max_len)
    try:
        uscc.object_id_kind(obj.id)
    except ValueError as e:
        raise ValueError(f"draw: {field}.id: {e}") from None
    _check_tags(obj.tags, f"{field}.tags")
    if obj.last_inspected is not None:
        check_date(obj.last_inspected, f"{field}.last_inspected")


class Population(tuple[InspectionObject, ...]):
    """Objects, in order, each of which passed ``check_object`` when the Population was made.

    ``commit_draw`` does not check the objects of a Population again (only what concerns the
    population as a whole: distinct ids, known strata), so a population used by many draws (a
    roster snapshot) is checked once. Immutable, like the tuple it is.
    """

    __slots__ = ()

    def __new__(cls, objects: Iterable[InspectionObject] = (), field: str = "objects") -> Population:
        """Check every object (``check_object``, naming ``field[i]``) and return them as a Population.
        Raises ValueError for the first invalid one."""
        items = tuple(objects)
        for i, obj in enumerate(items):
            check_object(obj, f"{field}[{i}]")
        return super().__new__(cls, items)


def is_plain_object(obj: InspectionObject) -> bool:
    """Return True if ``obj`` is a valid object of the common shape (dates seen before).

    A fast path for ``check_object``: True implies every rule holds; False means "check in full"
    (as for text with white space other than single inner spaces, or format characters). Areas,
    strata and tags, which repeat across a population, are checked once each.
    """
    if type(obj) is not InspectionObject:
        return False
    ident, name, area, stratum, tags, last = obj
    if not (_plain(name, 256) and _plain_known(area, 128) and _plain_known(stratum, 64)):
        return False
    if type(tags) is not tuple or (tags and not _plain_tags(tags)):
        return False
    if last is not None and last not in _GOOD_DATES:
        return False
    if type(ident) is str and uscc.is_valid_uscc(ident):
        return True  # 18 printable ASCII characters
    if not _plain(ident, 160):
        return False
    try:
        uscc.object_id_kind(ident)  # a 注册号 or kind:local id in a few steps
    except ValueError:
        return False
    return True


def are_plain_objects(objects: Sequence[InspectionObject]) -> bool:
    """Return True if ``is_plain_object`` holds for each of ``objects`` and every id is a
    统一社会信用代码, checking a column at a time (for a batch of a few thousand objects).

    False means "check one by one", as for a batch holding another form of id. The names are
    checked joined by line feeds: a line feed is not printable and composes with nothing under NFC,
    so the joined text passes exactly when each name does. Linear; False for no objects.
    """
    if set(map(type, objects)) != {InspectionObject}:
        return False
    ids, names, areas, strata, tags, dates = zip(*objects, strict=True)
    if {*map(type, ids), *map(type, names), *map(type, areas), *map(type, strata)} != {str}:
        return False
    if set(map(type, tags)) != {tuple} or not set(map(type, itertools.chain.from_iterable(tags))) <= {str}:
        return False
    if not set(map(type, dates)) <= {str, type(None)} or not set(dates) - {None} <= _GOOD_DATES:
        return False
    if not (uscc.all_valid_uscc(ids) and _plain_names(names)):
        return False
    known = all(_plain_known(a, 128) for a in set(areas)) and all(_plain_known(s, 64) for s in set(strata))
    return known and all(not t or _plain_tags(t) for t in set(tags))


def _plain_names(names: Sequence[str]) -> bool:
    # _plain(name, 256) for each of ``names``, on the names joined by line feeds.
    if not (min(map(len, names)) > 0 and max(map(len, names)) <= 256 and all(map(str.isprintable, names))):
        return False
    joined = "\n".join(names)
    if "  " in joined or " \n" in joined or "\n " in joined or joined[0] == " " or joined[-1] == " ":
        return False
    return unicodedata.is_normalized("NFC", joined)


def _plain(text: object, max_len: int) -> TypeGuard[str]:
    # Printable text has no control character, no lone surrogate and no white space but U+0020.
    if type(text) is not str or not 0 < len(text) <= max_len:
        return False
    if not text.isprintable() or "  " in text or text[0] == " " or text[-1] == " ":
        return False
    return unicodedata.is_normalized("NFC", text)


def _plain_known(text: object, max_len: int) -> bool:
    # _plain, remembered for the texts it passed.
    if type(text) is str and text in _PLAIN_TEXTS:
        return 0 < len(text) <= max_len
    if not _plain(text, max_len):
        return False
    if len(_PLAIN_TEXTS) < 10_000:
        _PLAIN_TEXTS.add(text)
    return True


def _plain_tags(tags: tuple[str, ...]) -> bool:
    return len(tags) <= 32 and all(_plain_known(t, 64) for t in tags) and list(tags) == sorted(set(tags))


def _check_tags(tags: object, field: str) -> None:
    if not isinstance(tags, tuple) or len(tags) > 32:
        raise ValueError(f"draw: {field}: want a tuple of at most 32 tags")
    for i, tag in enumerate(tags):
        check_text(tag, f"{field}[{i}]", 64)
    if list(tags) != sorted(set(tags)):
        raise ValueError(f"draw: {field}: tags must be sorted and distinct")


def object_record(obj: InspectionObject) -> dict[str, Any]:
    """Return the canonical-JSON object record of ``obj`` (spec §4); ``parse_object_record`` inverts it."""
    return {
        "area": obj.area,
        "id": obj.id,
        "last_inspected": obj.last_inspected,
        "name": obj.name,
        "stratum": obj.stratum,
        "tags": list(obj.tags),
    }


_OBJECT_KEYS = frozenset(("area", "id", "last_inspected", "name", "stratum", "tags"))


def parse_object_record(record: object, field: str = "record") -> InspectionObject:
    """Return the object a record describes, checking every rule of spec §4.

    Raises ValueError naming ``field`` on a missing or extra member or any invalid value.
    """
    if not isinstance(record, dict) or record.keys() != _OBJECT_KEYS:
        raise ValueError(f"draw: {field}: want exactly the members {sorted(_OBJECT_KEYS)}")
    tags = record["tags"]
    if not isinstance(tags, list):
        raise ValueError(f"draw: {field}.tags: want a list")
    obj = InspectionObject(
        record["id"], record["name"], record["area"], record["stratum"], tuple(tags), record["last_inspected"]
    )
    check_object(obj, field)
    return obj


# ---------------------------------------------------------------------------
# Strata rules (spec §5).


def parse_ratio(text: str) -> tuple[int, int]:
    """Return (numerator, denominator) of a ratio written ``n/d`` or ``Nbp`` (N/10000).

    Decimal integers without leading zeros; the value must be at most 1 (100 %).
    Raises ValueError on any other spelling or a ratio above 100 %.
    """
    if m := _RATIO.fullmatch(text):
        num, den = int(m[1]), int(m[2])
    elif m := _BASIS_POINTS.fullmatch(text):
        num, den = int(m[1]), 10000
    else:
        raise ValueError(f"ratio {text!r} must be written n/d or Nbp")
    if num > den:
        raise ValueError(f"ratio {text} above 100 %")
    return num, den


def make_rule(
    stratum: str,
    take: str,
    *,
    ratio: str | None = None,
    count: int | None = None,
    rounding: str | None = None,
    min: int | None = None,
    max: int | None = None,
    batch_size: int | None = None,
) -> StratumRule:
    """Return a stratum rule with its name NFC-normalized. ``check_rule`` validates it."""
    return StratumRule(nfc(stratum), take, ratio, count, rounding, min, max, batch_size)


def check_rule(rule: StratumRule, field: str = "rule") -> None:
    """Check a stratum rule (spec §5). Raises ValueError naming ``field`` and the member.

    take 'ratio' needs ratio and rounding and allows min/max; 'count' needs count; 'all' needs
    neither. Members that do not apply must be None. batch_size, if given, is at least 1.
    """
    check_text(rule.stratum, f"{field}.stratum", 64)
    if rule.take not in TAKES:
        raise ValueError(f"draw: {field}.take: {rule.take!r} not one of {', '.join(TAKES)}")
    required, optional = _RULE_MEMBERS[rule.take]
    for member in ("ratio", "count", "rounding", "min", "max"):
        given = getattr(rule, member) is not None
        if member in required and not given:
            raise ValueError(f"draw: {field}.{member}: required when take is {rule.take!r}")
        if given and member not in required and member not in optional:
            raise ValueError(f"draw: {field}.{member}: not allowed when take is {rule.take!r}")
    _check_rule_values(rule, field)


# take -> (required members, optional members) besides stratum, take and batch_size.
_RULE_MEMBERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ratio": (("ratio", "rounding"), ("min", "max")),
    "count": (("count",), ()),
    "all": ((), ()),
}


def _check_rule_values(rule: StratumRule, field: str) -> None:
    if rule.ratio is not None:
        if not isinstance(rule.ratio, str):
            raise ValueError(f"draw: {field}.ratio: want a string n/d or Nbp")
        try:
            parse_ratio(rule.ratio)
        except ValueError as e:
            raise ValueError(f"draw: {field}.ratio: {e}") from None
    if rule.rounding is not None and rule.rounding not in ROUNDINGS:
        raise ValueError(f"draw: {field}.rounding: {rule.rounding!r} not one of {', '.join(ROUNDINGS)}")
    for member in ("count", "min", "max"):
        if getattr(rule, member) is not None:
            check_count(getattr(rule, member), f"{field}.{member}")
    if rule.min is not None and rule.max is not None and rule.min > rule.max:
        raise ValueError(f"draw: {field}.min: {rule.min} above max {rule.max}")
    if rule.batch_size is not None:
        check_count(rule.batch_size, f"{field}.batch_size", low=1)


def sample_size(rule: StratumRule, size: int) -> int:
    """Return k, the number of objects drawn from a stratum of ``size`` objects (spec §5.2).

    ratio n/d: floor(N·n/d), ceil(N·n/d) or floor(N·n/d + 1/2) by the rounding rule, then raised to
    min and lowered to max; count: the count; all: N. The result never exceeds N.
    Requires a checked rule. Exact integer arithmetic, O(1).
    """
    if rule.take == "all":
        return size
    if rule.take == "count":
        return min(_need(rule.count), size)
    num, den = parse_ratio(_need(rule.ratio))
    k = {
        "floor": size * num // den,
        "ceil": -(-size * num // den),
        "half-up": (2 * size * num + den) // (2 * den),
    }[_need(rule.rounding)]
    if rule.min is not None:
        k = max(k, rule.min)
    if rule.max is not None:
        k = min(k, rule.max)
    return min(k, size)


def _need(value: _T | None) -> _T:
    if value is None:
        raise AssertionError("draw: sample_size needs a checked rule")
    return value


def rule_record(rule: StratumRule) -> dict[str, Any]:
    """Return the rule's members as they appear in a commitment's stratum entry (spec §9)."""
    return {
        "batch_size": rule.batch_size,
        "count": rule.count,
        "max": rule.max,
        "min": rule.min,
        "ratio": rule.ratio,
        "rounding": rule.rounding,
        "stratum": rule.stratum,
        "take": rule.take,
    }


# ---------------------------------------------------------------------------
# Randomness sources (spec §8) and the request (spec §9).


def check_source(slot: SourceSlot, field: str = "source") -> None:
    """Check a source slot: a name of [a-z][a-z0-9-]{0,31}, a known kind, a JSON-object declaration.

    The declaration's own members are the business of docs/draw-spec-randomness.md.
    Raises ValueError naming ``field``.
    """
    if not (isinstance(slot.name, str) and _NAME.fullmatch(slot.name)):
        raise ValueError(f"draw: {field}.name: want [a-z][a-z0-9-]{{0,31}}, got {slot.name!r}")
    if slot.kind not in SOURCE_KINDS:
        raise ValueError(f"draw: {field}.kind: {slot.kind!r} not one of {', '.join(SOURCE_KINDS)}")
    if not isinstance(slot.declaration, Mapping):
        raise ValueError(f"draw: {field}.declaration: want a JSON object")


def source_record(slot: SourceSlot) -> dict[str, Any]:
    """Return the source's entry in the commitment record (spec §8)."""
    return {"declaration": dict(slot.declaration), "kind": slot.kind, "name": slot.name}


def check_sources(sources: Sequence[SourceSlot]) -> None:
    """Check the declared sources: 1..16 slots with distinct names, at least one of kind 'drand'.

    Raises ValueError naming ``sources`` or the slot.
    """
    if not 1 <= len(sources) <= 16:
        raise ValueError(f"draw: sources: {len(sources)} declared, want 1..16")
    for i, slot in enumerate(sources):
        check_source(slot, f"sources[{i}]")
    names = [slot.name for slot in sources]
    if len(set(names)) != len(names):
        raise ValueError("draw: sources: names must be distinct")
    if all(slot.kind != "drand" for slot in sources):
        raise ValueError("draw: sources: at least one source must be a drand beacon")


class Matching(NamedTuple):
    """The inspector side of a draw (docs/draw-spec-matching.md): who may inspect, and how.

    ``items`` are the task's 抽查事项 codes, which every selected object needs covered; ``as_of`` is
    the day on which inspectors' status and certificates are judged.
    """

    items: tuple[str, ...]
    inspectors: tuple[teams.Inspector, ...]
    rules: teams.TeamRules
    as_of: datetime.date
    exclusions: tuple[teams.Exclusion, ...] = ()
    history: tuple[teams.PastInspection, ...] = ()


class DrawRequest(NamedTuple):
    """Everything a draw commits to besides the population and the operator secret (spec §9)."""

    draw_id: str
    department: str
    strata: tuple[StratumRule, ...]
    sources: tuple[SourceSlot, ...]
    embargo: str
    disclosure: str = "confidential"
    matching: Matching | None = None


def check_request(request: DrawRequest) -> None:
    """Check a request: ids, 1..64 distinct strata rules, the sources, embargo date, disclosure mode
    and the matching inputs' types (their values are checked by ``teams`` on construction).

    Raises ValueError naming the field, e.g. ``draw: strata[1].ratio: ratio 11/10 above 100 %``.
    """
    check_text(request.draw_id, "draw_id", 128)
    check_text(request.department, "department", 128)
    if not 1 <= len(request.strata) <= 64:
        raise ValueError(f"draw: strata: {len(request.strata)} rules, want 1..64")
    for i, rule in enumerate(request.strata):
        check_rule(rule, f"strata[{i}]")
    names = [rule.stratum for rule in request.strata]
    if len(set(names)) != len(names):
        raise ValueError("draw: strata: stratum names must be distinct")
    check_sources(request.sources)
    check_date(request.embargo, "embargo")
    if request.disclosure not in DISCLOSURES:
        raise ValueError(f"draw: disclosure: {request.disclosure!r} not one of confidential, full")
    if request.matching is not None:
        check_matching(request.matching)


def check_matching(matching: Matching) -> None:
    """Check the matching inputs' shape: 1..64 sorted distinct item codes and values of the
    ``teams`` types. Raises ValueError naming the field.
    """
    if not isinstance(matching, Matching):
        raise ValueError(f"draw: matching: want a Matching, got {type(matching).__name__}")
    items = matching.items
    if not isinstance(items, tuple) or not 1 <= len(items) <= 64:
        raise ValueError("draw: matching.items: want a tuple of 1..64 item codes")
    for i, item in enumerate(items):
        check_text(item, f"matching.items[{i}]", 128)
    if list(items) != sorted(set(items)):
        raise ValueError("draw: matching.items: item codes must be sorted and distinct")
    for member, kind in (
        ("inspectors", teams.Inspector),
        ("exclusions", teams.Exclusion),
        ("history", teams.PastInspection),
    ):
        values = getattr(matching, member)
        if not isinstance(values, tuple) or not all(isinstance(v, kind) for v in values):
            raise ValueError(f"draw: matching.{member}: want a tuple of {kind.__name__}")
    if not isinstance(matching.rules, teams.TeamRules):
        raise ValueError("draw: matching.rules: want a TeamRules")
    if type(matching.as_of) is not datetime.date:
        raise ValueError("draw: matching.as_of: want a datetime.date")
