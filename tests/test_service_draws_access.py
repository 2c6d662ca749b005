"""Who may call each draw endpoint: the role matrix (no token, a wrong token, another department, the
department itself) for every authenticated endpoint, and the public reads. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from starlette.routing import Mount

import draw.service
from draw.service.http import API_PREFIX
from draw.service.openapi import api_routes
from tests.service_helpers import WRONG_TOKEN, assert_auth_matrix, assert_problem, post
from tests.test_service_draws_helpers import (
    COMMIT_MS,
    QUICKNET_ROUND,
    drand_round,
    open_draw_world,
    participant,
    simple_body,
)

NOW_S = -(-COMMIT_MS // 1000)


def _ceremony_draw(ref: str) -> tuple[dict[str, Any], dict[str, str]]:
    declared, reveal = participant("王芳", "纪检监察组观察员", "3614252316", 7)
    lottery = {"sources": [{"description": "福彩3D 第2024281期", "count": 1}], "deadline": NOW_S + 600}
    sources = {"ceremony": {"participants": [declared], "reveal_deadline": NOW_S + 600}, "lottery": lottery}
    return simple_body(ref, sources=sources), reveal


def test_every_draw_endpoint_keeps_its_role_matrix(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        body, reveal = _ceremony_draw("m")
        assert_auth_matrix(world, "POST", "/api/v1/departments/HZ/draws", own="HZ", other="NB", body=body,
                           want_own=201)  # fmt: skip
        draw = "/api/v1/draws/HZ-m"
        beacon = drand_round("quicknet", QUICKNET_ROUND)
        # self-authenticating values: any department with role submit; ZJ has only oversee
        assert_auth_matrix(world, "POST", f"{draw}/beacon", own="NB", other="ZJ", body=beacon, want_own=201)
        assert_auth_matrix(world, "POST", f"{draw}/ceremony", own="NB", other="ZJ", body=reveal, want_own=201)
        # the department's own statements: only itself
        numbers = {"numbers": [[7]]}
        assert_auth_matrix(world, "POST", f"{draw}/lottery", own="HZ", other="NB", body=numbers, want_own=201)
        assert_auth_matrix(world, "GET", f"{draw}/result", own="HZ", other="ZJ", want_own=200)
        result = world.client.get(f"{draw}/result", headers=world.auth("HZ")).json()["result"]
        leaving = result["strata"][0]["selected"][0]["record"]["id"]
        change = {"object_id": leaving, "reason": "deregistered"}
        replace = f"{draw}/replacements"
        assert_auth_matrix(world, "POST", replace, own="HZ", other="NB", body=change, want_own=201)
        assert_auth_matrix(world, "POST", f"{draw}/publish", own="HZ", other="NB", body={}, want_own=201)
        assert_auth_matrix(world, "GET", f"{draw}/result", own="HZ", other="ZJ", want_own=200, want_other=200)
        assert post(world, "/api/v1/departments/HZ/draws", simple_body("n"), "HZ").status_code == 201
        assert_auth_matrix(world, "POST", "/api/v1/draws/HZ-n/void", own="HZ", other="NB",
                           body={"reason": "计划调整"}, want_own=201)  # fmt: skip


def test_status_list_and_bundle_are_public_and_ignore_credentials(db_url: str) -> None:
    with open_draw_world(db_url) as world:
        world.clock.now = COMMIT_MS
        assert post(world, "/api/v1/departments/HZ/draws", simple_body("p"), "HZ").status_code == 201
        for path in ("/api/v1/draws", "/api/v1/draws/HZ-p", "/api/v1/draws/HZ-p/bundle"):
            plain = world.client.get(path)
            assert plain.status_code == 200, path
            for headers in ({"Authorization": f"Bearer {WRONG_TOKEN}"}, world.auth("NB")):
                assert world.client.get(path, headers=headers).json() == plain.json()
        missing = world.client.get("/api/v1/draws/HZ-q/bundle")
        assert_problem(missing, 404, "not-found", "path.draw_id")
        assert missing.json()["errors"][0]["message"] == "no draw HZ-q"


def test_every_draw_route_is_a_documented_api_route() -> None:
    mounted = [Mount(API_PREFIX, routes=draw.service.routes)]
    paths = {(route.method, path) for path, route in api_routes(mounted)}
    want = {
        ("POST", "/api/v1/departments/{code}/draws"),
        ("GET", "/api/v1/draws"),
        ("GET", "/api/v1/draws/{draw_id}"),
        ("GET", "/api/v1/draws/{draw_id}/bundle"),
        ("GET", "/api/v1/draws/{draw_id}/result"),
        *(("POST", f"/api/v1/draws/{{draw_id}}/{p}") for p in ("beacon", "ceremony", "lottery")),
        *(("POST", f"/api/v1/draws/{{draw_id}}/{p}") for p in ("replacements", "void", "publish")),
    }
    assert want <= paths
