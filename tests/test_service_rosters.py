"""The roster endpoints on SQLite and PostgreSQL: auth matrix, snapshots in the ledger, what stays
private (personal data, credit-risk classes), bad uploads refused by row and column with nothing written."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from draw.engine.model import Population
from draw.service import Config, rosters
from draw.service.signature import HEADER as SIGNATURE_HEADER
from draw.service.signature import check_request_record
from ledger import blobs, jcs, tree
from ledger.entries import decode_entry
from tests import reference_merkle
from tests.service_helpers import (
    World,
    assert_auth_matrix,
    assert_problem,
    open_world,
    post,
    signature_header,
)
from tests.test_service_rosters_files import (
    INSPECTORS_CSV,
    OBJECTS_CSV,
    OBJECTS_XLSX,
    WANT_INSPECTORS,
    WANT_OBJECTS,
    canonical,
)

ROSTERS = "/api/v1/departments/{}/rosters"
PERSONAL = ("360426199101010071", "110102199101010078", "13800000001", "0350-3021234", "13800000011")


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with open_world(db_url) as w:
        yield w


def upload(
    kind: str, file_format: str, data: bytes, title: str = "忻府区市场主体名录", **extra: Any
) -> dict[str, Any]:
    content = base64.b64encode(data).decode("ascii")
    return {"kind": kind, "format": file_format, "content": content, "title": title, **extra}


def created(world: World, code: str, body: dict[str, Any]) -> dict[str, Any]:
    response = post(world, ROSTERS.format(code), body, code)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def entry(world: World, index: int) -> Any:
    return decode_entry(world.log.entry(index))


def get(world: World, path: str, code: str) -> Any:
    return world.client.get(path, headers=world.auth(code))


def test_auth_matrix(world: World) -> None:
    path = ROSTERS.format("HZ")
    assert_auth_matrix(
        world, "POST", path, own="HZ", other="NB", body=upload("objects", "csv", OBJECTS_CSV), want_own=201
    )
    index = get(world, path, "HZ").json()["items"][0]["index"]
    for read in (path, f"{path}/{index}", f"{path}/{index}/records"):
        assert_auth_matrix(world, "GET", read, own="HZ", other="NB")
        assert get(world, read, "ZJ").status_code == 200  # role oversee
    oversee = post(world, path, upload("objects", "csv", OBJECTS_CSV), "ZJ")
    assert_problem(oversee, 403, "forbidden")  # oversee reads, never writes


def test_csv_objects_snapshot_is_committed_by_its_root(world: World) -> None:
    out = created(world, "HZ", upload("objects", "csv", OBJECTS_CSV, "忻府区市场主体名录（2025年3月）"))
    want = sorted(canonical(r) for r in WANT_OBJECTS)
    root = reference_merkle.mth(want).hex()
    index = out["index"]
    assert entry(world, index).type == "roster.snapshot"
    assert entry(world, index).body == {
        "department": "HZ",
        "kind": "objects",
        "title": "忻府区市场主体名录（2025年3月）",
        "rows": 7,
        "root": root,
        "records": None,
    }
    assert out["root"] == root and out["rows"] == 7 and out["records"] is None
    assert out["stripped_columns"] == ["联系电话", "法定代表人身份证号码"]
    assert out["ignored_columns"] == ["序号", "市场主体类型", "法定代表人", "成立日期", "登记机关"]
    data = world.log.entry(index)
    assert base64.b64decode(out["receipt"]["leaf_hash"]) == tree.leaf_hash(data)
    assert out["receipt"]["tlog_proof"] == world.log.tlog_proof(index)
    assert get(world, ROSTERS.format("HZ") + f"/{index}", "HZ").json() == {
        k: v for k, v in out.items() if k != "receipt"
    }


def test_nothing_private_reaches_the_ledger_or_the_blob_store(world: World) -> None:
    created(world, "HZ", upload("objects", "csv", OBJECTS_CSV))
    created(world, "HZ", upload("inspectors", "csv", INSPECTORS_CSV, "忻府区执法人员名录"))
    log = b"".join(world.log.entry(i) for i in range(world.log.size()))
    with world.service.engine.connect() as conn:
        stored = b"".join(bytes(r.data) for r in conn.execute(sa.text("SELECT data FROM ledger_blobs")))
        service_rows = b"".join(
            bytes(r.content) + bytes(r.report) for r in conn.execute(sa.select(rosters.snapshots))
        )
    for secret in PERSONAL:
        assert secret.encode() not in log + stored + service_rows, secret
    assert b"stratum" not in log + stored and b"91140902MA0GR7K21P" not in log + stored


def test_strata_are_shown_to_the_owner_only(world: World) -> None:
    index = created(world, "HZ", upload("objects", "xlsx", OBJECTS_XLSX))["index"]
    path = ROSTERS.format("HZ") + f"/{index}/records"
    own = get(world, path, "HZ").json()
    assert own == {
        "items": [json.loads(r) for r in sorted(canonical(r) for r in WANT_OBJECTS)],
        "next_cursor": None,
    }
    overseen = get(world, path, "ZJ").json()["items"]
    assert [r["stratum"] for r in overseen] == [None] * 7
    assert [{**r, "stratum": None} for r in own["items"]] == overseen


def test_records_are_paged(world: World) -> None:
    index = created(world, "HZ", upload("objects", "csv", OBJECTS_CSV))["index"]
    path = ROSTERS.format("HZ") + f"/{index}/records"
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = get(world, path + query, "HZ").json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [canonical(r) for r in seen] == sorted(canonical(r) for r in WANT_OBJECTS)
    bad = get(world, path + "?cursor=" + "A" * 8, "HZ")
    assert_problem(bad, 400, "malformed-request", "query.cursor")


def test_inspector_snapshot_is_a_public_blob(world: World) -> None:
    out = created(world, "NB", upload("inspectors", "csv", INSPECTORS_CSV, "宁波执法人员名录"))
    want = sorted(canonical({**r, "department": "NB"}) for r in WANT_INSPECTORS)
    content = b"[" + b",".join(want) + b"]"
    assert out["records"] == blobs.digest_of(content) == entry(world, out["index"]).body["records"]
    with world.service.engine.connect() as conn:
        assert blobs.get(conn, out["records"]) == content
    snapshot = rosters.load_snapshot(world.service, out["index"])
    assert snapshot is not None
    assert [i.to_record() for i in snapshot.inspectors()] == [json.loads(r) for r in want]
    with pytest.raises(ValueError, match="holds inspectors, not objects"):
        snapshot.objects()


def test_load_snapshot_gives_the_engine_objects(world: World) -> None:
    index = created(world, "HZ", upload("objects", "csv", OBJECTS_CSV))["index"]
    snapshot = rosters.load_snapshot(world.service, index)
    assert snapshot is not None and snapshot.department == "HZ"
    assert sorted(o.id for o in snapshot.objects()) == sorted(r["id"] for r in WANT_OBJECTS)
    assert rosters.load_snapshot(world.service, index + 1000) is None
    # a published snapshot is kept, its objects parsed and checked once, as an immutable Population
    assert rosters.load_snapshot(world.service, index) is snapshot
    assert snapshot.objects() is snapshot.objects()
    assert type(snapshot.objects()) is Population


def test_signed_upload_is_recorded(world: World) -> None:
    body = upload("objects", "csv", OBJECTS_CSV)
    data = jcs.canonicalize(body)
    key = world.new_key()
    header = signature_header(world, "NB", ROSTERS.format("NB"), key, data)
    response = post(
        world, ROSTERS.format("NB"), data, "NB", key=key, sign=False, headers={SIGNATURE_HEADER: header}
    )
    assert response.status_code == 201, response.text
    record = entry(world, response.json()["index"]).body["request"]
    vkey = world.signing_keys["NB"].verifier_key
    assert check_request_record(record, vkey, body).path == ROSTERS.format("NB")


def test_replay_returns_the_same_snapshot(world: World) -> None:
    body = upload("objects", "csv", OBJECTS_CSV)
    key = world.new_key()
    first = post(world, ROSTERS.format("HZ"), body, "HZ", key=key)
    size = world.log.size()
    again = post(world, ROSTERS.format("HZ"), body, "HZ", key=key)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and world.log.size() == size


def _refused(world: World, body: Any, status: int, slug: str, field: str) -> dict[str, Any]:
    size = world.log.size()
    response = post(world, ROSTERS.format("HZ"), body, "HZ")
    doc = assert_problem(response, status, slug, field)
    assert world.log.size() == size
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(rosters.snapshots)).scalar_one() == 0
    return doc


def test_invalid_rows_are_refused_by_row_and_column(world: World) -> None:
    text = OBJECTS_CSV.decode("utf-8-sig")
    text = text.replace("92140902MA0H3B5N9P", "92140902MA0H3B5N9Q").replace(",D,", ",E,")
    text = text.replace("91140921MA0K2D6W1A", "91140902MA0GR7K21P")
    doc = _refused(
        world,
        upload("objects", "csv", text.encode()),
        422,
        "invalid-roster",
        "body.content[3].统一社会信用代码",
    )
    assert doc["errors"] == [
        {"field": "body.content[3].统一社会信用代码", "message": "uscc: check character 'Q', want 'P'"},
        {"field": "body.content[5].信用风险分类", "message": "unknown stratum 'E', want one of A, B, C, D"},
    ]
    assert doc["title"] == "Invalid roster"
    assert doc["detail"] == "the roster has 2 problems; nothing was committed"


def test_duplicate_ids_are_refused(world: World) -> None:
    text = OBJECTS_CSV.decode("utf-8-sig").replace("91140921MA0K2D6W1A", "91140902MA0GR7K21P")
    doc = _refused(
        world,
        upload("objects", "csv", text.encode()),
        422,
        "invalid-roster",
        "body.content[5].统一社会信用代码",
    )
    assert doc["errors"][0]["message"] == "duplicate id 91140902MA0GR7K21P, first at row 2"


def test_personal_data_in_a_kept_column_refuses_the_roster(world: World) -> None:
    text = OBJECTS_CSV.decode("utf-8-sig").replace("忻府区好味来餐饮店", "好味来餐饮店 电话13800000001")
    doc = _refused(
        world, upload("objects", "csv", text.encode()), 422, "invalid-roster", "body.content[3].企业名称"
    )
    assert doc["errors"][0]["message"] == "holds a phone number, which Fairdraw never stores"
    assert "13800000001" not in json.dumps(doc, ensure_ascii=False)


CSV = upload("objects", "csv", OBJECTS_CSV)
GB18030 = OBJECTS_CSV.decode("utf-8-sig").encode("gb18030")
WRAPPED = base64.encodebytes(b"a" * 80).decode()
NO_AREA = OBJECTS_CSV.replace("属地监管所".encode(), "地址".encode())
BAD_UPLOADS = [
    ("content-not-base64", CSV | {"content": "**"}, "invalid-field", "body.content"),
    ("content-line-breaks", CSV | {"content": WRAPPED}, "invalid-field", "body.content"),
    ("content-empty", upload("objects", "csv", b""), "invalid-roster", "body.content"),
    ("xlsx-not-a-workbook", CSV | {"format": "xlsx"}, "invalid-roster", "body.content"),
    ("csv-wrong-encoding", upload("objects", "csv", GB18030), "invalid-roster", "body.content"),
    ("json-not-an-array", upload("objects", "json", b'{"a":"b"}'), "invalid-roster", "body.content"),
    ("kind-unknown", CSV | {"kind": "products"}, "invalid-field", "body.kind"),
    (
        "strata-on-inspectors",
        upload("inspectors", "csv", INSPECTORS_CSV, strata=["A"]),
        "invalid-field",
        "body.strata",
    ),
    ("strata-repeat", CSV | {"strata": ["A", "A"]}, "invalid-field", "body.strata"),
    ("title-padded", CSV | {"title": " 名录"}, "invalid-field", "body.title"),
    ("columns-absent", CSV | {"columns": {"area": "网格"}}, "invalid-roster", "body.columns.area"),
    ("missing-column", upload("objects", "csv", NO_AREA), "invalid-roster", "body.content[1]"),
]


@pytest.mark.parametrize(("mutation", "body", "slug", "field"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_uploads_write_nothing(
    world: World, mutation: str, body: dict[str, Any], slug: str, field: str
) -> None:
    _refused(world, body, 422, slug, field)
    assert mutation


def test_oversize_upload_writes_nothing(world: World) -> None:
    world.service.config = Config(max_roster_body_bytes=1 << 20)  # rosters have their own limit
    _refused(world, upload("objects", "csv", b"x" * 800_000), 413, "content-too-large", "body")


def test_gb18030_csv_is_accepted_with_its_encoding(world: World) -> None:
    data = OBJECTS_CSV.decode("utf-8-sig").encode("gb18030")
    out = created(world, "HZ", upload("objects", "csv", data, encoding="gb18030"))
    assert out["root"] == reference_merkle.mth(sorted(canonical(r) for r in WANT_OBJECTS)).hex()


def test_unknown_snapshots_are_not_found(world: World) -> None:
    index = created(world, "NB", upload("objects", "csv", OBJECTS_CSV))["index"]
    for path in (
        f"{ROSTERS.format('HZ')}/{index}",
        f"{ROSTERS.format('HZ')}/999",
        f"{ROSTERS.format('HZ')}/007",
    ):
        assert_problem(get(world, path, "HZ"), 404, "not-found", "path.index")
    assert_problem(get(world, f"{ROSTERS.format('NB')}/{index}/records", "HZ"), 403, "forbidden", "path.code")


def test_listing_pages_by_ledger_index(world: World) -> None:
    indexes = [
        created(world, "HZ", upload("objects", "csv", OBJECTS_CSV, f"名录{n}"))["index"] for n in range(3)
    ]
    first = get(world, ROSTERS.format("HZ") + "?limit=2", "HZ").json()
    assert [s["index"] for s in first["items"]] == indexes[:2] and first["next_cursor"]
    rest = get(world, ROSTERS.format("HZ") + f"?limit=2&cursor={first['next_cursor']}", "HZ").json()
    assert [s["index"] for s in rest["items"]] == indexes[2:] and rest["next_cursor"] is None
    assert get(world, ROSTERS.format("NB"), "NB").json() == {"items": [], "next_cursor": None}
