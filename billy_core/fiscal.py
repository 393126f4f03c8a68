"""Fiscal years, VAT periods, VAT filing deadlines and the bookkeeping retention date.

One set of period functions for the compliance tools and the audit plugin's retention, so that they
never disagree about where a year or a period begins and ends.

Conventions:

- A fiscal year is named by the calendar year in which it ends, as Billy's ``fiscalYear:<year>``
  filter does: with ``fiscalYearEndMonth`` 6, 2025-07-01..2026-06-30 is fiscal year 2026
  (``FiscalYear.year``). Its ``label`` shows both calendar years, ``"2025/26"``; a fiscal year inside
  one calendar year is labelled by that year alone, ``"2026"``.
- VAT periods follow the calendar whatever the fiscal year: months, quarters and half-years, named
  ``2025-03``, ``2025-Q1`` and ``2025-H1`` (Billy's ``salesTaxPeriod``: month, quarter, halfYear).
- Filing deadlines are data (``billy_core/data/vat_deadlines.json``), never computed: Skattestyrelsen
  moves them for weekends, holidays and its own reasons.
"""

from __future__ import annotations

import calendar
import functools
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any, Literal, NamedTuple, get_args

SalesTaxPeriod = Literal["month", "quarter", "halfYear"]

ONE_DAY = timedelta(days=1)
RETENTION_YEARS = 5
DEADLINES_FILE = "data/vat_deadlines.json"

# months per period, and the letter before the period's number in its label
_PERIOD_SHAPES: dict[str, tuple[int, str]] = {"month": (1, ""), "quarter": (3, "Q"), "halfYear": (6, "H")}
_NUMBER_RULES = {
    "month": "a month is 01 to 12",
    "quarter": "a quarter is Q1 to Q4",
    "halfYear": "a half-year is H1 or H2",
}
_SPEC = re.compile(r"(?P<year>[1-9]\d{3})-(?:(?P<letter>[QH])(?P<number>\d+)|(?P<month>\d{2}))")
_SPEC_RULE = "write YYYY-MM for a month, YYYY-Qn for a quarter or YYYY-Hn for a half-year"


@dataclass(frozen=True)
class DateSpan:
    """An inclusive range of calendar days."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class FiscalYear(DateSpan):
    label: str

    @property
    def year(self) -> int:
        """The calendar year the fiscal year ends in: its name in Billy's ``fiscalYear:`` filter."""
        return self.end.year


@dataclass(frozen=True)
class VatPeriod(DateSpan):
    kind: SalesTaxPeriod
    label: str

    @property
    def number(self) -> int:
        """Which month (1-12), quarter (1-4) or half-year (1-2) of its year this is."""
        return _period_number(self.start.month, _PERIOD_SHAPES[self.kind][0])

    @property
    def billy_filter(self) -> str:
        """The same period as a Billy list filter value (``entryDatePeriod``): ``quarter:2025-1``."""
        return f"{self.kind}:{self.start.year}-{_number_text(self.kind, self.number)}"


@dataclass(frozen=True)
class FilingDeadline:
    """A VAT period's filing and payment deadline, with where the date comes from.

    ``source`` is ``skat`` (Skattestyrelsen's published calendar), ``secondary`` (that calendar as
    copied by a third party) or ``projected`` (the statutory rule applied ahead of publication).
    """

    period: VatPeriod
    due: date
    source: str
    note: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.source != "projected"


class _DeadlineEntry(NamedTuple):
    due: date
    source: str
    note: str | None


def end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _check_end_month(month: int) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"fiscal_year_end_month must be 1 to 12, not {month}")


def _fiscal_year(start: date, end: date) -> FiscalYear:
    label = str(end.year) if start.year == end.year else f"{start.year}/{end.year % 100:02d}"
    return FiscalYear(start, end, label)


def fiscal_year_of(day: date, fiscal_year_end_month: int) -> FiscalYear:
    """The regular (12-month) fiscal year that ``day`` falls in."""
    _check_end_month(fiscal_year_end_month)
    end_year = day.year if day.month <= fiscal_year_end_month else day.year + 1
    end = end_of_month(end_year, fiscal_year_end_month)
    return _fiscal_year(end_of_month(end_year - 1, fiscal_year_end_month) + ONE_DAY, end)


def _first_fiscal_year(first_start: date, end_month: int, first_end: date | None) -> FiscalYear:
    _check_end_month(end_month)
    if first_end is None:
        return _fiscal_year(first_start, fiscal_year_of(first_start, end_month).end)
    if first_end < first_start or first_end != end_of_month(first_end.year, end_month):
        raise ValueError(
            f"the first fiscal year must end on the last day of month {end_month}, after it starts"
        )
    return _fiscal_year(first_start, first_end)


def fiscal_years(
    first_start: date, end_month: int, through: date, *, first_end: date | None = None
) -> list[FiscalYear]:
    """Every fiscal year from the organisation's first one up to the one containing ``through``.

    The first year runs from ``first_start`` (Billy's ``firstFiscalYearStart``) to ``first_end``
    (``firstFiscalYearEnd``) when given, else to the first end of ``end_month`` on or after it, so a
    first year may be shorter or longer than 12 months. The rest are regular.
    """
    years: list[FiscalYear] = []
    year = _first_fiscal_year(first_start, end_month, first_end)
    while year.start <= through:
        years.append(year)
        year = fiscal_year_of(year.end + ONE_DAY, end_month)
    return years


def _period_number(month: int, months_per_period: int) -> int:
    return (month - 1) // months_per_period + 1


def _number_text(kind: str, number: int) -> str:
    return f"{number:02d}" if kind == "month" else str(number)


def _months_per_period(kind: str) -> int:
    if kind not in _PERIOD_SHAPES:
        raise ValueError(
            f"sales tax period must be one of {', '.join(get_args(SalesTaxPeriod))}, not {kind!r}"
        )
    return _PERIOD_SHAPES[kind][0]


def _numbered_period(year: int, kind: SalesTaxPeriod, number: int) -> VatPeriod:
    months, letter = _PERIOD_SHAPES[kind]
    first_month = (number - 1) * months + 1
    label = f"{year}-{letter}{_number_text(kind, number)}"
    return VatPeriod(date(year, first_month, 1), end_of_month(year, first_month + months - 1), kind, label)


def vat_period_containing(day: date, sales_tax_period: SalesTaxPeriod) -> VatPeriod:
    """The month, quarter or half-year (by the calendar) that ``day`` falls in."""
    months = _months_per_period(sales_tax_period)
    return _numbered_period(day.year, sales_tax_period, _period_number(day.month, months))


def vat_period(spec: str) -> VatPeriod:
    """Read a VAT period written ``2025-03`` (month), ``2025-Q1`` (quarter) or ``2025-H1`` (half-year)."""
    match = _SPEC.fullmatch(spec.strip().upper())
    if match is None:
        raise ValueError(f"{spec!r} is not a VAT period: {_SPEC_RULE}")
    kind: SalesTaxPeriod = "month" if match["month"] else "quarter" if match["letter"] == "Q" else "halfYear"
    number = int(match["month"] or match["number"])
    if not 1 <= number <= 12 // _PERIOD_SHAPES[kind][0]:
        raise ValueError(f"{spec!r} is not a VAT period: {_NUMBER_RULES[kind]}")
    return _numbered_period(int(match["year"]), kind, number)


def fiscal_periods(fiscal_year: FiscalYear, sales_tax_period: SalesTaxPeriod) -> list[VatPeriod]:
    """The VAT periods that overlap a fiscal year, in order.

    When the fiscal year does not end on a period boundary, the first and last periods reach outside it.
    """
    periods: list[VatPeriod] = []
    period = vat_period_containing(fiscal_year.start, sales_tax_period)
    while period.start <= fiscal_year.end:
        periods.append(period)
        period = vat_period_containing(period.end + ONE_DAY, sales_tax_period)
    return periods


@functools.cache
def _deadline_calendar() -> dict[str, _DeadlineEntry]:
    text = resources.files("billy_core").joinpath(DEADLINES_FILE).read_text(encoding="utf-8")
    rows: dict[str, Any] = json.loads(text)["deadlines"]
    return {
        label: _DeadlineEntry(date.fromisoformat(row["due"]), row["source"], row.get("note"))
        for label, row in rows.items()
    }


def filing_deadline_details(period: VatPeriod) -> FilingDeadline:
    """The deadline for filing and paying a period's VAT return, and whether it is confirmed."""
    entry = _deadline_calendar().get(period.label)
    if entry is None:
        raise LookupError(
            f"no VAT filing deadline for {period.label} in billy_core/{DEADLINES_FILE}; "
            "add Skattestyrelsen's published date there"
        )
    return FilingDeadline(period, entry.due, entry.source, entry.note)


def filing_deadline(period: VatPeriod) -> date:
    """The last day to file the momsangivelse for ``period`` and pay, from the packaged calendar.

    Raises LookupError for a period the calendar does not hold (it never guesses).
    """
    return filing_deadline_details(period).due


def retention_until(day: date, fiscal_year_end_month: int) -> date:
    """The last day the accounting material dated ``day`` must still be kept.

    Bogføringsloven: accounting material is kept for 5 years from the end of the financial year it
    relates to (danish-rules.md A2 "Retention" [S19][S20]: the 1999 act's rule, carried over by
    Lov nr. 700 af 24. maj 2022; § 15, stk. 1, nr. 1 asks digital systems to store it 5 years). So an
    entry in the fiscal year ending 2025-12-31 is kept through 2030-12-31.
    """
    end = fiscal_year_of(day, fiscal_year_end_month).end
    return end_of_month(end.year + RETENTION_YEARS, end.month)
