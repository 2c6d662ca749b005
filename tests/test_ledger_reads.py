"""The caches of immutable values, the raw read path, and what the ledger keeps in memory."""

from __future__ import annotations

import doctest
import threading

import pytest
import sqlalchemy as sa

from ledger import cache as cache_module
from ledger import store
from ledger.cache import Cache
from ledger.rawread import RawSelect
from tests.ledger_helpers import open_ledger


def test_module_doctest() -> None:
    result = doctest.testmod(cache_module)
    assert result.attempted > 0 and result.failed == 0


def test_a_cache_keeps_the_most_recently_used_values_within_its_budget() -> None:
    cache: Cache[str, bytes] = Cache(budget=10, cost=len)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # now "b" is the least recently used
    cache.put("c", b"1234")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"1234")
    assert len(cache) == 2


def test_a_value_under_a_key_never_changes() -> None:
    cache: Cache[int, str] = Cache(budget=4)
    assert cache.put(1, "first") == "first"
    assert cache.put(1, "second") == "first"
    assert cache.get(1) == "first"


def test_a_value_above_the_budget_is_returned_but_not_kept() -> None:
    cache: Cache[str, bytes] = Cache(budget=3, cost=len)
    assert cache.put("big", b"1234") == b"1234"
    assert cache.get("big") is None
    assert len(cache) == 0


def test_a_cache_needs_a_positive_budget() -> None:
    with pytest.raises(ValueError, match=r"^cache: budget 0, want at least 1$"):
        Cache(budget=0)


def test_a_cache_shared_by_threads_stays_within_its_budget() -> None:
    cache: Cache[int, int] = Cache(budget=100)

    def fill(offset: int) -> None:
        for i in range(2000):
            cache.put(offset + i, i)
            cache.get(offset + i // 2)

    threads = [threading.Thread(target=fill, args=(n * 10_000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 100


_TABLE = sa.Table(
    "raw_select_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("flag", sa.Boolean),
    sa.Column("data", sa.LargeBinary),
)
_QUERY = (
    sa.select(_TABLE.c.id, _TABLE.c.name, _TABLE.c.flag, _TABLE.c.data)
    .where(_TABLE.c.id >= sa.bindparam("low"))
    .order_by(_TABLE.c.id)
)
_PROBE = RawSelect(_QUERY)


def test_a_raw_select_returns_what_the_sqlalchemy_path_returns(db_url: str) -> None:
    engine = store.create_engine(db_url)
    _TABLE.metadata.create_all(engine)
    rows = [
        {"id": 1, "name": "一", "flag": True, "data": b"\x00\x01"},
        {"id": 2, "name": None, "flag": False, "data": None},
        {"id": 3, "name": "three", "flag": None, "data": b""},
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(_TABLE), rows)
    with store.reading(engine) as conn:
        want = [tuple(r) for r in conn.execute(_QUERY, {"low": 2})]
    got = _PROBE.all(engine, low=2)
    assert [tuple(r) for r in got] == want == [(2, None, False, None), (3, "three", None, b"")]
    assert [type(r.flag) for r in got] == [bool, type(None)]
    assert (got[0].id, got[1].name) == (2, "three")
    assert _PROBE.first(engine, low=4) is None
    engine.dispose()


def test_a_raw_select_raises_what_a_connection_raises(db_url: str) -> None:
    engine = store.create_engine(db_url)  # the probe table does not exist here
    with pytest.raises(sa.exc.DBAPIError, match="raw_select_probe"):
        _PROBE.all(engine, low=0)
    _TABLE.metadata.create_all(engine)  # the pooled connection is still usable after the error
    assert _PROBE.all(engine, low=0) == []
    engine.dispose()


def test_an_unpublished_tile_is_refused_until_it_is_published_then_kept(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    log.append_many([("test.item", {"n": i}) for i in range(254)])  # 255 entries: tile 0 is partial
    with pytest.raises(LookupError, match=r"tile/0/000 is not published at tree size 255"):
        log.read_tile("tile/0/000")
    assert log.kept_tile("tile/0/000") is None
    log.append("test.item", {"n": 254})
    data = log.read_tile("tile/0/000")
    assert len(data) == 256 * 32 and log.kept_tile("tile/0/000") == data
    assert log.read_tile("tile/0/000") is data  # served from memory
    assert log.read_tile("tile/0/000.p/255") == data[: 255 * 32]
    log.close()
