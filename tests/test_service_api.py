"""The department endpoints on SQLite and PostgreSQL: auth matrix, idempotency, signatures, bad input."""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from draw.service import db
from draw.service.departments import register_department
from draw.service.idempotency import fingerprint
from draw.service.signature import HEADER as SIGNATURE_HEADER
from draw.service.signature import check_request_record
from ledger import jcs, tree
from ledger.entries import decode_entry
from tests.service_helpers import (
    World,
    assert_auth_matrix,
    assert_problem,
    open_world,
    post,
    signature_header,
)

NOTES = "/api/v1/departments/{}/notes"


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with open_world(db_url) as w:
        yield w


def _entries(world: World, type_name: str) -> list[dict[str, object]]:
    found = []
    for index in range(world.log.size()):
        entry = decode_entry(world.log.entry(index))
        if entry.type == type_name:
            found.append(entry.body)
    return found


def test_registration_is_in_the_ledger_without_the_token(world: World) -> None:
    bodies = _entries(world, "dept.register")
    assert [b["code"] for b in bodies] == ["HZ", "NB", "ZJ"]
    assert bodies[1] == {
        "code": "NB",
        "name": "宁波市市场监督管理局",
        "roles": ["submit"],
        "vkey": world.signing_keys["NB"].verifier_key,
    }
    for index in range(world.log.size()):
        data = world.log.entry(index)
        for token in world.tokens.values():
            assert token.encode() not in data
            assert base64.b64encode(hashlib.sha256(token.encode()).digest()) not in data
            assert hashlib.sha256(token.encode()).hexdigest().encode() not in data


def test_me_matrix(world: World) -> None:
    statuses = assert_auth_matrix(
        world, "GET", "/api/v1/departments/me", own="HZ", other="NB", want_other=200
    )
    assert statuses == {"none": 401, "wrong": 401, "other": 200, "own": 200}
    me = world.client.get("/api/v1/departments/me", headers=world.auth("NB")).json()
    assert me["code"] == "NB" and me["vkey"] == world.signing_keys["NB"].verifier_key


def test_department_matrix(world: World) -> None:
    assert_auth_matrix(world, "GET", "/api/v1/departments/HZ", own="HZ", other="NB")
    doc = assert_problem(
        world.client.get("/api/v1/departments/HZ", headers=world.auth("NB")), 403, "forbidden", "path.code"
    )
    assert doc["detail"] == "path.code: department NB may read only its own records"
    got = world.client.get("/api/v1/departments/HZ", headers=world.auth("ZJ"))  # oversee reads others
    assert got.status_code == 200 and got.json() == {
        "code": "HZ",
        "name": "杭州市市场监督管理局",
        "vkey": None,
        "roles": ["submit"],
        "ledger_index": 1,
    }
    assert_problem(
        world.client.get("/api/v1/departments/XX", headers=world.auth("ZJ")), 404, "not-found", "path.code"
    )


BAD_CODE_PATHS = [
    "/departments/hz",
    "/departments/H%20Z/items",
    "/departments/-/rosters",
    "/departments/%E6%9D%AD/plans",
    "/departments/x/tasks",
    "/departments/hz/keys",
]


@pytest.mark.parametrize("path", BAD_CODE_PATHS)
def test_a_path_code_that_is_no_department_code_is_not_found(world: World, path: str) -> None:
    response = world.client.get("/api/v1" + path, headers=world.auth("ZJ"))
    doc = assert_problem(response, 404, "not-found", "path.code")
    assert doc["errors"][0]["message"] == f"no department {urllib.parse.unquote(path.split('/')[2])}"


def test_list_matrix_and_pagination(world: World) -> None:
    assert_auth_matrix(world, "GET", "/api/v1/departments", own="ZJ", other="HZ")
    doc = assert_problem(world.client.get("/api/v1/departments", headers=world.auth("HZ")), 403, "forbidden")
    assert doc["detail"] == "department HZ lacks the 'oversee' role"
    seen: list[str] = []
    url = "/api/v1/departments?limit=2"
    while url:
        page = world.client.get(url, headers=world.auth("ZJ")).json()
        seen += [d["code"] for d in page["items"]]
        assert len(page["items"]) <= 2
        url = f"/api/v1/departments?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == ["HZ", "NB", "ZJ"]


def test_note_matrix_and_a_department_acts_only_for_itself(world: World) -> None:
    assert_auth_matrix(
        world, "POST", NOTES.format("HZ"), own="HZ", other="NB", body={"text": "t"}, want_own=201
    )
    size = world.log.size()
    oversee = post(world, NOTES.format("HZ"), {"text": "t"}, "ZJ")
    assert_problem(oversee, 403, "forbidden")  # no submit role
    for_other = post(world, NOTES.format("NB"), {"text": "t"}, "HZ")
    assert_problem(for_other, 403, "forbidden", "path.code")
    assert world.log.size() == size


def test_note_is_appended_with_a_verifiable_receipt(world: World) -> None:
    response = post(world, NOTES.format("HZ"), {"text": "第一批抽查已完成"}, "HZ")
    assert response.status_code == 201, response.text
    receipt = response.json()
    data = world.log.entry(receipt["index"])
    assert base64.b64decode(receipt["leaf_hash"]) == tree.leaf_hash(data)
    assert receipt["tlog_proof"] == world.log.tlog_proof(receipt["index"])
    assert decode_entry(data).body == {"department": "HZ", "text": "第一批抽查已完成"}


def test_signed_request_is_recorded_verbatim_and_checkable(world: World) -> None:
    key = world.new_key()
    body = jcs.canonicalize({"text": "签名的声明"})
    header = signature_header(world, "NB", NOTES.format("NB"), key, body)
    response = post(
        world, NOTES.format("NB"), body, "NB", key=key, sign=False, headers={SIGNATURE_HEADER: header}
    )
    assert response.status_code == 201, response.text
    entry = decode_entry(world.log.entry(response.json()["index"]))
    assert entry.body["request"]["note"].encode() == base64.b64decode(header)  # type: ignore[index]
    vkey = next(b["vkey"] for b in _entries(world, "dept.register") if b["code"] == "NB")
    fields = check_request_record(entry.body["request"], str(vkey), {"text": entry.body["text"]})
    assert (fields.department, fields.path, fields.idempotency_key) == (
        "NB",
        NOTES.format("NB"),
        key.strip('"'),
    )


@pytest.mark.parametrize(
    "mutation",
    [
        "unsigned",
        "forged-body",
        "other-path",
        "stale",
        "keyless-department-signs",
        "signed-twice",
        "not-canonical-body",
    ],
)
def test_bad_signatures_write_nothing(world: World, mutation: str) -> None:
    size = world.log.size()
    code, path, body, key = "NB", NOTES.format("NB"), jcs.canonicalize({"text": "t"}), world.new_key()
    headers: dict[str, str] = {}
    if mutation == "forged-body":
        headers[SIGNATURE_HEADER] = signature_header(world, code, path, key, jcs.canonicalize({"text": "u"}))
    elif mutation == "other-path":
        headers[SIGNATURE_HEADER] = signature_header(world, code, NOTES.format("HZ"), key, body)
    elif mutation == "stale":
        headers[SIGNATURE_HEADER] = signature_header(
            world, code, path, key, body, time_ms=world.clock() - 300_001
        )
    elif mutation == "keyless-department-signs":
        code, path = "HZ", NOTES.format("HZ")
        headers[SIGNATURE_HEADER] = signature_header(world, "NB", path, key, body)
    elif mutation == "not-canonical-body":
        body = b'{"text": "t"}'
        headers[SIGNATURE_HEADER] = signature_header(world, code, path, key, body)
    response = post(world, path, body, code, key=key, sign=False, headers=headers)
    if mutation == "signed-twice":
        sig = signature_header(world, code, path, key, body)
        response = world.client.post(
            path,
            content=body,
            headers=[
                ("Content-Type", "application/json"),
                ("Idempotency-Key", key),
                ("Authorization", world.auth(code)["Authorization"]),
                (SIGNATURE_HEADER, sig),
                (SIGNATURE_HEADER, sig),
            ],
        )
    if mutation == "not-canonical-body":
        assert_problem(response, 400, "malformed-request", "body")
    else:
        assert_problem(response, 403, "invalid-signature", SIGNATURE_HEADER)
    assert world.log.size() == size
    retry = post(world, NOTES.format(code), {"text": "t"}, code, key=key)  # the key was released
    assert retry.status_code == 201, retry.text


def test_idempotent_replay_conflict_and_scope(world: World) -> None:
    key, path = world.new_key(), NOTES.format("HZ")
    first = post(world, path, {"text": "once"}, "HZ", key=key)
    size = world.log.size()
    again = post(world, path, {"text": "once"}, "HZ", key=key)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert world.log.size() == size
    reused = post(world, path, {"text": "twice"}, "HZ", key=key)
    assert_problem(reused, 422, "idempotency-key-reused", "Idempotency-Key")
    other_dept = post(world, NOTES.format("NB"), {"text": "once"}, "NB", key=key)  # keys are per department
    assert other_dept.status_code == 201
    assert world.log.size() == size + 1


def test_outstanding_key_answers_409(world: World) -> None:
    key, path = world.new_key(), NOTES.format("HZ")
    body = jcs.canonicalize({"text": "running"})
    with world.service.engine.begin() as conn:  # as if the first request were still running
        conn.execute(
            sa.insert(db.idempotency_keys).values(
                department="HZ", key=key.strip('"'), fingerprint=fingerprint("POST", path, body), created_ms=1
            )
        )
    response = post(world, path, body, "HZ", key=key)
    assert_problem(response, 409, "idempotency-key-outstanding", "Idempotency-Key")
    assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    ("mutation", "headers", "body", "status", "slug", "field"),
    [
        ("no-key", {"Idempotency-Key": ""}, {"text": "t"}, 400, "idempotency-key-missing", "Idempotency-Key"),
        (
            "unquoted-key",
            {"Idempotency-Key": "abc"},
            {"text": "t"},
            400,
            "malformed-request",
            "Idempotency-Key",
        ),
        ("empty-key", {"Idempotency-Key": '""'}, {"text": "t"}, 400, "malformed-request", "Idempotency-Key"),
        (
            "long-key",
            {"Idempotency-Key": '"' + "k" * 256 + '"'},
            {"text": "t"},
            400,
            "malformed-request",
            "Idempotency-Key",
        ),
        (
            "key-with-params",
            {"Idempotency-Key": '"k";x=1'},
            {"text": "t"},
            400,
            "malformed-request",
            "Idempotency-Key",
        ),
        (
            "text-plain",
            {"Content-Type": "text/plain"},
            {"text": "t"},
            415,
            "unsupported-media-type",
            "Content-Type",
        ),
        ("empty-text", {}, {"text": ""}, 422, "invalid-field", "body.text"),
        ("long-text", {}, {"text": "x" * 4001}, 422, "invalid-field", "body.text"),
        ("number-text", {}, {"text": 5}, 422, "invalid-field", "body.text"),
        ("extra-member", {}, {"text": "t", "department": "NB"}, 422, "invalid-field", "body.department"),
        ("not-json", {}, b"text=t", 400, "malformed-request", "body"),
        ("float", {}, b'{"text":"t","n":1.5}', 400, "malformed-request", "body"),
        ("too-large", {}, {"text": "x" * 2_000_000}, 413, "content-too-large", "body"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    world: World, mutation: str, headers: dict[str, str], body: object, status: int, slug: str, field: str
) -> None:
    size = world.log.size()
    extra = dict(headers)
    if extra.get("Idempotency-Key") == "":
        response = world.client.post(
            NOTES.format("HZ"),
            content=jcs.canonicalize(body),
            headers={**world.auth("HZ"), "Content-Type": "application/json"},
        )
    else:
        response = post(world, NOTES.format("HZ"), body, "HZ", headers=extra)
    assert_problem(response, status, slug, field)
    assert world.log.size() == size, mutation
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.idempotency_keys)).scalar() == 0


def test_registration_refuses_bad_input_and_writes_nothing(world: World) -> None:
    size = world.log.size()
    cases = [
        (("hz", "名称", None, ("submit",)), "department code must match"),
        (("HZ", "名称", None, ("submit",)), "department HZ is already registered"),
        (("QZ", " 名称", None, ("submit",)), "department name must be"),
        (("QZ", "名\u0007称", None, ("submit",)), "department name must be"),
        (("QZ", "名称", "not-a-vkey", ("submit",)), "verifier key"),
        (("QZ", "名称", None, ("admin",)), "unknown role 'admin'"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            register_department(world.service, *args)
    assert world.log.size() == size
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.departments)).scalar() == 3


def test_a_failed_registration_leaves_no_department(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.errors import LedgerError

    def fail(*_args: object) -> None:
        raise LedgerError("ledger: append failed: disk full")

    size = world.log.size()
    with monkeypatch.context() as patch:
        patch.setattr(world.log, "append", fail)
        with pytest.raises(LedgerError, match="disk full"):
            register_department(world.service, "QZ", "衢州市市场监督管理局")
    assert world.log.size() == size
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.select(db.departments).where(db.departments.c.code == "QZ")).first() is None
    department, token = register_department(world.service, "QZ", "衢州市市场监督管理局")
    assert department.ledger_index == size
    me = world.client.get("/api/v1/departments/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["code"] == "QZ"


def test_a_pending_registration_does_not_authenticate(world: World) -> None:
    from draw.service.auth import token_hash

    token = "fdt_" + "P" * 43
    with world.service.engine.begin() as conn:  # as if the process died before the ledger append
        conn.execute(
            sa.insert(db.departments).values(
                code="LS", name="丽水", vkey=None, roles="submit", token_hash=token_hash(token), created_ms=1
            )
        )
    response = world.client.get("/api/v1/departments/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "unauthorized", "Authorization")
    department, _ = register_department(
        world.service, "LS", "丽水市市场监督管理局"
    )  # replaces the pending row
    assert department.name == "丽水市市场监督管理局"


GOOD_REGISTER = {"code": "HZ", "name": "杭州", "roles": ["submit"], "vkey": None}
GOOD_NOTE = {"department": "HZ", "text": "t", "request": {"note": "n", "content_digest": "d"}}


@pytest.mark.parametrize(
    ("type_name", "body", "message"),
    [
        ("dept.register", {**GOOD_REGISTER, "token": "x"}, "body member 'token' is unexpected"),
        ("dept.register", {k: v for k, v in GOOD_REGISTER.items() if k != "vkey"}, "'vkey' is missing"),
        ("dept.register", {**GOOD_REGISTER, "code": "hz"}, "department code must match"),
        ("dept.register", {**GOOD_REGISTER, "roles": ["submit", "oversee"]}, "sorted list without repeats"),
        ("dept.register", {**GOOD_REGISTER, "roles": ["root"]}, "unknown role 'root'"),
        ("dept.register", {**GOOD_REGISTER, "vkey": 7}, "vkey must be a string or null"),
        ("dept.note", {**GOOD_NOTE, "text": ""}, "text must be 1 to 4000 characters"),
        ("dept.note", {**GOOD_NOTE, "request": {"note": "n"}}, "request must be {note, content_digest}"),
        ("dept.note", {"text": "t"}, "'department' is missing"),
    ],
)
def test_entry_bodies_are_checked(type_name: str, body: dict[str, object], message: str) -> None:
    import fairdraw

    registry = fairdraw.registry()
    good = GOOD_REGISTER if type_name == "dept.register" else GOOD_NOTE
    registry.check(type_name, good)
    with pytest.raises(ValueError, match=re.escape(message)):
        registry.check(type_name, body)
