"""Result disclosures through the API: disclose, correct, withdraw (with erasure), the public list, the
overdue list, the role matrix, bad input refused with the ledger unchanged, and the entry types.

Every test runs on SQLite and PostgreSQL. The draw lifecycle is a test double (FakeTargets)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import fairdraw
from draw.service.disclosures import TARGETS_STATE, disclosures
from draw.service.signature import check_request_record
from ledger import blobs, jcs
from tests.service_helpers import World, assert_auth_matrix, assert_problem, open_world, post
from tests.test_service_disclosures_helpers import (
    Draw,
    FakeTargets,
    beijing_noon_ms,
    iter_entries,
    result_body,
)

D = datetime.date
DRAW = "D-2025-001"
OBJ = "91110000600037341L"
OBJ2 = "92340602MA2PBMEM24"
OBJ3 = "911522010783762860"


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with open_world(db_url) as w:
        targets = FakeTargets(
            {
                DRAW: Draw("HZ", {OBJ: D(2025, 11, 20), OBJ2: D(2025, 11, 20), OBJ3: D(2025, 11, 3)}),
                "D-NB-1": Draw("NB", {OBJ: D(2025, 11, 21)}),
                "D-SEALED": Draw("HZ", {OBJ: D(2025, 11, 21)}, ready=False),
            }
        )
        setattr(w.client.app.state, TARGETS_STATE, targets)  # type: ignore[attr-defined]
        yield w


def path(draw: str = DRAW, obj: str = OBJ, tail: str = "") -> str:
    return f"/api/v1/draws/{draw}/disclosures/{obj}{tail}"


def rows(world: World) -> list[Any]:
    with world.service.engine.connect() as conn:
        return list(conn.execute(sa.select(disclosures).order_by(disclosures.c.id)))


def listing(world: World, draw: str = DRAW, query: str = "") -> dict[str, Any]:
    response = world.client.get(f"/api/v1/draws/{draw}/disclosures{query}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


# -- the whole life of a disclosure ---------------------------------------------------------------


def test_disclose_correct_and_withdraw_with_erasure(world: World) -> None:
    first = world.log.size()
    body = result_body()
    created = post(world, path(), body, "HZ")
    assert created.status_code == 201, created.text
    receipt = created.json()
    assert receipt["disclosure"] == receipt["index"] == first
    payload = jcs.canonicalize(body)
    digest = blobs.digest_of(payload)
    [entry] = iter_entries(world, first)
    assert entry == {
        "index": first,
        "type": "disclosure.result",
        "body": {
            "department": "HZ",
            "draw_id": DRAW,
            "object_id": OBJ,
            "payload": digest,
            "inspection_end": "2025-11-20",
        },
    }
    with world.service.engine.connect() as conn:
        assert blobs.get(conn, digest) == payload

    [item] = listing(world)["items"]
    assert item["state"] == "disclosed" and item["content"] == body and item["payload"] == digest
    assert item["history"] == [
        {"index": first, "type": "disclosure.result", "payload": digest, "reason": None}
    ]
    # 2025-11-20 (Thu): 21 = 1; Nov 24-28 = 6; Dec 1-5 = 11; 8-12 = 16; 15-18 = 20.
    assert (item["deadline"], item["disclosed_on"], item["late"]) == ("2025-12-18", "2025-11-28", False)

    fixed = result_body(results=["1"], measures=["M1"])
    corrected = post(world, path(tail="/corrections"), fixed, "HZ")
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["disclosure"] == first and corrected.json()["index"] == first + 1
    [item] = listing(world)["items"]
    assert item["state"] == "corrected" and item["content"] == fixed
    assert [h["type"] for h in item["history"]] == ["disclosure.result", "disclosure.correct"]
    fixed_digest = blobs.digest_of(jcs.canonicalize(fixed))
    assert item["payload"] == fixed_digest

    withdrawn = post(world, path(tail="/withdrawal"), {"reason": "not-public", "erase": True}, "HZ")
    assert withdrawn.status_code == 201, withdrawn.text
    entries = list(iter_entries(world, first))
    assert [e["type"] for e in entries] == ["disclosure.result", "disclosure.correct", "disclosure.withdraw"]
    assert entries[1]["body"] == {
        "department": "HZ",
        "draw_id": DRAW,
        "object_id": OBJ,
        "corrects": first,
        "payload": fixed_digest,
    }
    assert entries[2]["body"] == {
        "department": "HZ",
        "draw_id": DRAW,
        "object_id": OBJ,
        "withdraws": first,
        "reason": "not-public",
        "erase": True,
    }
    [item] = listing(world)["items"]
    assert item["state"] == "withdrawn" and item["content"] is None and item["erased"] is True
    assert item["history"][-1] == {
        "index": first + 2,
        "type": "disclosure.withdraw",
        "payload": None,
        "reason": "not-public",
    }
    with world.service.engine.connect() as conn:
        for gone in (digest, fixed_digest):
            assert blobs.get(conn, gone) is None
            info = blobs.info(conn, gone)
            assert info is not None and info.erased == f"disclosure {first} withdrawn: not-public"


def test_withdrawal_without_erasure_hides_but_keeps_the_payload(world: World) -> None:
    body = result_body()
    assert post(world, path(), body, "HZ").status_code == 201
    assert (
        post(world, path(tail="/withdrawal"), {"reason": "duplicate", "erase": False}, "HZ").status_code
        == 201
    )
    [item] = listing(world)["items"]
    assert item["state"] == "withdrawn" and item["content"] is None and item["erased"] is False
    with world.service.engine.connect() as conn:
        assert blobs.get(conn, item["payload"]) == jcs.canonicalize(body)
    # The object may be disclosed anew; both disclosures are listed.
    again = post(world, path(), result_body(results=["1"], measures=[]), "HZ")
    assert again.status_code == 201, again.text
    states = [(i["disclosure"], i["state"]) for i in listing(world)["items"]]
    assert states == [(item["disclosure"], "withdrawn"), (again.json()["index"], "disclosed")]


def test_signed_disclosure_records_the_request_and_its_payload(world: World) -> None:
    body = result_body(measures=["M6"], other_measure="移交属地市场监管所跟踪")
    first = world.log.size()
    response = post(world, path(draw="D-NB-1"), body, "NB")
    assert response.status_code == 201, response.text
    [entry] = iter_entries(world, first)
    record = entry["body"]["request"]
    fields = check_request_record(record, world.signing_keys["NB"].verifier_key, body)
    assert fields.path == path(draw="D-NB-1") and fields.department == "NB"
    # The payload is the signed body; the entry's digest and the signature's digest agree.
    raw = bytes.fromhex(entry["body"]["payload"].removeprefix("sha256:"))
    assert record["content_digest"] == "sha-256=:" + base64.b64encode(raw).decode() + ":"
    assert raw == hashlib.sha256(jcs.canonicalize(body)).digest()
    withdraw = {"erase": False, "reason": "annulled"}
    assert post(world, path(draw="D-NB-1", tail="/withdrawal"), withdraw, "NB").status_code == 201
    [_, last] = iter_entries(world, first)
    check_request_record(last["body"]["request"], world.signing_keys["NB"].verifier_key, withdraw)


def test_object_ids_of_every_kind_are_addressable(world: World) -> None:
    targets: FakeTargets = getattr(world.client.app.state, TARGETS_STATE)  # type: ignore[attr-defined]
    product, regno = "product:电热水壶 A1", "110108000000016"
    targets.draws["D-KINDS"] = Draw("HZ", {product: D(2025, 11, 20), regno: D(2025, 11, 20)})
    for obj in (product, regno):
        response = post(
            world, path(draw="D-KINDS", obj=urllib.parse.quote(obj, safe=":")), result_body(), "HZ"
        )
        assert response.status_code == 201, response.text
    assert sorted(i["object_id"] for i in listing(world, "D-KINDS")["items"]) == sorted([product, regno])
    assert targets.calls[-2:] == [("D-KINDS", product, "HZ"), ("D-KINDS", regno, "HZ")]


def test_a_replayed_request_writes_nothing_new(world: World) -> None:
    body = result_body()
    key = world.new_key()
    first = post(world, path(), body, "HZ", key=key)
    size = world.log.size()
    replay = post(world, path(), body, "HZ", key=key)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert world.log.size() == size and len(rows(world)) == 1


# -- the role matrix ------------------------------------------------------------------------------


def test_role_matrix_of_every_write(world: World) -> None:
    assert_auth_matrix(world, "POST", path(obj=OBJ2), own="HZ", other="NB", body=result_body(), want_own=201)
    assert_auth_matrix(
        world,
        "POST",
        path(obj=OBJ2, tail="/corrections"),
        own="HZ",
        other="NB",
        body=result_body(),
        want_own=201,
        want_other=404,
    )
    assert_auth_matrix(
        world,
        "POST",
        path(obj=OBJ2, tail="/withdrawal"),
        own="HZ",
        other="NB",
        body={"reason": "duplicate", "erase": False},
        want_own=201,
        want_other=404,
    )
    size = world.log.size()
    for tail, body in (("", result_body()), ("/corrections", result_body())):
        assert_problem(post(world, path(obj=OBJ3, tail=tail), body, "ZJ"), 403, "forbidden")  # oversee only
    assert world.log.size() == size


def test_role_matrix_of_the_overdue_list(world: World) -> None:
    statuses = assert_auth_matrix(
        world, "GET", "/api/v1/departments/HZ/disclosures/overdue", own="HZ", other="NB"
    )
    assert statuses == {"none": 401, "wrong": 401, "other": 403, "own": 200}
    overseen = world.client.get("/api/v1/departments/HZ/disclosures/overdue", headers=world.auth("ZJ"))
    assert overseen.status_code == 200
    for code in ("XX", "hz"):  # unregistered, malformed
        response = world.client.get(
            f"/api/v1/departments/{code}/disclosures/overdue", headers=world.auth("ZJ")
        )
        doc = assert_problem(response, 404, "not-found", "path.code")
        assert doc["errors"][0]["message"] == f"no department {code}"


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/draws/{DRAW}/disclosures",
        "/api/v1/result-codes",
        "/api/v1/calendar",
        "/api/v1/calendar/deadline?inspection_end=2026-02-10",
    ],
)
def test_public_reads_need_no_credentials(world: World, url: str) -> None:
    assert post(world, path(), result_body(), "HZ").status_code == 201
    answers = [
        world.client.get(url),
        world.client.get(url, headers={"Authorization": "Bearer fdt_" + "A" * 43}),
        *(world.client.get(url, headers=world.auth(code)) for code in ("HZ", "NB", "ZJ")),
    ]
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1


# -- bad input: a problem naming the field, nothing written ---------------------------------------

BAD_RESULTS = [
    (
        "unknown-code",
        result_body(results=["B", "Z"]),
        422,
        "invalid-field",
        "body.results[1]",
        "result code 'Z' is not in code table 2",
    ),
    (
        "exclusive-with-another",
        result_body(results=["1", "B"]),
        422,
        "invalid-field",
        "body.results",
        "result code 1 (未发现问题) cannot be combined with other codes",
    ),
    (
        "code-of-another-version",
        result_body(results=["2"]),
        422,
        "invalid-field",
        "body.results[0]",
        "result code '2' is not in code table 2 (it is in code table 1)",
    ),
    (
        "unknown-table",
        result_body(code_table=9),
        422,
        "invalid-field",
        "body.code_table",
        "unknown code table 9; known: 1, 2",
    ),
    (
        "other-measure-missing",
        result_body(measures=["M6"]),
        422,
        "invalid-field",
        "body.other_measure",
        "the measure 其他 needs its text in other_measure",
    ),
    (
        "phone-in-other-measure",
        result_body(measures=["M6"], other_measure="联系 138 0013 8000"),
        422,
        "invalid-field",
        "body.other_measure",
        "holds a phone number; leave it out",
    ),
    (
        "inspected-tomorrow",
        result_body(inspected_on="2025-11-29"),
        422,
        "invalid-field",
        "body.inspected_on",
        "is after today (2025-11-28, Beijing)",
    ),
    (
        "inspected-on-no-such-day",
        result_body(inspected_on="2025-02-30"),
        422,
        "invalid-field",
        "body.inspected_on",
        "is not a date",
    ),
    ("salt-missing", result_body(salt=None), 422, "invalid-field", "body.salt", "Field required"),
    ("salt-too-short", result_body(salt="ab" * 15), 422, "invalid-field", "body.salt", "String should match"),
    (
        "results-empty",
        result_body(results=[]),
        422,
        "invalid-field",
        "body.results",
        "List should have at least",
    ),
    (
        "unknown-member",
        result_body(note="x"),
        422,
        "invalid-field",
        "body.note",
        "Extra inputs are not permitted",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "slug", "field", "message"), BAD_RESULTS, ids=[c[0] for c in BAD_RESULTS]
)
def test_bad_results_are_refused(
    world: World, name: str, body: dict[str, Any], status: int, slug: str, field: str, message: str
) -> None:
    size = world.log.size()
    for tail in ("", "/corrections"):
        if tail:
            assert post(world, path(obj=OBJ2), result_body(), "HZ").status_code == 201
            size = world.log.size()
        response = post(world, path(obj=OBJ2 if tail else OBJ, tail=tail), body, "HZ")
        doc = assert_problem(response, status, slug, field)
        assert any(e["field"] == field and e["message"].startswith(message) for e in doc["errors"]), doc
        assert world.log.size() == size, name
    assert [r.object_id for r in rows(world)] == [OBJ2]


def test_targets_the_lifecycle_refuses(world: World) -> None:
    size = world.log.size()
    cases = [
        (path(draw="D-NONE"), 404, "not-found", "path.draw_id", "no draw D-NONE"),
        (
            path(obj="91440300568520498A"),
            404,
            "not-found",
            "path.object_id",
            "object 91440300568520498A was not",
        ),
        (path(draw="D-SEALED"), 409, "conflict", "path.draw_id", "draw D-SEALED is not revealed yet"),
        (path(draw="D-NB-1"), 403, "forbidden", "path.draw_id", "draw D-NB-1 belongs to NB"),
        (path(draw="bad%20id"), 404, "not-found", "path.draw_id", "no draw bad id"),
        (
            path(obj="91110000600037341X"),
            404,
            "not-found",
            "path.object_id",
            "'91110000600037341X' is not an object",
        ),
    ]
    for url, status, slug, field, message in cases:
        doc = assert_problem(post(world, url, result_body(), "HZ"), status, slug, field)
        assert doc["errors"][0]["message"].startswith(message), doc
    assert world.log.size() == size and rows(world) == []


def test_state_conflicts(world: World) -> None:
    body = result_body()
    assert post(world, path(), body, "HZ").status_code == 201
    size = world.log.size()
    again = assert_problem(post(world, path(), result_body(), "HZ"), 409, "conflict", "path.object_id")
    assert (
        again["errors"][0]["message"]
        == f"already disclosed (entry {size - 1}); POST a correction or a withdrawal instead"
    )
    reused = assert_problem(post(world, path(obj=OBJ2), {**body}, "HZ"), 422, "invalid-field", "body.salt")
    assert reused["errors"][0]["message"] == "was used before; send a fresh random salt"
    nothing = assert_problem(
        post(world, path(obj=OBJ2, tail="/corrections"), result_body(), "HZ"),
        404,
        "not-found",
        "path.object_id",
    )
    assert nothing["errors"][0]["message"] == f"HZ has no disclosure of {OBJ2} in {DRAW}"
    reason = assert_problem(
        post(world, path(tail="/withdrawal"), {"reason": "typo", "erase": True}, "HZ"),
        422,
        "invalid-field",
        "body.reason",
    )
    assert reason["errors"][0]["message"].startswith("unknown withdrawal reason 'typo'; known: annulled")
    assert world.log.size() == size
    assert (
        post(world, path(tail="/withdrawal"), {"reason": "annulled", "erase": True}, "HZ").status_code == 201
    )
    twice = post(world, path(tail="/withdrawal"), {"reason": "annulled", "erase": True}, "HZ")
    assert_problem(twice, 404, "not-found", "path.object_id")
    erased = assert_problem(post(world, path(), body, "HZ"), 422, "invalid-field", "body.salt")
    assert erased["errors"][0]["message"] == "was used before; send a fresh random salt"


def _pending(world: World, **values: Any) -> None:
    """Insert a pending row, as a writer that reserved it and then stopped would leave it."""
    defaults = {"draw_id": DRAW, "object_id": OBJ, "department": "HZ", "inspection_end": D(2025, 11, 20)}
    defaults.update(recorded_ms=world.clock(), ledger_size=world.log.size())
    with world.service.engine.begin() as conn:
        conn.execute(sa.insert(disclosures).values(**{**defaults, **values}))


def test_a_young_pending_row_is_left_to_its_writer(world: World) -> None:
    assert post(world, path(), result_body(), "HZ").status_code == 201
    [result] = rows(world)
    _pending(world, kind="correct", result_id=result.id, payload=blobs.digest_of(b"in flight"))
    blocked = post(world, path(tail="/withdrawal"), {"reason": "annulled", "erase": False}, "HZ")
    doc = assert_problem(blocked, 409, "conflict", "path.object_id")
    assert doc["errors"][0]["message"] == "another change is being recorded; retry"
    _pending(world, object_id=OBJ2, kind="result", payload=blobs.digest_of(b"in flight 2"), is_open=True)
    doc = assert_problem(post(world, path(obj=OBJ2), result_body(), "HZ"), 409, "conflict", "path.object_id")
    assert doc["errors"][0]["message"] == "a disclosure is being recorded; retry"


def test_a_stale_pending_row_without_its_entry_is_dropped(world: World) -> None:
    _pending(
        world,
        kind="result",
        payload=blobs.digest_of(b"lost"),
        is_open=True,
        recorded_ms=world.clock() - 300_001,
    )
    created = post(world, path(), result_body(), "HZ")
    assert created.status_code == 201, created.text
    assert [(r.kind, r.ledger_index) for r in rows(world)] == [("result", created.json()["index"])]


def test_an_entry_whose_writer_stopped_is_settled_from_the_ledger(world: World) -> None:
    body = result_body()
    payload = jcs.canonicalize(body)
    with world.service.engine.begin() as conn:
        digest = blobs.put(conn, payload)
    _pending(world, kind="result", payload=digest, is_open=True)
    entry = {
        "department": "HZ",
        "draw_id": DRAW,
        "object_id": OBJ,
        "payload": digest,
        "inspection_end": "2025-11-20",
    }
    landed = world.log.append("disclosure.result", entry).index  # the append succeeded, the writer stopped
    assert listing(world)["items"] == []
    corrected = post(world, path(tail="/corrections"), result_body(results=["1"], measures=["M1"]), "HZ")
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["disclosure"] == landed
    [item] = listing(world)["items"]
    assert item["disclosure"] == landed and item["state"] == "corrected"
    # A withdrawal whose writer stopped after its append: settled, closed and erased before the next write.
    [result, _] = rows(world)
    _pending(world, kind="withdraw", result_id=result.id, reason="annulled")
    world.log.append(
        "disclosure.withdraw",
        {
            "department": "HZ",
            "draw_id": DRAW,
            "object_id": OBJ,
            "withdraws": landed,
            "reason": "annulled",
            "erase": True,
        },
    )
    again = post(world, path(), result_body(), "HZ")
    assert again.status_code == 201, again.text
    first, second = listing(world)["items"]
    assert (first["state"], first["erased"], second["state"]) == ("withdrawn", True, "disclosed")
    with world.service.engine.connect() as conn:
        info = blobs.info(conn, digest)
    assert info is not None and info.erased == f"disclosure {landed} withdrawn: annulled"


def test_a_failed_append_leaves_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(type_name: str, body: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(world.log, "append", fail)
    key = world.new_key()
    with pytest.raises(RuntimeError, match="disk full"):  # the test client re-raises server errors
        post(world, path(), result_body(), "HZ", key=key)
    assert rows(world) == []
    monkeypatch.undo()
    retry = post(world, path(), result_body(), "HZ", key=key)  # the key was released
    assert retry.status_code == 201, retry.text


# -- timeliness -----------------------------------------------------------------------------------


def test_late_and_overdue_across_the_spring_festival(world: World) -> None:
    targets: FakeTargets = getattr(world.client.app.state, TARGETS_STATE)  # type: ignore[attr-defined]
    targets.draws["D-2026-SF"] = Draw("HZ", {OBJ: D(2026, 2, 10), OBJ2: D(2026, 2, 10), OBJ3: D(2026, 2, 13)})
    overdue = "/api/v1/departments/HZ/disclosures/overdue"

    world.clock.now = beijing_noon_ms(D(2026, 3, 16))  # the deadline of 2026-02-10 itself
    page = world.client.get(overdue, headers=world.auth("HZ")).json()
    assert page["as_of"] == "2026-03-16"
    late_2025 = [(i["draw_id"], i["object_id"], i["deadline"]) for i in page["items"]]
    # 2025-11-03 (Mon): Nov 4-7 = 4 ... Nov 28 = 19, Dec 1 = 20; 2025-11-20: 2025-12-18 (above).
    assert late_2025 == [(DRAW, OBJ3, "2025-12-01"), (DRAW, OBJ, "2025-12-18"), (DRAW, OBJ2, "2025-12-18")]
    on_time = post(world, path(draw="D-2026-SF"), result_body(inspected_on="2026-02-10"), "HZ")
    assert on_time.status_code == 201

    world.clock.now = beijing_noon_ms(D(2026, 3, 17))
    page = world.client.get(overdue + "?limit=2", headers=world.auth("HZ")).json()
    rest = world.client.get(overdue + f"?cursor={page['next_cursor']}", headers=world.auth("HZ")).json()
    got = [(i["draw_id"], i["object_id"], i["deadline"]) for i in page["items"] + rest["items"]]
    assert got[3:] == [("D-2026-SF", OBJ2, "2026-03-16")] and rest["next_cursor"] is None
    late = post(world, path(draw="D-2026-SF", obj=OBJ2), result_body(inspected_on="2026-02-10"), "HZ")
    assert late.status_code == 201
    items = {i["object_id"]: i for i in listing(world, "D-2026-SF")["items"]}
    assert (items[OBJ]["late"], items[OBJ]["disclosed_on"], items[OBJ]["deadline"]) == (
        False,
        "2026-03-16",
        "2026-03-16",
    )
    assert (items[OBJ2]["late"], items[OBJ2]["disclosed_on"]) == (True, "2026-03-17")


def test_overdue_without_calendar_data_is_a_clear_error(world: World) -> None:
    overdue = "/api/v1/departments/HZ/disclosures/overdue"
    world.clock.now = beijing_noon_ms(D(2027, 1, 20))
    # Deadlines in 2025 are known to be past whatever 2027 holds.
    assert len(world.client.get(overdue, headers=world.auth("HZ")).json()["items"]) == 3
    targets: FakeTargets = getattr(world.client.app.state, TARGETS_STATE)  # type: ignore[attr-defined]
    targets.draws["D-DEC"] = Draw("HZ", {OBJ: D(2026, 12, 20)})  # its 20th working day is in 2027
    response = world.client.get(overdue, headers=world.auth("HZ"))
    doc = assert_problem(response, 503, "calendar-data-missing")
    assert doc["detail"].startswith("calendar: no working-day data for 2027")


def test_a_deadline_in_a_year_without_data_is_null(world: World) -> None:
    targets: FakeTargets = getattr(world.client.app.state, TARGETS_STATE)  # type: ignore[attr-defined]
    targets.draws["D-DEC"] = Draw("HZ", {OBJ: D(2026, 12, 20)})
    world.clock.now = beijing_noon_ms(D(2026, 12, 28))
    assert post(world, path(draw="D-DEC"), result_body(inspected_on="2026-12-18"), "HZ").status_code == 201
    [item] = listing(world, "D-DEC")["items"]
    assert (item["inspection_end"], item["deadline"], item["late"]) == ("2026-12-20", None, False)


# -- the public list ------------------------------------------------------------------------------


def test_the_public_list_pages(world: World) -> None:
    for obj in (OBJ3, OBJ, OBJ2):
        assert post(world, path(obj=obj), result_body(), "HZ").status_code == 201
    first = listing(world, query="?limit=2")
    second = listing(world, query=f"?limit=2&cursor={first['next_cursor']}")
    assert [i["object_id"] for i in first["items"] + second["items"]] == sorted([OBJ, OBJ2, OBJ3])
    assert second["next_cursor"] is None
    assert listing(world, draw="D-NONE") == {"items": [], "next_cursor": None}
    bad = world.client.get(f"/api/v1/draws/{DRAW}/disclosures?cursor=abc")
    assert_problem(bad, 400, "malformed-request", "query.cursor")


def test_code_table_and_calendar_endpoints(world: World) -> None:
    root = Path(__file__).resolve().parent.parent
    codes = world.client.get("/api/v1/result-codes")
    data = (root / "draw/service/result-codes.json").read_bytes()
    assert codes.json() == {**jcs.loads(data), "sha256": blobs.digest_of(data)}
    assert codes.headers["cache-control"] == "public, max-age=3600"
    calendar = world.client.get("/api/v1/calendar").json()
    data = (root / "draw/service/workdays-cn.json").read_bytes()
    assert calendar == {**jcs.loads(data), "sha256": blobs.digest_of(data), "working_days": 20}
    due = world.client.get("/api/v1/calendar/deadline?inspection_end=2026-02-10").json()
    assert due == {"inspection_end": "2026-02-10", "working_days": 20, "deadline": "2026-03-16"}
    missing = world.client.get("/api/v1/calendar/deadline?inspection_end=2026-12-20")
    doc = assert_problem(missing, 404, "not-found", "query.inspection_end")
    assert doc["errors"][0]["message"].startswith("calendar: no working-day data for 2027")
    for query in (
        "inspection_end=2026-02-30",
        "inspection_end=2026-2-1",
        "",
        "inspection_end=2026-02-10&x=1",
    ):
        response = world.client.get(f"/api/v1/calendar/deadline?{query}")
        assert_problem(response, 400, "malformed-request")


# -- entry types ----------------------------------------------------------------------------------

_DIGEST = "sha256:" + "ab" * 32
_GOOD = {
    "disclosure.result": {
        "department": "HZ",
        "draw_id": DRAW,
        "object_id": OBJ,
        "payload": _DIGEST,
        "inspection_end": "2026-02-10",
    },
    "disclosure.correct": {
        "department": "HZ",
        "draw_id": DRAW,
        "object_id": OBJ,
        "corrects": 5,
        "payload": _DIGEST,
    },
    "disclosure.withdraw": {
        "department": "HZ",
        "draw_id": DRAW,
        "object_id": OBJ,
        "withdraws": 5,
        "reason": "annulled",
        "erase": True,
    },
}
_RECORD_DIGEST = "sha-256=:" + base64.b64encode(bytes.fromhex("ab" * 32)).decode() + ":"
ENTRY_MUTATIONS = [
    ("disclosure.result", "missing-payload", {"payload": None}, "'payload' is missing"),
    ("disclosure.result", "extra-member", {"results": ["1"]}, "'results' is unexpected"),
    ("disclosure.result", "payload-not-a-digest", {"payload": "ab" * 32}, "malformed blob digest"),
    ("disclosure.result", "no-such-date", {"inspection_end": "2026-02-30"}, "inspection_end must be"),
    ("disclosure.result", "bad-department", {"department": "hz"}, "department code must match"),
    ("disclosure.result", "bad-object-id", {"object_id": "a b"}, "object_id 'a b' is malformed"),
    (
        "disclosure.result",
        "record-of-another-body",
        {"request": {"note": "x", "content_digest": "sha-256=:AA=:"}},
        "content_digest is not that of the payload",
    ),
    (
        "disclosure.result",
        "record-not-strings",
        {"request": {"note": 1, "content_digest": _RECORD_DIGEST}},
        "must be {note, content_digest} strings",
    ),
    ("disclosure.correct", "negative-index", {"corrects": -1}, "corrects must be a ledger index"),
    ("disclosure.correct", "index-as-bool", {"corrects": True}, "corrects must be a ledger index"),
    ("disclosure.withdraw", "erase-as-int", {"erase": 1}, "erase must be true or false"),
    ("disclosure.withdraw", "bad-reason", {"reason": "Annulled"}, "reason must be a reason code"),
    (
        "disclosure.withdraw",
        "record-of-another-body",
        {"request": {"note": "x", "content_digest": _RECORD_DIGEST}},
        "content_digest is not that of the payload",
    ),
]


def test_good_entries_pass_the_registry() -> None:
    registry = fairdraw.registry()
    for name, body in _GOOD.items():
        registry.check(name, body)
    registry.check(
        "disclosure.result",
        {**_GOOD["disclosure.result"], "request": {"note": "x", "content_digest": _RECORD_DIGEST}},
    )


@pytest.mark.parametrize(
    ("type_name", "name", "change", "message"),
    ENTRY_MUTATIONS,
    ids=[f"{c[0]}-{c[1]}" for c in ENTRY_MUTATIONS],
)
def test_entry_mutations_are_refused(type_name: str, name: str, change: dict[str, Any], message: str) -> None:
    body = {**_GOOD[type_name], **change}
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        fairdraw.registry().check(type_name, body)
