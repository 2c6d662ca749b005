"""Crash safety and multi-process order: SIGKILL during appends; several processes on PostgreSQL."""

from __future__ import annotations

import base64
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger import tree
from ledger.audit import audit
from tests.ledger_helpers import log_key, open_ledger, verified_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def _spawn(url: str, count: int, threads: int, tag: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.ledger_child", url, str(count), str(threads), tag]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _parse(output: str) -> tuple[dict[int, str], list[bytes]]:
    acks: dict[int, str] = {}
    notes: list[bytes] = []
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "ACK" and rest.count(" ") == 2:
            index, leaf, _tag = rest.split(" ")
            assert index not in acks, f"entry {index} acknowledged twice"
            acks[int(index)] = leaf
        elif kind == "CP" and line.endswith("="):
            notes.append(base64.b64decode(rest))
    return acks, notes


def _check_against(url: str, acks: dict[int, str], notes: list[bytes]) -> int:
    log = open_ledger(url, init=False)
    vkey = log_key().verifier_key
    newest = verified_checkpoint(log.checkpoint(), vkey)
    for index, leaf in acks.items():
        assert index < newest.size, f"acknowledged entry {index} lost (size {newest.size})"
        assert tree.leaf_hash(log.entry(index)).hex() == leaf, f"acknowledged entry {index} changed"
    for note in notes:
        old = verified_checkpoint(note, vkey)
        assert old.size <= newest.size, "the tree shrank"
        proof = log.prove_consistency(old.size, newest.size)
        tree.check_consistency(proof, old.size, newest.size, old.root, newest.root)
    log.close()
    return newest.size


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_entry(sqlite_url: str) -> None:
    open_ledger(sqlite_url).close()
    rng = random.Random(20261127)
    sizes = []
    handed_out: list[bytes] = []
    for trial in range(20):
        child = _spawn(sqlite_url, 0, 4, f"t{trial}-")
        assert child.stdout is not None and child.stdout.readline() == "READY\n"
        time.sleep(0.2 + rng.random() * 0.8)  # a random moment while appends are under way
        child.send_signal(signal.SIGKILL)
        output, errors = child.communicate()
        acks, notes = _parse(output)
        assert child.returncode == -signal.SIGKILL, errors
        handed_out += notes
        sizes.append(_check_against(sqlite_url, acks, handed_out))
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0], sizes
    log = open_ledger(sqlite_url, init=False)
    assert audit(log.engine).size == sizes[-1]
    log.close()


def _processes_append_in_one_order(url: str, processes: int, count: int) -> None:
    open_ledger(url).close()
    children = [_spawn(url, count, 2, f"p{p}-") for p in range(processes)]
    acks: dict[int, str] = {}
    notes: list[bytes] = []
    for child in children:
        output, errors = child.communicate(timeout=300)
        assert child.returncode == 0, errors
        more_acks, more_notes = _parse(output)
        assert not set(acks) & set(more_acks), "two processes were given the same index"
        acks.update(more_acks)
        notes += more_notes
    assert sorted(acks) == list(range(1, processes * count * 2 + 1))
    size = _check_against(url, acks, notes)
    log = open_ledger(url, init=False)
    assert audit(log.engine).size == size == processes * count * 2 + 1
    log.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_four_processes_on_postgres_get_one_gap_free_order(postgres_url: str) -> None:
    _processes_append_in_one_order(postgres_url, 4, 100)


@pytest.mark.slow
def test_four_processes_on_sqlite_get_one_gap_free_order(sqlite_url: str) -> None:
    _processes_append_in_one_order(sqlite_url, 4, 50)
