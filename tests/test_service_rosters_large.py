"""Roster uploads have their own body limit (``Config.max_roster_body_bytes``, 64 MiB by default):
a roster above the 1 MiB limit of every other endpoint is accepted, one above the roster limit is
refused with 413 naming ``body`` and writes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from draw.service import Config, db
from tests.service_helpers import assert_problem, open_world, post
from tests.test_service_items import ITEM_LIST
from tests.test_service_rosters import upload

ROSTERS = "/api/v1/departments/{}/rosters"
MIB = 1 << 20


def _wide_roster(rows: int) -> bytes:
    """Return an inspectors CSV of ``rows`` rows (about 3.9 KB each: a 备注 column, ignored)."""
    lines = ["执法证号,岗位管辖片区,执法证有效期至,备注"]
    lines += [f"14090{i:05d},忻府区局城区所,2027-12-31,{'备' * 1300}" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _keys(world_engine: sa.Engine) -> int:
    with world_engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(db.idempotency_keys)).scalar_one())


def test_the_roster_limit_is_64_mib_and_the_others_stay_at_1_mib() -> None:
    config = Config()
    assert (config.max_roster_body_bytes, config.max_body_bytes) == (64 * MIB, MIB)


def test_a_roster_above_1_mib_is_uploaded(db_url: str) -> None:
    with open_world(db_url) as world:
        body = upload("inspectors", "csv", _wide_roster(400), title="忻府区执法人员名录（大）")
        size = world.log.size()
        response = post(world, ROSTERS.format("NB"), body, "NB")  # NB signs: the signed path too
        assert response.status_code == 201, response.text[:500]
        assert int(response.request.headers["content-length"]) > 1.5 * MIB
        created = response.json()
        assert (created["rows"], created["ignored_columns"]) == (400, ["备注"])
        assert world.log.size() == size + 1


def test_a_roster_above_its_limit_is_refused_and_other_bodies_keep_1_mib(db_url: str) -> None:
    with open_world(db_url, config=Config(max_roster_body_bytes=2 * MIB)) as world:
        size = world.log.size()
        body = upload("inspectors", "csv", _wide_roster(450))  # about 2.25 MiB of JSON
        refused = post(world, ROSTERS.format("HZ"), body, "HZ")
        doc = assert_problem(refused, 413, "content-too-large", "body")
        assert doc["errors"][0]["message"] == f"the body exceeds the {2 * MIB}-byte limit"
        padded = post(world, "/api/v1/departments/HZ/items", {**ITEM_LIST, "pad": "x" * MIB}, "HZ")
        doc = assert_problem(padded, 413, "content-too-large", "body")
        assert doc["errors"][0]["message"] == f"the body exceeds the {MIB}-byte limit"
        assert world.log.size() == size and _keys(world.service.engine) == 0
        accepted = post(world, ROSTERS.format("HZ"), upload("inspectors", "csv", _wide_roster(250)), "HZ")
        assert accepted.status_code == 201, accepted.text[:500]
        assert int(accepted.request.headers["content-length"]) > 1.2 * MIB
