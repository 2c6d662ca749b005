"""Helpers for ledger tests: open a ledger on a URL with a reproducible test key."""

from __future__ import annotations

import keys
from ledger import checkpoint, store
from ledger.entries import LEDGER_TYPES, EntryType, Registry
from ledger.log import Ledger
from tests.conftest import fixed_randbytes

ORIGIN = "fairdraw.test/log"


def _check_test_body(body: object) -> None:
    if not isinstance(body, dict) or set(body) != {"n"} or not isinstance(body["n"], int):
        raise ValueError("test.item: body must be {'n': int}")


def _check_blob(body: object) -> None:
    if not isinstance(body, dict) or set(body) != {"data"} or not isinstance(body["data"], str):
        raise ValueError("test.blob: body must be {'data': str}")


REGISTRY_TYPES = [
    *LEDGER_TYPES,
    EntryType("test.item", _check_test_body),
    EntryType("test.blob", _check_blob),
]


def log_key(seed: int = 1) -> keys.SigningKey:
    return keys.generate(ORIGIN, randbytes=fixed_randbytes(seed))


def open_ledger(url: str, key: keys.SigningKey | None = None, init: bool = True) -> Ledger:
    log = Ledger(store.create_engine(url), key or log_key(), Registry(REGISTRY_TYPES))
    if init:
        log.init(ORIGIN)
    return log


def verified_checkpoint(note: bytes, vkey: str) -> checkpoint.Checkpoint:
    opened = keys.open_note(note, [keys.new_verifier(vkey)])
    return checkpoint.parse_checkpoint(opened.text)
