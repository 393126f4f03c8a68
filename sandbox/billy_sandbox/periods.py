"""Billy's period filter syntax: `all`, `dates:A...B`, `day:`, `month:`, `quarter:`, `halfYear:`, `year:`,
`fiscalYear:`, and for approval times also `from:`/`through:`/`half:`."""

from __future__ import annotations

import datetime as dt

from billy_sandbox.amounts import end_of_month


class PeriodError(ValueError):
    pass


def _month_span(year: int, first_month: int, months: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, first_month, 1)
    last_month = first_month + months - 1
    end = end_of_month(dt.date(year + (last_month - 1) // 12, (last_month - 1) % 12 + 1, 1))
    return start, end


def _part(text: str, low: int, high: int) -> int:
    value = int(text)
    if not low <= value <= high:
        raise PeriodError(f"{value} is out of range")
    return value


def parse_period(text: str, fiscal_year_end_month: int) -> tuple[dt.date | None, dt.date | None]:
    """The inclusive date range a period names; (None, None) for `all`."""
    kind, _, value = text.partition(":")
    try:
        return _parse(kind, value, fiscal_year_end_month)
    except (ValueError, IndexError) as exc:
        raise PeriodError(f"Invalid period `{text}`") from exc


def _parse(kind: str, value: str, fy_end: int) -> tuple[dt.date | None, dt.date | None]:
    if kind == "all":
        return None, None
    if kind == "dates":
        first, _, last = value.partition("...")
        return dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    if kind == "day":
        day = dt.date.fromisoformat(value)
        return day, day
    if kind == "from":
        return dt.date.fromisoformat(value), None
    if kind == "through":
        return None, dt.date.fromisoformat(value)
    if kind == "month":
        year, month = value.split("-")
        return _month_span(int(year), _part(month, 1, 12), 1)
    if kind == "quarter":
        year, quarter = value.split("-")
        return _month_span(int(year), _part(quarter, 1, 4) * 3 - 2, 3)
    if kind in ("halfYear", "half"):
        year, half = value.split("-")
        return _month_span(int(year), _part(half, 1, 2) * 6 - 5, 6)
    if kind == "year":
        return _month_span(int(value), 1, 12)
    if kind == "fiscalYear":
        # fiscal year Y ends with fiscalYearEndMonth of year Y
        end_year = int(value)
        start = dt.date(end_year - 1, fy_end, 1) if fy_end != 12 else dt.date(end_year, 1, 1)
        start = start if fy_end == 12 else end_of_month(start) + dt.timedelta(days=1)
        return start, end_of_month(dt.date(end_year, fy_end, 1))
    raise PeriodError(kind)
