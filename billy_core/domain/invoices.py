"""Invoice read tools. Billy has three states (draft, approved, voided); payment shows as
``balance``/``is_paid``, never as a state (v1 invented "paid" and "cancelled")."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from billy_core.context import CallContext
from billy_core.domain.common import (
    GetInput,
    ListInput,
    ListOutput,
    billy_window,
    by_id,
    money_or_none,
    project,
    text_or_none,
    today,
)
from billy_core.errors import InvalidArgument
from billy_core.money import money
from billy_core.tools import Tool, ToolOutput

InvoiceState = Literal["draft", "approved", "voided"]
PaymentStatus = Literal["paid", "unpaid", "overdue"]
SORTS = {
    "entry_date": "entryDate",
    "due_date": "dueDate",
    "invoice_no": "invoiceNo",
    "gross_amount": "grossAmount",
    "balance": "balance",
    "created_time": "createdTime",
}


def days_overdue(invoice: dict[str, Any], on: date) -> int:
    if invoice.get("state") != "approved" or invoice.get("isPaid") or not invoice.get("dueDate"):
        return 0
    return max(0, (on - date.fromisoformat(invoice["dueDate"])).days)


def invoice_summary(invoice: dict[str, Any], contacts: dict[str, dict[str, Any]], on: date) -> dict[str, Any]:
    contact = contacts.get(str(invoice.get("contactId")), {})
    gross = invoice.get("grossAmount")
    if gross is None and invoice.get("amount") is not None:
        gross = invoice["amount"] + (invoice.get("tax") or 0)
    overdue = days_overdue(invoice, on)
    return {
        "id": invoice["id"],
        "invoice_no": text_or_none(invoice.get("invoiceNo")),
        "type": invoice.get("type", "invoice"),
        "state": invoice.get("state"),
        "sent_state": invoice.get("sentState"),
        "customer_id": invoice.get("contactId"),
        "customer_name": contact.get("name"),
        "entry_date": invoice.get("entryDate"),
        "due_date": invoice.get("dueDate"),
        "currency": invoice.get("currencyId"),
        "tax_mode": invoice.get("taxMode"),
        "net_amount": money_or_none(invoice.get("amount")),
        "vat_amount": money_or_none(invoice.get("tax")),
        "gross_amount": money_or_none(gross),
        "balance": money_or_none(invoice.get("balance")),
        "is_paid": bool(invoice.get("isPaid")),
        "is_overdue": overdue > 0,
        "days_overdue": overdue,
        "credited_invoice_id": invoice.get("creditedInvoiceId"),
        "message": text_or_none(invoice.get("contactMessage")),
        "description": text_or_none(invoice.get("lineDescription")),
        "external_id": text_or_none(invoice.get("externalId")),
    }


def line_summary(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": line["id"],
        "product_id": line.get("productId"),
        "description": text_or_none(line.get("description")),
        "quantity": str(line.get("quantity", 1)),
        "unit_price": money(line.get("unitPrice", 0)),
        "amount": money_or_none(line.get("amount")),
        "vat_amount": money_or_none(line.get("tax")),
        "tax_rate_id": line.get("taxRateId"),
        "discount_mode": line.get("discountMode"),
        "discount_value": None if line.get("discountValue") is None else str(line["discountValue"]),
    }


class ListInvoicesInput(ListInput):
    state: InvoiceState | None = Field(None, description="Only invoices in this state", examples=["approved"])
    payment_status: PaymentStatus | None = Field(
        None, description="paid, unpaid (approved with a balance) or overdue (unpaid past the due date)"
    )
    start_date: date | None = Field(
        None, description="Earliest entry (invoice) date, YYYY-MM-DD", examples=["2026-01-01"]
    )
    end_date: date | None = Field(
        None, description="Latest entry (invoice) date, YYYY-MM-DD", examples=["2026-03-31"]
    )
    customer_id: str | None = Field(None, description="Only this customer's invoices (a Billy contact id)")
    query: str | None = Field(
        None,
        description="Text search in invoice number, customer name, line descriptions and amounts",
        max_length=200,
    )
    invoice_type: Literal["invoice", "credit_note"] | None = Field(
        None, description="Invoices or credit notes only"
    )
    sort: Literal["entry_date", "due_date", "invoice_no", "gross_amount", "balance", "created_time"] = Field(
        "entry_date", description="Sort key"
    )
    order: Literal["asc", "desc"] = Field("desc", description="Sort direction")
    as_of: date | None = Field(
        None, description="Date to judge 'overdue' against (default: today in Denmark)"
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> ListInvoicesInput:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("start_date must not be after end_date")
        return self


def invoice_query(args: ListInvoicesInput, on: date) -> list[tuple[str, str]]:
    query = [
        ("include", "invoice.contact:sideload"),
        ("sortProperty", SORTS[args.sort]),
        ("sortDirection", args.order.upper()),
    ]
    if args.state:
        query.append(("state", args.state))
    if args.payment_status == "paid":
        query.append(("isPaid", "true"))
    elif args.payment_status in ("unpaid", "overdue"):
        if args.state and args.state != "approved":
            raise InvalidArgument(
                "payment_status unpaid/overdue applies to approved invoices only",
                details={"errors": [{"field": "payment_status", "rule": "state_conflict"}]},
            )
        query += [("isPaid", "false"), ("state", "approved")] if not args.state else [("isPaid", "false")]
        if args.payment_status == "overdue":
            query.append(("maxDueDate", (on - timedelta(days=1)).isoformat()))
    if args.start_date:
        query.append(("minEntryDate", args.start_date.isoformat()))
    if args.end_date:
        query.append(("maxEntryDate", args.end_date.isoformat()))
    if args.customer_id:
        query.append(("contactId", args.customer_id))
    if args.query:
        query.append(("q", args.query))
    if args.invoice_type:
        query.append(("type", args.invoice_type))
    return query


async def list_invoices(args: ListInvoicesInput, ctx: CallContext) -> dict[str, Any]:
    on = args.as_of or today()
    records, total, sideloads = await billy_window(
        ctx.billy, "invoices", invoice_query(args, on), offset=args.offset, limit=args.limit
    )
    contacts = by_id(sideloads.get("contacts", []))
    items = [project(invoice_summary(invoice, contacts, on), args.fields) for invoice in records]
    has_more = args.offset + len(items) < total
    return {
        "items": items,
        "total": total,
        "has_more": has_more,
        "next_offset": args.offset + len(items) if has_more else None,
    }


class GetInvoiceInput(GetInput):
    invoice_id: str = Field(
        description="The Billy id of the invoice",
        min_length=1,
        max_length=100,
        examples=["cSHBqWWITexZvQy29lqpYg"],
    )


class InvoiceOutput(ToolOutput):
    id: str
    lines: list[dict[str, Any]] | None = Field(None, description="Invoice lines with amounts")


async def get_invoice(args: GetInvoiceInput, ctx: CallContext) -> dict[str, Any]:
    body = await ctx.billy.request(
        "GET",
        f"/invoices/{args.invoice_id}",
        query=(("include", "invoice.lines:embed,invoice.contact:sideload"),),
    )
    invoice = body["invoice"]
    ctx.touch(f"invoice:{invoice['id']}")
    summary = invoice_summary(invoice, by_id(body.get("contacts", [])), today())
    summary["lines"] = [line_summary(line) for line in sorted(invoice.get("lines", []), key=_priority)]
    return project(summary, args.fields)


def _priority(line: dict[str, Any]) -> Any:
    return line.get("priority") or 0


LIST_INVOICES = Tool(
    name="list_invoices",
    title="List invoices",
    description=(
        "Find invoices and credit notes: filter by state (draft, approved, voided), payment status "
        "(paid, unpaid, overdue), entry date range, customer or free text. Returns one page "
        "({items, total, has_more, next_offset}); pass next_offset as offset for the next page. "
        "Use get_invoice for the lines of one invoice."
    ),
    input_model=ListInvoicesInput,
    output_model=ListOutput,
    handler=list_invoices,
    idempotent=True,
)

GET_INVOICE = Tool(
    name="get_invoice",
    title="Get an invoice",
    description=(
        "One invoice or credit note with its lines, amounts (net, VAT, gross), balance, due date and "
        "days overdue. Use list_invoices first to find the id."
    ),
    input_model=GetInvoiceInput,
    output_model=InvoiceOutput,
    handler=get_invoice,
    idempotent=True,
)


def tools(kernel: Any) -> list[Tool]:
    return [LIST_INVOICES, GET_INVOICE]
