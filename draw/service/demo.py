"""The demo world: a synthetic 忻州 (Shanxi) year of 双随机、一公开 built through the service's own endpoints.

:func:`build_world` drives the ASGI application in-process (one request at a time, no network) with
the same JSON a department would send: departments, item lists (抽查事项清单), an inspector roster
(执法检查人员名录库) and objects rosters (检查对象名录库) per county-level area (one per 市场监管所
of at most ROSTER_ROWS entities, so each fits the API's body limit), an annual plan,
tasks (one of them joint with 工信局), and draws in every state, then disclosures of their results.
Nine draws in ten are both randoms of 双随机: their objects and the inspector teams matched to them
(``matching``, docs/draw-spec-matching.md), so a revealed draw shows each object's team.

Assumptions of the synthetic data (nothing here is real data):

* the 14 county-level areas and their GB/T 2260 codes are in ``demo-world.json`` (with the beacon);
  each area's share of the entities is an assumed weight (roughly its population);
* every entity has a valid 统一社会信用代码: registration authority 9 (工商), kind 1, 2 or 3, area
  code of its county (1409xx), a random 组织机构代码 body with its GB 11714 check character, and the
  GB 32100 check character (``draw.engine.uscc``);
* the credit-risk classes are an assumed mix of about A 80 %, B 15 %, C 4 %, D 1 %;
* about 300 inspectors, 执法证 numbers of the demo's own shape, stationed in turn at each 市场监管所
  (the stations of the objects rosters), with certificates of which about 1 in 12 expire during the
  demo year, specialities (items), about 1 in 15 experts and 1 in 40 on leave; whoever may inspect
  one of the joint task's two items may inspect both, since every member of a team must cover all of
  a draw's items (draw-spec-matching §4.2);
* a draw's inspector side: the pools are the inspectors roster snapshots of its departments, judged
  on the day of the draw; two inspectors a team (one of each department in the joint task) and one
  expert more for a key item (重点检查事项), at most 3 teams each where one department draws without
  experts; the 属地 rule; three declared 回避 pairs (kin, interest, other); and 24 past inspections of
  the last 18 months, with a 12-month recent-inspection window. The 回避 pairs and the history name
  objects of classes C and D, the likeliest to be drawn, so that some of them bite. Every tenth
  draw (``UNMATCHED``) draws objects only;
* the departments are those the seed document names: 忻州市市场监督管理局 (``SJ``, draws), 忻州市工业和
  信息化局 (``GX``, joint tasks) and the 领导小组办公室 (``LDXZ``, oversight).

The synthetic data comes from ``random.Random(seed)``; the draws never do. Their randomness is
drand: only beacons published by drand can be verified, and the demo carries one, quicknet round
12040883 (2024-10-14, ``tests/vectors/drand``). So the demo's ledger clock runs through 2024 and every
draw that gets its randomness declares that round: committed at time t it declares the margin that
makes round 12040883 the first round at least t + margin after it (randomness spec §2.3, margins up
to 366 days). Draws left pending randomness are committed at ``now_ms`` (the real time when run from
the command line), so a served demo keeps them pending until their round's grace period ends.

Cost: one request per roster, task, draw and disclosed object; about 3 s for 600 entities and 6 draws,
30 to 40 s of CPU for 50,000 entities and 40 draws (SQLite, 2 cores), most of it checking the rosters
and appending the disclosures; the inspector matching adds a few seconds of it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from draw.engine import drand
from draw.engine.uscc import USCC_ALPHABET, org_code_check_char, uscc_check_char
from draw.service import worker
from draw.service.core import Service
from draw.service.departments import register_department
from ledger import jcs

WORLD: dict[str, Any] = json.loads(Path(__file__).with_name("demo-world.json").read_text(encoding="utf-8"))
AREAS = WORLD["areas"]
BEACON: dict[str, Any] = WORLD["beacon"]  # quicknet round 12040883 as drand published it
ROUND: int = BEACON["round"]
DEPARTMENTS = (
    ("SJ", "忻州市市场监督管理局", ("submit",)),
    ("GX", "忻州市工业和信息化局", ("submit",)),
    ("LDXZ", "忻州市市场监管领域双随机一公开监管工作领导小组办公室", ("oversee",)),
)
CLASSES = (("A", 80), ("B", 15), ("C", 4), ("D", 1))  # assumed credit-risk mix, per cent
# draw n is meant to end in STATES[n % 10]; the first six are one of each (joint and replaced draws
# are revealed draws of the joint task and with a replacement)
STATES = (
    "revealed",
    "joint",
    "replaced",
    "sealed",
    "void",
    "pending",
    "revealed",
    "revealed",
    "sealed",
    "revealed",
)
UNMATCHED = 7  # draw n asks for no inspector teams when n % 10 is this (a revealed draw)
STRATA = [
    {"stratum": "A", "take": "ratio", "ratio": "1/200", "rounding": "ceil"},
    {"stratum": "B", "take": "ratio", "ratio": "1/100", "rounding": "ceil"},
    {"stratum": "C", "take": "ratio", "ratio": "1/20", "rounding": "ceil"},
    {"stratum": "D", "take": "ratio", "ratio": "1/5", "rounding": "ceil"},
]
ITEMS = (
    ("SJ-01", "企业公示信息", "企业年度报告公示信息的检查", "general"),
    ("SJ-02", "食品安全", "食品经营者经营条件和行为的检查", "key"),
    ("SJ-03", "产品质量", "生产领域工业产品质量的监督抽查", "general"),
    ("SJ-04", "特种设备", "特种设备使用单位的监督检查", "key"),
    ("SJ-05", "广告", "广告发布行为的检查", "general"),
    ("SJ-06", "计量", "计量器具使用的检查", "general"),
    ("GX-01", "工业和信息化", "重点用能工业企业节能监察", "general"),
    ("GX-02", "工业和信息化", "民用爆炸物品生产企业安全检查", "key"),
)
JOINT_ITEMS = ("GX-01", "SJ-03")  # the joint task's items (忻市监抽查〔2024〕2号)
TAGS = ("食品经营", "特种设备使用", "工业产品生产", "广告发布", "计量器具使用")
SYLLABLES = "晋忻泰恒鑫盛源华丰瑞隆兴宏达顺和金通昌福利汇嘉禄安康德宝润永"
TRADES = ("商贸", "食品", "餐饮", "建材", "农牧", "机械", "煤业", "物流", "科技", "酒业", "药店", "百货")
FORMS = ("有限公司", "有限责任公司", "股份有限公司", "经营部", "商行")
KINDS = (("1", 85), ("2", 10), ("3", 5))  # 企业, 个体工商户, 农民专业合作社
_BEIJING = timedelta(hours=8)
ROSTER_ROWS = 5000


def _ms(day: str, hour: int = 10) -> int:
    """Return epoch milliseconds of ``hour``:00 Beijing time on ISO date ``day``."""
    moment = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=hour) - _BEIJING
    return int(moment.timestamp()) * 1000


START_MS = _ms("2024-01-08", 8)  # the demo ledger's first entry


class DemoClock:
    """A settable clock in epoch milliseconds, shared by the demo's ledger and service."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass
class Summary:
    """What :func:`build_world` made: department tokens, draw ids by intended state, counts."""

    tokens: dict[str, str] = field(default_factory=dict)
    draws: dict[str, list[str]] = field(default_factory=dict)
    entities: int = 0
    inspectors: int = 0
    matched: int = 0
    disclosures: int = 0
    built: bool = True


class _Client:
    """Calls an ASGI application in-process: one event loop, one request at a time."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.keys = 0
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.lifespan = self.loop.create_task(
            app(
                {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, self.inbox.get, self.outbox.put
            )
        )
        self._lifespan_event("startup")

    def _lifespan_event(self, name: str) -> None:
        """Run the application's lifespan ``startup`` or ``shutdown``; raise ValueError if it fails."""
        self.inbox.put_nowait({"type": f"lifespan.{name}"})
        answer = self.loop.run_until_complete(self.outbox.get())
        if answer["type"] != f"lifespan.{name}.complete":
            raise ValueError(f"demo: application {name} failed: {answer.get('message', '')}")

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """Send the request (canonical JSON ``body``) to ``path`` as it would go on the wire
        (percent-encoded, with any ``?query``); return (status, decoded JSON answer)."""
        data = b"" if body is None else jcs.canonicalize(body)
        headers = [(b"content-type", b"application/json"), (b"host", b"demo.local")]
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        if method == "POST":
            self.keys += 1
            headers.append((b"idempotency-key", f'"demo-{self.keys}"'.encode()))
        status, answer = self.loop.run_until_complete(self._send(method, path, data, headers))
        return status, json.loads(answer) if answer else None

    async def _send(
        self, method: str, path: str, data: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, bytes]:
        target, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": urllib.parse.unquote(target),
            "raw_path": target.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("demo.local", 80),
        }
        sent: dict[str, Any] = {"body": b""}
        pending = [{"type": "http.request", "body": data, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            elif message["type"] == "http.response.body":
                sent["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        return sent["status"], sent["body"]

    def close(self) -> None:
        """Shut the application down and close the event loop."""
        self._lifespan_event("shutdown")
        self.loop.run_until_complete(self.lifespan)
        self.loop.close()


class _World:
    """The state of one build: the client, the clock, the tokens and the ledger indexes made."""

    def __init__(self, client: _Client, service: Service, clock: DemoClock, rng: random.Random) -> None:
        self.client, self.service, self.clock, self.rng = client, service, clock, rng
        self.summary = Summary()
        self.index: dict[str, int] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}  # area code -> its draw roster's rows
        self.inspectors: dict[str, list[str]] = {}  # department -> 执法证号 of its roster

    def post(self, code: str, path: str, body: Any, want: int = 201) -> Any:
        """POST ``body`` as department ``code``; return the answer. Raises ValueError on another status."""
        status, answer = self.client.call("POST", path, body, self.summary.tokens[code])
        if status != want:
            raise ValueError(f"demo: POST {path} answered {status}: {answer}")
        return answer


def _already_built(client: _Client) -> bool:
    """Return whether the service already holds the demo world (a draw of ``SJ``)."""
    status, page = client.call("GET", "/api/v1/draws?department=SJ&limit=1")
    if status != 200:
        raise ValueError(f"demo: listing draws answered {status}: {page}")
    return bool(page["items"])


def build_world(
    app: Any,
    service: Service,
    clock: DemoClock,
    *,
    now_ms: int,
    entities: int = 50_000,
    draws: int = 40,
    seed: int = 2024,
    randbytes: Callable[[int], bytes],
) -> Summary:
    """Build the demo world through ``app`` (the Fairdraw ASGI application serving ``service``).

    ``clock`` must be the clock of ``service`` and of its ledger; it is moved through 2024 and left at
    ``now_ms`` (which must be after 2025-01-31). ``entities`` >= 14 * 10 and ``draws`` >= 6 (one draw
    in each state); ``randbytes`` gives the disclosures' salts. Returns the Summary; does nothing (and
    returns ``built=False``) if the world is already there. Raises ValueError if a request is refused
    or if the ledger holds anything but its first entry (the demo's clock must start in 2024).
    """
    if entities < 140 or draws < len(set(STATES)):
        raise ValueError(f"demo: entities must be >= 140 and draws >= {len(set(STATES))}")
    if now_ms <= _ms("2025-01-31"):
        raise ValueError("demo: now_ms must be after 2025-01-31")
    client = _Client(app)  # its start-up runs service.start(): migrations, quick audit
    try:
        if _already_built(client):
            return Summary(built=False)
        if service.ledger.size() > 1:
            raise ValueError("demo: the ledger already holds other entries; build the demo on a fresh one")
        world = _World(client, service, clock, random.Random(seed))
        _register(world)
        _publish_inputs(world, entities)
        _run_draws(world, draws, now_ms, randbytes)
        return world.summary
    finally:
        client.close()


# -- departments, items, rosters, plan, tasks ---------------------------------------------------


def _register(world: _World) -> None:
    world.clock.now = _ms("2024-01-08", 9)
    for code, name, roles in DEPARTMENTS:
        _, token = register_department(world.service, code, name, None, roles)
        world.summary.tokens[code] = token


def _publish_inputs(world: _World, entities: int) -> None:
    world.clock.now = _ms("2024-01-15")
    for code in ("SJ", "GX"):
        answer = world.post(code, f"/api/v1/departments/{code}/items", _item_list(code))
        world.index[f"items-{code}"] = answer["index"]
    world.clock.now = _ms("2024-02-01")
    counts = _area_counts(entities)
    stations = [s for area, count in zip(AREAS, counts, strict=True) for s in _stations(area, count)]
    for code, share in (("SJ", 280), ("GX", 20)):
        world.index[f"inspectors-{code}"] = _roster(
            world, code, "inspectors", _inspectors(world, code, share, stations)
        )
    for area, count in zip(AREAS, counts, strict=True):
        _objects_rosters(world, area, count)
    world.summary.entities = entities
    world.clock.now = _ms("2024-03-01")
    world.index["plan"] = world.post("SJ", "/api/v1/departments/SJ/plans", _plan(world))["index"]
    _tasks(world)


def _item_list(code: str) -> dict[str, Any]:
    subject = next(name for c, name, _ in DEPARTMENTS if c == code)
    items = [
        {
            "code": c,
            "category": cat,
            "name": name,
            "kind": kind,
            "objects": "辖区内市场主体",
            "basis": "《市场监管领域部门联合抽查事项清单》",
            "subject": subject,
            "methods": ["现场检查", "书面检查"],
            "max_ratio": None if kind == "key" else "1/10",
            "frequency": "每年不少于1次",
        }
        for c, cat, name, kind in ITEMS
        if c.startswith(code)
    ]
    return {
        "title": f"{subject}随机抽查事项清单",
        "label": "2024年版",
        "effective": "2024-01-15",
        "items": items,
    }


def _area_counts(entities: int) -> list[int]:
    """Split ``entities`` over the areas in proportion to their weights, rounded down; the first
    area takes what the rounding leaves."""
    weights = [a["weight"] for a in AREAS]
    counts = [entities * w // sum(weights) for w in weights]
    counts[0] += entities - sum(counts)
    return counts


def _roster(world: _World, code: str, kind: str, rows: list[dict[str, Any]], area: str = "") -> int:
    content = base64.b64encode(json.dumps(rows, ensure_ascii=False).encode("utf-8")).decode("ascii")
    title = f"{area}检查对象名录库" if kind == "objects" else "执法检查人员名录库"
    body = {"kind": kind, "format": "json", "content": content, "title": title}
    index: int = world.post(code, f"/api/v1/departments/{code}/rosters", body)["index"]
    return index


def _uscc(rng: random.Random, area_code: str) -> str:
    kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
    body = "".join(rng.choice(USCC_ALPHABET) for _ in range(8))
    first17 = "9" + kind + area_code + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


def _entity_name(rng: random.Random, area: str) -> str:
    place = area.removesuffix("区").removesuffix("县").removesuffix("市")
    return f"{place}{''.join(rng.sample(SYLLABLES, 2))}{rng.choice(TRADES)}{rng.choice(FORMS)}"


def _stations(area: dict[str, Any], count: int) -> list[str]:
    """Return the 市场监管所 of ``area`` when it has ``count`` entities: one per ROSTER_ROWS of them."""
    parts = -(-count // ROSTER_ROWS)
    if parts == 1:
        return [f"{area['name']}市场监管所"]
    return [f"{area['name']}第{part + 1}市场监管所" for part in range(parts)]


def _objects_rosters(world: _World, area: dict[str, Any], count: int) -> None:
    """Publish ``count`` entities of ``area`` as rosters of at most ROSTER_ROWS, one per 市场监管所
    (a body must stay under the API's content limit); the first is the area's roster for draws."""
    stations = _stations(area, count)
    for part, station in enumerate(stations):
        size = count // len(stations) + (1 if part < count % len(stations) else 0)
        rows = _entities(world.rng, area, size, station)
        index = _roster(world, "SJ", "objects", rows, station)
        world.index.setdefault(f"objects-{area['code']}", index)
        world.rows.setdefault(area["code"], rows)


def _entities(rng: random.Random, area: dict[str, Any], count: int, station: str) -> list[dict[str, Any]]:
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    while len(rows) < count:
        uscc = _uscc(rng, area["code"])
        if uscc in seen:
            continue
        seen.add(uscc)
        stratum = rng.choices([c for c, _ in CLASSES], [w for _, w in CLASSES])[0]
        rows.append(
            {
                "统一社会信用代码": uscc,
                "企业名称": _entity_name(rng, area["name"]),
                "属地监管所": station,
                "信用风险分类": stratum,
                "标签": [rng.choice(TAGS)] if rng.randrange(3) == 0 else [],
            }
        )
    return rows


def _inspectors(world: _World, code: str, count: int, stations: list[str]) -> list[dict[str, Any]]:
    """Return ``count`` inspectors of department ``code``, stationed in turn at each of ``stations``.
    Whoever may inspect one of the joint task's items may inspect both (JOINT_ITEMS)."""
    rng = world.rng
    rows: list[dict[str, Any]] = []
    own = [c for c, *_ in ITEMS if c.startswith(code)]
    for n in range(count):
        expiring = rng.randrange(12) == 0
        expiry = f"2024-{rng.randrange(6, 12):02d}-15" if expiring else f"{rng.randrange(2026, 2030)}-06-30"
        scope = rng.sample(own, rng.randrange(1, len(own) + 1))
        if set(scope) & set(JOINT_ITEMS):
            scope = sorted(set(scope) | set(JOINT_ITEMS))
        rows.append(
            {
                "执法证号": f"{code}-XZ-{n + 1:04d}",
                "岗位管辖片区": stations[n % len(stations)],
                "执法证有效期至": expiry,
                "执法事项范围": scope,
                "是否属于专家": "是" if rng.randrange(15) == 0 else "否",
                "执法人员状态": "休假" if rng.randrange(40) == 0 else "在岗",
            }
        )
    world.summary.inspectors += count
    world.inspectors[code] = [row["执法证号"] for row in rows]
    return rows


def _plan(world: _World) -> dict[str, Any]:
    sj = world.index["items-SJ"]
    gx = world.index["items-GX"]
    batches = [
        {
            "ref": "B1",
            "name": "企业公示信息和产品质量不定向抽查",
            "type": "untargeted",
            "items": [{"list": sj, "code": "SJ-01"}, {"list": sj, "code": "SJ-03"}],
            "scope": "全市各类市场主体",
            "ratio": "一般主体不低于3%，每年1次",
            "start": "2024-04-01",
            "end": "2024-11-30",
            "cooperators": [],
        },
        {
            "ref": "B2",
            "name": "重点用能企业部门联合抽查",
            "type": "untargeted",
            "items": [{"list": sj, "code": "SJ-03"}, {"list": gx, "code": "GX-01"}],
            "scope": "工业生产企业",
            "ratio": "不低于5%，每年1次",
            "start": "2024-05-01",
            "end": "2024-11-30",
            "cooperators": ["GX"],
        },
    ]
    return {
        "year": 2024,
        "title": "忻州市2024年度市场监管领域“双随机、一公开”抽查工作计划",
        "start": "2024-03-01",
        "end": "2024-12-31",
        "filed_with": "忻州市市场监管领域双随机一公开监管工作领导小组办公室",
        "supersedes": None,
        "batches": batches,
    }


def _tasks(world: _World) -> None:
    sj, gx = world.index["items-SJ"], world.index["items-GX"]
    first = AREAS[0]["code"]
    common = {
        "type": "untargeted",
        "filter": None,
        "base_item": None,
        "start": "2024-04-01",
        "end": "2024-11-15",
        "objects_roster": world.index[f"objects-{first}"],
        "inspectors_roster": world.index["inspectors-SJ"],
    }
    solo = {
        **common,
        "ref": "忻市监抽查〔2024〕1号",
        "name": "2024年企业公示信息抽查",
        "plan": {"index": world.index["plan"], "batch": "B1"},
        "items": [{"list": sj, "code": "SJ-01"}],
        "cooperators": [],
    }
    joint = {
        **common,
        "ref": "忻市监抽查〔2024〕2号",
        "name": "2024年重点用能企业部门联合抽查",
        "plan": {"index": world.index["plan"], "batch": "B2"},
        "items": [{"list": sj, "code": "SJ-03"}, {"list": gx, "code": "GX-01"}],
        "cooperators": ["GX"],
    }
    world.index["task-solo"] = world.post("SJ", "/api/v1/departments/SJ/tasks", solo)["index"]
    world.index["task-joint"] = world.post("SJ", "/api/v1/departments/SJ/tasks", joint)["index"]
    pool = {"roster": world.index["inspectors-GX"]}
    world.post("GX", f"/api/v1/departments/GX/tasks/{world.index['task-joint']}/pool", pool)


# -- draws and disclosures ------------------------------------------------------------------------


def _margin(commit_ms: int) -> int:
    """Return the margin that makes ROUND the draw's round when committed at ``commit_ms``."""
    committed = -(-commit_ms // 1000)
    margin = drand.round_time(drand.QUICKNET, ROUND) - committed
    assert drand.round_for_commitment(drand.QUICKNET, committed, margin) == ROUND
    return margin


def _draw_body(world: _World, number: int, state: str) -> dict[str, Any]:
    on_task = state == "joint" or number % 3 == 0
    area = AREAS[0] if on_task else AREAS[number % len(AREAS)]
    task = world.index["task-joint" if state == "joint" else "task-solo"] if on_task else None
    body: dict[str, Any] = {
        "ref": f"2024-{number + 1:03d}",
        "task": task,
        "objects_roster": world.index[f"objects-{area['code']}"],
        "strata": STRATA,
        "embargo": "2027-06-30" if state in ("sealed", "pending") else "2024-10-20",
        "inspection_end": "2027-06-30" if state == "pending" else "2024-11-15",
    }
    if number % len(STATES) != UNMATCHED:
        items = list(JOINT_ITEMS) if state == "joint" else ["SJ-01"] if on_task else [ITEMS[number % 6][0]]
        body["matching"] = _matching(world, items, world.rows[area["code"]])
    if state == "pending":
        return body
    commit_ms = world.clock.now
    body["sources"] = {
        "drand": {"chain_hash": drand.QUICKNET.chain_hash.hex(), "margin_seconds": _margin(commit_ms)}
    }
    return body


def _matching(world: _World, items: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the inspector side of a draw over ``rows`` (its roster) for ``items``, judged on the
    clock's day: the departments whose items they are, two inspectors a team (one of each department
    in the joint task), one expert more for a key item, 属地 rule, three declared 回避 pairs and the
    last 18 months' inspections of objects of classes C and D (the likeliest to be drawn)."""
    rng = world.rng
    departments = sorted({item[:2] for item in items})
    experts = 1 if any(kind == "key" for code, _, _, kind in ITEMS if code in items) else 0
    as_of = datetime.fromtimestamp(world.clock.now / 1000, UTC) + _BEIJING
    risky = [r["统一社会信用代码"] for r in rows if r["信用风险分类"] in ("C", "D")] or [
        r["统一社会信用代码"] for r in rows
    ]
    inspectors = [i for code in departments for i in world.inspectors[code]]
    exclusions = {
        (rng.choice(inspectors), rng.choice(risky)): reason for reason in ("kin", "interest", "other")
    }
    history = {
        (rng.choice(inspectors), rng.choice(risky)): (as_of - timedelta(days=rng.randrange(1, 548))).date()
        for _ in range(24)
    }
    world.summary.matched += 1
    return {
        "as_of": as_of.date().isoformat(),
        "items": sorted(items),
        "rules": {
            "departments": departments,
            "min_inspectors": 2,
            "per_department": 1,
            "experts": experts,
            "max_load": 3 if len(departments) == 1 and not experts else None,
            "exclude_same_area": True,
            "recent_months": 12,
        },
        "pools": [world.index[f"inspectors-{code}"] for code in departments],
        "exclusions": [
            {"inspector": i, "object": o, "reason": r} for (i, o), r in sorted(exclusions.items())
        ],
        "history": [
            {"inspector": i, "object": o, "date": d.isoformat()} for (i, o), d in sorted(history.items())
        ],
    }


def _run_draws(world: _World, count: int, now_ms: int, randbytes: Callable[[int], bytes]) -> None:
    states = [STATES[i % len(STATES)] for i in range(count)]
    for number, state in enumerate(states):
        if state == "pending":
            continue
        world.clock.now = _ms("2024-04-01") + number * 3 * 86_400_000
        draw_id = world.post("SJ", "/api/v1/departments/SJ/draws", _draw_body(world, number, state))[
            "draw_id"
        ]
        world.summary.draws.setdefault(state, []).append(draw_id)
    _randomness(world)
    world.clock.now = _ms("2024-10-20", 0)
    worker.run_once(world.service)
    world.clock.now = _ms("2024-10-25")
    for index, draw_id in enumerate(world.summary.draws.get("replaced", [])):
        _replace(world, draw_id, index)
    _disclose(world, randbytes)
    world.clock.now = now_ms
    for number, state in enumerate(states):
        if state == "pending":
            body = _draw_body(world, number, state)
            world.summary.draws.setdefault(state, []).append(
                world.post("SJ", "/api/v1/departments/SJ/draws", body)["draw_id"]
            )


def _randomness(world: _World) -> None:
    world.clock.now = _ms("2024-10-14", 22)
    for draw_id in world.summary.draws.get("void", []):
        world.post("SJ", f"/api/v1/draws/{draw_id}/void", {"reason": "抽查任务调整，本次抽取作废"})
    world.clock.now = drand.round_time(drand.QUICKNET, ROUND) * 1000 + 7000
    for state in ("revealed", "joint", "replaced", "sealed"):
        for draw_id in world.summary.draws.get(state, []):
            world.post("SJ", f"/api/v1/draws/{draw_id}/beacon", BEACON)


def _replace(world: _World, draw_id: str, index: int) -> None:
    status, result = world.client.call(
        "GET", f"/api/v1/draws/{draw_id}/result", token=world.summary.tokens["SJ"]
    )
    if status != 200:
        raise ValueError(f"demo: result of {draw_id} answered {status}")
    selected = [o["record"]["id"] for o in result["result"]["strata"][0]["selected"]]
    reason = ("deregistered", "moved-out", "revoked")[index % 3]
    world.post("SJ", f"/api/v1/draws/{draw_id}/replacements", {"object_id": selected[0], "reason": reason})


def _disclose(world: _World, randbytes: Callable[[int], bytes]) -> None:
    """Disclose every target of every other revealed draw on time; leave the rest overdue."""
    world.clock.now = _ms("2024-11-25")
    revealed = [d for s in ("revealed", "joint", "replaced") for d in world.summary.draws.get(s, [])]
    for number, draw_id in enumerate(sorted(revealed)):
        if number % 2 == 1:
            continue
        for object_id in _targets(world, draw_id):
            body = {
                "code_table": 1,
                "results": [_result_code(world.rng)],
                "inspected_on": "2024-11-12",
                "salt": randbytes(16).hex(),
            }
            segment = urllib.parse.quote(object_id, safe="")
            world.post("SJ", f"/api/v1/draws/{draw_id}/disclosures/{segment}", body)
            world.summary.disclosures += 1


def _result_code(rng: random.Random) -> str:
    return rng.choices(["1", "E", "F", "6"], [85, 8, 5, 2])[0]


def _targets(world: _World, draw_id: str) -> list[str]:
    status, result = world.client.call(
        "GET", f"/api/v1/draws/{draw_id}/result", token=world.summary.tokens["SJ"]
    )
    if status != 200:
        raise ValueError(f"demo: result of {draw_id} answered {status}")
    replaced = {r["replaced"]: r["replacement"]["record"]["id"] for r in result["replacements"]}
    chosen = [o["record"]["id"] for s in result["result"]["strata"] for o in s["selected"]]
    return [replaced.get(o, o) for o in chosen]
