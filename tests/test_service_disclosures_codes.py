"""The versioned result-code table: its data (domain notes §2.2, §2.3), its rules and its strict parser."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest

from draw.service import result_codes
from draw.service.result_codes import (
    CodeError,
    Outcome,
    check_outcome,
    format_code_book,
    load_code_book,
    parse_code_book,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = (ROOT / "draw/service/result-codes.json").read_bytes()

# Domain notes §2.2: the Zhejiang system's multi-select result list (codes and labels verbatim).
ZHEJIANG_RESULTS = [
    ("1", "未发现问题", None),
    ("A", "发现问题待后续处理", None),
    ("2", "违反工商行政管理相关规定", "A"),
    ("B", "未按规定公示应当公示的信息", "2"),
    ("C", "公示信息隐瞒真实情况弄虚作假", "2"),
    ("6", "通过登记的住所（经营场所）无法联系", "2"),
    ("D", "违反其他工商行政管理规定行为", "2"),
    ("3", "违反食品药品管理相关规定", "A"),
    ("4", "违反质量技术监督相关规定", "A"),
    ("5", "违反其他部门相关规定", "A"),
    ("G", "违反公安部门相关规定", None),
    ("E", "发现问题经责令已改正", None),
    ("F", "未发现开展本次抽查涉及的经营活动", None),
    ("7", "已关闭停业或正在组织清算", None),
    ("8", "不配合检查情节严重", None),
    ("9", "注销", None),
    ("10", "被吊销", None),
    ("11", "被撤销", None),
    ("12", "迁出", None),
]
# Domain notes §2.2, "Recommended canonical set": the labels in current wording.
CANONICAL_LABELS = [
    "未发现问题",
    "未按规定公示应当公示的信息",
    "公示信息隐瞒真实情况弄虚作假",
    "通过登记的住所（经营场所）无法联系",
    "发现问题已责令改正",
    "发现问题待后续处理",
    "不配合检查情节严重",
    "未发现开展本次抽查涉及的经营活动",
    "已关闭停业或正在组织清算",
    "已注销",
    "已吊销营业执照",
    "已撤销",
    "已迁出",
]
# Domain notes §2.3: the follow-up measures.
MEASURES = [
    "未发现问题或相关问题已规范、已改正，无需后续处置",
    "停止检查，反馈至日常监管部门依法依规处理",
    "违反本部门相关规定，责令改正；后续跟踪由日常监管部门负责",
    "发现案件线索，初步固定相关证据后移送办案机构依法依规处理",
    "违反其他部门相关规定，抄告相关部门",
    "其他",
]


def test_tables_hold_the_domain_lists() -> None:
    book = load_code_book()
    v1, v2 = book.table(1), book.table(2)
    assert [(c.code, c.label, c.parent) for c in v1.results] == ZHEJIANG_RESULTS
    assert [c.label for c in v2.results] == CANONICAL_LABELS
    assert [c.code for c in v2.results if c.code in {c.code for c in v1.results}] == [
        c.code for c in v2.results
    ]
    for table in (v1, v2):
        assert [m.label for m in table.measures] == MEASURES
        assert [c.code for c in table.results if c.exclusive] == ["1"]
        assert [m.code for m in table.measures if m.exclusive] == ["M1"]
        assert [m.code for m in table.measures if m.text] == ["M6"]
    assert [r.code for r in book.withdrawal_reasons] == [
        "annulled",
        "not-public",
        "wrong-object",
        "duplicate",
    ]


def test_the_shipped_file_round_trips() -> None:
    assert format_code_book(parse_code_book(DATA)) == DATA


def test_module_doctests() -> None:
    result = doctest.testmod(result_codes)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome(2, ("1",), ("M1",), None),
        Outcome(2, ("B", "C", "6", "A"), ("M3", "M4", "M5"), None),
        Outcome(2, ("9",), (), None),
        Outcome(2, ("E",), ("M6",), "已约谈法定代表人"),
        Outcome(1, ("A", "2", "B"), ("M2",), None),
        Outcome(1, ("G",), ("M5", "M6"), "移交公安机关"),
    ],
)
def test_valid_outcomes(outcome: Outcome) -> None:
    check_outcome(load_code_book(), outcome)


REJECTED = {
    "unknown-table": (Outcome(3, ("1",), (), None), "code_table", "unknown code table 3; known: 1, 2"),
    "no-results": (Outcome(2, (), (), None), "results", "at least one result code is required"),
    "unknown-code": (
        Outcome(2, ("B", "Z"), (), None),
        "results[1]",
        "result code 'Z' is not in code table 2",
    ),
    "code-of-another-version": (
        Outcome(2, ("2",), (), None),
        "results[0]",
        "result code '2' is not in code table 2 (it is in code table 1)",
    ),
    "exclusive-with-another": (
        Outcome(2, ("B", "1"), (), None),
        "results",
        "result code 1 (未发现问题) cannot be combined with other codes",
    ),
    "repeated-code": (Outcome(2, ("B", "C", "B"), (), None), "results[2]", "repeats result code B"),
    "unknown-measure": (
        Outcome(2, ("B",), ("M7",), None),
        "measures[0]",
        "measure code 'M7' is not in code table 2",
    ),
    "result-code-as-measure": (Outcome(2, ("B",), ("B",), None), "measures[0]", "measure code 'B' is not"),
    "exclusive-measure-with-another": (
        Outcome(2, ("1",), ("M2", "M1"), None),
        "measures",
        "measure code M1 (未发现问题或相关问题已规范、已改正，无需后续处置) cannot be combined",
    ),
    "other-without-text": (
        Outcome(2, ("E",), ("M6",), None),
        "other_measure",
        "the measure 其他 needs its text in other_measure",
    ),
    "other-blank": (
        Outcome(2, ("E",), ("M6",), "  "),
        "other_measure",
        "the measure 其他 needs its text in other_measure",
    ),
    "text-without-other": (
        Outcome(2, ("E",), ("M3",), "x"),
        "other_measure",
        "is given only with the measure 其他",
    ),
    "text-too-long": (
        Outcome(2, ("E",), ("M6",), "长" * 501),
        "other_measure",
        "is 501 characters, at most 500",
    ),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_outcomes(name: str) -> None:
    outcome, field, message = REJECTED[name]
    with pytest.raises(CodeError) as info:
        check_outcome(load_code_book(), outcome)
    assert info.value.field == field
    assert info.value.message.startswith(message), info.value.message
    assert str(info.value) == f"{field}: {info.value.message}"


def test_withdrawal_reasons() -> None:
    book = load_code_book()
    assert book.reason("annulled").label == "检查结果已被依法撤销或者变更"
    with pytest.raises(
        CodeError, match="reason: unknown withdrawal reason 'typo'; known: annulled, not-public"
    ):
        book.reason("typo")


# -- strict parsing -------------------------------------------------------------------------------


def _layout(doc: dict[str, Any]) -> bytes:
    """Lay out ``doc`` as the shipped file is laid out, so that only a mutation is wrong."""
    one = lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": "))  # noqa: E731

    def rows(items: list[Any], indent: str) -> list[str]:
        return [indent + one(i) + ("," if k + 1 < len(items) else "") for k, i in enumerate(items)]

    lines = ["{", f'  "format": {one(doc["format"])},', '  "tables": [']
    for k, t in enumerate(doc["tables"]):
        lines += ["    {", f'      "version": {one(t["version"])},', f'      "title": {one(t["title"])},']
        lines += [f'      "source": {one(t["source"])},', '      "results": [', *rows(t["results"], " " * 8)]
        lines += ["      ],", '      "measures": [', *rows(t["measures"], " " * 8), "      ]"]
        lines.append("    }" + ("," if k + 1 < len(doc["tables"]) else ""))
    lines += ["  ],", '  "withdrawal_reasons": [', *rows(doc["withdrawal_reasons"], "    "), "  ]", "}", ""]
    return "\n".join(lines).encode("utf-8")


def _mutated(change: Any) -> bytes:
    doc = json.loads(DATA)
    change(doc)
    return _layout(doc)


def test_the_layout_helper_reproduces_the_file() -> None:
    assert _mutated(lambda doc: None) == DATA


def _code(table: int, k: int, **values: Any) -> Any:
    return lambda doc: doc["tables"][table]["results"][k].update(values)


NEGATIVE = {
    "parent-not-earlier": (_code(0, 2, parent="B"), "code 2's parent 'B' is not an earlier code"),
    "repeated-code": (_code(1, 2, code="B"), "code 'B' is malformed or repeated"),
    "lowercase-code": (_code(1, 2, code="b"), "code 'b' is malformed or repeated"),
    "empty-label": (_code(1, 2, label=" "), "code C needs a label"),
    "exclusive-not-boolean": (_code(1, 0, exclusive=1), "exclusive and text must be true or false"),
    "exclusive-false-written-out": (_code(1, 1, exclusive=False), "not in the canonical layout"),
    "unknown-member": (_code(1, 1, note="x"), r"has members \['code', 'label', 'note'\]"),
    "blank-group": (_code(1, 9, group=""), "group must be non-empty text"),
    "version-gap": (lambda doc: doc["tables"][1].update(version=3), "versions must be 1, 2, 3"),
    "versions-reversed": (lambda doc: doc["tables"].reverse(), "versions must be 1, 2, 3"),
    "no-results": (lambda doc: doc["tables"][1].update(results=[]), "table 2 has no result codes"),
    "no-title": (lambda doc: doc["tables"][1].update(title=""), "table 2 needs a title"),
    "version-as-string": (lambda doc: doc["tables"][0].update(version="1"), "version '1' must be an integer"),
    "malformed-reason": (
        lambda doc: doc["withdrawal_reasons"][0].update(code="Annulled"),
        "code 'Annulled' is malformed",
    ),
    "wrong-format": (lambda doc: doc.update(format="x"), "format 'x', want 'fairdraw-result-codes/v1'"),
}


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_data(name: str) -> None:
    change, message = NEGATIVE[name]
    with pytest.raises(ValueError, match=message):
        parse_code_book(_mutated(change))


def test_syntax_is_strict() -> None:
    with pytest.raises(ValueError, match="not in the canonical layout"):
        parse_code_book(DATA.replace(b'"version": 1,', b'"version":1,'))
    with pytest.raises(ValueError, match="not strict JSON"):
        parse_code_book(DATA.replace(b'"version": 1,', b'"version": 1, "version": 1,'))
    with pytest.raises(ValueError, match="not strict JSON"):
        parse_code_book(DATA.replace(b'"version": 1,', b'"version": 1.0,'))
