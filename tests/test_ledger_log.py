"""The ledger end to end on SQLite and PostgreSQL: receipts, proofs, chain, order, bad input, tamper."""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

import keys
from ledger import jcs, store, tiles, tree
from ledger.audit import AuditError, audit, quick_audit
from ledger.entries import MAX_ENTRY_SIZE, ZERO_HASH, Entry, decode_entry, encode_entry
from ledger.errors import LedgerError
from ledger.export import export_tiles
from tests.ledger_helpers import ORIGIN, log_key, open_ledger, verified_checkpoint


def test_init_announces_the_log_key_in_entry_0(db_url: str) -> None:
    log = open_ledger(db_url)
    entry = decode_entry(log.entry(0))
    assert (entry.index, entry.prev, entry.type) == (0, ZERO_HASH, "key.announce")
    assert entry.body == {"origin": ORIGIN, "vkey": log_key().verifier_key}
    cp = verified_checkpoint(log.checkpoint(), log_key().verifier_key)
    assert (cp.origin, cp.size, cp.root) == (ORIGIN, 1, tree.leaf_hash(log.entry(0)))
    assert log.init(ORIGIN).index == 0  # idempotent
    log.close()


def test_init_refuses_another_origin(sqlite_url: str) -> None:
    open_ledger(sqlite_url).close()
    other = open_ledger(sqlite_url, init=False)
    with pytest.raises(LedgerError, match=r"already initialized with origin 'fairdraw\.test/log'"):
        other.init("elsewhere.example/log")
    other.close()


def test_receipts_are_durable_signed_and_provable(db_url: str) -> None:
    log = open_ledger(db_url)
    receipts = log.append_many([("test.item", {"n": i}) for i in range(300)])
    receipts += [log.append("note", {"text": "备注 after the batch"})]
    vkey = log_key().verifier_key
    assert [r.index for r in receipts] == list(range(1, 302))
    for r in receipts[::7] + receipts[-1:]:
        data = log.entry(r.index)
        assert r.leaf_hash == hashlib.sha256(b"\x00" + data).digest()
        cp = verified_checkpoint(r.checkpoint, vkey)
        proof, note = log.prove_inclusion(r.index, cp.size)
        assert note == r.checkpoint
        tree.check_inclusion(proof, cp.size, r.index, r.leaf_hash, cp.root)
    assert quick_audit(log.engine) == 302
    assert audit(log.engine).size == 302
    log.close()


def test_entries_chain_to_their_predecessor(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    log.append_many([("test.item", {"n": i}) for i in range(20)])
    previous = ZERO_HASH
    for index in range(log.size()):
        data = log.entry(index)
        entry = decode_entry(data)
        assert (entry.index, entry.prev) == (index, previous)
        assert jcs.canonicalize(jcs.loads(data)) == data
        previous = tree.leaf_hash(data)
    log.close()


def test_every_pair_of_checkpoints_is_consistent(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    for n in range(12):
        log.append_many([("test.item", {"n": n * 10 + i}) for i in range(n)])
    vkey = log_key().verifier_key
    with log.engine.connect() as conn:
        sizes = store.checkpoint_sizes(conn)
    roots = {s: verified_checkpoint(log.checkpoint(s), vkey).root for s in sizes}
    for old in sizes:
        for new in sizes:
            if old <= new:
                tree.check_consistency(log.prove_consistency(old, new), old, new, roots[old], roots[new])
    log.close()


def test_concurrent_appenders_get_one_gap_free_order(db_url: str) -> None:
    log = open_ledger(db_url)
    got: list[int] = []
    lock = threading.Lock()

    def appender(worker: int) -> None:
        for i in range(60):
            index = log.append("test.item", {"n": worker * 1000 + i}).index
            with lock:
                got.append(index)

    threads = [threading.Thread(target=appender, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 481))
    assert audit(log.engine).size == 481
    log.close()


@pytest.mark.parametrize(
    ("type_name", "body", "message"),
    [
        ("nope", {}, "unknown entry type 'nope'"),
        ("note", {"text": ""}, "body.text must be a non-empty string"),
        ("note", {"text": "x", "extra": 1}, "unexpected body field 'extra'"),
        ("note", ["text"], "body of note must be a JSON object"),
        ("note", {"text": 1.5}, "value of type float"),
        ("key.announce", {"origin": "o", "vkey": "v"}, "appended by the log itself"),
        ("key.rotate", {"statement": "s"}, "appended by the log itself"),
        ("test.item", {"n": "1"}, "body must be"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(
    sqlite_url: str, type_name: str, body: object, message: str
) -> None:
    log = open_ledger(sqlite_url)
    before = log.checkpoint()
    with pytest.raises(ValueError, match=message):
        log.append(type_name, body)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        log.append_many([("note", {"text": "fine"}), (type_name, body)])  # type: ignore[list-item]
    assert log.checkpoint() == before
    log.close()


def test_oversize_entry_is_refused(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    log.append("test.blob", {"data": "\u4e2d" * 21_000})  # 63,000 bytes of UTF-8 fits
    with pytest.raises(ValueError, match=f"exceeds the {MAX_ENTRY_SIZE}-byte limit"):
        log.append("test.blob", {"data": "\u4e2d" * 22_000})
    assert log.size() == 2
    log.close()


def test_read_only_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    open_ledger(f"sqlite:///{path}").close()
    read_only = open_ledger(f"sqlite:///file:{path}?mode=ro&uri=true", init=False)
    with pytest.raises(LedgerError, match="readonly database"):
        read_only.append("note", {"text": "x"})
    assert read_only.size() == 1
    read_only.close()


def test_storage_refuses_update_and_delete(db_url: str) -> None:
    log = open_ledger(db_url)
    statements = [
        "UPDATE ledger_entries SET data = data WHERE idx = 0",
        "DELETE FROM ledger_entries WHERE idx = 0",
        "UPDATE ledger_hashes SET hash = hash",
        "DELETE FROM ledger_checkpoints",
    ]
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), log.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert audit(log.engine).size == 1
    log.close()


def _tampered(sqlite_url: str, statement: str) -> AuditError:
    log = open_ledger(sqlite_url)
    log.append_many([("test.item", {"n": i}) for i in range(40)])
    log.append_many([("test.item", {"n": i}) for i in range(40, 50)])
    with log.engine.begin() as conn:
        for name in conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars():
            conn.execute(sa.text(f"DROP TRIGGER {name}"))
        conn.execute(sa.text(statement))
    with pytest.raises(AuditError) as caught:
        audit(log.engine)
    log.close()
    return caught.value


def test_audit_catches_a_changed_entry_byte(sqlite_url: str) -> None:
    changed = "CAST(replace(data, X'3137', X'3138') AS BLOB)"  # the digit 17 becomes 18
    error = _tampered(sqlite_url, f"UPDATE ledger_entries SET data = {changed} WHERE idx = 18")
    assert error.index == 18


def test_audit_catches_a_changed_stored_hash(sqlite_url: str) -> None:
    level, n = tree.split_stored_hash_index(40)
    error = _tampered(sqlite_url, "UPDATE ledger_hashes SET hash = zeroblob(32) WHERE id = 40")
    assert error.index == ((n + 1) << level) - 1
    assert "stored hash 40" in error.reason


def test_audit_catches_a_changed_checkpoint(sqlite_url: str) -> None:
    changed = "CAST(replace(note, X'0a', X'0a0a') AS BLOB)"  # every newline doubled
    error = _tampered(sqlite_url, f"UPDATE ledger_checkpoints SET note = {changed} WHERE size = 41")
    assert "checkpoint 41" in error.reason
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        sizes = store.checkpoint_sizes(conn)
    engine.dispose()
    # The first entry that checkpoint covers and no smaller one does: 1 when the 40 appends made one
    # batch, later when the group commit cut them into several.
    assert error.index == max(size for size in sizes if size < 41)


def test_audit_catches_a_deleted_entry(sqlite_url: str) -> None:
    error = _tampered(sqlite_url, "DELETE FROM ledger_entries WHERE idx = 30")
    assert error.index == 31


def test_key_rotation_is_in_the_log_and_the_old_key_retires(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    new_key = keys.generate(ORIGIN, randbytes=lambda n: bytes(range(n)))
    rotated = log.rotate_key(new_key)
    assert decode_entry(log.entry(rotated.index)).type == "key.rotate"
    after = log.append("note", {"text": "signed by the new key"})
    verified_checkpoint(rotated.checkpoint, new_key.verifier_key)
    verified_checkpoint(after.checkpoint, new_key.verifier_key)
    with pytest.raises(keys.InvalidSignatureError):
        verified_checkpoint(after.checkpoint, log_key().verifier_key)
    assert audit(log.engine).vkey == new_key.verifier_key
    stale = open_ledger(sqlite_url, init=False)  # still holds the retired key
    with pytest.raises(LedgerError, match="retired log key"):
        stale.append("note", {"text": "x"})
    log.close()
    stale.close()


def test_entry_time_never_goes_backwards(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url, init=False)
    times = iter([5_000, 4_000, 6_000])
    log._clock = lambda: next(times)  # a test clock that steps back once
    log.init("fairdraw.test/log")
    stamps = [decode_entry(log.entry(log.append("note", {"text": "t"}).index)).time_ms for _ in range(2)]
    assert decode_entry(log.entry(0)).time_ms == 5_000
    assert stamps == [5_000, 6_000]
    log.close()


def test_tiles_are_served_and_exported_byte_for_byte(sqlite_url: str, tmp_path: Path) -> None:
    log = open_ledger(sqlite_url)
    log.append_many([("test.item", {"n": i}) for i in range(299)])
    log.append_many([("test.item", {"n": i}) for i in range(300, 560)])
    size = log.size()
    leaves = [tree.leaf_hash(log.entry(i)) for i in range(size)]
    assert log.read_tile("tile/0/000") == b"".join(leaves[:256])
    assert log.read_tile(f"tile/0/002.p/{size - 512}") == b"".join(leaves[512:size])
    bundle = tiles.parse_entry_bundle(log.read_tile("tile/entries/001"))
    assert bundle == [log.entry(i) for i in range(256, 512)]
    with pytest.raises(LookupError, match="not published"):
        log.read_tile("tile/0/003")
    with pytest.raises(ValueError, match="malformed tile path"):
        log.read_tile("tile/0/3")
    written = export_tiles(log, tmp_path / "out")
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert written == len(files)
    assert (tmp_path / "out" / "checkpoint").read_bytes() == log.checkpoint()
    assert (tmp_path / "out" / "tile/0/000").read_bytes() == log.read_tile("tile/0/000")
    assert (tmp_path / "out" / "tile/0/001.p/44").read_bytes() == b"".join(leaves[256:300])  # checkpoint 300
    assert (tmp_path / "out" / "tile/entries/001.p/44").exists()
    assert not list((tmp_path / "out").rglob("*.tmp"))
    log.close()


def test_assembled_envelope_is_the_canonical_json_of_the_envelope() -> None:
    body = {"text": "中文 \u2028 \"quoted\"", "n": [1, 2, {"b": None, "a": True}]}
    prev = hashlib.sha256(b"prev").digest()
    data = encode_entry(12345, prev, 1_764_283_755_123, "draw.commit", jcs.canonicalize(body))
    envelope = {"v": 1, "index": 12345, "prev": base64.b64encode(prev).decode(), "time": 1_764_283_755_123,
                "type": "draw.commit", "body": body}
    assert data == jcs.canonicalize(envelope)
    assert decode_entry(data) == Entry(12345, prev, 1_764_283_755_123, "draw.commit", body)


def test_a_reader_neither_waits_for_nor_sees_a_writer_in_progress(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    seen: list[int] = []
    with log.engine.begin() as writer:  # holds SQLite's write lock until the block ends
        writer.execute(sa.update(store.head).values(last_time=1))

        def read() -> None:
            with store.reading(log.engine) as conn:
                seen.append(conn.execute(sa.select(store.head.c.last_time)).scalar_one())

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(10)
        assert not reader.is_alive(), "a reading connection waited for the writer's lock"
    assert seen and seen[0] != 1  # it read the snapshot from before the writer's uncommitted change
    with store.reading(log.engine) as conn:
        assert conn.execute(sa.select(store.head.c.last_time)).scalar_one() == 1
    log.close()
