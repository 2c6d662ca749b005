"""The commitment to a draw's inputs (docs/draw-spec.md §6-§9).

Each object gets a salt derived from the operator secret, and a leaf commitment binding the salt
to its canonical record::

    salt = HMAC-SHA-256(secret, "fairdraw-draw/1 salt" || 0x00 || UTF-8(id))
    leaf = SHA-256("fairdraw-draw/1 leaf" || 0x00 || salt || JCS(record))

A stratum's leaves, sorted ascending and concatenated, form its *leaf list* blob; their RFC 9162
Merkle tree gives the stratum root. The commitment record names each blob by its SHA-256 address,
and the commitment hash is ``SHA-256("fairdraw-draw/1 commitment" || 0x00 || JCS(record))``.

>>> secret = bytes(32)
>>> derive_salt(secret, "91350100M000100Y43").hex()[:16]
'0eeaf994243b43e9'
"""

from __future__ import annotations

import bisect
import datetime
import hashlib
import itertools
import json
import operator
import re
import struct
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from typing import Any, NamedTuple, TypeVar

from draw.engine import model, teams
from draw.engine.model import DrawRequest, InspectionObject, Matching, StratumRule
from ledger import jcs, tree

SECRET_SIZE = 32
LEAF_SIZE = 32
MAX_COMMITMENT_SIZE = 48 * 1024

_SALT_TAG = model.domain_tag("salt")
_LEAF_TAG = model.domain_tag("leaf")
_SECRET_TAG = model.domain_tag("secret")
_COMMITMENT_TAG = model.domain_tag("commitment")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_LEAF = struct.Struct(f"{LEAF_SIZE}s")
_V = TypeVar("_V")


class StratumPopulation(NamedTuple):
    """One stratum as committed: its rule, sample size, sorted leaves, and where each leaf came from.

    ``origin[i]`` is the index in the committed object sequence of the object behind ``leaves[i]``.
    """

    rule: StratumRule
    k: int
    leaves: list[bytes]
    origin: array[int]


class Commitment(NamedTuple):
    """A built commitment: the request, the record, its canonical bytes and hash, the blobs it
    names (by address), and the committed strata.
    """

    request: DrawRequest
    record: dict[str, Any]
    encoded: bytes
    hash: bytes
    blobs: dict[str, bytes]
    strata: tuple[StratumPopulation, ...]


# ---------------------------------------------------------------------------
# Salts, records and leaves (spec §6).


def secret_hash(secret: bytes) -> bytes:
    """Return SHA-256("fairdraw-draw/1 secret" || 0x00 || secret), the committed form of the secret."""
    _check_secret(secret)
    return hashlib.sha256(_SECRET_TAG + secret).digest()


def _check_secret(secret: object) -> None:
    if not isinstance(secret, bytes) or len(secret) != SECRET_SIZE:
        raise ValueError(f"draw: operator secret: want {SECRET_SIZE} bytes")


def salter(secret: bytes) -> Callable[[str], bytes]:
    """Return a function mapping an object id to its salt, HMAC-SHA-256(secret, salt tag || id).

    The HMAC pads (RFC 2104) and the salt tag are absorbed once, so each salt costs two SHA-256
    block runs. Raises ValueError unless ``secret`` is 32 bytes.
    """
    _check_secret(secret)
    key = secret.ljust(64, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + _SALT_TAG)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def salt(object_id: str) -> bytes:
        h = inner.copy()
        h.update(object_id.encode("utf-8"))
        o = outer.copy()
        o.update(h.digest())
        return o.digest()

    return salt


def derive_salt(secret: bytes, object_id: str) -> bytes:
    """Return the 32-byte salt of ``object_id`` under ``secret`` (spec §6.1)."""
    return salter(secret)(object_id)


def encode_object(obj: InspectionObject) -> bytes:
    """Return JCS(object_record(obj)), written directly (members in RFC 8785 order).

    Requires an object that passed ``model.check_object`` (so no text holds a control character);
    equal to ``jcs.canonicalize(model.object_record(obj))`` for every such object.
    """
    ident, name, area, stratum, tags, last_inspected = obj
    if '"' in (texts := area + ident + name + stratum) or "\\" in texts:
        area, ident, name, stratum = _escape(area), _escape(ident), _escape(name), _escape(stratum)
    last = "null" if last_inspected is None else '"' + last_inspected + '"'
    listed = ",".join('"' + _escape(tag) + '"' for tag in tags) if tags else ""
    return (
        f'{{"area":"{area}","id":"{ident}","last_inspected":{last},'
        f'"name":"{name}","stratum":"{stratum}","tags":[{listed}]}}'
    ).encode()


def _escape(text: str) -> str:
    # RFC 8785 §3.2.2.2 for text without control characters: only '"' and '\' are escaped.
    return text.replace("\\", "\\\\").replace('"', '\\"')


def leaf_commitment(salt: bytes, encoded_record: bytes) -> bytes:
    """Return SHA-256(leaf tag || salt || JCS(record)), the leaf of one object (spec §6.2)."""
    return hashlib.sha256(_LEAF_TAG + salt + encoded_record).digest()


def format_leaves(leaves: Sequence[bytes]) -> bytes:
    """Return the leaf-list blob: the 32-byte leaves, already sorted ascending, concatenated."""
    return b"".join(leaves)


def parse_leaves(blob: bytes) -> list[bytes]:
    """Return the leaves of a leaf-list blob, the inverse of ``format_leaves``.

    Raises ValueError unless the length is a multiple of 32 and the leaves are strictly ascending.
    Linear in the blob size.
    """
    leaves = split_leaves(blob)
    if not all(map(operator.lt, leaves, leaves[1:])):
        raise ValueError("draw: leaf list: leaves not strictly ascending")
    return leaves


def stratum_root(leaves: Sequence[bytes]) -> bytes:
    """Return the RFC 9162 Merkle tree hash over the sorted leaves (each leaf is one entry).

    2n SHA-256 in all, level by level: the leaf hashes are made two at a time with the first level
    of nodes above them; at every level a last node without a sibling moves up unchanged, which
    equals the recursive MTH (as ``ledger.tree.root_hash`` computes it).
    """
    sha256 = hashlib.sha256
    if len(leaves) < 2:
        return tree.root_hash([sha256(b"\x00" + leaf).digest() for leaf in leaves])
    pairs = iter(leaves)
    # RFC 9162 §2.1.1: SHA-256(0x01 || SHA-256(0x00 || left) || SHA-256(0x00 || right))
    level = [
        sha256(b"\x01" + sha256(b"\x00" + a).digest() + sha256(b"\x00" + b).digest()).digest()
        for a, b in zip(pairs, pairs, strict=False)
    ]
    if len(leaves) % 2:
        level.append(sha256(b"\x00" + leaves[-1]).digest())
    while len(level) > 1:
        odd = level[-1:] if len(level) % 2 else []
        pairs = iter(level)
        level = [sha256(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs, strict=False)]
        level += odd
    return level[0]


def split_leaves(blob: bytes) -> list[bytes]:
    """Return the 32-byte leaves of a leaf-list blob in blob order, without checking that order.

    Raises ValueError unless the length is a multiple of 32. Linear in the blob size.
    """
    if len(blob) % LEAF_SIZE:
        raise ValueError(f"draw: leaf list: length {len(blob)} not a multiple of {LEAF_SIZE}")
    return list(map(operator.itemgetter(0), _LEAF.iter_unpack(blob)))


def leaf_list_root(blob: bytes) -> bytes:
    """Return ``stratum_root(split_leaves(blob))``: a module-level function of bytes, so that a
    process pool can run it. Raises ValueError as ``split_leaves`` does.
    """
    return stratum_root(split_leaves(blob))


def submit_root(executor: Executor | None, leaves: list[bytes], blob: bytes) -> Future[bytes]:
    """Return a future of ``stratum_root(leaves)``, where ``blob`` is ``format_leaves(leaves)``.

    With an executor (a process pool, as hashing holds the GIL) the blob is sent to it to be
    hashed by ``leaf_list_root`` while the caller goes on; without one the root is computed here,
    at once. Either way the future's value is the same bytes.
    """
    if executor is not None:
        return executor.submit(leaf_list_root, blob)
    future: Future[bytes] = Future()
    future.set_result(stratum_root(leaves))
    return future


def blob_address(blob: bytes) -> str:
    """Return the content address of a blob: lowercase hex of its SHA-256."""
    return hashlib.sha256(blob).hexdigest()


# ---------------------------------------------------------------------------
# Building the commitment (spec §9).


def commit_draw(
    request: DrawRequest,
    objects: Sequence[InspectionObject],
    operator_secret: bytes,
    executor: Executor | None = None,
) -> Commitment:
    """Return the commitment of ``request`` over the population ``objects`` under ``operator_secret``.

    Checks everything first and raises ValueError naming the field (bad USCC, duplicate id, unknown
    stratum, empty population, ratio above 100 %, too few eligible inspectors, ...). ``objects`` is
    read in order; it must be indexable again later with the same contents (``draw`` opens the
    selected leaves through it); the objects of a ``model.Population`` are not checked again.
    Cost: about one HMAC, one record encoding and three SHA-256 per object, a sort per stratum, and
    ``teams.check_feasible``, which runs before the roots are hashed. Given an ``executor`` (a
    process pool), each stratum's root (two of the SHA-256 per object) is instead computed on it
    while the next stratum is sorted and the feasibility is checked; the commitment is the same
    bytes with or without one.
    """
    model.check_request(request)
    named = set() if request.matching is None else _named(request.matching)
    buckets, found = _populate(request, objects, operator_secret, named)
    strata: list[StratumPopulation] = []
    lists: list[bytes] = []
    roots: list[Future[bytes]] = []
    for rule in request.strata:
        strata.append(_stratum(rule, buckets[rule.stratum]))
        if executor is not None:
            lists.append(format_leaves(strata[-1].leaves))
            roots.append(submit_root(executor, strata[-1].leaves, lists[-1]))
    if request.matching is not None:
        _check_feasible(request.matching, strata, buckets, found, objects)
    del buckets
    if executor is None:
        lists = [format_leaves(p.leaves) for p in strata]
        roots = [submit_root(None, p.leaves, blob) for p, blob in zip(strata, lists, strict=True)]
    blobs: dict[str, bytes] = {}
    entries = [
        _stratum_entry(p, _store(blobs, blob), root.result())
        for p, blob, root in zip(strata, lists, roots, strict=True)
    ]
    if request.disclosure == "full":
        for population, entry in zip(strata, entries, strict=True):
            entry["records"] = _store(blobs, format_records(objects, population.origin))
    matching = None if request.matching is None else _matching_entry(request.matching, blobs)
    record = _commitment_record(request, operator_secret, entries, matching)
    encoded = jcs.canonicalize(record)
    if len(encoded) > MAX_COMMITMENT_SIZE:
        raise ValueError(f"draw: commitment record is {len(encoded)} bytes, limit {MAX_COMMITMENT_SIZE}")
    return Commitment(request, record, encoded, commitment_hash(encoded), blobs, tuple(strata))


def _store(blobs: dict[str, bytes], blob: bytes) -> str:
    address = blob_address(blob)
    blobs[address] = blob
    return address


class _Bucket(NamedTuple):
    """One stratum's objects as read, in object order: their leaves, indexes and areas."""

    leaves: list[bytes]
    indexes: array[int]
    areas: list[str]


_BATCH = 4096  # objects read and checked at a time


def _populate(
    request: DrawRequest, objects: Sequence[InspectionObject], operator_secret: bytes, named: set[str]
) -> tuple[dict[str, _Bucket], list[int]]:
    # One pass, a batch at a time: check each object, derive its salt and leaf, file leaf, index and
    # area under its stratum. Also return the indexes of the objects whose id is in ``named``.
    buckets = {rule.stratum: _Bucket([], array("q"), []) for rule in request.strata}
    filing = {name: (b.leaves.append, b.indexes.append, b.areas.append) for name, b in buckets.items()}
    salt = salter(operator_secret)
    seen: set[str] = set()
    found: list[int] = []
    checked = type(objects) is model.Population  # its objects passed check_object already
    reader, start = iter(objects), 0
    while batch := list(itertools.islice(reader, _BATCH)):
        ids = [obj.id for obj in batch]
        if (checked or model.are_plain_objects(batch)) and _new_ids(ids, batch, buckets, seen):
            leaves = _leaves(salt, ids, batch)
        else:
            leaves = [_checked_leaf(obj, i, buckets, seen, salt) for i, obj in enumerate(batch, start)]
        if named:
            found += itertools.compress(range(start, start + len(batch)), map(named.__contains__, ids))
        for leaf, index, obj in zip(leaves, itertools.count(start), batch, strict=False):
            add_leaf, add_index, add_area = filing[obj.stratum]
            add_leaf(leaf)
            add_index(index)
            add_area(obj.area)
        start += len(batch)
    if not seen:
        raise ValueError("draw: objects: empty population")
    return buckets, found


def _new_ids(
    ids: list[str], batch: list[InspectionObject], strata: Mapping[str, object], seen: set[str]
) -> bool:
    # Whether the batch's ids are distinct and new and its strata known; if so, remember the ids.
    distinct = set(ids)
    if len(distinct) != len(ids) or not seen.isdisjoint(distinct):
        return False
    if not strata.keys() >= {obj.stratum for obj in batch}:
        return False
    seen |= distinct
    return True


def _leaves(salt: Callable[[str], bytes], ids: list[str], batch: list[InspectionObject]) -> list[bytes]:
    # The leaves of checked objects: SHA-256(leaf tag || salt || JCS(record)) each.
    sha256, tag = hashlib.sha256, _LEAF_TAG
    return [
        sha256(tag + s + r).digest() for s, r in zip(map(salt, ids), map(encode_object, batch), strict=True)
    ]


def _checked_leaf(
    obj: InspectionObject,
    index: int,
    strata: Mapping[str, object],
    seen: set[str],
    salt: Callable[[str], bytes],
) -> bytes:
    # Check one object, its stratum and its id's novelty (naming objects[index]); return its leaf.
    if not model.is_plain_object(obj):
        model.check_object(obj, f"objects[{index}]")
    if obj.stratum not in strata:
        raise ValueError(f"draw: objects[{index}].stratum: unknown stratum {obj.stratum!r}")
    if obj.id in seen:
        raise ValueError(f"draw: objects[{index}].id: duplicate id {obj.id!r}")
    seen.add(obj.id)
    return leaf_commitment(salt(obj.id), encode_object(obj))


def _stratum(rule: StratumRule, bucket: _Bucket) -> StratumPopulation:
    # Sort the leaves by position (leaves are distinct, so the sort is the same as of the pairs).
    leaves, indexes = bucket.leaves, bucket.indexes
    order = sorted(range(len(leaves)), key=leaves.__getitem__)
    origin = array("q", map(indexes.__getitem__, order))
    leaves = list(map(leaves.__getitem__, order))
    del order
    return StratumPopulation(rule, model.sample_size(rule, len(leaves)), leaves, origin)


def _stratum_entry(population: StratumPopulation, address: str, root: bytes) -> dict[str, Any]:
    entry = model.rule_record(population.rule)
    entry.update(k=population.k, leaves=address, records=None, root=root.hex(), size=len(population.leaves))
    return entry


def format_records(objects: Sequence[InspectionObject], origin: Sequence[int]) -> bytes:
    """Return the full-disclosure records blob of one stratum: the JCS array of its object records
    in leaf order (spec §6.4). ``origin`` maps leaf positions to indexes in ``objects``.
    """
    return b"[" + b",".join(encode_object(objects[i]) for i in origin) + b"]"


def _commitment_record(
    request: DrawRequest,
    operator_secret: bytes,
    strata: list[dict[str, Any]],
    matching: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "department": request.department,
        "disclosure": request.disclosure,
        "draw_id": request.draw_id,
        "embargo": request.embargo,
        "matching": matching,
        "secret_hash": secret_hash(operator_secret).hex(),
        "sources": [model.source_record(slot) for slot in request.sources],
        "spec": model.SPEC,
        "strata": strata,
    }


# ---------------------------------------------------------------------------
# The inspector side (spec §7; docs/draw-spec-matching.md).


def format_record_list(values: Iterable[Any]) -> bytes:
    """Return the blob of a list of ``teams`` values: the JCS array of their records, sorted by
    their canonical bytes and without repeats (so the blob does not depend on input order).
    """
    encoded = sorted({_canonical(v.to_record()) for v in values})
    return b"[" + b",".join(encoded) + b"]"


def parse_record_list(blob: bytes, parse: Callable[[object], _V]) -> list[_V]:
    """Return the values of a record-list blob, the inverse of ``format_record_list``.

    ``parse`` is the type's ``from_record``. Raises ValueError unless the blob is canonical JSON
    whose elements are strictly ascending by their canonical bytes and each parse.
    """
    records = model.load_json(blob)
    if not isinstance(records, list):
        raise ValueError("draw: record list: want a JSON array")
    encoded = [_canonical(r) for r in records]
    if b"[" + b",".join(encoded) + b"]" != blob:
        raise ValueError("draw: record list: not in canonical form")
    if not all(map(operator.lt, encoded, encoded[1:])):
        raise ValueError("draw: record list: records not strictly ascending")
    return [parse(r) for r in records]


_FLAT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _canonical(record: object) -> bytes:
    """Return jcs.canonicalize(record); a flat record goes through one JSON encoder kept ready.

    A JSON object of ASCII member names whose values are text, booleans, null or lists of text (the
    records of the ``teams`` types) is what json writes with sorted keys; anything else, and text
    with a lone surrogate, goes through jcs, which also names the problem.
    """
    if _flat(record):
        try:
            return _FLAT_JSON.encode(record).encode("utf-8")
        except UnicodeEncodeError:
            pass
    return jcs.canonicalize(record)


def _flat(record: object) -> bool:
    if type(record) is not dict or not all(type(k) is str and k.isascii() for k in record):
        return False
    return all(v is None or type(v) in (str, bool) or _texts(v) for v in record.values())


def _texts(value: object) -> bool:
    return type(value) is list and all(type(v) is str for v in value)


def _matching_entry(matching: Matching, blobs: dict[str, bytes]) -> dict[str, Any]:
    return {
        "as_of": matching.as_of.isoformat(),
        "exclusions": _store(blobs, format_record_list(matching.exclusions)),
        "history": _store(blobs, format_record_list(matching.history)),
        "inspectors": _store(blobs, format_record_list(matching.inspectors)),
        "items": list(matching.items),
        "rules": matching.rules.to_record(),
    }


def _named(matching: Matching) -> set[str]:
    # The ids of the objects named by a declared exclusion or a past inspection.
    return {e.object_id for e in matching.exclusions} | {p.object_id for p in matching.history}


def _check_feasible(
    matching: Matching,
    strata: Sequence[StratumPopulation],
    buckets: Mapping[str, _Bucket],
    found: list[int],
    objects: Sequence[InspectionObject],
) -> None:
    # teams.check_feasible over every object that may be drawn; ``found`` are the indexes of the
    # objects that ``_named`` names, ascending.
    quotas = {p.rule.stratum: p.k for p in strata}
    teams.check_feasible(
        _candidates(strata, buckets, found, objects, matching.items),
        quotas,
        matching.inspectors,
        matching.rules,
        matching.exclusions,
        matching.history,
        matching.as_of,
    )


def _candidates(
    strata: Sequence[StratumPopulation],
    buckets: Mapping[str, _Bucket],
    found: list[int],
    objects: Sequence[InspectionObject],
    items: tuple[str, ...],
) -> Iterable[teams.Candidate]:
    """Return a candidate for every object of a stratum that draws.

    The named objects (indexes in ``found``) come one by one, in leaf order: the first that cannot
    get a team is the one reported. The others of one (stratum, area) are alike to
    ``check_feasible``, so one Candidate stands repeated for all of them: that of the class's first
    object, which may be a named one (its candidate then merely comes again). The order of the
    classes does not matter, as they are checked sorted. Linear in C over the areas, then
    O(log N) per named object.
    """
    parts: list[Iterable[teams.Candidate]] = []
    named = [objects[i] for i in found]
    for population in strata:
        if population.k == 0:
            continue
        stratum = population.rule.stratum
        leaves, indexes, areas = buckets[stratum]
        here = [
            (leaves[bisect.bisect_left(indexes, i)], obj)
            for i, obj in zip(found, named, strict=True)
            if obj.stratum == stratum
        ]
        here.sort(key=operator.itemgetter(0))
        parts.append([teams.Candidate(obj.id, stratum, obj.area, items) for _, obj in here])
        sizes = Counter(areas)
        sizes.subtract(obj.area for _, obj in here)
        for area, n in sizes.items():
            first = objects[indexes[areas.index(area)]]
            parts.append(itertools.repeat(teams.Candidate(first.id, stratum, area, items), n))
    return itertools.chain.from_iterable(parts)


def commitment_hash(encoded: bytes) -> bytes:
    """Return SHA-256("fairdraw-draw/1 commitment" || 0x00 || encoded), ``encoded`` being JCS bytes."""
    return hashlib.sha256(_COMMITMENT_TAG + encoded).digest()


# ---------------------------------------------------------------------------
# Reading a commitment record (spec §9), for verification.


class StratumEntry(NamedTuple):
    """One stratum of a parsed commitment record."""

    rule: StratumRule
    size: int
    k: int
    leaves: str
    root: bytes
    records: str | None


class MatchingEntry(NamedTuple):
    """The matching part of a parsed commitment record: inline values and blob addresses."""

    as_of: datetime.date
    items: tuple[str, ...]
    rules: teams.TeamRules
    inspectors: str
    exclusions: str
    history: str


class CommitmentRecord(NamedTuple):
    """A parsed commitment record (spec §9)."""

    draw_id: str
    department: str
    disclosure: str
    embargo: str
    secret_hash: bytes
    sources: tuple[model.SourceSlot, ...]
    strata: tuple[StratumEntry, ...]
    matching: MatchingEntry | None


_COMMITMENT_KEYS = frozenset(
    ("department", "disclosure", "draw_id", "embargo", "matching", "secret_hash", "sources", "spec", "strata")
)
_STRATUM_KEYS = frozenset(
    ("batch_size", "count", "k", "leaves", "max", "min", "ratio", "records", "root", "rounding", "size")
) | {"stratum", "take"}
_MATCHING_KEYS = frozenset(("as_of", "exclusions", "history", "inspectors", "items", "rules"))


def parse_commitment(data: bytes) -> CommitmentRecord:
    """Parse a commitment record strictly: canonical JSON, exactly the members of spec §9, every
    value valid. Whether sizes, sample sizes and roots agree with the blobs is ``verify_draw``'s job.
    Raises ValueError naming the member.
    """
    if len(data) > MAX_COMMITMENT_SIZE:
        raise ValueError(f"draw: commitment record is {len(data)} bytes, limit {MAX_COMMITMENT_SIZE}")
    r = model.record_members(jcs.loads_canonical(data), _COMMITMENT_KEYS, "commitment")
    if r["spec"] != model.SPEC:
        raise ValueError(f"draw: commitment.spec: {r['spec']!r}, want {model.SPEC!r}")
    listed = model.record_list(r["sources"], "commitment.sources")
    sources = tuple(_parse_source(s, i) for i, s in enumerate(listed))
    request = DrawRequest(r["draw_id"], r["department"], (), sources, r["embargo"], r["disclosure"])
    listed = model.record_list(r["strata"], "commitment.strata")
    strata = tuple(_parse_stratum(e, i, r["disclosure"]) for i, e in enumerate(listed))
    model.check_request(request._replace(strata=tuple(e.rule for e in strata)))
    matching = None if r["matching"] is None else _parse_matching(r["matching"])
    return CommitmentRecord(
        r["draw_id"], r["department"], r["disclosure"], r["embargo"],
        parse_hex(r["secret_hash"], "commitment.secret_hash"), sources, strata, matching,
    )  # fmt: skip


def parse_hex(value: object, field: str) -> bytes:
    """Return the 32 bytes written as 64 lowercase hex digits in ``value``. Raises ValueError."""
    if not (isinstance(value, str) and _HEX64.fullmatch(value)):
        raise ValueError(f"draw: {field}: want 64 lowercase hex digits")
    return bytes.fromhex(value)


def _parse_source(value: object, index: int) -> model.SourceSlot:
    r = model.record_members(value, frozenset(("declaration", "kind", "name")), f"sources[{index}]")
    if not isinstance(r["declaration"], dict):
        raise ValueError(f"draw: sources[{index}].declaration: want a JSON object")
    return model.SourceSlot(r["name"], r["kind"], r["declaration"])


def _parse_stratum(value: object, index: int, disclosure: str) -> StratumEntry:
    field = f"strata[{index}]"
    r = model.record_members(value, _STRATUM_KEYS, field)
    rule = StratumRule(
        r["stratum"], r["take"], r["ratio"], r["count"], r["rounding"], r["min"], r["max"], r["batch_size"]
    )
    model.check_rule(rule, field)
    for member in ("size", "k"):
        model.check_count(r[member], f"{field}.{member}")
    parse_hex(r["leaves"], f"{field}.leaves")
    if (r["records"] is None) != (disclosure == "confidential"):
        raise ValueError(f"draw: {field}.records: a blob address exactly when disclosure is 'full'")
    if r["records"] is not None:
        parse_hex(r["records"], f"{field}.records")
    root = parse_hex(r["root"], f"{field}.root")
    return StratumEntry(rule, r["size"], r["k"], r["leaves"], root, r["records"])


def _parse_matching(value: object) -> MatchingEntry:
    r = model.record_members(value, _MATCHING_KEYS, "matching")
    model.check_date(r["as_of"], "matching.as_of")
    items = tuple(model.record_list(r["items"], "matching.items"))
    for member in ("inspectors", "exclusions", "history"):
        parse_hex(r[member], f"matching.{member}")
    rules = teams.TeamRules.from_record(r["rules"])
    entry = MatchingEntry(
        datetime.date.fromisoformat(r["as_of"]), items, rules, r["inspectors"], r["exclusions"], r["history"]
    )
    model.check_matching(model.Matching(items, (), rules, entry.as_of))
    return entry
