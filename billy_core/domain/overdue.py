"""list_overdue_invoices: unpaid approved invoices past due, with aging buckets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from billy_core.context import CallContext
from billy_core.domain.common import today
from billy_core.domain.documents import ZERO, BillyId, IsoDate, base_amount, days_overdue, list_with_sideloads
from billy_core.domain.invoices import invoice_summary
from billy_core.domain.organization import fetch_organization
from billy_core.listing import ListInput, ListOutput, window
from billy_core.money import money, to_decimal
from billy_core.tools import Tool, ToolOutput

BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("over 90", 91, None),
)


def bucket_of(days: int) -> str:
    return next(name for name, low, high in BUCKETS if days >= low and (high is None or days <= high))


class ListOverdueInput(ListInput):
    as_of: IsoDate | None = Field(
        None,
        description="The day to judge 'overdue' against, YYYY-MM-DD (default: today in Denmark). "
        "Balances are Billy's current ones.",
        examples=["2026-09-30"],
    )
    customer_id: BillyId | None = Field(
        None, description="Only this customer's invoices", examples=["S1-eu712iPsZO9P-32MJqQ"]
    )


class BucketOutput(ToolOutput):
    bucket: str = Field(description="Days overdue: 0-30, 31-60, 61-90 or over 90")
    count: int
    balance: str = Field(description="The bucket's unpaid balance in the base currency")


class OverdueOutput(ListOutput):
    as_of: str = Field(description="The day 'overdue' was judged against")
    currency: str = Field(description="The currency of the totals (the organization's base currency)")
    total_balance: str = Field(description="All overdue balances, in the base currency")
    buckets: list[BucketOutput] = Field(description="Aging buckets with their counts and balances")


async def list_overdue_invoices(args: ListOverdueInput, ctx: CallContext) -> dict[str, Any]:
    on = args.as_of or today()
    query = [
        ("state", "approved"),
        ("isPaid", "false"),
        ("type", "invoice"),
        ("maxDueDate", (on - timedelta(days=1)).isoformat()),
        ("include", "invoice.contact:sideload"),
    ]
    if args.customer_id:
        query.append(("contactId", args.customer_id))
    invoices, sideloads = await list_with_sideloads(ctx, "invoices", query)
    contacts = sideloads.get("contacts", {})
    rows = []
    totals = {name: (0, ZERO) for name, _, _ in BUCKETS}
    for invoice in invoices:
        days = days_overdue(invoice, on)
        if days <= 0 or to_decimal(invoice.get("balance") or 0) <= 0:
            continue
        bucket = bucket_of(days)
        count, balance = totals[bucket]
        totals[bucket] = (count + 1, balance + base_amount(invoice, invoice["balance"]))
        summary = invoice_summary(invoice, contacts, on)
        keep = ("id", "invoice_no", "customer_id", "customer_name", "entry_date", "due_date", "currency")
        rows.append(
            {
                **{key: summary[key] for key in keep},
                "days_overdue": days,
                "bucket": bucket,
                "gross_amount": summary["gross_amount"],
                "balance": summary["balance"],
                "sent_state": summary["sent_state"],
            }
        )
    rows.sort(key=lambda row: (-row["days_overdue"], row["invoice_no"] or "", row["id"]))
    organization = await fetch_organization(ctx)
    return {
        **window(rows, args),
        "as_of": on.isoformat(),
        "currency": organization["baseCurrencyId"],
        "total_balance": money(sum((balance for _, balance in totals.values()), ZERO)),
        "buckets": [
            {"bucket": name, "count": count, "balance": money(balance)}
            for name, (count, balance) in totals.items()
        ],
    }


LIST_OVERDUE_INVOICES = Tool(
    name="list_overdue_invoices",
    title="Overdue invoices with aging",
    description=(
        "Approved, unpaid invoices past their due date on a given day (as_of), most overdue first, with "
        "days overdue and aging buckets (0-30, 31-60, 61-90, over 90 days) totalled in the base currency. "
        "Use it for dunning and receivables follow-up."
    ),
    input_model=ListOverdueInput,
    output_model=OverdueOutput,
    handler=list_overdue_invoices,
    idempotent=True,
)


def tools(kernel: Any) -> list[Tool]:
    return [LIST_OVERDUE_INVOICES]
