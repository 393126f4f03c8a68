"""get_fiscal_periods: fiscal years from the organization's end month (also when it is not December),
VAT periods by the calendar in each, deadlines from the calendar, dates in the organization's locale."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from billy_core.domain.compliance import fiscal_year_fields, organization_fiscal_years
from tests.compliance.conftest import Billy, error_fields

pytestmark = pytest.mark.anyio


def summary(year: dict[str, Any]) -> tuple[Any, ...]:
    return year["label"], year["start_date"], year["end_date"], year["months"], year["retention_until"]


def periods(year: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(period["label"], period["within_fiscal_year"]) for period in year["vat_periods"]]


def test_a_long_first_fiscal_year_ending_in_june():
    organization = {
        "fiscalYearEndMonth": 6,
        "firstFiscalYearStart": "2024-03-01",
        "firstFiscalYearEnd": "2025-06-30",
    }
    years, notes = organization_fiscal_years(organization, date(2026, 9, 30))
    shown = [fiscal_year_fields(year, 6, "quarter", "da_DK") for year in years]
    assert notes == []
    # 01.03.2024 - 30.06.2025 is 16 months; then July to June; 2026-09-30 falls in 2026/27
    assert [summary(year) for year in shown] == [
        ("2024/25", "2024-03-01", "2025-06-30", 16, "2030-06-30"),
        ("2025/26", "2025-07-01", "2026-06-30", 12, "2031-06-30"),
        ("2026/27", "2026-07-01", "2027-06-30", 12, "2032-06-30"),
    ]
    assert [year["year"] for year in shown] == [2025, 2026, 2027]
    assert shown[1]["billy_filter"] == "fiscalYear:2026"
    assert shown[1]["text"] == "01.07.2025 - 30.06.2026"
    # The first quarter reaches back before the books start (01.01.2024); the rest lie inside.
    assert periods(shown[0]) == [
        ("2024-Q1", False),
        ("2024-Q2", True),
        ("2024-Q3", True),
        ("2024-Q4", True),
        ("2025-Q1", True),
        ("2025-Q2", True),
    ]
    assert [label for label, _ in periods(shown[1])] == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]


def test_a_fiscal_year_ending_mid_quarter_straddles_vat_periods():
    organization = {
        "fiscalYearEndMonth": 5,
        "firstFiscalYearStart": "2020-06-01",
        "firstFiscalYearEnd": "2021-05-31",
    }
    years, _ = organization_fiscal_years(organization, date(2026, 1, 15))
    fy2026 = fiscal_year_fields(years[-1], 5, "quarter", "da_DK")
    assert summary(fy2026) == ("2025/26", "2025-06-01", "2026-05-31", 12, "2031-05-31")
    # 01.06.2025 - 31.05.2026 touches five calendar quarters; the first and last only in part.
    assert periods(fy2026) == [
        ("2025-Q2", False),
        ("2025-Q3", True),
        ("2025-Q4", True),
        ("2026-Q1", True),
        ("2026-Q2", False),
    ]
    halves = fiscal_year_fields(years[-1], 5, "halfYear", "da_DK")
    assert periods(halves) == [("2025-H1", False), ("2025-H2", True), ("2026-H1", False)]
    months = fiscal_year_fields(years[-1], 5, "month", "da_DK")
    assert [p["label"] for p in months["vat_periods"]][:2] == ["2025-06", "2025-07"]
    assert len(months["vat_periods"]) == 12 and all(within for _, within in periods(months))
    # 2025-Q3 is due 01.12.2025 by Skattestyrelsen's calendar; 2026-Q2 is a projection.
    q3, q2 = fy2026["vat_periods"][1], fy2026["vat_periods"][4]
    assert (q3["filing_deadline"], q3["filing_deadline_text"], q3["deadline_source"]) == (
        "2025-12-01",
        "01.12.2025",
        "skat",
    )
    assert (q2["filing_deadline"], q2["deadline_confirmed"]) == ("2026-09-01", False)


@pytest.fixture
def june_year_end_in_english(billy: Billy) -> Iterator[None]:
    """The demo company switched to fiscal years ending in June and the en_US locale, for one test."""
    billy.update_organization(fiscalYearEndMonth=6, localeId="en_US")
    try:
        yield
    finally:
        billy.update_organization(fiscalYearEndMonth=12, localeId="da_DK")


async def test_demo_company_with_a_fiscal_year_ending_in_june(tools, june_year_end_in_english):
    async with tools() as call:
        result = await call.ok("get_fiscal_periods", {"fiscal_year": 2026})
    assert (result["fiscal_year_end_month"], result["sales_tax_period"]) == (6, "quarter")
    [year] = result["fiscal_years"]
    assert summary(year) == ("2025/26", "2025-07-01", "2026-06-30", 12, "2031-06-30")
    # en_US writes month/day/year
    assert year["text"] == "07/01/2025 - 06/30/2026" and year["retention_until_text"] == "06/30/2031"
    assert [(p["label"], p["filing_deadline"], p["deadline_source"]) for p in year["vat_periods"]] == [
        ("2025-Q3", "2025-12-01", "skat"),
        ("2025-Q4", "2026-03-02", "skat"),
        ("2026-Q1", "2026-06-01", "projected"),
        ("2026-Q2", "2026-09-01", "projected"),
    ]
    assert year["vat_periods"][1]["filing_deadline_text"] == "03/02/2026"
    # Billy's first fiscal year (2019) ended in December: the change of end month is pointed out.
    assert len(result["notes"]) == 1 and "2019-12-31" in result["notes"][0]


async def test_vat_periods_follow_the_calendar_whatever_the_fiscal_year(tools, june_year_end_in_english):
    async with tools() as call:
        result = await call.ok("vat_return", {"period": "2026-Q2"})
    assert result["period"]["text"] == "04/01/2026 - 06/30/2026"
    assert (result["period"]["start_date"], result["period"]["end_date"]) == ("2026-04-01", "2026-06-30")
    assert result["filing"]["filing_deadline_text"] == "09/01/2026"


async def test_demo_company_years_and_half_years(tools):
    async with tools() as call:
        everything = await call.ok("get_fiscal_periods", {"through_date": "2026-09-30"})
        halves = await call.ok("get_fiscal_periods", {"fiscal_year": 2025, "sales_tax_period": "halfYear"})
    assert [year["label"] for year in everything["fiscal_years"]] == [str(y) for y in range(2019, 2027)]
    assert everything["fiscal_years"][0]["text"] == "01.01.2019 - 31.12.2019"
    [year] = halves["fiscal_years"]
    assert [(p["label"], p["filing_deadline"]) for p in year["vat_periods"]] == [
        ("2025-H1", "2025-09-01"),
        ("2025-H2", "2026-03-02"),
    ]
    assert halves["sales_tax_period"] == "halfYear"


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({"fiscal_year": 2026, "through_date": "2026-01-01"}, "through_date", "not_with_fiscal_year"),
        ({"fiscal_year": 2010}, "fiscal_year", "before_first_fiscal_year"),
        ({"fiscal_year": 1066}, "fiscal_year", "greater_than_equal"),
        ({"sales_tax_period": "yearly"}, "sales_tax_period", "literal_error"),
        ({"through_date": "30.09.2026"}, "through_date", "date_format"),
    ],
)
async def test_bad_arguments_name_the_field_and_rule(tools, arguments, field, rule):
    async with tools() as call:
        body = await call.error("get_fiscal_periods", arguments)
    assert body["code"] == "invalid_argument" and (field, rule) in error_fields(body)
