"""Fiscal years, VAT periods, the VAT deadline calendar and the retention date."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources

import pytest

from billy_core.fiscal import (
    FiscalYear,
    VatPeriod,
    filing_deadline,
    filing_deadline_details,
    fiscal_periods,
    fiscal_year_of,
    fiscal_years,
    retention_until,
    vat_period,
    vat_period_containing,
)

# -- fiscal years ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "end_month", "start", "end", "label"),
    [
        # end month 6: July to June, named by the year it ends in
        (date(2025, 7, 1), 6, date(2025, 7, 1), date(2026, 6, 30), "2025/26"),
        (date(2026, 6, 30), 6, date(2025, 7, 1), date(2026, 6, 30), "2025/26"),
        (date(2025, 6, 30), 6, date(2024, 7, 1), date(2025, 6, 30), "2024/25"),
        (date(2026, 1, 15), 6, date(2025, 7, 1), date(2026, 6, 30), "2025/26"),
        # end month 9: October to September
        (date(2025, 10, 1), 9, date(2025, 10, 1), date(2026, 9, 30), "2025/26"),
        (date(2025, 9, 30), 9, date(2024, 10, 1), date(2025, 9, 30), "2024/25"),
        # calendar year
        (date(2025, 1, 1), 12, date(2025, 1, 1), date(2025, 12, 31), "2025"),
        (date(2025, 12, 31), 12, date(2025, 1, 1), date(2025, 12, 31), "2025"),
        # end month 2 in a leap year ends on the 29th
        (date(2024, 2, 29), 2, date(2023, 3, 1), date(2024, 2, 29), "2023/24"),
        (date(2024, 3, 1), 2, date(2024, 3, 1), date(2025, 2, 28), "2024/25"),
        # end month 1: February to January
        (date(2099, 12, 31), 1, date(2099, 2, 1), date(2100, 1, 31), "2099/00"),
    ],
)
def test_fiscal_year_of(day, end_month, start, end, label):
    assert fiscal_year_of(day, end_month) == FiscalYear(start, end, label)


def test_fiscal_year_is_named_by_the_year_it_ends_like_billys_filter():
    year = fiscal_year_of(date(2025, 7, 1), 6)
    assert year.year == 2026
    assert date(2025, 12, 24) in year and date(2026, 7, 1) not in year


@pytest.mark.parametrize("month", [0, 13])
def test_fiscal_year_end_month_must_be_a_month(month):
    with pytest.raises(ValueError, match=f"fiscal_year_end_month must be 1 to 12, not {month}"):
        fiscal_year_of(date(2025, 1, 1), month)


def test_fiscal_years_from_a_short_first_year():
    years = fiscal_years(date(2019, 3, 15), 12, date(2021, 6, 1))
    assert years == [
        FiscalYear(date(2019, 3, 15), date(2019, 12, 31), "2019"),
        FiscalYear(date(2020, 1, 1), date(2020, 12, 31), "2020"),
        FiscalYear(date(2021, 1, 1), date(2021, 12, 31), "2021"),
    ]


def test_fiscal_years_from_a_long_first_year_ending_in_june():
    years = fiscal_years(date(2023, 1, 1), 6, date(2025, 7, 1), first_end=date(2024, 6, 30))
    assert [(y.start, y.end, y.label) for y in years] == [
        (date(2023, 1, 1), date(2024, 6, 30), "2023/24"),
        (date(2024, 7, 1), date(2025, 6, 30), "2024/25"),
        (date(2025, 7, 1), date(2026, 6, 30), "2025/26"),
    ]


def test_fiscal_years_before_the_first_start_are_none():
    assert fiscal_years(date(2019, 1, 1), 12, date(2018, 12, 31)) == []


@pytest.mark.parametrize("first_end", [date(2024, 6, 29), date(2024, 5, 31), date(2022, 6, 30)])
def test_first_fiscal_year_end_must_be_a_month_end_of_the_end_month_after_the_start(first_end):
    with pytest.raises(ValueError, match="the first fiscal year must end on the last day of month 6"):
        fiscal_years(date(2023, 1, 1), 6, date(2025, 1, 1), first_end=first_end)


# -- VAT periods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "start", "end", "kind", "label"),
    [
        ("2025-Q1", date(2025, 1, 1), date(2025, 3, 31), "quarter", "2025-Q1"),
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31), "quarter", "2025-Q4"),
        ("2025-H1", date(2025, 1, 1), date(2025, 6, 30), "halfYear", "2025-H1"),
        ("2025-H2", date(2025, 7, 1), date(2025, 12, 31), "halfYear", "2025-H2"),
        ("2025-03", date(2025, 3, 1), date(2025, 3, 31), "month", "2025-03"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "month", "2024-02"),
        (" 2025-q2 ", date(2025, 4, 1), date(2025, 6, 30), "quarter", "2025-Q2"),
    ],
)
def test_vat_period_parses_months_quarters_and_half_years(spec, start, end, kind, label):
    assert vat_period(spec) == VatPeriod(start, end, kind, label)


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ("2025-Q5", "a quarter is Q1 to Q4"),
        ("2025-Q0", "a quarter is Q1 to Q4"),
        ("2025-H3", "a half-year is H1 or H2"),
        ("2025-13", "a month is 01 to 12"),
        ("2025-00", "a month is 01 to 12"),
        ("2025-3", "write YYYY-MM for a month, YYYY-Qn for a quarter or YYYY-Hn for a half-year"),
        ("2025Q1", "write YYYY-MM"),
        ("25-Q1", "write YYYY-MM"),
        ("2025-Y1", "write YYYY-MM"),
        ("", "write YYYY-MM"),
    ],
)
def test_bad_vat_period_names_the_rule(spec, rule):
    with pytest.raises(ValueError, match=rule):
        vat_period(spec)


def test_vat_period_as_billy_filter():
    assert vat_period("2025-06").billy_filter == "month:2025-06"
    assert vat_period("2025-Q2").billy_filter == "quarter:2025-2"
    assert vat_period("2025-H2").billy_filter == "halfYear:2025-2"


@pytest.mark.parametrize(
    ("day", "kind", "label"),
    [
        (date(2025, 5, 15), "month", "2025-05"),
        (date(2025, 5, 15), "quarter", "2025-Q2"),
        (date(2025, 5, 15), "halfYear", "2025-H1"),
        (date(2025, 7, 1), "halfYear", "2025-H2"),
        (date(2025, 3, 31), "quarter", "2025-Q1"),
        (date(2025, 12, 31), "quarter", "2025-Q4"),
    ],
)
def test_vat_period_containing_follows_the_calendar(day, kind, label):
    assert vat_period_containing(day, kind).label == label


def test_unknown_sales_tax_period_is_refused():
    with pytest.raises(ValueError, match="sales tax period must be one of month, quarter, halfYear"):
        vat_period_containing(date(2025, 1, 1), "yearly")  # type: ignore[arg-type]


def test_fiscal_periods_inside_a_fiscal_year_ending_in_june():
    year = fiscal_year_of(date(2025, 7, 1), 6)
    assert [p.label for p in fiscal_periods(year, "quarter")] == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    assert [p.label for p in fiscal_periods(year, "halfYear")] == ["2025-H2", "2026-H1"]
    months = fiscal_periods(year, "month")
    assert len(months) == 12
    assert (months[0].label, months[-1].label) == ("2025-07", "2026-06")


def test_fiscal_periods_straddle_a_fiscal_year_that_ends_mid_quarter():
    year = fiscal_year_of(date(2025, 3, 1), 2)  # 2025-03-01 .. 2026-02-28
    assert [p.label for p in fiscal_periods(year, "quarter")] == [
        "2025-Q1",
        "2025-Q2",
        "2025-Q3",
        "2025-Q4",
        "2026-Q1",
    ]


# -- filing deadlines (literal dates from billy_core/data/vat_deadlines.json) ---------------------


@pytest.mark.parametrize(
    ("spec", "due"),
    [
        ("2025-Q1", date(2025, 6, 2)),
        ("2025-Q4", date(2026, 3, 2)),
        ("2024-Q1", date(2024, 6, 3)),
        ("2023-Q1", date(2023, 6, 1)),
        ("2025-H1", date(2025, 9, 1)),
        ("2025-H2", date(2026, 3, 2)),
        ("2024-H2", date(2025, 3, 3)),
        ("2025-01", date(2025, 2, 25)),
        ("2025-06", date(2025, 8, 18)),
        ("2025-11", date(2025, 12, 29)),
        ("2025-12", date(2026, 1, 26)),
        ("2024-06", date(2024, 8, 17)),
        ("2023-06", date(2023, 8, 17)),
    ],
)
def test_published_filing_deadlines(spec, due):
    assert filing_deadline(vat_period(spec)) == due
    assert filing_deadline_details(vat_period(spec)).confirmed


def test_projected_deadlines_are_marked_unconfirmed():
    details = filing_deadline_details(vat_period("2027-02"))
    # 25 March 2027 is Maundy Thursday; then Good Friday, a weekend and Easter Monday
    assert details.due == date(2027, 3, 30)
    assert details.source == "projected" and not details.confirmed
    assert filing_deadline(vat_period("2026-Q1")) == date(2026, 6, 1)


def test_deadline_anomaly_in_the_published_calendar_carries_a_note():
    details = filing_deadline_details(vat_period("2024-06"))
    assert details.note is not None and "Saturday 17 August 2024" in details.note


@pytest.mark.parametrize("spec", ["2022-Q4", "2028-01", "2028-H1"])
def test_missing_deadline_raises_lookup_error_instead_of_guessing(spec):
    with pytest.raises(LookupError, match=f"no VAT filing deadline for {spec}"):
        filing_deadline(vat_period(spec))


def _calendar_rows():
    path = resources.files("billy_core").joinpath("data/vat_deadlines.json")
    return json.loads(path.read_text(encoding="utf-8"))["deadlines"]


def test_deadline_calendar_covers_every_period_of_2023_to_2027():
    expected = {
        f"{year}-{suffix}"
        for year in range(2023, 2028)
        for suffix in [f"{m:02d}" for m in range(1, 13)] + ["Q1", "Q2", "Q3", "Q4", "H1", "H2"]
    }
    assert set(_calendar_rows()) == expected


def test_every_deadline_in_the_calendar_is_sane():
    for label, row in _calendar_rows().items():
        period, due = vat_period(label), date.fromisoformat(row["due"])
        assert row["source"] in ("skat", "secondary", "projected"), label
        assert period.end < due <= date(period.end.year + 1, 3, 31), label
        if row["source"] == "projected":
            assert due.weekday() < 5, label


# -- retention ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "end_month", "until"),
    [
        (date(2025, 3, 10), 12, date(2030, 12, 31)),
        (date(2025, 12, 31), 12, date(2030, 12, 31)),
        (date(2026, 1, 1), 12, date(2031, 12, 31)),
        (date(2025, 7, 1), 6, date(2031, 6, 30)),
        (date(2025, 6, 30), 6, date(2030, 6, 30)),
        (date(2025, 10, 1), 9, date(2031, 9, 30)),
        # fiscal year ending 29 Feb 2024: five years on, February has 28 days
        (date(2023, 5, 1), 2, date(2029, 2, 28)),
    ],
)
def test_retention_is_five_years_from_the_end_of_the_fiscal_year(day, end_month, until):
    assert retention_until(day, end_month) == until
