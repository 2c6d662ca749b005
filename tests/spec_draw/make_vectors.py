"""Write tests/vectors/draw/ from draw.engine: ``python -m tests.spec_draw.make_vectors``.

Each case folder holds ``happy-path.json`` (inputs, every intermediate value, and what ``verify``
takes) and one file per named mutation of the verify inputs, with the reason ``verify`` must give.
``tests/test_draw_vectors.py`` checks that the engine still writes exactly these files, that
``tests/spec_draw/reference.py`` reproduces every value of the happy paths from their inputs, and
that every mutation fails with its reason.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from draw.engine import commit as commitment_
from draw.engine import model, select, teams
from draw.engine.model import DrawRequest, InspectionObject, Matching, SourceSlot
from draw.engine.verify import DrawVerificationError, verify_draw
from ledger import jcs

Record = dict[str, Any]
OUT = Path(__file__).resolve().parent.parent / "vectors" / "draw"

SECRET = bytes(range(32))
SOURCE_VALUES = [bytes.fromhex("173df1f57805453a8d2015268205d68147de12cafc2f451f7bc6adadca3571b3")]
DRAND = SourceSlot(
    "drand", "drand", {"chain_hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
                       "margin_seconds": 60},
)  # fmt: skip
AREAS = ("忻府区所", "原平市所", "定襄县所")
# Valid codes from tests/vectors/uscc/uscc.txt, a GS15 注册号 and three kind:local ids.
IDS = (
    "91110000600037341L", "91110000710926094P", "91120224064012553U", "121200004013590816",
    "911522010783762860", "91152201078371135X", "9115220107837757XE", "91152201078391769Y",
    "91310000631696382C", "91310115MA1K3BTP2B", "9131012056010553X5", "91340600MA2PBM9HXD",
    "91440300568520498A", "9144030071526726XG", "91620105L015101280", "92340602MA2PBMEM24",
    "92340603MA2PBQ16XJ", "92340621MA2PBKRXXG", "91512081MA62K0260E", "91350100M000100Y43",
    "110108000000016", "product:GB-2763-茶叶-0412", "project:2025-忻州-017", "behaviour:夜间经营-03",
)  # fmt: skip


def objects() -> list[InspectionObject]:
    out = []
    for i, ident in enumerate(IDS):
        name = f"忻州市第{i + 1}号市场主体有限公司"
        if i == 3:
            name = 'A "quoted" name with a back\\slash'
        tags = ("食品经营许可",) if i % 3 == 0 else ("特种设备", "食品经营许可") if i % 5 == 0 else ()
        last = None if i % 4 else f"2024-0{1 + i % 9}-1{i % 10}"
        out.append(model.make_object(ident, name, AREAS[i % 3], "ABCD"[i % 4], tags, last))
    return out


def matching() -> Matching:
    pool = [
        teams.Inspector(f"ZF-{d}{k:02d}", department, AREAS[k % 3], date(2027, 12, 31), ("I1", "I2"))
        for d, department in enumerate(("市场监管局", "卫健委"))
        for k in range(5)
    ]
    # Certificate expired before as_of: listed as ineligible.
    pool.append(teams.Inspector("ZF-109", "市场监管局", AREAS[0], date(2025, 1, 31), ("I1", "I2")))
    rules = teams.TeamRules(("卫健委", "市场监管局"), max_load=3)
    exclusions = (teams.Exclusion("ZF-001", IDS[0], "kin"), teams.Exclusion("ZF-101", IDS[4], "interest"))
    history = (teams.PastInspection("ZF-002", IDS[1], date(2025, 9, 1)),)
    return Matching(("I1",), tuple(pool), rules, date(2026, 3, 2), exclusions, history)


def request(disclosure: str, with_matching: bool) -> DrawRequest:
    strata = (
        model.make_rule("A", "ratio", ratio="1/3", rounding="ceil", min=1),
        model.make_rule("B", "ratio", ratio="2500bp", rounding="half-up"),
        model.make_rule("C", "count", count=2),
        model.make_rule("D", "all", batch_size=2),
    )
    m = matching() if with_matching else None
    return DrawRequest(
        "忻市监抽查〔2026〕7号", "忻州市市场监督管理局", strata, (DRAND,), "2026-06-30", disclosure, m
    )


def _records(values: Any) -> list[Record]:
    return [v.to_record() for v in values]


def _request_record(req: DrawRequest) -> Record:
    m = req.matching
    return {
        "department": req.department,
        "disclosure": req.disclosure,
        "draw_id": req.draw_id,
        "embargo": req.embargo,
        "matching": None if m is None else {
            "as_of": m.as_of.isoformat(), "items": list(m.items), "rules": m.rules.to_record(),
            "inspectors": _records(m.inspectors), "exclusions": _records(m.exclusions),
            "history": _records(m.history),
        },
        "sources": [model.source_record(s) for s in req.sources],
        "strata": [{k: v for k, v in model.rule_record(r).items()} for r in req.strata],
    }  # fmt: skip


def happy_path(disclosure: str, with_matching: bool, replacements: bool) -> Record:
    """Run the engine and record inputs, intermediate values and the verify inputs.

    With ``replacements``, the first object of stratum A is replaced (deregistered), then the
    object that replaced it (moved out): an object brought in can leave too.
    """
    objs, req = objects(), request(disclosure, with_matching)
    c = commitment_.commit_draw(req, objs, SECRET)
    result = select.draw(c, objs, SECRET, SOURCE_VALUES)
    done: list[select.Replacement] = []
    swaps: list[tuple[str, str]] = []
    if replacements:
        swaps.append((result.strata[0].picks[0].obj.id, "deregistered"))
        done.append(select.replace(c, objs, SECRET, result, done, *swaps[-1]))
        swaps.append((done[-1].pick.obj.id, "moved-out"))
        done.append(select.replace(c, objs, SECRET, result, done, *swaps[-1]))
    salt = commitment_.salter(SECRET)
    tickets = {
        p.rule.stratum: [select.ticket(result.seed, p.rule.stratum, leaf).hex() for leaf in p.leaves]
        for p in c.strata
    }
    inputs = {
        "secret": SECRET.hex(),
        "request": _request_record(req),
        "objects": [model.object_record(o) for o in objs],
        "source_values": [v.hex() for v in SOURCE_VALUES],
        "replacements": [{"replaced": r, "reason": why} for r, why in swaps],
    }
    outputs = {
        "salts": [salt(o.id).hex() for o in objs],
        "leaves": {p.rule.stratum: [leaf.hex() for leaf in p.leaves] for p in c.strata},
        "tickets": tickets,
        "commitment_hash": c.hash.hex(),
        "seed": result.seed.hex(),
        "targets": [] if req.matching is None else [
            t.to_record() for t in select.targets(result.strata, req.matching.items)
        ],
        "result_hash": result.hash.hex(),
        "replacement_hashes": [r.hash.hex() for r in done],
    }  # fmt: skip
    check = {
        "commitment": c.encoded.decode(),
        "blobs": {address: blob.hex() for address, blob in sorted(c.blobs.items())},
        "source_values": [v.hex() for v in SOURCE_VALUES],
        "secret": SECRET.hex(),
        "result": result.encoded.decode(),
        "sealed": result.hash.hex(),
        "replacements": [r.encoded.decode() for r in done],
    }
    return {
        "desc": "a complete draw",
        "inputs": inputs,
        "outputs": outputs,
        "verify": check,
        "want_err": None,
    }


# ---------------------------------------------------------------------------
# Mutations of the verify inputs. Each takes a deep copy and changes one thing.

Mutation = Callable[[Record], None]


def _flip(hex_text: str, index: int = 0) -> str:
    data = bytearray(bytes.fromhex(hex_text))
    data[index] ^= 1
    return data.hex()


def _reseal(v: Record) -> None:
    v["sealed"] = select.result_hash(v["result"].encode()).hex()


def _edit_result(edit: Callable[[Record], None]) -> Mutation:
    # Change the parsed result, write it back canonically and seal the changed bytes, so that the
    # check that fails is the one about the content.
    def mutate(v: Record) -> None:
        record = json.loads(v["result"])
        edit(record)
        v["result"] = jcs.canonicalize(record).decode()
        _reseal(v)

    return mutate


def _edit_commitment(edit: Callable[[Record], None]) -> Mutation:
    def mutate(v: Record) -> None:
        record = json.loads(v["commitment"])
        edit(record)
        v["commitment"] = jcs.canonicalize(record).decode()

    return mutate


def _edit_replacement(index: int, edit: Callable[[Record], None]) -> Mutation:
    def mutate(v: Record) -> None:
        record = json.loads(v["replacements"][index])
        edit(record)
        v["replacements"][index] = jcs.canonicalize(record).decode()

    return mutate


def _first_leaves(v: Record) -> str:
    return str(json.loads(v["commitment"])["strata"][0]["leaves"])


def _drop_blob(v: Record) -> None:
    del v["blobs"][_first_leaves(v)]


def _flip_blob(v: Record) -> None:
    address = _first_leaves(v)
    v["blobs"][address] = _flip(v["blobs"][address], 5)


def _unsorted_leaves(v: Record) -> None:
    # Swap the first two leaves, store the blob under its new address and point the stratum at it.
    old = _first_leaves(v)
    blob = bytes.fromhex(v["blobs"][old])
    blob = blob[32:64] + blob[:32] + blob[64:]
    new = hashlib.sha256(blob).hexdigest()
    v["blobs"][new] = blob.hex()

    def point(record: Record) -> None:
        record["strata"][0]["leaves"] = new

    _edit_commitment(point)(v)


def _set_in(path: tuple[Any, ...], value: Any) -> Callable[[Record], None]:
    def edit(record: Record) -> None:
        target = record
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value

    return edit


def _swap_first_two(record: Record) -> None:
    selected = record["strata"][0]["selected"]
    selected[0], selected[1] = selected[1], selected[0]


def _swap_team_members(record: Record) -> None:
    first, second = record["teams"]["teams"][0], record["teams"]["teams"][1]
    first["members"], second["members"] = second["members"], first["members"]


def _append_space(key: str) -> Mutation:
    def mutate(v: Record) -> None:
        v[key] = v[key] + " "
        if key == "result":
            _reseal(v)

    return mutate


def _reverse_replacements(v: Record) -> None:
    v["replacements"].reverse()


def _wrong_secret(v: Record) -> None:
    v["secret"] = _flip(v["secret"])


def _wrong_source(v: Record) -> None:
    v["source_values"][0] = _flip(v["source_values"][0])


def _wrong_seal(v: Record) -> None:
    v["sealed"] = _flip(v["sealed"])


def _plus_one(n: int) -> int:
    return n + 1


def _minus_one(n: int) -> int:
    return n - 1


_RESULT_A0 = ("strata", 0, "selected", 0)

MUTATIONS: dict[str, tuple[str, Mutation]] = {
    "secret@0-bit": ("secret mismatch", _wrong_secret),
    "commitment-trailing-space": ("commitment malformed", _append_space("commitment")),
    "commitment-size-plus": (
        "stratum size mismatch",
        _edit_commitment(_set_in(("strata", 0, "size"), _plus_one)),
    ),
    "commitment-k-plus": ("sample size mismatch", _edit_commitment(_set_in(("strata", 1, "k"), _plus_one))),
    "commitment-root@0-bit": ("root mismatch", _edit_commitment(_set_in(("strata", 2, "root"), _flip))),
    "blob-leaves-missing": ("blob missing", _drop_blob),
    "blob-leaves@5-bit": ("blob mismatch", _flip_blob),
    "leaves-unsorted": ("leaf list malformed", _unsorted_leaves),
    "sealed@0-bit": ("sealed hash mismatch", _wrong_seal),
    "result-trailing-space": ("result malformed", _append_space("result")),
    "result-commitment@0-bit": ("commitment mismatch", _edit_result(_set_in(("commitment",), _flip))),
    "source-value@0-bit": ("source mismatch", _wrong_source),
    "result-seed@0-bit": ("seed mismatch", _edit_result(_set_in(("seed",), _flip))),
    "result-k-minus": ("strata mismatch", _edit_result(_set_in(("strata", 0, "k"), _minus_one))),
    "result-selected-swapped": ("selection mismatch", _edit_result(_swap_first_two)),
    "result-ticket@0-bit": ("ticket mismatch", _edit_result(_set_in((*_RESULT_A0, "ticket"), _flip))),
    "result-batch-plus": (
        "batch mismatch",
        _edit_result(_set_in(("strata", 3, "selected", 0, "batch"), _plus_one)),
    ),
    "result-salt@0-bit": (
        "salt mismatch",
        _edit_result(_set_in(("strata", 1, "selected", 0, "salt"), _flip)),
    ),
    "result-record-name": (
        "opening mismatch",
        _edit_result(_set_in((*_RESULT_A0, "record", "name"), "另一家")),
    ),
    "result-teams-members-swapped": ("teams mismatch", _edit_result(_swap_team_members)),
    "result-teams-cap-plus": ("teams mismatch", _edit_result(_set_in(("teams", "cap"), _plus_one))),
    "replacement-result@0-bit": (
        "replacement result mismatch",
        _edit_replacement(0, _set_in(("result",), _flip)),
    ),
    "replacement-reason-unknown": (
        "replacement malformed",
        _edit_replacement(0, _set_in(("reason",), "disliked")),
    ),
    "replacement-sequence-plus": (
        "replacement sequence mismatch",
        _edit_replacement(0, _set_in(("sequence",), _plus_one)),
    ),
    "replacement-position-plus": (
        "replacement mismatch",
        _edit_replacement(0, _set_in(("replacement", "position"), _plus_one)),
    ),
    "replacement-replaced-unknown": (
        "replaced object not selected",
        _edit_replacement(0, _set_in(("replaced",), "product:none")),
    ),
    "replacements-reversed": ("replaced object not selected", _reverse_replacements),
}

FULL_MUTATIONS = ("secret@0-bit", "commitment-root@0-bit", "result-record-name", "result-seed@0-bit")


def _records_changed(v: Record) -> None:
    # Change one record of the first stratum's records blob, store it and point the stratum at it.
    commitment = json.loads(v["commitment"])
    old = commitment["strata"][0]["records"]
    records = json.loads(bytes.fromhex(v["blobs"][old]))
    records[0]["name"] = "另一家公司"
    blob = jcs.canonicalize(records)
    v["blobs"][hashlib.sha256(blob).hexdigest()] = blob.hex()
    _edit_commitment(_set_in(("strata", 0, "records"), hashlib.sha256(blob).hexdigest()))(v)


def verify_inputs(
    v: Record,
) -> tuple[bytes, dict[str, bytes], list[bytes], bytes, bytes, bytes | None, list[bytes]]:
    """Return the arguments of ``verify`` held by a vector's ``verify`` member."""
    return (
        v["commitment"].encode(),
        {address: bytes.fromhex(blob) for address, blob in v["blobs"].items()},
        [bytes.fromhex(x) for x in v["source_values"]],
        bytes.fromhex(v["secret"]),
        v["result"].encode(),
        None if v["sealed"] is None else bytes.fromhex(v["sealed"]),
        [r.encode() for r in v["replacements"]],
    )


def reason_of(v: Record) -> str | None:
    """Return what ``verify`` says of a vector's verify inputs: None, or the failure's reason."""
    try:
        verify_draw(*verify_inputs(v))
    except DrawVerificationError as e:
        return e.reason
    return None


def cases() -> dict[str, dict[str, Record]]:
    """Return every vector file's content, by case folder and file name."""
    basic = happy_path("confidential", True, replacements=True)
    full = happy_path("full", False, replacements=False)
    out: dict[str, dict[str, Record]] = {
        "basic": {"happy-path": basic},
        "full-disclosure": {"happy-path": full},
    }
    named = [("basic", basic, name, *MUTATIONS[name]) for name in MUTATIONS]
    named += [("full-disclosure", full, name, *MUTATIONS[name]) for name in FULL_MUTATIONS]
    named.append(("full-disclosure", full, "records-name-changed", "records mismatch", _records_changed))
    for folder, base, name, want, mutate in named:
        v = copy.deepcopy(base["verify"])
        mutate(v)
        out[folder][name] = {"desc": f"mutation {name} of happy-path", "verify": v, "want_err": want}
    return out


def main() -> None:
    for folder, files in cases().items():
        (OUT / folder).mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            got = reason_of(content["verify"])
            if got != content["want_err"]:
                raise SystemExit(f"{folder}/{name}: verify says {got!r}, want {content['want_err']!r}")
            text = json.dumps(content, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
            (OUT / folder / f"{name}.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()


def synthetic_uscc(n: int) -> str:
    """Return a valid 统一社会信用代码 built from the number ``n`` (for tests and the benchmark)."""
    from draw.engine import uscc

    body = f"{n % 10**8:08d}"
    head = f"91{140900 + n // 10**8 % 100:06d}" + body + uscc.org_code_check_char(body)
    return head + uscc.uscc_check_char(head)


def synthetic_objects(n: int, strata: str = "ABCD") -> list[InspectionObject]:
    """Return ``n`` valid objects spread over ``strata`` and AREAS (deterministic)."""
    return [
        InspectionObject(
            synthetic_uscc(i), f"忻州市第{i}号企业有限公司", AREAS[i % 3], strata[i % len(strata)]
        )
        for i in range(n)
    ]
