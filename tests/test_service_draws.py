"""The draw lifecycle through the API: request -> commitment -> drand round -> sealed result -> embargoed
reveal, with the verification bundle checked from what it holds alone. Every test runs on SQLite and
PostgreSQL.

The randomness is the published quicknet round 12040883 (tests/vectors/drand, quoted in
docs/draw-spec-randomness.md §2.3): the test clock puts the commitment at 1728925950200 ms, so the
rule of §2.3 chooses exactly that round.
"""

from __future__ import annotations

import base64
import copy
import time
from typing import Any

import pytest
import sqlalchemy as sa

import keys
from draw.engine import commit as engine_commit
from draw.engine import model as engine_model
from draw.service import Service, draws_store, roster_records, worker
from draw.service import draws_lifecycle as lifecycle
from draw.service.signature import RequestSignatureError, check_request_record
from ledger import receipt as tlog_receipt
from ledger.entries import decode_entry
from ledger.errors import ProofError
from tests.service_helpers import World, assert_problem, post
from tests.test_service_draws_helpers import (
    COMMIT_MS,
    QUICKNET_ROUND,
    drand_round,
    draw_body,
    entries_of,
    open_draw_world,
    verify_bundle,
)

DRAW = "/api/v1/draws/HZ-2026-7"
EMBARGO_MS = 1_730_390_400_000  # 2024-11-01T00:00:00+08:00


def _create(world: World, **changes: Any) -> dict[str, Any]:
    world.clock.now = COMMIT_MS
    response = post(world, "/api/v1/departments/HZ/draws", draw_body(**changes), "HZ")
    assert response.status_code == 201, response.text
    assert response.headers["location"] == DRAW
    created: dict[str, Any] = response.json()
    return created


def _status(world: World) -> dict[str, Any]:
    response = world.client.get(DRAW)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def test_a_draw_goes_from_request_to_sealed_result_to_embargoed_reveal(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        created = _create(world)
        assert created["draw_id"] == "HZ-2026-7" and created["state"] == "pending-randomness"
        # docs/draw-spec-randomness.md §2.3: committed at 1728925950200 ms, margin 60 s
        assert (created["drand_round"], created["drand_round_time"]) == (QUICKNET_ROUND, 1728926013)
        proof = tlog_receipt.parse_proof(created["tlog_proof"])
        assert proof.index == created["index"]
        commit = decode_entry(world.log.entry(created["index"]))
        assert (commit.type, commit.time_ms, commit.body["draw_id"]) == (
            "draw.commit",
            COMMIT_MS,
            "HZ-2026-7",
        )
        status = _status(world)
        assert status["state"] == "pending-randomness" and status["seal"] is None
        assert status["sources"] == [
            {"name": "drand", "state": "pending", "deadline": 1728926013 + 7 * 86400, "round": QUICKNET_ROUND,
             "round_time": 1728926013, "missing": [], "entries": []},
        ]  # fmt: skip
        assert [(s["stratum"], s["size"], s["k"]) for s in status["strata"]] == [
            ("A", 6, 2),
            ("B", 6, 2),
            ("C", 6, 2),
            ("D", 6, 6),
        ]  # fmt: skip  (docs/draw-spec.md §5.2 for the vector's rules)
        early = world.client.get(f"{DRAW}/result", headers=world.auth("HZ"))
        assert_problem(early, 409, "conflict", "path.draw_id")
        assert (
            early.json()["errors"][0]["message"] == "draw HZ-2026-7 is pending-randomness: it has no result"
        )

        world.clock.now = 1728926020000
        beacon = post(world, f"{DRAW}/beacon", drand_round("quicknet", QUICKNET_ROUND), "NB")
        assert beacon.status_code == 201, beacon.text
        assert beacon.json()["state"] == "sealed"
        randomness, seal = entries_of(world, beacon.json()["index"])
        assert randomness[1:] == ("draw.randomness", {
            "draw_id": "HZ-2026-7", "commit": created["index"], "source": "drand", "department": "NB",
            "beacon": drand_round("quicknet", QUICKNET_ROUND), "request": randomness[2]["request"],
        })  # fmt: skip
        assert seal[1] == "draw.seal" and seal[0] == randomness[0] + 1  # sealed at once
        status = _status(world)
        assert (status["state"], status["seal"], status["overdue"]) == ("sealed", seal[0], False)
        assert status["result_hash"] == seal[2]["result_hash"]

        own = world.client.get(f"{DRAW}/result", headers=world.auth("HZ"))
        assert own.status_code == 200 and own.json()["result_hash"] == seal[2]["result_hash"]
        assert own.json()["result"]["sources"] == [drand_round("quicknet", QUICKNET_ROUND)["randomness"]]
        for other in ("NB", "ZJ"):  # ZJ has the oversee role: still not before the reveal
            refused = world.client.get(f"{DRAW}/result", headers=world.auth(other))
            doc = assert_problem(refused, 403, "forbidden", "path.draw_id")
            assert doc["errors"][0]["message"] == (
                "the result of draw HZ-2026-7 is sealed; only HZ reads it before the reveal"
            )
        sealed_bundle = world.client.get(f"{DRAW}/bundle").json()
        found = verify_bundle(sealed_bundle, world.log._key.verifier_key)
        assert sorted(found) == ["draw.commit", "draw.randomness", "draw.seal"]

        world.clock.now = EMBARGO_MS - 1
        worker.run_once(world.service)
        assert _status(world)["state"] == "sealed"
        world.clock.now = EMBARGO_MS
        assert worker.run_once(world.service) == worker.Report(0, 0, 1)
        status = _status(world)
        assert status["state"] == "revealed" and status["reveal"] == seal[0] + 1
        reveal = decode_entry(world.log.entry(status["reveal"])).body
        secret = reveal["operator_secret"]
        assert reveal["department"] is None and reveal["replacements"] == []
        assert secret not in str(sealed_bundle) and secret not in own.text + beacon.text + str(created)
        assert all(secret not in str(body) for i, _, body in entries_of(world) if i < status["reveal"])

        bundle = world.client.get(f"{DRAW}/bundle").json()
        assert bundle["state"] == "revealed"
        verify_bundle(bundle, world.log._key.verifier_key)  # engine.verify_draw and every proof
        after = world.client.get(f"{DRAW}/result", headers=world.auth("NB"))
        assert after.status_code == 200 and after.json() == {**own.json(), "state": "revealed"}


def test_the_request_and_the_population_stay_with_the_service(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        created = _create(world)
        commit = decode_entry(world.log.entry(created["index"])).body
        names = [o["name"] for o in draw_body()["objects"]]
        assert not any(name in str(commit) for name in names)  # only salted leaf commitments
        strata = commit["commitment"]["strata"]
        with world.service.engine.connect() as conn:
            for stratum in strata:
                leaves = conn.execute(
                    sa.text("SELECT size FROM ledger_blobs WHERE digest = :d"),
                    {"d": "sha256:" + stratum["leaves"]},
                ).scalar_one()
                assert leaves == 32 * stratum["size"]
            row = conn.execute(sa.select(draws_store.draws)).one()
        assert row.state == "pending-randomness" and len(row.secret) == 32
        assert row.secret.hex() not in str(commit) and row.secret.hex() not in str(created)


def test_public_reads_leave_the_confidential_columns_in_the_database(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        draw_id = _create(world)["draw_id"]
        fresh = Service(world.log, clock=world.clock)  # a process that has kept nothing of the draw
        assert draws_store.load_kept(fresh, draw_id) is None  # its entries are not in memory yet
        assert draws_store.load_kept(fresh, "HZ-no-such-draw") is None
        public = draws_store.load_public(world.service, draw_id)
        full = draws_store.load(world.service, draw_id)
        assert public is not None and full is not None
        assert not set(draws_store.CONFIDENTIAL) & set(public.row._fields)
        assert set(draws_store.CONFIDENTIAL) <= set(full.row._fields)
        shared = set(public.row._fields) & set(full.row._fields)
        assert {name: getattr(public.row, name) for name in shared} == {
            name: getattr(full.row, name) for name in shared
        }
        assert public.entries == full.entries and len(public.entries) == 1
        assert public.commit.commitment.draw_id == draw_id  # parsed once, kept with the entry
        assert public.commit.commitment is full.commit.commitment
        kept = draws_store.load_kept(world.service, draw_id)
        assert kept is not None and kept.entries == public.entries and kept.row == public.row


def test_a_kept_status_is_read_again_once_another_process_changes_the_draw(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        draw_id = _create(world)["draw_id"]
        kept = draws_store.load_kept(world.service, draw_id)
        assert kept is not None and kept.row.state == "pending-randomness"
        assert draws_store.load_kept(world.service, draw_id) is kept  # unchanged: no query
        other = sa.create_engine(db_url)  # another process's connection to the same database
        with other.begin() as conn:
            conn.execute(
                sa.update(draws_store.draws).where(draws_store.draws.c.draw_id == draw_id).values(task=999)
            )
        other.dispose()
        deadline = time.monotonic() + 10
        while (now := draws_store.load_kept(world.service, draw_id)) is kept and time.monotonic() < deadline:
            time.sleep(0.005)
        assert now is not None and now.row.task == 999
        assert _status(world)["task"] == 999


def test_a_population_joined_to_a_record_list_is_the_population_encoded_object_by_object() -> None:
    make = engine_model.make_object
    roster = [make(f"shop:{i}", f"第{i}号店", "城区所", "AB"[i % 2], ["食品"], None) for i in range(5)]
    roster.sort(key=engine_commit.encode_object)  # a record list is sorted by its records' bytes
    records = roster_records.record_list([engine_commit.encode_object(o) for o in roster])
    inline = [make("91350100M000100Y43", "某公司", "城区所", "A", [], "2024-05-17")]
    join = lifecycle.format_population
    assert join(inline, records) == join(roster + inline)
    assert join([], records) == join(roster) == records
    assert join(inline) == join(inline, b"[]")
    assert lifecycle.parse_population(join(inline, records)) == roster + inline


def _flip(text: str) -> str:
    """Return base64 ``text`` with one bit of its first byte flipped."""
    data = bytearray(base64.b64decode(text))
    data[0] ^= 1
    return base64.b64encode(bytes(data)).decode()


def _tampered(bundle: dict[str, Any], mutation: str) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    if mutation == "entries[0].data@0-bit":
        out["entries"][0]["data"] = _flip(out["entries"][0]["data"])
    elif mutation == "entries[1].proof[0]@0-bit":
        out["entries"][1]["proof"][0] = _flip(out["entries"][1]["proof"][0])
    elif mutation == "blobs[0].data@0-bit":
        out["blobs"][0]["data"] = _flip(out["blobs"][0]["data"])
    elif mutation == "checkpoint-signature@last-char":
        text = out["checkpoint"]
        out["checkpoint"] = text[:-3] + ("A" if text[-3] != "A" else "B") + text[-2:]
    elif mutation == "entries[0]-dropped":
        del out["entries"][0]
    return out


def test_a_tampered_bundle_fails_verification(sqlite_url: str) -> None:
    with open_draw_world(sqlite_url) as world:
        _create(world, publish_immediately=True)
        assert post(world, f"{DRAW}/beacon", drand_round("quicknet", QUICKNET_ROUND), "HZ").status_code == 201
        bundle = world.client.get(f"{DRAW}/bundle").json()
        vkey = world.log._key.verifier_key
        verify_bundle(bundle, vkey)
        for mutation, error in (
            ("entries[0].data@0-bit", ProofError),
            ("entries[1].proof[0]@0-bit", ProofError),
            ("blobs[0].data@0-bit", AssertionError),
            ("checkpoint-signature@last-char", keys.InvalidSignatureError),
            ("entries[0]-dropped", AssertionError),
        ):
            with pytest.raises(error):
                verify_bundle(_tampered(bundle, mutation), vkey)


def test_a_signed_request_is_recorded_in_the_commitment_and_checks_against_the_body(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        body = draw_body("signed")
        response = post(world, "/api/v1/departments/NB/draws", body, "NB")
        assert response.status_code == 201, response.text
        commit = decode_entry(world.log.entry(response.json()["index"])).body
        vkey = world.signing_keys["NB"].verifier_key
        fields = check_request_record(commit["request"], vkey, body)
        assert (fields.department, fields.path) == ("NB", "/api/v1/departments/NB/draws")
        with pytest.raises(RequestSignatureError):
            check_request_record(commit["request"], vkey, draw_body("other"))
