"""Report tools computed from Billy's documents with exact Decimal sums.

``get_revenue`` reads the approved invoices and credit notes of a period (every page) and
sums them per entry month: a credit note counts, negatively, in its own entry month, not in
the month of the invoice it credits. v1 summed only paid invoices from states Billy does not
have; here every figure comes from Billy's amounts and balances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field

from billy_core.context import CallContext
from billy_core.domain.common import today
from billy_core.domain.documents import (
    BillyId,
    IsoDate,
    base_amount,
    field_error,
    gross_of,
    list_with_sideloads,
)
from billy_core.domain.organization import fetch_organization
from billy_core.money import money, to_decimal
from billy_core.tools import Tool, ToolInput, ToolOutput

ZERO = Decimal(0)
MAX_MONTHS = 120


class RevenueInput(ToolInput):
    start_date: IsoDate = Field(
        description="First invoice date of the period, YYYY-MM-DD", examples=["2026-01-01"]
    )
    end_date: IsoDate = Field(
        description="Last invoice date of the period, YYYY-MM-DD", examples=["2026-06-30"]
    )
    customer_id: BillyId | None = Field(
        None,
        description="Only this customer's invoices and credit notes",
        examples=["S1-eu712iPsZO9P-32MJqQ"],
    )
    as_of: IsoDate | None = Field(
        None,
        description="The day to judge 'overdue' against (default: today in Denmark)",
        examples=["2026-09-30"],
    )


class RevenueFigures(ToolOutput):
    invoices: int = Field(description="Approved invoices entered in the period")
    credit_notes: int = Field(description="Approved credit notes entered in the period")
    net: str = Field(description="Invoiced without VAT, credit notes subtracted")
    vat: str = Field(description="VAT invoiced, credit notes subtracted")
    gross: str = Field(description="Invoiced with VAT, credit notes subtracted")
    paid: str = Field(description="Paid so far on these invoices (refunds of credit notes subtracted)")
    outstanding: str = Field(description="Still unpaid on these invoices (refunds still owed subtracted)")
    overdue: str = Field(description="The part of outstanding that is past its due date on as_of")


class RevenueMonth(RevenueFigures):
    month: str = Field(description="YYYY-MM")


class RevenueOutput(ToolOutput):
    start_date: str
    end_date: str
    as_of: str = Field(description="The day 'overdue' was judged against")
    currency: str = Field(description="The base currency all figures are in (foreign invoices at their rate)")
    months: list[RevenueMonth] = Field(description="One entry per calendar month of the period, oldest first")
    totals: RevenueFigures = Field(description="The whole period")


@dataclass
class Tally:
    invoices: int = 0
    credit_notes: int = 0
    sums: dict[str, Decimal] = field(
        default_factory=lambda: dict.fromkeys(("net", "vat", "gross", "paid", "outstanding", "overdue"), ZERO)
    )

    def add(self, other: Tally) -> None:
        self.invoices += other.invoices
        self.credit_notes += other.credit_notes
        for key, value in other.sums.items():
            self.sums[key] += value

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoices": self.invoices,
            "credit_notes": self.credit_notes,
            **{key: money(value) for key, value in self.sums.items()},
        }


def months_between(start: date, end: date) -> list[str]:
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def settled_by_payments(document: dict[str, Any]) -> Decimal:
    """What bank (or contact balance) payments settled; credit notes settling it are not payments."""
    return sum(
        (
            to_decimal(modifier["amount"])
            for modifier in document.get("balanceModifiers") or ()
            if not modifier.get("isVoided")
            and not str(modifier.get("modifierReference")).startswith("invoice:")
        ),
        ZERO,
    )


def count_document(tally: Tally, document: dict[str, Any], on: date) -> None:
    credit = document.get("type") == "credit_note"
    sign = -1 if credit else 1
    balance = to_decimal(document.get("balance") or 0)
    figures = {
        "net": document.get("amount") or 0,
        "vat": document.get("tax") or 0,
        "gross": gross_of(document) or 0,
        "paid": settled_by_payments(document),
        "outstanding": balance,
    }
    for key, value in figures.items():
        tally.sums[key] += sign * base_amount(document, value)
    due = document.get("dueDate")
    if not credit and balance > 0 and due and date.fromisoformat(due) < on:
        tally.sums["overdue"] += base_amount(document, balance)
    if credit:
        tally.credit_notes += 1
    else:
        tally.invoices += 1


async def get_revenue(args: RevenueInput, ctx: CallContext) -> dict[str, Any]:
    if args.end_date < args.start_date:
        raise field_error("end_date", "before_start_date", "end_date must not be before start_date")
    months = months_between(args.start_date, args.end_date)
    if len(months) > MAX_MONTHS:
        raise field_error("end_date", "period_too_long", f"a period is at most {MAX_MONTHS} months")
    on = args.as_of or today()
    query = [
        ("state", "approved"),
        ("minEntryDate", args.start_date.isoformat()),
        ("maxEntryDate", args.end_date.isoformat()),
        ("include", "invoice.balanceModifiers:embed"),
    ]
    if args.customer_id:
        query.append(("contactId", args.customer_id))
    documents, _ = await list_with_sideloads(ctx, "invoices", query)
    by_month = {month: Tally() for month in months}
    for document in documents:
        count_document(by_month[str(document["entryDate"])[:7]], document, on)
    totals = Tally()
    for tally in by_month.values():
        totals.add(tally)
    organization = await fetch_organization(ctx)
    return {
        "start_date": args.start_date.isoformat(),
        "end_date": args.end_date.isoformat(),
        "as_of": on.isoformat(),
        "currency": organization["baseCurrencyId"],
        "months": [{"month": month, **tally.as_dict()} for month, tally in by_month.items()],
        "totals": totals.as_dict(),
    }


GET_REVENUE = Tool(
    name="get_revenue",
    title="Revenue by month",
    description=(
        "Use it for revenue questions: a period by invoice month, from approved invoices with credit notes subtracted in their "
        "own month: net, VAT and gross invoiced, what has been paid, what is outstanding and what of that is "
        "overdue (on as_of). Exact sums in the base currency as two-decimal strings. Optionally for one customer."
    ),
    input_model=RevenueInput,
    output_model=RevenueOutput,
    handler=get_revenue,
    idempotent=True,
)


def tools(kernel: Any) -> list[Tool]:
    return [GET_REVENUE]
