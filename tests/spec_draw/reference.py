"""A minimal implementation of docs/draw-spec.md, written from the spec text alone.

It works on the JSON records of the spec (dicts, lists, strings) and computes every value the spec
defines — ids, sample sizes, salts, leaves, roots, the commitment, the seed, tickets, the result and
replacements — the plain way: full sorts, a recursive Merkle tree, a hand-written RFC 8785 encoder.
It shares no code with ``draw.engine`` or ``ledger``. Teams come from ``tests.spec_matching``, the
matching part's own naive implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from typing import Any

from tests.spec_matching import reference as matching

SPEC = "fairdraw-draw/1"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def tag(purpose: str) -> bytes:
    """§1.3: ASCII("fairdraw-draw/1 " || purpose) || 0x00."""
    return ("fairdraw-draw/1 " + purpose).encode("ascii") + b"\x00"


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def u32be(n: int) -> bytes:
    return n.to_bytes(4, "big")


# §1.2: RFC 8785 for strings, integers, booleans, null, arrays and objects.


def _jcs_string(s: str) -> str:
    out = ['"']
    for ch in s:
        short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
        if ch in short:
            out.append(short[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _jcs(v: Any) -> str:
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, int):
        assert abs(v) <= 2**53 - 1
        return str(v)
    if isinstance(v, str):
        return _jcs_string(v)
    if isinstance(v, list):
        return "[" + ",".join(_jcs(x) for x in v) + "]"
    assert isinstance(v, dict)
    names = sorted(v, key=lambda name: name.encode("utf-16-be"))
    return "{" + ",".join(_jcs_string(n) + ":" + _jcs(v[n]) for n in names) + "}"


def jcs(v: Any) -> bytes:
    return _jcs(v).encode("utf-8")


# §3: object ids.


def uscc_valid(code: str) -> bool:
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    if code[0] not in "123456789ANY" or code[1] not in "123456789" or not code[2:8].isdigit():
        return False
    total = sum(USCC_CHARS.index(code[i]) * (3**i % 31) for i in range(17))
    if USCC_CHARS[(31 - total % 31) % 31] != code[17]:
        return False
    return org_valid(code[8:17])


def org_valid(code: str) -> bool:
    if len(code) != 9 or any(c not in ORG_CHARS for c in code[:8]):
        return False
    total = sum(ORG_CHARS.index(c) * w for c, w in zip(code[:8], (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


def regno_valid(code: str) -> bool:
    if len(code) != 15 or any(c not in "0123456789" for c in code):
        return False
    p = 10
    for digit in code[:14]:
        s = (p + int(digit)) % 10
        p = (2 * (s if s else 10)) % 11
    return (p + int(code[14])) % 10 == 1


def id_valid(ident: str) -> bool:
    if ":" in ident:
        kind, local = ident.split(":", 1)
        ok_kind = 1 <= len(kind) <= 32 and kind[0] in "abcdefghijklmnopqrstuvwxyz"
        ok_kind = ok_kind and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in kind)
        printable = all(
            c == " " or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")
            for c in local
        )
        ok_local = 1 <= len(local) <= 128 and printable and local == local.strip()
        return ok_kind and kind not in ("uscc", "regno") and ok_local
    if len(ident) == 15 and all(c in "0123456789" for c in ident):
        return regno_valid(ident)
    return uscc_valid(ident)


# §5.2: sample size.


def ratio(text: str) -> tuple[int, int]:
    if text.endswith("bp"):
        return int(text[:-2]), 10000
    n, d = text.split("/")
    return int(n), int(d)


def sample_size(rule: dict[str, Any], n: int) -> int:
    if rule["take"] == "all":
        k = n
    elif rule["take"] == "count":
        k = rule["count"]
    else:
        num, den = ratio(rule["ratio"])
        k = {
            "floor": (n * num) // den,
            "ceil": (n * num + den - 1) // den,
            "half-up": (2 * n * num + den) // (2 * den),
        }[rule["rounding"]]
        if rule["min"] is not None:
            k = max(k, rule["min"])
        if rule["max"] is not None:
            k = min(k, rule["max"])
    return min(k, n)


# §6: salts, leaves, roots.


def salt(secret: bytes, ident: str) -> bytes:
    return hmac.new(secret, tag("salt") + ident.encode("utf-8"), hashlib.sha256).digest()


def leaf(salt_: bytes, record: dict[str, Any]) -> bytes:
    return sha256(tag("leaf") + salt_ + jcs(record))


def mth(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, recursively."""
    if not entries:
        return sha256(b"")
    if len(entries) == 1:
        return sha256(b"\x00" + entries[0])
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:]))


def record_list(records: list[dict[str, Any]]) -> bytes:
    """§7: sorted, without repeats."""
    return b"[" + b",".join(sorted({jcs(r) for r in records})) + b"]"


def address(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


# §9: the commitment.


def commit(inputs: dict[str, Any]) -> dict[str, Any]:
    """Return the commitment record, its hash, the blobs and each stratum's sorted leaves."""
    secret, request = bytes.fromhex(inputs["secret"]), inputs["request"]
    for obj in inputs["objects"]:
        assert id_valid(obj["id"]), obj["id"]
    assert len({o["id"] for o in inputs["objects"]}) == len(inputs["objects"])
    blobs: dict[str, bytes] = {}
    strata, leaves_by_stratum, opening = [], {}, {}
    for rule in request["strata"]:
        members = [o for o in inputs["objects"] if o["stratum"] == rule["stratum"]]
        leaves = []
        for obj in members:
            s = salt(secret, obj["id"])
            leaves.append(leaf(s, obj))
            opening[leaves[-1]] = (s, obj)
        leaves.sort()
        leaves_by_stratum[rule["stratum"]] = leaves
        entry = dict(rule)
        entry["size"], entry["k"] = len(leaves), sample_size(rule, len(leaves))
        blobs[address(b"".join(leaves))] = b"".join(leaves)
        entry["leaves"], entry["root"] = address(b"".join(leaves)), mth(leaves).hex()
        entry["records"] = None
        if request["disclosure"] == "full":
            records = b"[" + b",".join(jcs(opening[x][1]) for x in leaves) + b"]"
            blobs[address(records)] = records
            entry["records"] = address(records)
        strata.append(entry)
    matching_entry = None
    if request["matching"] is not None:
        m = request["matching"]
        matching_entry = {"as_of": m["as_of"], "items": m["items"], "rules": m["rules"]}
        for name in ("inspectors", "exclusions", "history"):
            blob = record_list(m[name])
            blobs[address(blob)] = blob
            matching_entry[name] = address(blob)
    record = {
        "department": request["department"],
        "disclosure": request["disclosure"],
        "draw_id": request["draw_id"],
        "embargo": request["embargo"],
        "matching": matching_entry,
        "secret_hash": sha256(tag("secret") + secret).hex(),
        "sources": request["sources"],
        "spec": SPEC,
        "strata": strata,
    }
    encoded = jcs(record)
    return {
        "record": record,
        "encoded": encoded,
        "hash": sha256(tag("commitment") + encoded),
        "blobs": blobs,
        "leaves": leaves_by_stratum,
        "opening": opening,
    }


# §10-§13: seed, tickets, selection, teams, result.


def seed(commitment_hash: bytes, values: list[bytes]) -> bytes:
    data = tag("seed") + commitment_hash + u32be(len(values))
    for v in values:
        data += u32be(len(v)) + v
    return sha256(data)


def ticket(seed_: bytes, stratum: str, leaf_: bytes) -> bytes:
    name = stratum.encode("utf-8")
    return sha256(tag("ticket") + seed_ + u32be(len(name)) + name + leaf_)


def ticket_order(seed_: bytes, stratum: str, leaves: list[bytes]) -> list[tuple[bytes, bytes]]:
    return sorted((ticket(seed_, stratum, x), x) for x in leaves)


def entry(
    position: int, batch: int | None, t: bytes, leaf_: bytes, opening: dict[bytes, Any]
) -> dict[str, Any]:
    s, record = opening[leaf_]
    return {"batch": batch, "leaf": leaf_.hex(), "position": position, "record": record, "salt": s.hex(),
            "ticket": t.hex()}  # fmt: skip


def batch(position: int, size: int | None) -> int | None:
    return None if size is None else (position + size - 1) // size


def team_inputs(m: dict[str, Any], seed_: bytes, targets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"seed": seed_.hex(), "as_of": m["as_of"], "rules": m["rules"], "inspectors": m["inspectors"],
            "targets": targets, "exclusions": m["exclusions"], "history": m["history"]}  # fmt: skip


def draw(inputs: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    """Return the seed, the targets and the result record (and its bytes and hash)."""
    values = [bytes.fromhex(v) for v in inputs["source_values"]]
    s = seed(c["hash"], values)
    strata, everyone = [], []
    for rule, e in zip(inputs["request"]["strata"], c["record"]["strata"], strict=True):
        order = ticket_order(s, rule["stratum"], c["leaves"][rule["stratum"]])[: e["k"]]
        picked = [
            entry(p, batch(p, rule["batch_size"]), t, x, c["opening"]) for p, (t, x) in enumerate(order, 1)
        ]
        everyone += order
        strata.append({"k": e["k"], "selected": picked, "size": e["size"], "stratum": rule["stratum"]})
    m = inputs["request"]["matching"]
    targets = [
        {"area": c["opening"][x][1]["area"], "id": c["opening"][x][1]["id"], "items": m["items"], "order": n}
        for n, (_, x) in enumerate(sorted(everyone))
    ] if m else []  # fmt: skip
    teams = None if m is None else matching.compute(team_inputs(m, sha256(tag("teams") + s), targets))
    record = {"commitment": c["hash"].hex(), "seed": s.hex(), "sources": inputs["source_values"],
              "spec": SPEC, "strata": strata, "teams": teams}  # fmt: skip
    encoded = jcs(record)
    return {"seed": s, "targets": targets, "record": record, "encoded": encoded,
            "hash": sha256(tag("result") + encoded)}  # fmt: skip


# §14: replacements.


def replacements(inputs: dict[str, Any], c: dict[str, Any], d: dict[str, Any]) -> list[bytes]:
    """Return the replacement records' bytes for the (replaced, reason) list of the inputs."""
    active = {e["record"]["id"]: (s["stratum"], e) for s in d["record"]["strata"] for e in s["selected"]}
    k = {s["stratum"]: s["k"] for s in d["record"]["strata"]}
    done: dict[str, int] = {}
    m = inputs["request"]["matching"]
    out = []
    for wanted in inputs["replacements"]:
        stratum, leaving = active.pop(wanted["replaced"])
        j = done[stratum] = done.get(stratum, 0) + 1
        t, x = ticket_order(d["seed"], stratum, c["leaves"][stratum])[k[stratum] + j - 1]
        new = entry(k[stratum] + j, leaving["batch"], t, x, c["opening"])
        active[new["record"]["id"]] = (stratum, new)
        teams = None
        if m is not None:
            target = {
                "area": new["record"]["area"],
                "id": new["record"]["id"],
                "items": m["items"],
                "order": 0,
            }
            team_seed = sha256(tag("replacement-teams") + d["seed"] + x)
            teams = matching.compute(team_inputs(m, team_seed, [target]))
        out.append(jcs({"reason": wanted["reason"], "replaced": wanted["replaced"], "replacement": new,
                        "result": d["hash"].hex(), "sequence": j, "spec": SPEC, "stratum": stratum,
                        "teams": teams}))  # fmt: skip
    return out
