"""Danish compliance tools: the VAT return, the invoice requirements and the fiscal periods.

- ``vat_return``: the momsangivelse of a VAT period from Billy's approved invoices, credit notes
  and bills (the arithmetic is in :mod:`billy_core.domain.vat_return`), with the filing deadline
  from the calendar in ``billy_core/data/vat_deadlines.json``.
- ``check_invoice_compliance``: one invoice against momsbekendtgørelsen kap. 12 (§ 58, § 62, § 64)
  and the public-sector e-invoicing rules, each missing item with the rule it breaks.
- ``get_fiscal_periods``: the organization's fiscal years and the VAT periods in each.

Periods, deadlines and retention come from :mod:`billy_core.fiscal` only. docs/compliance.md
explains every box and every rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from billy_core.context import CallContext
from billy_core.danish import format_date_da, validate_cvr, validate_ean, validate_eu_vat
from billy_core.domain.common import by_id, today
from billy_core.domain.documents import BillyId, IsoDate, field_error
from billy_core.domain.organization import fetch_organization
from billy_core.domain.vat_return import (
    BOXES,
    PAYABLE,
    Box,
    VatReturnFigures,
    compute_vat_return,
    net_of_line,
)
from billy_core.fiscal import (
    FiscalYear,
    SalesTaxPeriod,
    VatPeriod,
    filing_deadline_details,
    fiscal_periods,
    fiscal_years,
    retention_until,
    vat_period,
    vat_period_containing,
)
from billy_core.money import format_dkk, money, round2, to_decimal
from billy_core.tools import Tool, ToolInput, ToolOutput
from billy_core.vat import line_tax

ZERO = Decimal(0)
PERIOD_KINDS: tuple[SalesTaxPeriod, ...] = ("month", "quarter", "halfYear")
SIMPLIFIED_INVOICE_LIMIT = Decimal(3000)
EXAMPLE_ID = "cSHBqWWITexZvQy29lqpYg"

# ------------------------------------------------------------------ people's formats

# Billy's locales (GET /v2/locales) and how each writes a date; the organization's localeId picks one.
_DATE_FORMATS = {
    "da": "{d:02d}.{m:02d}.{y}",
    "de": "{d:02d}.{m:02d}.{y}",
    "fr": "{d:02d}/{m:02d}/{y}",
    "nl": "{d:02d}-{m:02d}-{y}",
    "en_US": "{m:02d}/{d:02d}/{y}",
}


def local_date(day: date, locale: str | None) -> str:
    """A date as the organization's locale writes it; da_DK (and anything unknown): ``31.03.2026``."""
    code = locale or "da_DK"
    pattern = _DATE_FORMATS.get(code) or _DATE_FORMATS.get(code.split("_")[0])
    if pattern is None:
        return format_date_da(day)
    return pattern.format(d=day.day, m=day.month, y=day.year)


def amount_text(value: Any, currency: str = "DKK") -> str:
    """Money for people: ``1.234,56 kr.``; other currencies ``1.234,56 EUR``."""
    if currency == "DKK":
        return format_dkk(value)
    return f"{format_dkk(value, symbol=False)} {currency}"


def _locale(organization: Mapping[str, Any]) -> str | None:
    locale = organization.get("localeId")
    return str(locale) if locale else None


# ------------------------------------------------------------------ filing deadlines


class DeadlineOutput(ToolOutput):
    filing_deadline: str | None = Field(
        None, description="Last day to file the return and pay, YYYY-MM-DD (None: not in the calendar)"
    )
    filing_deadline_text: str | None = Field(
        None, description="The same date as the organization writes dates"
    )
    deadline_source: str | None = Field(
        None,
        description="skat (Skattestyrelsen's calendar), secondary (that calendar copied by a third party) "
        "or projected (the statutory rule applied ahead of publication: confirm on skat.dk)",
    )
    deadline_confirmed: bool = Field(
        False, description="False for projected dates and dates not in the calendar"
    )
    deadline_note: str | None = Field(None, description="Why a date deviates, or why there is none")


def deadline_fields(period: VatPeriod, locale: str | None) -> dict[str, Any]:
    """A VAT period's deadline from the packaged calendar (never computed)."""
    try:
        deadline = filing_deadline_details(period)
    except LookupError as exc:
        return {"deadline_confirmed": False, "deadline_note": str(exc)}
    return {
        "filing_deadline": deadline.due.isoformat(),
        "filing_deadline_text": local_date(deadline.due, locale),
        "deadline_source": deadline.source,
        "deadline_confirmed": deadline.confirmed,
        "deadline_note": deadline.note,
    }


class PeriodOutput(ToolOutput):
    label: str | None = Field(None, description="2025-Q1, 2025-H1 or 2025-03; None for other ranges")
    kind: str | None = Field(None, description="month, quarter or halfYear")
    start_date: str = Field(description="First day, YYYY-MM-DD")
    end_date: str = Field(description="Last day, YYYY-MM-DD")
    text: str = Field(description="The range as the organization writes dates: 01.01.2025 - 31.03.2025")


def period_fields(
    start: date, end: date, locale: str | None, period: VatPeriod | None = None
) -> dict[str, Any]:
    return {
        "label": period.label if period else None,
        "kind": period.kind if period else None,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "text": f"{local_date(start, locale)} - {local_date(end, locale)}",
    }


# ------------------------------------------------------------------ vat_return


class VatReturnInput(ToolInput):
    period: str | None = Field(
        None,
        max_length=20,
        description="The VAT period by the calendar: YYYY-Qn (quarter), YYYY-Hn (half-year) or YYYY-MM "
        "(month). Give this, or start_date and end_date.",
        examples=["2026-Q2", "2026-H1", "2026-03"],
    )
    start_date: IsoDate | None = Field(
        None, description="First invoice/bill date of a custom range, YYYY-MM-DD", examples=["2026-04-01"]
    )
    end_date: IsoDate | None = Field(
        None,
        description="Last invoice/bill date of a custom range, YYYY-MM-DD (at most a year)",
        examples=["2026-06-30"],
    )


class VatBox(ToolOutput):
    name: str = Field(description="The field's name on the Danish return (TastSelv Erhverv)")
    amount: str = Field(description="Whole kroner as filed, øre cut off (not rounded)", examples=["12345.00"])
    text: str = Field(description="The same amount for people", examples=["12.345,00 kr."])
    exact: str = Field(description="The sum to the øre, before the øre were cut off", examples=["12345.67"])


class VatReturnBoxes(ToolOutput):
    sales_vat: VatBox = Field(description="Salgsmoms: VAT on sales (invoice VAT minus credit-note VAT)")
    purchase_vat: VatBox = Field(
        description="Købsmoms: deductible VAT on purchases, self-assessed VAT on foreign purchases included"
    )
    vat_on_goods_bought_abroad: VatBox = Field(
        description="Moms af varekøb i udlandet (reverse charge, goods)"
    )
    vat_on_services_bought_abroad: VatBox = Field(
        description="Moms af ydelseskøb i udlandet med omvendt betalingspligt (reverse charge, services)"
    )
    rubrik_a_goods: VatBox = Field(
        description="Rubrik A varer: goods bought in other EU countries, excl. VAT"
    )
    rubrik_a_services: VatBox = Field(description="Rubrik A ydelser: services bought in other EU countries")
    rubrik_b_goods_eu_sales_list: VatBox = Field(
        description="Rubrik B varer reported to EU-salg uden moms: goods sold to EU businesses"
    )
    rubrik_b_goods_not_on_eu_sales_list: VatBox = Field(
        description="Rubrik B varer not reported to EU-salg uden moms (installation, distance sales); "
        "no Billy tax rate reports here, so it is 0 unless entered by hand"
    )
    rubrik_b_services: VatBox = Field(description="Rubrik B ydelser: services sold to EU businesses")
    rubrik_c: VatBox = Field(description="Rubrik C: other sales without Danish VAT, such as exports")


class DocumentCounts(ToolOutput):
    invoices: int
    credit_notes: int
    bills: int
    bill_credit_notes: int


class FilingOutput(DeadlineOutput):
    sales_tax_period: str = Field(description="The organization's VAT period: month, quarter or halfYear")
    period: PeriodOutput = Field(description="The organization's VAT period that holds the range's last day")
    covers_request: bool = Field(description="Whether the requested range is exactly that VAT period")
    days_left: int | None = Field(
        None, description="Days from today (Denmark) to the deadline; negative: passed"
    )
    text: str = Field(description="The deadline in a sentence for people")


class VatReturnOutput(ToolOutput):
    organization: str
    period: PeriodOutput
    currency: str = Field(
        description="Always the base currency, DKK; foreign documents at their exchange rate"
    )
    boxes: VatReturnBoxes
    payable: VatBox = Field(
        description="Afgiftstilsvar = salgsmoms + moms af køb i udlandet - købsmoms, from the whole-kroner "
        "boxes; negative means money back"
    )
    result: Literal["payable", "refundable", "nothing"]
    result_text: str = Field(description="The outcome in a sentence for people")
    filing: FilingOutput | None = Field(None, description="When the return for this period is due")
    documents: DocumentCounts = Field(description="The approved documents counted")
    warnings: list[str] = Field(description="Lines that could not be placed in a box; check them")
    notes: list[str] = Field(description="What the figures do not include")


FIXED_NOTES = (
    "Rubrik B varer not reported to EU-salg uden moms (installation/assembly, distance sales, new means of "
    "transport) has no Billy tax rate: enter it in TastSelv yourself if you have such sales.",
    "Energy duties (olie, el, gas, kul, CO2, vand) are not in Billy's documents: add any refund in TastSelv.",
    "Købsmoms assumes full deduction (only VAT-liable sales); with partial deduction adjust it.",
)


def a_year_after(day: date) -> date:
    """The same day a year later (29 February: 1 March)."""
    if (day.month, day.day) == (2, 29):
        return date(day.year + 1, 3, 1)
    return day.replace(year=day.year + 1)


def _dates_given(args: VatReturnInput) -> tuple[date, date] | None:
    if args.start_date is None and args.end_date is None:
        return None
    if args.end_date is None:
        raise field_error("end_date", "required_with_start_date", "give end_date together with start_date")
    if args.start_date is None:
        raise field_error("start_date", "required_with_end_date", "give start_date together with end_date")
    if args.end_date < args.start_date:
        raise field_error("end_date", "before_start_date", "end_date must not be before start_date")
    if args.end_date >= a_year_after(args.start_date):
        raise field_error("end_date", "period_too_long", "a VAT return covers at most one year")
    return args.start_date, args.end_date


def matching_period(start: date, end: date) -> VatPeriod | None:
    """The month, quarter or half-year that is exactly this range, if one is."""
    for kind in PERIOD_KINDS:
        period = vat_period_containing(start, kind)
        if (period.start, period.end) == (start, end):
            return period
    return None


def requested_range(args: VatReturnInput) -> tuple[date, date, VatPeriod | None]:
    """Check the arguments before Billy is asked anything: a period, or a start and an end date."""
    dates = _dates_given(args)
    if args.period and dates:
        raise field_error(
            "period", "period_or_dates", "give either period or start_date and end_date, not both"
        )
    if dates:
        return dates[0], dates[1], matching_period(*dates)
    if not args.period:
        raise field_error(
            "period", "period_or_dates", "give period (such as 2026-Q2), or start_date and end_date"
        )
    try:
        period = vat_period(args.period)
    except ValueError as exc:
        raise field_error("period", "vat_period_format", str(exc)) from None
    return period.start, period.end, period


def box_fields(figures: VatReturnFigures, box: Box) -> dict[str, str]:
    whole = figures.whole(box)
    exact = figures.exact_payable if box is PAYABLE else figures.exact[box.key]
    return {"name": box.name, "amount": money(whole), "text": format_dkk(whole), "exact": money(exact)}


def filing_fields(
    organization: Mapping[str, Any], start: date, end: date, on: date
) -> tuple[dict[str, Any] | None, list[str]]:
    kind = organization.get("salesTaxPeriod")
    if kind not in PERIOD_KINDS:
        return None, [f"the organization's salesTaxPeriod is {kind!r}, so no filing deadline is shown"]
    locale = _locale(organization)
    period = vat_period_containing(end, kind)
    deadline = deadline_fields(period, locale)
    due = deadline.get("filing_deadline")
    covers = (period.start, period.end) == (start, end)
    if due is None:
        text = f"No deadline for {period.label} in the calendar; see skat.dk."
    else:
        text = f"The return for {period.label} must be filed and paid by {deadline['filing_deadline_text']}"
        text += "." if deadline["deadline_confirmed"] else " (projected date: confirm on skat.dk)."
    notes = (
        []
        if covers
        else [
            f"The range is not one whole VAT period of this organization ({kind}); the deadline is that of "
            f"{period.label}, which holds the range's last day."
        ]
    )
    filing = {
        "sales_tax_period": kind,
        "period": period_fields(period.start, period.end, locale, period),
        "covers_request": covers,
        "days_left": (date.fromisoformat(due) - on).days if due else None,
        "text": text,
        **deadline,
    }
    return filing, notes


def _approved_within(documents: Iterable[dict[str, Any]], start: date, end: date) -> list[dict[str, Any]]:
    """Billy filtered already; checked again so a filter Billy ignores cannot change the return."""
    return [
        document
        for document in documents
        if document.get("state") == "approved"
        and start.isoformat() <= str(document.get("entryDate")) <= end.isoformat()
    ]


async def _journal_warnings(ctx: CallContext, window: Sequence[tuple[str, str]]) -> list[str]:
    """Manual journal lines with a VAT rate are not in the return's documents: say so."""
    transactions = await ctx.billy.list_all(
        "daybookTransactions", [*window, ("include", "daybookTransaction.lines:embed")]
    )
    taxed = [
        transaction
        for transaction in transactions
        if any(line.get("taxRateId") for line in transaction.get("lines") or ())
    ]
    if not taxed:
        return []
    return [
        f"{len(taxed)} approved journal entries (daybook transactions) in the period carry a VAT rate and are "
        "not in these figures: add their VAT by hand"
    ]


def result_of(payable: Decimal) -> tuple[str, str]:
    if payable > 0:
        return "payable", f"VAT to pay: {format_dkk(payable)}"
    if payable < 0:
        return "refundable", f"VAT to get back: {format_dkk(-payable)}"
    return "nothing", f"Nothing to pay or get back: {format_dkk(payable)}"


async def vat_return(args: VatReturnInput, ctx: CallContext) -> dict[str, Any]:
    start, end, period = requested_range(args)
    organization = await fetch_organization(ctx)
    window = [("state", "approved"), ("minEntryDate", start.isoformat()), ("maxEntryDate", end.isoformat())]
    invoices = await ctx.billy.list_all("invoices", [*window, ("include", "invoice.lines:embed")])
    bills = await ctx.billy.list_all("bills", [*window, ("include", "bill.lines:embed")])
    rates = await ctx.billy.list_all("taxRates")
    figures = compute_vat_return(
        _approved_within(invoices, start, end), _approved_within(bills, start, end), rates
    )
    warnings = figures.warnings + await _journal_warnings(ctx, window)
    filing, filing_notes = filing_fields(organization, start, end, today())
    result, result_text = result_of(figures.payable)
    notes = list(FIXED_NOTES) + filing_notes
    if organization.get("hasVat") is False:
        notes.insert(0, "The organization is not registered for VAT in Billy (hasVat is false).")
    return {
        "organization": organization.get("name", ""),
        "period": period_fields(start, end, _locale(organization), period),
        "currency": organization.get("baseCurrencyId") or "DKK",
        "boxes": {box.key: box_fields(figures, box) for box in BOXES},
        "payable": box_fields(figures, PAYABLE),
        "result": result,
        "result_text": result_text,
        "filing": filing,
        "documents": figures.counts,
        "warnings": warnings,
        "notes": notes,
    }


VAT_RETURN = Tool(
    name="vat_return",
    title="VAT return (momsangivelse)",
    description=(
        "Use it to prepare or check the Danish VAT return (momsangivelse) for a VAT period: salgsmoms, "
        "købsmoms, VAT on goods and services bought abroad, rubrik A, B and C and the amount payable or "
        "refundable, from the approved invoices, credit notes and bills entered in the period. Each box is "
        "in whole kroner with the øre cut off ('12345.00', text '12.345,00 kr.'), plus the filing deadline "
        "for the organization's VAT period from Skattestyrelsen's calendar. Give period (2026-Q2, 2026-H1, "
        "2026-03) or start_date and end_date. It reads Billy only; filing happens in TastSelv."
    ),
    input_model=VatReturnInput,
    output_model=VatReturnOutput,
    handler=vat_return,
    idempotent=True,
)


# ------------------------------------------------------------------ get_fiscal_periods


class FiscalPeriodsInput(ToolInput):
    fiscal_year: int | None = Field(
        None,
        ge=1900,
        le=2200,
        description="Only this fiscal year, named by the calendar year it ends in (as Billy's fiscalYear: "
        "filter): with a fiscal year ending in June, 2026 is 01.07.2025 - 30.06.2026",
        examples=[2026],
    )
    through_date: IsoDate | None = Field(
        None,
        description="List the fiscal years up to the one holding this day, YYYY-MM-DD (default: today)",
        examples=["2026-09-30"],
    )
    sales_tax_period: SalesTaxPeriod | None = Field(
        None,
        description="VAT periods to list: month, quarter or halfYear (default: the organization's)",
        examples=["quarter"],
    )


class VatPeriodOutput(PeriodOutput, DeadlineOutput):
    billy_filter: str = Field(
        description="The period as Billy's entryDatePeriod filter", examples=["quarter:2026-2"]
    )
    within_fiscal_year: bool = Field(description="False when the period reaches outside the fiscal year")


class FiscalYearOutput(ToolOutput):
    year: int = Field(description="The calendar year the fiscal year ends in (Billy's fiscalYear: name)")
    label: str = Field(description="2026, or 2025/26 when it spans two calendar years")
    start_date: str
    end_date: str
    text: str = Field(description="The fiscal year as the organization writes dates")
    months: int = Field(description="Its length in months (a first year may be shorter or longer than 12)")
    billy_filter: str = Field(examples=["fiscalYear:2026"])
    retention_until: str = Field(
        description="Bogføringsloven: its accounting material is kept until this day (5 years from its end)"
    )
    retention_until_text: str
    vat_periods: list[VatPeriodOutput] = Field(description="The VAT periods that overlap it, by the calendar")


class FiscalPeriodsOutput(ToolOutput):
    fiscal_year_end_month: int
    first_fiscal_year_start: str
    sales_tax_period: str
    fiscal_years: list[FiscalYearOutput] = Field(description="Oldest first")
    notes: list[str]


def _months(year: FiscalYear) -> int:
    return (year.end.year - year.start.year) * 12 + year.end.month - year.start.month + 1


def organization_fiscal_years(
    organization: Mapping[str, Any], through: date
) -> tuple[list[FiscalYear], list[str]]:
    """The organization's fiscal years from Billy's firstFiscalYearStart/-End and fiscalYearEndMonth."""
    end_month = int(organization["fiscalYearEndMonth"])
    first_start = date.fromisoformat(str(organization["firstFiscalYearStart"]))
    first_end_text = organization.get("firstFiscalYearEnd")
    if not first_end_text:
        return fiscal_years(first_start, end_month, through), []
    try:
        return fiscal_years(
            first_start, end_month, through, first_end=date.fromisoformat(str(first_end_text))
        ), []
    except ValueError:
        note = (
            f"Billy's first fiscal year ends {first_end_text}, which is not the end of month {end_month} where "
            "fiscal years now end (the end month has changed); years are shown as if it had always been "
            f"{end_month}, so check the years around the change in Billy."
        )
        return fiscal_years(first_start, end_month, through), [note]


def fiscal_year_fields(
    year: FiscalYear, end_month: int, kind: SalesTaxPeriod, locale: str | None
) -> dict[str, Any]:
    kept = retention_until(year.end, end_month)
    periods = [
        {
            **period_fields(period.start, period.end, locale, period),
            **deadline_fields(period, locale),
            "billy_filter": period.billy_filter,
            "within_fiscal_year": period.start >= year.start and period.end <= year.end,
        }
        for period in fiscal_periods(year, kind)
    ]
    return {
        "year": year.year,
        "label": year.label,
        "start_date": year.start.isoformat(),
        "end_date": year.end.isoformat(),
        "text": f"{local_date(year.start, locale)} - {local_date(year.end, locale)}",
        "months": _months(year),
        "billy_filter": f"fiscalYear:{year.year}",
        "retention_until": kept.isoformat(),
        "retention_until_text": local_date(kept, locale),
        "vat_periods": periods,
    }


async def get_fiscal_periods(args: FiscalPeriodsInput, ctx: CallContext) -> dict[str, Any]:
    if args.fiscal_year is not None and args.through_date is not None:
        raise field_error(
            "through_date", "not_with_fiscal_year", "give fiscal_year or through_date, not both"
        )
    organization = await fetch_organization(ctx)
    end_month = int(organization["fiscalYearEndMonth"])
    kind: SalesTaxPeriod = args.sales_tax_period or organization.get("salesTaxPeriod") or "quarter"
    through = args.through_date or today()
    if args.fiscal_year is not None:
        through = date(args.fiscal_year, end_month, 1)  # a day of the month the fiscal year ends in
    years, notes = organization_fiscal_years(organization, through)
    if args.fiscal_year is not None:
        years = [year for year in years if year.year == args.fiscal_year]
        if not years:
            raise field_error(
                "fiscal_year",
                "before_first_fiscal_year",
                f"the books start on {organization['firstFiscalYearStart']}; there is no fiscal year {args.fiscal_year}",
            )
    locale = _locale(organization)
    return {
        "fiscal_year_end_month": end_month,
        "first_fiscal_year_start": str(organization["firstFiscalYearStart"]),
        "sales_tax_period": kind,
        "fiscal_years": [fiscal_year_fields(year, end_month, kind, locale) for year in years],
        "notes": notes,
    }


GET_FISCAL_PERIODS = Tool(
    name="get_fiscal_periods",
    title="Fiscal years and VAT periods",
    description=(
        "Use it to find the organization's fiscal years (from its fiscal year end month, also when that is "
        "not December) and, in each, the VAT periods by the calendar (month, quarter or half-year) with their "
        "filing deadlines, Billy filters (fiscalYear:2026, quarter:2026-2) and how long the year's accounting "
        "material must be kept. Give fiscal_year for one year, or through_date (default today)."
    ),
    input_model=FiscalPeriodsInput,
    output_model=FiscalPeriodsOutput,
    handler=get_fiscal_periods,
    idempotent=True,
)


# ------------------------------------------------------------------ check_invoice_compliance

MOMSBEK = "Momsbekendtgørelsen (BEK nr. 1435 af 29/11/2023)"
PUBLIC_SECTOR_RULES = (
    "BEK nr. 206/2011 and BEK nr. 354/2010 (e-invoicing to public authorities, OIOUBL via NemHandel)"
)
Status = Literal["passed", "failed", "not_applicable", "manual"]


@dataclass(frozen=True)
class Rule:
    key: str
    requirement: str
    source: str


ISSUE_DATE = Rule("issue_date", "Issue date (fakturadato)", f"{MOMSBEK} § 58, stk. 1, nr. 1")
NUMBER = Rule(
    "sequential_number",
    "A sequential number that identifies the invoice uniquely",
    f"{MOMSBEK} § 58, stk. 1, nr. 2",
)
SELLER_VAT_NUMBER = Rule("seller_vat_number", "The seller's CVR/SE number", f"{MOMSBEK} § 58, stk. 1, nr. 3")
SELLER = Rule("seller_name_address", "The seller's name and address", f"{MOMSBEK} § 58, stk. 1, nr. 4")
BUYER = Rule("buyer_name_address", "The buyer's name and address", f"{MOMSBEK} § 58, stk. 1, nr. 4")
LINES = Rule(
    "description_and_quantity",
    "Quantity and nature of the goods, or extent and nature of the services",
    f"{MOMSBEK} § 58, stk. 1, nr. 5",
)
DELIVERY = Rule(
    "delivery_date",
    "The delivery date, where it is fixed and differs from the invoice date",
    f"{MOMSBEK} § 58, stk. 1, nr. 6",
)
UNIT_PRICE = Rule(
    "unit_price_excl_vat", "Unit price excl. VAT and any discounts", f"{MOMSBEK} § 58, stk. 1, nr. 7"
)
RATE = Rule("vat_rate", "The VAT rate applied", f"{MOMSBEK} § 58, stk. 1, nr. 8")
VAT_AMOUNT = Rule("vat_amount", "The VAT amount payable, per rate", f"{MOMSBEK} § 58, stk. 1, nr. 9")
EXEMPT_SUBTOTAL = Rule(
    "exempt_lines_subtotal",
    "Exempt lines shown separately with their own subtotal",
    f"{MOMSBEK} § 58, stk. 3",
)
CREDIT_REFERENCE = Rule(
    "credit_note_reference",
    "A credit note refers specifically and unambiguously to the invoice it changes",
    f"{MOMSBEK} § 58, stk. 2",
)
EU_VAT_NUMBER = Rule(
    "eu_buyer_vat_number",
    "EU sale without Danish VAT: the buyer's VAT number",
    f"{MOMSBEK} § 62, stk. 1 (services) and stk. 2 (goods, momsloven § 34)",
)
EU_WORDING = Rule(
    "eu_exemption_wording",
    "EU sale without Danish VAT: 'omvendt betalingspligt'/'reverse charge' (services) or exemption wording "
    "such as 'momsfri', '0-sats' or a reference to momsloven § 34 (goods)",
    f"{MOMSBEK} § 62, stk. 1 and 2",
)
PUBLIC_EAN = Rule(
    "public_sector_ean", "Public-sector buyer: the authority's EAN location number (GLN)", PUBLIC_SECTOR_RULES
)
PUBLIC_REFERENCE = Rule(
    "public_sector_order_reference",
    "Public-sector buyer: an order or requisition number and a personal reference",
    PUBLIC_SECTOR_RULES,
)

GOODS_WORDING = (
    "momsfri",
    "0-sats",
    "nulsats",
    "zero-rated",
    "zero rated",
    "free of vat",
    "vat exempt",
    "exempt",
    "§ 34",
    "§34",
    "art. 138",
    "artikel 138",
    "article 138",
    "omvendt betalingspligt",
    "reverse charge",
)
SERVICES_WORDING = (
    "omvendt betalingspligt",
    "reverse charge",
    "reverse-charge",
    "art. 196",
    "artikel 196",
    "article 196",
)
DELIVERY_WORDING = ("levering", "leveret", "leveringsdato", "leveres", "delivery", "delivered")
PUBLIC_NAME_WORDS = frozenset(
    {"kommune", "region", "regionen", "universitet", "ministeriet", "politi", "rigspolitiet"}
)
PUBLIC_NAME_ENDINGS = ("kommune", "styrelsen", "ministeriet", "direktoratet")
GREECE_VAT_PREFIX = "EL"


@dataclass
class Check:
    rule: Rule
    status: Status
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule.key,
            "requirement": self.rule.requirement,
            "source": self.rule.source,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class InvoiceFacts:
    """What the checks look at, read from Billy once."""

    invoice: Mapping[str, Any]
    lines: Sequence[Mapping[str, Any]]
    contact: Mapping[str, Any]
    organization: Mapping[str, Any]
    rates: Mapping[str, Mapping[str, Any]]
    products: Mapping[str, Mapping[str, Any]]
    same_number: int

    @property
    def currency(self) -> str:
        return str(self.invoice.get("currencyId") or "DKK")

    @property
    def locale(self) -> str | None:
        return _locale(self.organization)

    @property
    def gross_in_base_currency(self) -> Decimal:
        gross = to_decimal(self.invoice.get("grossAmount") or 0)
        return round2(gross * to_decimal(self.invoice.get("exchangeRate") or 1))

    @property
    def simplified_allowed(self) -> bool:
        """§ 64: a supply of at most 3,000 kr. incl. VAT may have a simplified invoice (not an EU sale)."""
        return self.gross_in_base_currency <= SIMPLIFIED_INVOICE_LIMIT and not self.eu_sale_fields

    def rate_of(self, line: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return self.rates.get(str(line.get("taxRateId")))

    @property
    def eu_sale_fields(self) -> set[str]:
        fields = {str((self.rate_of(line) or {}).get("netAmountMetaField")) for line in self.lines}
        return fields & {"rubrikBGoods", "rubrikBServices"}

    def texts(self) -> list[str]:
        """The free texts printed on the invoice: the message and the line descriptions."""
        return [str(self.invoice.get("contactMessage") or "")] + [
            str(line.get("description") or "") for line in self.lines
        ]

    def line_name(self, line: Mapping[str, Any]) -> str:
        product = self.products.get(str(line.get("productId")), {})
        return str(line.get("description") or product.get("name") or "").strip()


def _missing_parts(record: Mapping[str, Any], parts: Mapping[str, Sequence[str]]) -> list[str]:
    return [
        name for name, keys in parts.items() if not any(str(record.get(key) or "").strip() for key in keys)
    ]


def _relaxed(facts: InvoiceFacts, rule: Rule, problem: str) -> Check:
    """A failure, unless a simplified invoice (§ 64) is allowed and does not need the item."""
    if facts.simplified_allowed:
        limit = format_dkk(SIMPLIFIED_INVOICE_LIMIT)
        return Check(
            rule,
            "not_applicable",
            f"{problem}; not needed on a simplified invoice (§ 64: at most {limit} incl. VAT)",
        )
    return Check(rule, "failed", problem)


def check_issue_date(facts: InvoiceFacts) -> Check:
    entry = facts.invoice.get("entryDate")
    if not entry:
        return Check(ISSUE_DATE, "failed", "the invoice has no date")
    return Check(ISSUE_DATE, "passed", local_date(date.fromisoformat(str(entry)), facts.locale))


def check_number(facts: InvoiceFacts) -> Check:
    number = facts.invoice.get("invoiceNo")
    if not number:
        if facts.invoice.get("state") == "draft":
            return Check(
                NUMBER, "not_applicable", "a draft: Billy gives it the next number of the series at approval"
            )
        return Check(NUMBER, "failed", "the invoice has no number")
    if facts.same_number > 1:
        return Check(
            NUMBER, "failed", f"number {number} is used by {facts.same_number} invoices and credit notes"
        )
    mode = facts.organization.get("invoiceNoMode")
    return Check(NUMBER, "passed", f"number {number}, unique ({mode or 'Billy'} numbering)")


def check_seller_vat_number(facts: InvoiceFacts) -> Check:
    check = validate_cvr(str(facts.organization.get("registrationNo") or ""))
    if not check.valid:
        return Check(SELLER_VAT_NUMBER, "failed", f"the organization's CVR number: {check.reason}")
    return Check(SELLER_VAT_NUMBER, "passed", f"CVR {check.number}")


ADDRESS_PARTS = {"street": ("street",), "postcode": ("zipcode",), "city": ("city",)}
CONTACT_ADDRESS_PARTS = {
    "street": ("street",),
    "postcode": ("zipcodeText", "zipcodeId"),
    "city": ("cityText", "cityId"),
}


def check_seller(facts: InvoiceFacts) -> Check:
    missing = _missing_parts(facts.organization, {"name": ("name",), **ADDRESS_PARTS})
    if missing:
        return Check(SELLER, "failed", f"the organization has no {', '.join(missing)} in Billy")
    return Check(SELLER, "passed", str(facts.organization.get("name")))


def check_buyer(facts: InvoiceFacts) -> Check:
    parts = dict(CONTACT_ADDRESS_PARTS)
    if facts.contact.get("countryId") != "DK":
        parts.pop("postcode")  # not every country has postcodes
    missing = _missing_parts(facts.contact, {"name": ("name",), **parts})
    if missing:
        name = facts.contact.get("name") or "the customer"
        return _relaxed(facts, BUYER, f"{name} has no {', '.join(missing)} in Billy")
    return Check(BUYER, "passed", str(facts.contact.get("name")))


def check_lines(facts: InvoiceFacts) -> Check:
    problems = []
    for number, line in enumerate(facts.lines, start=1):
        if not facts.line_name(line):
            problems.append(f"line {number} has no description")
        if to_decimal(line.get("quantity") or 0) <= 0:
            problems.append(f"line {number} has no quantity")
    if not facts.lines:
        problems.append("the invoice has no lines")
    if problems:
        return Check(LINES, "failed", "; ".join(problems))
    return Check(LINES, "passed", f"{len(facts.lines)} line(s) with description and quantity")


def check_delivery(facts: InvoiceFacts) -> Check:
    text = " ".join(facts.texts()).casefold()
    if any(word in text for word in DELIVERY_WORDING):
        return Check(DELIVERY, "passed", "the invoice text states the delivery")
    entry = facts.invoice.get("entryDate")
    shown = local_date(date.fromisoformat(str(entry)), facts.locale) if entry else "the invoice date"
    return Check(
        DELIVERY,
        "manual",
        f"Billy invoices have no delivery date: if delivery was on a fixed day other than {shown}, "
        "write it in the message or a line description",
    )


def check_unit_price(facts: InvoiceFacts) -> Check:
    missing = [str(n) for n, line in enumerate(facts.lines, start=1) if line.get("unitPrice") is None]
    if missing:
        return _relaxed(facts, UNIT_PRICE, f"no unit price on line(s) {', '.join(missing)}")
    if facts.invoice.get("taxMode") == "incl":
        if facts.simplified_allowed:
            return Check(
                UNIT_PRICE, "not_applicable", "prices incl. VAT are enough on a simplified invoice (§ 64)"
            )
        return Check(
            UNIT_PRICE,
            "manual",
            "the prices are entered incl. VAT: check that the invoice also shows each unit price excl. VAT",
        )
    return Check(UNIT_PRICE, "passed", "unit prices excl. VAT on every line")


def check_rate(facts: InvoiceFacts) -> Check:
    unknown = [str(n) for n, line in enumerate(facts.lines, start=1) if facts.rate_of(line) is None]
    if unknown:
        return _relaxed(facts, RATE, f"no VAT rate on line(s) {', '.join(unknown)}")
    names = sorted(
        {f"{percent_text(rate)} ({rate.get('name')})" for rate in map(facts.rate_of, facts.lines) if rate}
    )
    return Check(RATE, "passed", ", ".join(names))


def check_vat_amount(facts: InvoiceFacts, by_rate: Sequence[Mapping[str, Any]]) -> Check:
    if facts.invoice.get("tax") is None:
        return Check(VAT_AMOUNT, "failed", "the invoice has no VAT amount")
    parts = [f"{row['vat_text']} at {row['percent']} %" for row in by_rate]
    return Check(VAT_AMOUNT, "passed", "; ".join(parts) or "no lines")


def check_exempt_subtotal(facts: InvoiceFacts) -> Check:
    rates = {to_decimal(rate.get("rate") or 0) > 0 for rate in map(facts.rate_of, facts.lines) if rate}
    if rates != {True, False}:
        return Check(EXEMPT_SUBTOTAL, "not_applicable", "all lines have the same kind of rate")
    return Check(
        EXEMPT_SUBTOTAL,
        "manual",
        "the invoice mixes lines with and without VAT: check that the lines without VAT have their own subtotal",
    )


def check_credit_reference(facts: InvoiceFacts) -> Check:
    if facts.invoice.get("type") != "credit_note":
        return Check(CREDIT_REFERENCE, "not_applicable", "not a credit note")
    if not facts.invoice.get("creditedInvoiceId"):
        return Check(CREDIT_REFERENCE, "failed", "the credit note does not name the invoice it credits")
    return Check(CREDIT_REFERENCE, "passed", "it names the invoice it credits")


def buyer_vat_number(contact: Mapping[str, Any]) -> str:
    """The buyer's registration number with its country prefix (Greece writes EL)."""
    number = "".join(str(contact.get("registrationNo") or "").split()).upper()
    if number and not number[:2].isalpha():
        country = str(contact.get("countryId") or "")
        number = (GREECE_VAT_PREFIX if country == "GR" else country) + number
    return number


def check_eu_vat_number(facts: InvoiceFacts) -> Check:
    if not facts.eu_sale_fields:
        return Check(EU_VAT_NUMBER, "not_applicable", "not an EU sale without Danish VAT")
    number = buyer_vat_number(facts.contact)
    name = facts.contact.get("name") or "the customer"
    if not number:
        return Check(EU_VAT_NUMBER, "failed", f"{name} has no VAT number in Billy (registrationNo)")
    check = validate_eu_vat(number)
    if not check.valid:
        return Check(EU_VAT_NUMBER, "failed", f"{name}'s VAT number {number}: {check.reason}")
    return Check(
        EU_VAT_NUMBER, "passed", f"{check.number} (format checked; VIES says whether it is registered)"
    )


def check_eu_wording(facts: InvoiceFacts) -> Check:
    fields = facts.eu_sale_fields
    if not fields:
        return Check(EU_WORDING, "not_applicable", "not an EU sale without Danish VAT")
    rate_names = [
        f"{rate.get('name')} {rate.get('description')}"
        for rate in map(facts.rate_of, facts.lines)
        if rate and rate.get("netAmountMetaField") in fields
    ]
    places = {"the invoice text": " ".join(facts.texts()), "the VAT rate's name": " ".join(rate_names)}
    missing = []
    for field, words, kind in (
        ("rubrikBGoods", GOODS_WORDING, "exemption (goods)"),
        ("rubrikBServices", SERVICES_WORDING, "reverse-charge (services)"),
    ):
        if field in fields and not any(word in text.casefold() for text in places.values() for word in words):
            missing.append(kind)
    if missing:
        return Check(EU_WORDING, "failed", f"no {' or '.join(missing)} wording on the invoice")
    found = [
        place
        for place, text in places.items()
        if any(w in text.casefold() for w in GOODS_WORDING + SERVICES_WORDING)
    ]
    return Check(EU_WORDING, "passed", f"wording found in {' and '.join(found)}")


def looks_public(name: str) -> bool:
    """Whether a customer's name reads like a Danish public authority (kommune, region, styrelse ...)."""
    words = re.findall(r"\w+", name.casefold())
    return any(word in PUBLIC_NAME_WORDS or word.endswith(PUBLIC_NAME_ENDINGS) for word in words)


def public_buyer(facts: InvoiceFacts) -> bool:
    return bool(str(facts.contact.get("ean") or "").strip()) or looks_public(
        str(facts.contact.get("name") or "")
    )


def check_public_ean(facts: InvoiceFacts) -> Check:
    ean = str(facts.contact.get("ean") or "").strip()
    name = str(facts.contact.get("name") or "")
    if not ean:
        if looks_public(name):
            return Check(
                PUBLIC_EAN, "failed", f"{name} looks like a public authority but has no EAN in Billy"
            )
        return Check(
            PUBLIC_EAN, "not_applicable", "the customer has no EAN and does not look like a public authority"
        )
    check = validate_ean(ean)
    if not check.valid:
        return Check(PUBLIC_EAN, "failed", f"EAN {ean}: {check.reason}")
    return Check(PUBLIC_EAN, "passed", f"EAN {check.number}")


def check_public_reference(facts: InvoiceFacts) -> Check:
    if not public_buyer(facts):
        return Check(PUBLIC_REFERENCE, "not_applicable", "not a public-sector customer")
    missing = []
    if not str(facts.invoice.get("orderNo") or "").strip():
        missing.append("an order or requisition number (orderNo)")
    if not facts.invoice.get("attContactPersonId"):
        missing.append("a personal reference (att. contact person)")
    if missing:
        return Check(PUBLIC_REFERENCE, "failed", f"the invoice has no {' and no '.join(missing)}")
    return Check(PUBLIC_REFERENCE, "passed", f"order {facts.invoice.get('orderNo')}, with an att. person")


def percent_text(rate: Mapping[str, Any]) -> str:
    return format((to_decimal(rate.get("rate") or 0) * 100).normalize(), "f")


def vat_by_rate(facts: InvoiceFacts) -> list[dict[str, Any]]:
    """Net and VAT per rate, VAT kept unrounded per line and rounded once per rate."""
    mode = str(facts.invoice.get("taxMode") or "excl")
    sums: dict[str, tuple[Decimal, Decimal]] = {}
    for line in facts.lines:
        rate = facts.rate_of(line)
        if rate is None:
            continue
        amount = to_decimal(line.get("amount") or 0)
        net, vat = sums.get(str(rate["id"]), (ZERO, ZERO))
        tax = line_tax(amount, to_decimal(rate.get("rate") or 0), "incl" if mode == "incl" else "excl")
        sums[str(rate["id"])] = (net + net_of_line(line, rate, mode), vat + tax)
    rows = []
    for rate_id, (net, vat) in sums.items():
        rate = facts.rates[rate_id]
        rows.append(
            {
                "tax_rate": str(rate.get("name") or ""),
                "percent": percent_text(rate),
                "net": money(net),
                "vat": money(vat),
                "net_text": amount_text(round2(net), facts.currency),
                "vat_text": amount_text(round2(vat), facts.currency),
            }
        )
    return rows


class InvoiceComplianceInput(ToolInput):
    invoice_id: BillyId = Field(
        description="The Billy id of the invoice or credit note", examples=[EXAMPLE_ID]
    )


class ComplianceCheck(ToolOutput):
    rule: str = Field(description="The requirement's key", examples=["buyer_name_address"])
    requirement: str = Field(description="What the law asks for")
    source: str = Field(description="Where the rule is written")
    status: Status = Field(
        description="passed, failed, not_applicable, or manual (Billy's data cannot tell; a person must look)"
    )
    detail: str = Field(description="What was found")


class VatByRateOutput(ToolOutput):
    tax_rate: str
    percent: str = Field(examples=["25"])
    net: str = Field(description="Net amount at this rate, in the invoice's currency")
    vat: str = Field(description="VAT at this rate, in the invoice's currency")
    net_text: str
    vat_text: str


class InvoiceComplianceOutput(ToolOutput):
    invoice_id: str
    invoice_no: str | None
    type: str = Field(description="invoice or credit_note")
    state: str
    entry_date: str | None
    entry_date_text: str | None = Field(description="The invoice date as the organization writes dates")
    customer: str | None
    total_text: str = Field(description="The total incl. VAT for people")
    compliant: bool = Field(description="True when no requirement failed (manual items still need a look)")
    simplified_invoice_allowed: bool = Field(
        description="At most 3.000,00 kr. incl. VAT and not an EU sale: § 64 allows a simplified invoice"
    )
    missing: list[ComplianceCheck] = Field(description="Each failed requirement with the rule it breaks")
    to_check: list[ComplianceCheck] = Field(
        description="Requirements a person must check on the invoice itself"
    )
    checks: list[ComplianceCheck] = Field(description="Every requirement and its verdict")
    vat_by_rate: list[VatByRateOutput]
    summary: str


CHECKS = (
    check_issue_date,
    check_number,
    check_seller_vat_number,
    check_seller,
    check_buyer,
    check_lines,
    check_delivery,
    check_unit_price,
    check_rate,
    check_exempt_subtotal,
    check_credit_reference,
    check_eu_vat_number,
    check_eu_wording,
    check_public_ean,
    check_public_reference,
)


def run_checks(facts: InvoiceFacts) -> dict[str, Any]:
    by_rate = vat_by_rate(facts)
    checks = [check(facts) for check in CHECKS]
    checks.insert(9, check_vat_amount(facts, by_rate))
    missing = [check.as_dict() for check in checks if check.status == "failed"]
    to_check = [check.as_dict() for check in checks if check.status == "manual"]
    invoice = facts.invoice
    number = invoice.get("invoiceNo")
    name = f"{'Credit note' if invoice.get('type') == 'credit_note' else 'Invoice'} {number or '(draft)'}"
    summary = f"{name}: " + (
        f"{len(missing)} requirement(s) missing: {', '.join(item['rule'] for item in missing)}"
        if missing
        else "meets the requirements Billy's data can show"
    )
    if to_check:
        summary += f"; check by hand: {', '.join(item['rule'] for item in to_check)}"
    entry = invoice.get("entryDate")
    return {
        "invoice_id": str(invoice["id"]),
        "invoice_no": str(number) if number else None,
        "type": str(invoice.get("type") or "invoice"),
        "state": str(invoice.get("state") or ""),
        "entry_date": entry,
        "entry_date_text": local_date(date.fromisoformat(str(entry)), facts.locale) if entry else None,
        "customer": facts.contact.get("name"),
        "total_text": amount_text(to_decimal(invoice.get("grossAmount") or 0), facts.currency),
        "compliant": not missing,
        "simplified_invoice_allowed": facts.simplified_allowed,
        "missing": missing,
        "to_check": to_check,
        "checks": [check.as_dict() for check in checks],
        "vat_by_rate": by_rate,
        "summary": summary + ".",
    }


INVOICE_INCLUDE = "invoice.lines:embed,invoiceLine.product:sideload,invoice.contact:sideload"


async def read_invoice_facts(ctx: CallContext, invoice_id: str) -> InvoiceFacts:
    body = await ctx.billy.request("GET", f"/invoices/{invoice_id}", query=[("include", INVOICE_INCLUDE)])
    invoice: dict[str, Any] = body["invoice"]
    contacts = by_id(body.get("contacts") or ())
    contact = contacts.get(str(invoice.get("contactId"))) or await ctx.billy.get_record(
        "contacts", str(invoice["contactId"])
    )
    same_number = 0
    if invoice.get("invoiceNo"):
        _, paging = await ctx.billy.list_page(
            "invoices", [("invoiceNo", str(invoice["invoiceNo"]))], page_size=5
        )
        same_number = int(paging.get("total") or 0)
    return InvoiceFacts(
        invoice=invoice,
        lines=sorted(invoice.get("lines") or (), key=lambda line: int(line.get("priority") or 0)),
        contact=contact,
        organization=await fetch_organization(ctx),
        rates=by_id(await ctx.billy.list_all("taxRates")),
        products=by_id(body.get("products") or ()),
        same_number=same_number,
    )


async def check_invoice_compliance(args: InvoiceComplianceInput, ctx: CallContext) -> dict[str, Any]:
    return run_checks(await read_invoice_facts(ctx, args.invoice_id))


CHECK_INVOICE_COMPLIANCE = Tool(
    name="check_invoice_compliance",
    title="Check an invoice against Danish invoice rules",
    description=(
        "Use it before sending an invoice, or to audit one: checks an invoice or credit note against the "
        "Danish invoice requirements (momsbekendtgørelsen § 58: date, sequential number, seller CVR, seller "
        "and buyer name and address, description and quantity, delivery date, unit price excl. VAT, VAT rate "
        "and VAT per rate; § 62 EU sales: buyer's VAT number and reverse-charge or exemption wording; "
        "public-sector buyers: EAN and order reference; § 64 simplified invoices up to 3.000 kr.). Lists each "
        "missing item with the rule it breaks, and what a person must check by hand. Reads only."
    ),
    input_model=InvoiceComplianceInput,
    output_model=InvoiceComplianceOutput,
    handler=check_invoice_compliance,
    idempotent=True,
)


def tools(kernel: Any) -> list[Tool]:
    return [VAT_RETURN, CHECK_INVOICE_COMPLIANCE, GET_FISCAL_PERIODS]
