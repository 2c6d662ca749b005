"""The Chinese working-day calendar, kept as data, and the 20-working-day disclosure deadline.

Which days are working days (工作日) is fixed each year by the State Council General Office's notice
国务院办公厅关于<year>年部分节假日安排的通知: it names the holiday periods (放假, 放假调休) and the
weekend days that are worked instead (调休上班). A day is a **working day** if it is a make-up working
day of a notice, or a Monday to Friday that no notice makes a holiday. Nothing is derived from a rule
or a lunar calendar: a year is known only once its notice is in ``draw/service/workdays-cn.json``,
and asking about a year that is not raises :class:`MissingYearError`. A notice may also name days in
December of the year before; they apply wherever they fall.

**Deadline rule** (docs/disclosures.md). Results are published "抽查检查结束之日起20个工作日之内".
As 民法典 Art. 201 counts a period in days, the day the inspection ended is not counted: the deadline
is the 20th working day after it, and a disclosure is on time if it is recorded (in Beijing time) on
or before that day. Because every counted day is a working day, the last day is never a holiday
(Art. 203 needs no extension). ``add_working_days`` and ``count_working_days`` are inverses::

    count_working_days(start, add_working_days(start, n)) == n

The data format (``fairdraw-workdays/v1``), one notice per year, dates as ISO 8601::

    {"format": "fairdraw-workdays/v1", "years": [{"year": 2026,
      "notice": {"title": ..., "document": "国办发明电〔2025〕7号", "issued": "2025-11-04",
                 "url": "https://www.gov.cn/...", "copies": [...]},
      "holidays": [{"name": "春节", "first": "2026-02-15", "last": "2026-02-23"}, ...],
      "workdays": ["2026-01-04", "2026-02-14", ...]}]}

The file is exactly what :func:`format_calendar` writes; :func:`parse_calendar` checks the round trip.
``GET /api/v1/calendar`` serves it and ``GET /api/v1/calendar/deadline?inspection_end=`` the deadline.

>>> cal = load_calendar()
>>> cal.is_working_day(datetime.date(2026, 2, 14)), cal.is_working_day(datetime.date(2026, 2, 16))
(True, False)
>>> deadline(cal, datetime.date(2026, 2, 10))
datetime.date(2026, 3, 16)
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pydantic
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw.service.http import ProblemError
from draw.service.routing import Operation, Parameter, api_get
from ledger import jcs

FORMAT = "fairdraw-workdays/v1"
DATA_FILE = "workdays-cn.json"
DISCLOSURE_WORKING_DAYS = 20
BEIJING_OFFSET_MS = 8 * 3600 * 1000  # China Standard Time, UTC+8, no daylight saving time since 1991
MAX_DATA_BYTES = 1 << 20
_DAY_MS = 86_400_000
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DOCUMENT = re.compile(r"国办发明电〔[0-9]{4}〕[1-9][0-9]*号")
_URL = re.compile(r"https?://[\x21-\x7e]{1,500}")


class MissingYearError(LookupError):
    """The calendar has no notice for ``year``, so it cannot tell working days in it."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"calendar: no working-day data for {year}; add the State Council General Office's "
            f"notice on the {year} holidays to {DATA_FILE}"
        )
        self.year = year


@dataclass(frozen=True)
class Notice:
    """The State Council notice a year's data comes from: its title, document number (e.g.
    ``国办发明电〔2025〕7号``), date of issue, official URL and the copies its text was read from."""

    title: str
    document: str
    issued: datetime.date
    url: str
    copies: tuple[str, ...]


@dataclass(frozen=True)
class Holiday:
    """One holiday period of a notice, ``first`` to ``last`` inclusive."""

    name: str
    first: datetime.date
    last: datetime.date

    def days(self) -> list[datetime.date]:
        """Return every date of the period, in order."""
        count = (self.last - self.first).days + 1
        return [self.first + datetime.timedelta(days=k) for k in range(count)]


@dataclass(frozen=True)
class YearData:
    """One year's arrangement: its notice, holiday periods and make-up working days (weekend days)."""

    year: int
    notice: Notice
    holidays: tuple[Holiday, ...]
    workdays: tuple[datetime.date, ...]


class WorkdayCalendar:
    """Working days of the years whose notices are in ``years``.

    Raises ValueError if the years are not strictly increasing, a date lies outside its notice's
    reach (its year, or December of the year before), a make-up working day is not a Saturday or
    Sunday, or a date is named twice (two holiday periods, or a holiday and a make-up day).
    """

    def __init__(self, years: Sequence[YearData]) -> None:
        numbers = [y.year for y in years]
        if numbers != sorted(set(numbers)):
            raise ValueError("calendar: years must be strictly increasing")
        self.years = tuple(years)
        self._known = frozenset(numbers)
        self._holidays: set[datetime.date] = set()
        self._workdays: set[datetime.date] = set()
        for data in self.years:
            self._add(data)

    def _add(self, data: YearData) -> None:
        earliest = datetime.date(data.year - 1, 12, 1)
        for day in [d for h in data.holidays for d in h.days()] + list(data.workdays):
            if not earliest <= day <= datetime.date(data.year, 12, 31):
                raise ValueError(f"calendar: {day} is outside the reach of the {data.year} notice")
            if day in self._holidays or day in self._workdays:
                raise ValueError(f"calendar: {day} is named twice")
            if day in data.workdays:
                if day.weekday() < 5:
                    raise ValueError(f"calendar: make-up working day {day} is not a Saturday or Sunday")
                self._workdays.add(day)
            else:
                self._holidays.add(day)

    def first_day(self) -> datetime.date | None:
        """Return 1 January of the first year with data, or None for an empty calendar."""
        return datetime.date(self.years[0].year, 1, 1) if self.years else None

    def is_working_day(self, day: datetime.date) -> bool:
        """Return whether ``day`` is a working day. O(1). Raises MissingYearError for a year without data."""
        if day.year not in self._known:
            raise MissingYearError(day.year)
        if day in self._workdays:
            return True
        return day.weekday() < 5 and day not in self._holidays

    def count_working_days(self, start: datetime.date, end: datetime.date) -> int:
        """Return the number of working days d with ``start`` < d <= ``end`` (0 if end <= start).

        The inverse of :meth:`add_working_days`. Reads (end - start) days. Raises MissingYearError if
        one of them is in a year without data.
        """
        count = 0
        day = start
        while day < end:
            day = _next_day(day)
            count += self.is_working_day(day)
        return count

    def add_working_days(self, start: datetime.date, count: int) -> datetime.date:
        """Return the ``count``-th working day after ``start`` (``start`` itself is not counted).

        Requires count >= 1. Reads about count·7/5 days plus holidays. Raises ValueError for a count
        below 1, MissingYearError when the walk reaches a year without data.
        """
        if count < 1:
            raise ValueError(f"calendar: working-day count {count} must be at least 1")
        day = start
        while count:
            day = _next_day(day)
            count -= self.is_working_day(day)
        return day


def _next_day(day: datetime.date) -> datetime.date:
    if day == datetime.date.max:
        raise MissingYearError(day.year + 1)
    return day + datetime.timedelta(days=1)


def deadline(calendar: WorkdayCalendar, inspection_end: datetime.date) -> datetime.date:
    """Return the last day to disclose the result of an inspection that ended on ``inspection_end``:
    the 20th working day after it. Raises MissingYearError if the count reaches a year without data."""
    return calendar.add_working_days(inspection_end, DISCLOSURE_WORKING_DAYS)


def is_overdue(calendar: WorkdayCalendar, inspection_end: datetime.date, day: datetime.date) -> bool:
    """Return whether ``day`` is after the deadline of ``inspection_end`` (``deadline(...) < day``).

    Reads the days after ``inspection_end`` up to the deadline or the day before ``day``, whichever
    comes first, so it answers even when the deadline lies in a year without data. Raises
    MissingYearError if one of those days is in a year without data.
    """
    count, current = 0, inspection_end
    while count < DISCLOSURE_WORKING_DAYS:
        current = _next_day(current)
        if current >= day:
            return False
        count += calendar.is_working_day(current)
    return True


def beijing_date(epoch_ms: int) -> datetime.date:
    """Return the calendar date in Beijing (UTC+8) at ``epoch_ms`` milliseconds since the Unix epoch."""
    return datetime.date.fromordinal(_EPOCH_ORDINAL + (epoch_ms + BEIJING_OFFSET_MS) // _DAY_MS)


# -- the data file --------------------------------------------------------------------------------


def parse_calendar(data: bytes) -> WorkdayCalendar:
    """Parse a ``fairdraw-workdays/v1`` file (at most 1 MiB).

    Strict: the exact members, ISO dates that exist, document numbers of the form
    ``国办发明电〔YYYY〕N号``, each notice issued before its year begins, a holiday's ``first`` <=
    ``last``; and the bytes must be exactly what :func:`format_calendar` writes. Raises ValueError.
    """
    if len(data) > MAX_DATA_BYTES:
        raise ValueError(f"calendar: data of {len(data)} bytes exceeds {MAX_DATA_BYTES}")
    try:
        doc = jcs.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"calendar: not strict JSON ({exc})") from None
    _members(doc, "calendar", {"format", "years"})
    if doc["format"] != FORMAT:
        raise ValueError(f"calendar: format {doc['format']!r}, want {FORMAT!r}")
    calendar = WorkdayCalendar([_year(item) for item in _list(doc["years"], "years")])
    if format_calendar(calendar) != data:
        raise ValueError("calendar: data is not in the canonical layout (format_calendar)")
    return calendar


def format_calendar(calendar: WorkdayCalendar) -> bytes:
    """Return the data file of ``calendar``: UTF-8 JSON, one holiday per line. The inverse of
    :func:`parse_calendar`."""
    lines = ["{", f'  "format": {_one(FORMAT)},', '  "years": [']
    for k, data in enumerate(calendar.years):
        lines += [
            "    {",
            f'      "year": {data.year},',
            f'      "notice": {_one(notice_json(data.notice))},',
            '      "holidays": [',
            *_rows([holiday_json(h) for h in data.holidays], "        "),
            "      ],",
            f'      "workdays": {_one([d.isoformat() for d in data.workdays])}',
            "    }" + ("," if k + 1 < len(calendar.years) else ""),
        ]
    lines += ["  ]", "}", ""]
    return "\n".join(lines).encode("utf-8")


def notice_json(notice: Notice) -> dict[str, Any]:
    """Return the JSON object of ``notice`` (members in the file's order)."""
    return {
        "title": notice.title,
        "document": notice.document,
        "issued": notice.issued.isoformat(),
        "url": notice.url,
        "copies": list(notice.copies),
    }


def holiday_json(holiday: Holiday) -> dict[str, str]:
    """Return the JSON object of ``holiday`` (members in the file's order)."""
    return {"name": holiday.name, "first": holiday.first.isoformat(), "last": holiday.last.isoformat()}


def calendar_json(calendar: WorkdayCalendar) -> list[dict[str, Any]]:
    """Return the years of ``calendar`` as JSON objects, as the data file holds them."""
    return [
        {
            "year": y.year,
            "notice": notice_json(y.notice),
            "holidays": [holiday_json(h) for h in y.holidays],
            "workdays": [d.isoformat() for d in y.workdays],
        }
        for y in calendar.years
    ]


def _one(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _rows(values: Iterable[Any], indent: str) -> list[str]:
    items = [indent + _one(v) for v in values]
    return [line + ("," if k + 1 < len(items) else "") for k, line in enumerate(items)]


def _year(item: Any) -> YearData:
    _members(item, "years[]", {"year", "notice", "holidays", "workdays"})
    year = item["year"]
    if type(year) is not int or not 1949 <= year <= 9999:
        raise ValueError(f"calendar: year {year!r} is not a year")
    notice = _notice(item["notice"], year)
    holidays = tuple(_holiday(h, year) for h in _list(item["holidays"], f"{year} holidays"))
    workdays = tuple(_date(d, f"{year} workdays") for d in _list(item["workdays"], f"{year} workdays"))
    if list(workdays) != sorted(set(workdays)):
        raise ValueError(f"calendar: {year} workdays must be strictly increasing")
    return YearData(year, notice, holidays, workdays)


def _notice(item: Any, year: int) -> Notice:
    _members(item, f"{year} notice", {"title", "document", "issued", "url", "copies"})
    title, document, url = item["title"], item["document"], item["url"]
    if title != f"国务院办公厅关于{year}年部分节假日安排的通知":
        raise ValueError(f"calendar: {year} notice title {title!r} is not the notice for {year}")
    if not isinstance(document, str) or not _DOCUMENT.fullmatch(document):
        raise ValueError(f"calendar: {year} notice document number {document!r} is malformed")
    issued = _date(item["issued"], f"{year} notice issued")
    if issued.year >= year:
        raise ValueError(f"calendar: the {year} notice must be issued before {year} begins")
    copies = _list(item["copies"], f"{year} notice copies")
    if not all(isinstance(u, str) and _URL.fullmatch(u) for u in [url, *copies]):
        raise ValueError(f"calendar: {year} notice URLs must be http(s) URLs of printable ASCII")
    return Notice(title, document, issued, url, tuple(copies))


def _holiday(item: Any, year: int) -> Holiday:
    _members(item, f"{year} holidays[]", {"name", "first", "last"})
    name = item["name"]
    if not isinstance(name, str) or not 1 <= len(name) <= 20:
        raise ValueError(f"calendar: {year} holiday name {name!r} must be 1 to 20 characters")
    first, last = _date(item["first"], f"{year} {name}"), _date(item["last"], f"{year} {name}")
    if last < first:
        raise ValueError(f"calendar: {year} {name} ends ({last}) before it begins ({first})")
    return Holiday(name, first, last)


def _date(value: Any, where: str) -> datetime.date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(f"calendar: {where}: {value!r} is not a YYYY-MM-DD date")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"calendar: {where}: {value!r} is not a date") from None


def _members(value: Any, where: str, want: set[str]) -> None:
    if not isinstance(value, dict) or set(value) != want:
        got = sorted(value) if isinstance(value, Mapping) else type(value).__name__
        raise ValueError(f"calendar: {where} has members {got}, want {sorted(want)}")


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"calendar: {where} must be a list")
    return value


@functools.cache
def _packaged() -> tuple[WorkdayCalendar, str]:
    data = resources.files("draw.service").joinpath(DATA_FILE).read_bytes()
    return parse_calendar(data), "sha256:" + hashlib.sha256(data).hexdigest()


def load_calendar() -> WorkdayCalendar:
    """Return the calendar shipped in ``draw/service/workdays-cn.json`` (parsed once)."""
    return _packaged()[0]


def calendar_digest() -> str:
    """Return ``sha256:<hex>`` of the shipped data file, so a reader can pin the data it used."""
    return _packaged()[1]


# -- the public endpoints (GET /api/v1/calendar, GET /api/v1/calendar/deadline) -------------------


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="forbid", frozen=True)


class NoticeOut(_Model):
    """The State Council notice a year's data comes from."""

    title: str
    document: str
    issued: str
    url: str
    copies: list[str]


class HolidayOut(_Model):
    """A holiday period, first to last day inclusive."""

    name: str
    first: str
    last: str


class YearOut(_Model):
    """One year of the calendar."""

    year: int
    notice: NoticeOut
    holidays: list[HolidayOut]
    workdays: list[str] = pydantic.Field(description="weekend days that are working days (调休)")


class CalendarOut(_Model):
    """The working-day calendar (the shipped data file) and the disclosure period."""

    format: str
    sha256: str = pydantic.Field(description="sha256:<hex> of the data file")
    working_days: int = pydantic.Field(description="a result is due this many working days after")
    years: list[YearOut]


class DeadlineOut(_Model):
    """The disclosure deadline of an inspection that ended on ``inspection_end``."""

    inspection_end: str
    working_days: int
    deadline: str


def get_calendar(_request: Request) -> Response:
    """GET /calendar: the working-day calendar and its sources (public)."""
    body = {
        "format": FORMAT,
        "sha256": calendar_digest(),
        "working_days": DISCLOSURE_WORKING_DAYS,
        "years": calendar_json(load_calendar()),
    }
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})


def get_deadline(request: Request) -> Response:
    """GET /calendar/deadline?inspection_end=YYYY-MM-DD: the disclosure deadline (public).

    Raises ProblemError 400 naming ``query.inspection_end`` for anything but one date, 404 naming it
    when the count reaches a year without data.
    """
    params = request.query_params
    unknown = sorted(set(params) - {"inspection_end"})
    if unknown:
        raise ProblemError.field("malformed-request", f"query.{unknown[0]}", "unknown query parameter")
    values = params.getlist("inspection_end")
    try:
        end = _date(values[0] if len(values) == 1 else None, "inspection_end")
    except ValueError:
        raise ProblemError.field(
            "malformed-request", "query.inspection_end", "give one YYYY-MM-DD date"
        ) from None
    try:
        due = deadline(load_calendar(), end)
    except MissingYearError as exc:
        raise ProblemError.field("not-found", "query.inspection_end", str(exc)) from None
    working_days = DISCLOSURE_WORKING_DAYS
    return JSONResponse(
        {"inspection_end": values[0], "working_days": working_days, "deadline": due.isoformat()}
    )


_END = Parameter(
    "inspection_end",
    "query",
    {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    "the day the inspection ended, YYYY-MM-DD",
    True,
)

routes = [
    api_get(
        "/calendar",
        get_calendar,
        Operation(
            "Working-day calendar",
            "Holidays and make-up working days per year, from the State Council's notices. Public.",
            ("disclosures",),
            CalendarOut,
            authenticated=False,
        ),
    ),
    api_get(
        "/calendar/deadline",
        get_deadline,
        Operation(
            "Disclosure deadline",
            f"The {DISCLOSURE_WORKING_DAYS}th working day after inspection_end. Public.",
            ("disclosures",),
            DeadlineOut,
            parameters=(_END,),
            errors=(400, 404),
            authenticated=False,
        ),
    ),
]
