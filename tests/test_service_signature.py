"""Signed requests (fairdraw-request/v1): RFC 9530 digests, the note text, verification, ledger records."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

import keys
from draw.service.signature import (
    RequestSignatureError,
    SignedFields,
    check_request_record,
    content_digest,
    format_request,
    parse_request,
    request_record,
    sign_request,
    verify_request_signature,
)
from ledger import jcs
from tests.conftest import fixed_randbytes

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors" / "service"
SUMDB = json.loads((VECTORS / "sumdb-notes.json").read_text(encoding="utf-8"))
PETER = keys.parse_private_key(SUMDB["keys"]["PeterNeumann"]["skey"])
PETER_VKEY = SUMDB["keys"]["PeterNeumann"]["vkey"]
NOW = 1_764_283_755_123
WINDOW = 300_000


def _doc_block(name: str) -> str:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- example: {name} -->\n```\n(.*?)```\n", text, re.S)
    assert found, name
    return found.group(1)


EXAMPLE_BODY = _doc_block("body").rstrip("\n").encode("utf-8")
EXAMPLE_NOTE = _doc_block("signed-request").encode("utf-8")
EXAMPLE = SignedFields(
    "fairdraw.example/log",
    "HZ",
    "POST",
    "/api/v1/departments/HZ/notes",
    "8e03978e-40d5-43e8-bc93-6894a57f9324",
    NOW,
    hashlib.sha256(EXAMPLE_BODY).digest(),
)


@pytest.mark.parametrize(
    "vector",
    json.loads((VECTORS / "content-digest.json").read_text(encoding="utf-8"))["vectors"],
    ids=lambda v: v["desc"],
)
def test_content_digest_rfc9530_examples(vector: dict[str, str]) -> None:
    assert content_digest(vector["content"].encode("utf-8")) == vector["content_digest"]


def test_docs_example_is_reproduced_and_verifies() -> None:
    assert jcs.loads_canonical(EXAMPLE_BODY) == {"text": "2026年第一批抽查计划已备案"}
    assert base64.b64decode(sign_request(PETER.signer(), EXAMPLE)) == EXAMPLE_NOTE
    assert PETER.verifier_key == PETER_VKEY
    header = base64.b64encode(EXAMPLE_NOTE).decode("ascii")
    signed = verify_request_signature(header, keys.new_verifier(PETER_VKEY), EXAMPLE, NOW + WINDOW, WINDOW)
    assert signed.fields == EXAMPLE and signed.note == EXAMPLE_NOTE
    assert f"content-digest {content_digest(EXAMPLE_BODY)}\n" in EXAMPLE_NOTE.decode()


def test_format_and_parse_round_trip() -> None:
    text = format_request(EXAMPLE)
    assert parse_request(text) == EXAMPLE
    assert text == EXAMPLE_NOTE.decode("utf-8").split("\n\n")[0] + "\n"
    quoted = dataclasses.replace(EXAMPLE, idempotency_key='a "b" \\c')
    assert 'idempotency-key "a \\"b\\" \\\\c"\n' in format_request(quoted)
    assert parse_request(format_request(quoted)) == quoted


@pytest.mark.parametrize(
    ("mutation", "old", "new"),
    [
        ("format-line", "fairdraw-request/v1\n", "fairdraw-request/v2\n"),
        ("label-renamed", "\nmethod POST", "\nverb POST"),
        (
            "lines-swapped",
            "method POST\npath /api/v1/departments/HZ/notes\n",
            "path /api/v1/departments/HZ/notes\nmethod POST\n",
        ),
        ("time-leading-zero", "time 1764283755123", "time 01764283755123"),
        ("time-plus-sign", "time 1764283755123", "time +1764283755123"),
        (
            "key-unquoted",
            'idempotency-key "8e03978e-40d5-43e8-bc93-6894a57f9324"',
            "idempotency-key 8e03978e-40d5-43e8-bc93-6894a57f9324",
        ),
        ("key-padded", 'idempotency-key "8e03978e', 'idempotency-key  "8e03978e'),
        ("digest-sha-512", "content-digest sha-256=", "content-digest sha-512="),
        ("digest-not-canonical-base64", "7gc=:", "7gd=:"),
        ("trailing-space", "method POST\n", "method POST \n"),
        ("extra-line", "content-digest", "note x\ncontent-digest"),
        ("no-final-newline", "7gc=:\n", "7gc=:"),
    ],
)
def test_parse_refuses_named_mutations(mutation: str, old: str, new: str) -> None:
    text = format_request(EXAMPLE)
    assert old in text, mutation
    with pytest.raises(ValueError, match="request signature"):
        parse_request(text.replace(old, new, 1))


def test_format_refuses_values_that_would_not_round_trip() -> None:
    with pytest.raises(ValueError, match="path must be printable ASCII"):
        format_request(dataclasses.replace(EXAMPLE, path="/a b "))
    with pytest.raises(ValueError, match="bad digest size"):
        format_request(dataclasses.replace(EXAMPLE, content_digest=b"\0" * 31))


def _header(fields: SignedFields = EXAMPLE, *signers: keys.Signer) -> str:
    note = keys.sign_note(format_request(fields), *(signers or (PETER.signer(),)))
    return base64.b64encode(note).decode("ascii")


OTHER = keys.generate("PeterNeumann", randbytes=fixed_randbytes(5))  # same name, another key


@pytest.mark.parametrize(
    ("mutation", "header"),
    [
        ("wrong-key", _header(EXAMPLE, OTHER.signer())),
        (
            "extra-signature",
            _header(EXAMPLE, PETER.signer(), keys.generate("x", fixed_randbytes(6)).signer()),
        ),
        ("other-origin", _header(dataclasses.replace(EXAMPLE, origin="fairdraw.test/log"))),
        ("other-department", _header(dataclasses.replace(EXAMPLE, department="NB"))),
        ("other-method", _header(dataclasses.replace(EXAMPLE, method="PUT"))),
        ("other-path", _header(dataclasses.replace(EXAMPLE, path="/api/v1/departments/NB/notes"))),
        ("other-key", _header(dataclasses.replace(EXAMPLE, idempotency_key="k2"))),
        ("other-body", _header(dataclasses.replace(EXAMPLE, content_digest=hashlib.sha256(b"{}").digest()))),
        ("time-too-old", _header(dataclasses.replace(EXAMPLE, time_ms=NOW - WINDOW - 1))),
        ("time-too-new", _header(dataclasses.replace(EXAMPLE, time_ms=NOW + WINDOW + 1))),
        ("modified-signature@1-bit", None),
        ("not-base64", "not base64!"),
        ("base64-trailing-garbage", _header() + "AAAA"),
        ("base64-inner-space", _header()[:40] + " " + _header()[40:]),
        ("base64-with-newline", _header()[:20] + "\n" + _header()[20:]),
        ("too-long", "A" * 8196),
        ("empty", ""),
    ],
)
def test_verify_refuses_named_mutations(mutation: str, header: str | None) -> None:
    if header is None:
        note = bytearray(base64.b64decode(_header()))
        note[-10] ^= 1
        header = base64.b64encode(bytes(note)).decode("ascii")
    assert header != _header(), mutation
    verifier = keys.new_verifier(PETER_VKEY)
    with pytest.raises(RequestSignatureError, match=r"^invalid request signature$"):
        verify_request_signature(header, verifier, EXAMPLE, NOW, WINDOW)


def test_the_window_edges_are_inside() -> None:
    verifier = keys.new_verifier(PETER_VKEY)
    for time_ms in (NOW - WINDOW, NOW + WINDOW):
        fields = dataclasses.replace(EXAMPLE, time_ms=time_ms)
        assert verify_request_signature(_header(fields), verifier, EXAMPLE, NOW, WINDOW).fields == fields


def test_record_is_checkable_by_anyone_with_the_vkey() -> None:
    header = _header()
    signed = verify_request_signature(header, keys.new_verifier(PETER_VKEY), EXAMPLE, NOW, WINDOW)
    record = request_record(signed)
    assert record == {"note": EXAMPLE_NOTE.decode("utf-8"), "content_digest": content_digest(EXAMPLE_BODY)}
    body: dict[str, Any] = {"text": "2026年第一批抽查计划已备案"}
    assert check_request_record(record, PETER_VKEY, body) == EXAMPLE
    with pytest.raises(RequestSignatureError):
        check_request_record(record, PETER_VKEY, {"text": "另一段文字"})
    with pytest.raises(RequestSignatureError):
        check_request_record(record, OTHER.verifier_key, body)
    with pytest.raises(RequestSignatureError):
        check_request_record({**record, "content_digest": content_digest(b"{}")}, PETER_VKEY, body)
    with pytest.raises(RequestSignatureError):
        check_request_record({"note": record["note"]}, PETER_VKEY, body)
    tampered = record["note"].replace("HZ/notes", "NB/notes")
    with pytest.raises(RequestSignatureError):
        check_request_record({**record, "note": tampered}, PETER_VKEY, body)
