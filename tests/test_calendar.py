"""The working-day calendar against the State Council's notices, and the 20-working-day deadline.

The notices' items (tests/vectors/calendar/notices.json) are parsed here, independently of
draw/service/calendar.py, into a reference calendar; the shipped data and the module's arithmetic
are compared with it day by day.
"""

from __future__ import annotations

import datetime
import doctest
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from draw.service import calendar as cal_module
from draw.service.calendar import (
    DISCLOSURE_WORKING_DAYS,
    MissingYearError,
    WorkdayCalendar,
    beijing_date,
    deadline,
    format_calendar,
    is_overdue,
    load_calendar,
    parse_calendar,
)

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests/vectors/calendar/notices.json").read_text(encoding="utf-8"))
DATA = (ROOT / "draw/service/workdays-cn.json").read_bytes()
D = datetime.date
FIRST, LAST = D(2024, 1, 1), D(2026, 12, 31)

# -- an independent reading of the notices --------------------------------------------------------

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6}
_HALF = str.maketrans("（）：，", "():,")
_DAY = r"(?:(\d+)月)?(\d+)日(?:\(([^)]*)\))?"


def _date(year: int, month: str | None, day: str, default_month: int, note: str | None) -> D:
    value = D(year, int(month) if month else default_month, int(day))
    for name in re.findall(r"(?:周|星期)([一二三四五六日])", note or ""):
        assert value.weekday() == _WEEKDAYS[name], (value, note)  # the weekday the notice states
    return value


def _parse_item(year: int, item: str) -> tuple[str, list[D], list[D]]:
    """Return (name, holiday dates, make-up working days) of one numbered item of a notice."""
    head, _, text = item.translate(_HALF).partition(":")
    name = head.split("、", 1)[1]
    holidays: list[D] = []
    workdays: list[D] = []
    for sentence in text.split("。"):
        if "放假" in sentence:
            m = re.match(_DAY + r"(?:至" + _DAY + r")?放假", sentence)
            assert m, sentence
            first = _date(year, m[1], m[2], 0, m[3]) if m[1] else None
            assert first is not None
            last = _date(year, m[4], m[5], first.month, m[6]) if m[5] else first
            holidays += [first + datetime.timedelta(days=k) for k in range((last - first).days + 1)]
            total = re.search(r"共(\d+)天|放假(\d+)天", sentence)
            assert total is None or int(total[1] or total[2]) == len(holidays), sentence
        elif sentence.endswith("上班"):
            workdays += [_date(year, m[0], m[1], 0, m[2]) for m in re.findall(_DAY, sentence)]
    return name, holidays, workdays


def _reference() -> tuple[set[D], set[D]]:
    holidays: set[D] = set()
    workdays: set[D] = set()
    for notice in VECTORS["notices"]:
        for item in notice["items"]:
            _, h, w = _parse_item(notice["year"], item)
            holidays.update(h)
            workdays.update(w)
    return holidays, workdays


REF_HOLIDAYS, REF_WORKDAYS = _reference()


def ref_is_working_day(day: D) -> bool:
    return day in REF_WORKDAYS or (day.weekday() < 5 and day not in REF_HOLIDAYS)


def ref_deadline(end: D) -> D:
    day, count = end, 0
    while count < 20:
        day += datetime.timedelta(days=1)
        count += ref_is_working_day(day)
    return day


def _days(first: D, last: D) -> list[D]:
    return [first + datetime.timedelta(days=k) for k in range((last - first).days + 1)]


# -- the data against the notices -----------------------------------------------------------------


def test_data_matches_every_notice_item() -> None:
    calendar = load_calendar()
    assert [y.year for y in calendar.years] == [n["year"] for n in VECTORS["notices"]] == [2024, 2025, 2026]
    for data, notice in zip(calendar.years, VECTORS["notices"], strict=True):
        assert data.notice.title == notice["title"]
        assert data.notice.document == notice["document"]
        assert data.notice.issued.isoformat() == notice["issued"]
        assert notice["copy"] in data.notice.copies
        assert data.notice.url.startswith("https://www.gov.cn/zhengce/")
        parsed = [_parse_item(notice["year"], item) for item in notice["items"]]
        assert [(h.name, h.days()) for h in data.holidays] == [(name, days) for name, days, _ in parsed]
        assert list(data.workdays) == sorted(w for _, _, ws in parsed for w in ws)


def test_every_day_of_the_covered_years_matches_the_reference() -> None:
    calendar = load_calendar()
    for day in _days(FIRST, LAST):
        assert calendar.is_working_day(day) == ref_is_working_day(day), day


def test_every_deadline_matches_the_reference() -> None:
    calendar = load_calendar()
    for end in _days(D(2023, 12, 31), D(2026, 11, 30)):
        assert deadline(calendar, end) == ref_deadline(end), end


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        (D(2026, 2, 14), True, "调休 Saturday before the Spring Festival (2026 notice, item 二)"),
        (D(2026, 2, 28), True, "调休 Saturday after the Spring Festival"),
        (D(2026, 1, 4), True, "调休 Sunday after New Year"),
        (D(2026, 2, 16), False, "Monday inside the Spring Festival"),
        (D(2026, 2, 23), False, "正月初七, a Monday, last day of the Spring Festival"),
        (D(2026, 10, 7), False, "Wednesday of the National Day holiday"),
        (D(2025, 1, 28), False, "除夕 2025, a Tuesday"),
        (D(2025, 10, 8), False, "2025 National Day and Mid-Autumn, eighth day"),
        (D(2025, 9, 28), True, "调休 Sunday before National Day 2025"),
        (D(2024, 2, 9), True, "除夕 2024 is a Friday the 2024 notice only encourages leave on"),
        (D(2024, 6, 10), False, "端午节 2024, a Monday"),
        (D(2024, 5, 11), True, "调休 Saturday after Labour Day 2024"),
        (D(2026, 3, 7), False, "an ordinary Saturday"),
        (D(2026, 3, 9), True, "an ordinary Monday"),
    ],
)
def test_named_days(day: D, working: bool, why: str) -> None:
    assert load_calendar().is_working_day(day) is working, why


@pytest.mark.parametrize(
    ("end", "want"),
    [
        # 2026-02-10 (Tue): 11, 12, 13, 14 (调休 Sat) = 4; 15-23 holiday; 24-27 = 8; 28 (调休 Sat) = 9;
        # Mar 2-6 = 14; 9-13 = 19; 16 = 20.
        (D(2026, 2, 10), D(2026, 3, 16)),
        # 2025-01-24 (Fri): 26 (调休 Sun) = 1; 27 = 2; Jan 28 - Feb 4 holiday; Feb 5-7 = 5; 8 (调休 Sat) = 6;
        # 10-14 = 11; 17-21 = 16; 24-27 = 20.
        (D(2025, 1, 24), D(2025, 2, 27)),
        # 2026-02-13 (Fri): 14 (调休 Sat) = 1; 24-27 = 5; 28 = 6; Mar 2-6 = 11; 9-13 = 16; 16-19 = 20.
        (D(2026, 2, 13), D(2026, 3, 19)),
        # 2026-02-14 is itself the 调休 Saturday, not counted (民法典 Art. 201): 24-27 = 4; 28 = 5;
        # Mar 2-6 = 10; 9-13 = 15; 16-20 = 20.
        (D(2026, 2, 14), D(2026, 3, 20)),
    ],
)
def test_deadlines_across_the_spring_festival(end: D, want: D) -> None:
    calendar = load_calendar()
    assert deadline(calendar, end) == want
    assert calendar.count_working_days(end, want) == DISCLOSURE_WORKING_DAYS
    assert not is_overdue(calendar, end, want) and is_overdue(
        calendar, end, want + datetime.timedelta(days=1)
    )


def test_a_year_without_data_raises_instead_of_assuming() -> None:
    calendar = load_calendar()
    with pytest.raises(
        MissingYearError, match=r"no working-day data for 2027; add the State Council"
    ) as info:
        deadline(calendar, D(2026, 12, 20))
    assert info.value.year == 2027
    with pytest.raises(MissingYearError, match="no working-day data for 2023") as before:
        deadline(calendar, D(2023, 12, 28))
    assert before.value.year == 2023
    with pytest.raises(MissingYearError):
        calendar.is_working_day(D(2027, 1, 4))
    with pytest.raises(MissingYearError) as far:
        deadline(calendar, D.max)
    assert far.value.year == 10000


def test_overdue_reads_only_the_days_it_needs() -> None:
    calendar = load_calendar()
    # The deadline of 2026-12-20 lies in 2027, but on 2026-12-31 it is surely not yet past.
    assert is_overdue(calendar, D(2026, 12, 20), D(2026, 12, 31)) is False
    # 2026-12-01: its 20th working day is 2026-12-29, so on 2027-01-05 it is past, known from 2026 alone.
    assert is_overdue(calendar, D(2026, 12, 1), D(2027, 1, 5)) is True
    with pytest.raises(MissingYearError):
        is_overdue(calendar, D(2026, 12, 20), D(2027, 1, 30))


def test_count_and_add_reject_nonsense() -> None:
    calendar = load_calendar()
    with pytest.raises(ValueError, match="working-day count 0 must be at least 1"):
        calendar.add_working_days(D(2026, 1, 5), 0)
    assert calendar.count_working_days(D(2026, 3, 1), D(2026, 2, 1)) == 0


@given(
    st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 10, 31)),
    st.integers(min_value=1, max_value=40),
)
def test_add_and_count_are_inverses(start: D, count: int) -> None:
    calendar = load_calendar()
    try:
        end = calendar.add_working_days(start, count)
    except MissingYearError:
        return
    assert calendar.count_working_days(start, end) == count
    assert calendar.is_working_day(end)
    assert calendar.count_working_days(start, end - datetime.timedelta(days=1)) == count - 1


def test_beijing_date() -> None:
    cst = datetime.timezone(datetime.timedelta(hours=8))
    for ms in (0, 16 * 3_600_000 - 1, 16 * 3_600_000, 1_764_283_755_123, 1_771_171_200_000 - 1):
        want = datetime.datetime.fromtimestamp(ms // 1000, tz=cst).date()
        assert beijing_date(ms) == want, ms
    assert beijing_date(16 * 3_600_000 - 1) == D(1970, 1, 1) and beijing_date(16 * 3_600_000) == D(1970, 1, 2)


def test_module_doctests() -> None:
    result = doctest.testmod(cal_module)
    assert result.attempted >= 3 and result.failed == 0


# -- the data file: strict parsing and the round trip ---------------------------------------------


def test_the_shipped_file_round_trips() -> None:
    assert format_calendar(parse_calendar(DATA)) == DATA


def _mutate(change: Any) -> bytes:
    doc = json.loads(DATA)
    change(doc)
    return format_calendar_like(doc)


def format_calendar_like(doc: dict[str, Any]) -> bytes:
    """Lay out ``doc`` the way the shipped file is laid out (so only the mutation is wrong)."""
    lines = ["{", f'  "format": {json.dumps(doc["format"])},', '  "years": [']
    for k, y in enumerate(doc["years"]):
        one = lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": "))  # noqa: E731
        holidays = [f"        {one(h)}" for h in y["holidays"]]
        lines += ["    {", f'      "year": {one(y["year"])},', f'      "notice": {one(y["notice"])},']
        lines += [
            '      "holidays": [',
            ",\n".join(holidays),
            "      ],",
            f'      "workdays": {one(y["workdays"])}',
        ]
        lines.append("    }" + ("," if k + 1 < len(doc["years"]) else ""))
    return ("\n".join([*lines, "  ]", "}", ""])).encode("utf-8")


def test_the_mutation_helper_reproduces_the_file() -> None:
    assert _mutate(lambda doc: None) == DATA


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(doc: Any) -> None:
        for step in path[:-1]:
            doc = doc[step]
        doc[path[-1]] = value

    return change


NEGATIVE = {
    "workday-on-a-weekday": (_set(("years", 2, "workdays", 0), "2026-01-05"), "2026-01-05 is not a Saturday"),
    "workday-inside-a-holiday": (
        _set(("years", 2, "workdays", 1), "2026-02-15"),
        "2026-02-15 is named twice",
    ),
    "overlapping-holidays": (
        _set(("years", 2, "holidays", 1, "first"), "2026-01-03"),
        "2026-01-03 is named twice",
    ),
    "holiday-outside-its-reach": (
        _set(("years", 2, "holidays", 0, "first"), "2025-11-30"),
        "2025-11-30 is outside the reach of the 2026 notice",
    ),
    "holiday-ends-before-it-begins": (
        _set(("years", 1, "holidays", 1, "last"), "2025-01-27"),
        r"ends \(2025-01-27\) before it begins",
    ),
    "no-such-date": (_set(("years", 0, "workdays", 0), "2024-02-30"), "'2024-02-30' is not a date"),
    "date-not-iso": (_set(("years", 0, "workdays", 0), "2024-2-4"), "is not a YYYY-MM-DD date"),
    "issued-in-its-own-year": (
        _set(("years", 2, "notice", "issued"), "2026-01-02"),
        "must be issued before 2026 begins",
    ),
    "document-number-malformed": (
        _set(("years", 2, "notice", "document"), "国办发明电[2025]7号"),
        "document number .* is malformed",
    ),
    "title-of-another-year": (
        _set(("years", 2, "notice", "title"), "国务院办公厅关于2025年部分节假日安排的通知"),
        "is not the notice for 2026",
    ),
    "url-not-http": (_set(("years", 0, "notice", "url"), "ftp://www.gov.cn/x"), "must be http"),
    "years-out-of-order": (lambda doc: doc["years"].reverse(), "years must be strictly increasing"),
    "workdays-unsorted": (lambda doc: doc["years"][2]["workdays"].reverse(), "workdays must be strictly"),
    "wrong-format": (_set(("format",), "fairdraw-workdays/v2"), "format 'fairdraw-workdays/v2'"),
    "year-as-string": (_set(("years", 0, "year"), "2024"), "year '2024' is not a year"),
}


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_data(name: str) -> None:
    change, message = NEGATIVE[name]
    with pytest.raises(ValueError, match=message):
        parse_calendar(_mutate(change))


def test_members_are_exact() -> None:
    extra = DATA.replace(b'"year": 2024,', b'"year": 2024, "note": "x",')
    with pytest.raises(
        ValueError, match=r"years\[\] has members \['holidays', 'note', 'notice', 'workdays', 'year'\]"
    ):
        parse_calendar(extra)
    lines = DATA.decode().splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if line.startswith('      "workdays"'))
    missing = "".join([*lines[: k - 1], "      ]\n", *lines[k + 1 :]]).encode()
    with pytest.raises(ValueError, match=r"has members \['holidays', 'notice', 'year'\]"):
        parse_calendar(missing)


def test_layout_and_syntax_are_strict() -> None:
    with pytest.raises(ValueError, match="not in the canonical layout"):
        parse_calendar(DATA.replace(b'"year": 2024,', b'"year":  2024,'))
    with pytest.raises(ValueError, match="not in the canonical layout"):
        parse_calendar(DATA + b"\n")
    with pytest.raises(ValueError, match="not strict JSON"):
        parse_calendar(DATA.replace(b'"format": "fairdraw-workdays/v1",', b'"format": 1, "format": 2,'))
    with pytest.raises(ValueError, match="exceeds"):
        parse_calendar(b" " * (2 << 20))


def test_an_empty_calendar_knows_no_day() -> None:
    empty = WorkdayCalendar([])
    assert empty.first_day() is None and load_calendar().first_day() == D(2024, 1, 1)
    with pytest.raises(MissingYearError):
        empty.is_working_day(D(2026, 1, 5))
