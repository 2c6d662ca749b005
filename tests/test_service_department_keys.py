"""Department key rotation and removal (``dept.key``), on SQLite and PostgreSQL: the old key is refused
and the new one accepted from the entry on, recorded requests stay verifiable against the key in force
when they were made, a change waits for requests in progress and blocks new ones, a crashed change
resumes, bad input writes nothing, and the key history endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import fairdraw
import keys
from draw.service import db, department_keys
from draw.service.department_keys import change_key, key_history, key_in_force
from draw.service.idempotency import fingerprint
from draw.service.signature import RequestSignatureError, check_request_record
from ledger.entries import decode_entry
from tests.conftest import fixed_randbytes
from tests.service_helpers import World, assert_auth_matrix, assert_problem, open_world, post

NOTES = "/api/v1/departments/{}/notes"
KEYS = "/api/v1/departments/{}/keys"


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with open_world(db_url) as w:
        yield w


def _new_key(name: str, seed: int) -> keys.SigningKey:
    return keys.generate(f"{name}.dept.test", randbytes=fixed_randbytes(seed))


def _note(world: World, code: str, text: str) -> int:
    response = post(world, NOTES.format(code), {"text": text}, code)
    assert response.status_code == 201, response.text
    index: int = response.json()["index"]
    return index


def _body(world: World, index: int) -> dict[str, Any]:
    body: dict[str, Any] = decode_entry(world.log.entry(index)).body
    return body


def _pending(world: World) -> int:
    table = db.department_keys
    with world.service.engine.connect() as conn:
        count: int = conn.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.pending.is_(True))
        ).scalar_one()
    return count


def test_after_rotation_the_old_key_is_refused_and_old_requests_still_verify(world: World) -> None:
    old = world.signing_keys["NB"]
    before = _note(world, "NB", "轮换之前")
    registered = key_history(world.service, "NB")[0].index
    new = _new_key("nb2", 7)
    index = change_key(world.service, "NB", new.verifier_key)
    assert _body(world, index) == {"department": "NB", "vkey": new.verifier_key, "supersedes": registered}
    size = world.log.size()
    refused = post(world, NOTES.format("NB"), {"text": "旧钥匙"}, "NB")  # still signed with the old key
    assert_problem(refused, 403, "invalid-signature", "Fairdraw-Signature")
    assert world.log.size() == size
    world.signing_keys["NB"] = new
    after = _note(world, "NB", "轮换之后")
    shown = world.client.get("/api/v1/departments/NB", headers=world.auth("NB")).json()
    assert shown["vkey"] == new.verifier_key

    assert key_in_force(world.service, "NB", before) == old.verifier_key
    assert key_in_force(world.service, "NB", index) == old.verifier_key  # the entry itself: the old key
    assert key_in_force(world.service, "NB", index + 1) == new.verifier_key
    for at, text in ((before, "轮换之前"), (after, "轮换之后")):
        record = _body(world, at)["request"]
        check_request_record(record, str(key_in_force(world.service, "NB", at)), {"text": text})
    with pytest.raises(RequestSignatureError):
        check_request_record(_body(world, before)["request"], new.verifier_key, {"text": "轮换之前"})
    with pytest.raises(ValueError, match=r"^department NB was not registered before entry 1$"):
        key_in_force(world.service, "NB", 1)


def test_a_key_can_be_added_to_and_removed_from_a_department(world: World) -> None:
    key = _new_key("hz", 3)
    change_key(world.service, "HZ", key.verifier_key)
    unsigned = post(world, NOTES.format("HZ"), {"text": "未签名"}, "HZ")
    assert_problem(unsigned, 403, "invalid-signature", "Fairdraw-Signature")
    world.signing_keys["HZ"] = key
    signed = _note(world, "HZ", "已签名")
    assert key_in_force(world.service, "HZ", signed) == key.verifier_key

    removed = change_key(world.service, "NB", None)
    assert _body(world, removed)["vkey"] is None
    size = world.log.size()
    still_signed = post(world, NOTES.format("NB"), {"text": "还在签名"}, "NB")
    doc = assert_problem(still_signed, 403, "invalid-signature", "Fairdraw-Signature")
    assert doc["errors"][0]["message"] == "department NB has no key"
    assert world.log.size() == size
    del world.signing_keys["NB"]
    assert key_in_force(world.service, "NB", _note(world, "NB", "不再签名")) is None


def test_bad_changes_are_refused_and_write_nothing(world: World) -> None:
    size = world.log.size()
    current = world.signing_keys["NB"].verifier_key
    cases: list[tuple[str, str | None, str]] = [
        ("QZ", _new_key("qz", 1).verifier_key, "no registered department QZ"),
        ("nb", None, "department code must match"),
        ("NB", "nb+00000000+AAAA", "verifier key"),
        ("NB", current, "department NB has this key already"),
        ("HZ", None, "department HZ has no key"),
    ]
    for code, vkey, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            change_key(world.service, code, vkey)
    assert world.log.size() == size
    assert _pending(world) == 0
    assert [k.vkey for k in key_history(world.service, "NB")] == [current]


def _reserve(world: World, code: str, key: str, created_ms: int) -> None:
    """Insert a reserved Idempotency-Key, as if a request of ``code`` were running."""
    with world.service.engine.begin() as conn:
        conn.execute(
            sa.insert(db.idempotency_keys).values(
                department=code, key=key, fingerprint=fingerprint("POST", "/x", b"{}"), created_ms=created_ms
            )
        )


def test_a_change_waits_for_requests_in_progress_and_gives_up_changing_nothing(world: World) -> None:
    _reserve(world, "NB", "running", world.clock())
    size = world.log.size()
    new = _new_key("nb2", 7)
    with pytest.raises(ValueError) as caught:
        change_key(world.service, "NB", new.verifier_key, wait_ms=0)
    assert str(caught.value) == (
        "department NB still has 1 request in progress; its key was not changed "
        "(try again, or wait longer with --wait)"
    )
    assert world.log.size() == size and _pending(world) == 0
    _note(world, "NB", "旧钥匙仍然有效")
    world.clock.now += department_keys.IN_FLIGHT_BOUND_MS + 1  # the reserved key is now taken as crashed
    assert change_key(world.service, "NB", new.verifier_key, wait_ms=0) == size + 1


def test_requests_during_a_change_get_409_and_the_change_waits_for_those_running(world: World) -> None:
    _reserve(world, "NB", "running", world.clock())
    seen: list[Any] = []

    def sleep(_seconds: float) -> None:  # runs while the change waits for the running request
        size = world.log.size()
        during = post(world, NOTES.format("NB"), {"text": "变更期间"}, "NB")
        doc = assert_problem(during, 409, "conflict", "Fairdraw-Signature")
        seen.append((doc["errors"][0]["message"], during.headers["retry-after"], world.log.size() - size))
        seen.append(post(world, NOTES.format("HZ"), {"text": "别的部门"}, "HZ").status_code)
        with world.service.engine.begin() as conn:  # the running request finishes
            conn.execute(sa.delete(db.idempotency_keys).where(db.idempotency_keys.c.key == "running"))

    new = _new_key("nb2", 7)
    index = change_key(world.service, "NB", new.verifier_key, sleep=sleep)
    assert seen == [("the key of department NB is being changed; retry in a moment", "1", 0), 201]
    assert index == world.log.size() - 1  # HZ's note came before the dept.key entry
    world.signing_keys["NB"] = new
    _note(world, "NB", "变更之后")


def test_a_change_cut_off_by_a_crash_is_finished_by_running_it_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = _new_key("nb2", 7)

    def crash(*_args: Any) -> None:
        raise RuntimeError("crash before activation")

    with monkeypatch.context() as patched:
        patched.setattr(department_keys, "_activate", crash)
        with pytest.raises(RuntimeError):
            change_key(world.service, "NB", new.verifier_key)
    index = world.log.size() - 1
    assert _body(world, index)["vkey"] == new.verifier_key and _pending(world) == 1
    blocked = post(world, NOTES.format("NB"), {"text": "未完成"}, "NB")
    assert_problem(blocked, 409, "conflict", "Fairdraw-Signature")
    with pytest.raises(ValueError, match=r"^department NB has an unfinished change to another key; "):
        change_key(world.service, "NB", None)
    assert change_key(world.service, "NB", new.verifier_key) == index  # found in the ledger, not appended
    assert world.log.size() == index + 1 and _pending(world) == 0
    world.signing_keys["NB"] = new
    _note(world, "NB", "完成之后")


def test_a_change_cut_off_before_its_append_appends_when_run_again(world: World) -> None:
    new = _new_key("nb2", 7)
    department_keys._begin(world.service, "NB", new.verifier_key)  # then the process died
    size = world.log.size()
    assert change_key(world.service, "NB", new.verifier_key) == size
    assert [k.vkey for k in key_history(world.service, "NB")][-1] == new.verifier_key


def test_the_key_history_endpoint(world: World) -> None:
    first = world.signing_keys["NB"].verifier_key
    second, third = _new_key("nb2", 7).verifier_key, _new_key("nb3", 8).verifier_key
    registered = key_history(world.service, "NB")[0].index
    rotated = change_key(world.service, "NB", second)
    removed = change_key(world.service, "NB", None)
    added = change_key(world.service, "NB", third)
    assert_auth_matrix(world, "GET", KEYS.format("NB"), own="NB", other="HZ")
    page = world.client.get(KEYS.format("NB"), headers=world.auth("ZJ")).json()
    assert page["next_cursor"] is None
    items = page["items"]
    assert [(k["index"], k["type"], k["vkey"], k["supersedes"], k["superseded_by"]) for k in items] == [
        (registered, "dept.register", first, None, rotated),
        (rotated, "dept.key", second, registered, removed),
        (removed, "dept.key", None, rotated, added),
        (added, "dept.key", third, removed, None),
    ]
    assert [k["time_ms"] for k in items] == [decode_entry(world.log.entry(k["index"])).time_ms for k in items]
    paged, cursor = [], None
    while True:
        query = "?limit=1" + ("" if cursor is None else f"&cursor={cursor}")
        got = world.client.get(KEYS.format("NB") + query, headers=world.auth("NB")).json()
        paged += got["items"]
        if (cursor := got["next_cursor"]) is None:
            break
    assert paged == items
    missing = world.client.get(KEYS.format("QZ"), headers=world.auth("ZJ"))
    assert_problem(missing, 404, "not-found", "path.code")
    bad = world.client.get(KEYS.format("NB") + "?cursor=x", headers=world.auth("NB"))
    assert_problem(bad, 400, "malformed-request", "query.cursor")


GOOD_KEY = {"department": "NB", "vkey": None, "supersedes": 2}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**GOOD_KEY, "token": "x"}, "dept.key body must be {department, vkey, supersedes}"),
        ({"department": "NB", "vkey": None}, "dept.key body must be {department, vkey, supersedes}"),
        ({**GOOD_KEY, "department": "nb"}, "department code must match"),
        ({**GOOD_KEY, "vkey": 7}, "dept.key vkey must be a string or null"),
        ({**GOOD_KEY, "vkey": "nope"}, "verifier key"),
        ({**GOOD_KEY, "supersedes": -1}, "dept.key supersedes must be a ledger index"),
        ({**GOOD_KEY, "supersedes": True}, "dept.key supersedes must be a ledger index"),
    ],
)
def test_dept_key_bodies_are_checked(body: dict[str, object], message: str) -> None:
    registry = fairdraw.registry()
    registry.check("dept.key", GOOD_KEY)
    registry.check("dept.key", {**GOOD_KEY, "vkey": _new_key("nb", 1).verifier_key})
    with pytest.raises(ValueError, match=re.escape(message)):
        registry.check("dept.key", body)
