"""create_credit_note: full, by lines or by amount, for an approved invoice.

A credit note is an invoice of type credit_note with positive amounts that reduce the credited
invoice's balance; approved invoices are never deleted or edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from billy_core.context import CallContext
from billy_core.domain.common import (
    today,
)
from billy_core.domain.documents import (
    MAX_LINES,
    ZERO,
    Amount,
    BillyId,
    IsoDate,
    Quantity,
    UnitPrice,
    field_error,
    field_not_found,
    gross_of,
    money_overview,
    tax_rates,
    with_priorities,
)
from billy_core.domain.invoices import (
    InvoiceIdInput,
    InvoiceWriteOutput,
    _priority,
    existing_by_key,
    existing_line_payload,
    invoice_result,
    invoice_summary,
    label,
    read_invoice,
)
from billy_core.errors import Conflict
from billy_core.money import money, to_decimal
from billy_core.tools import Tool, ToolInput, ToolOutput
from billy_core.vat import InvoiceLine, calculate_invoice


class CreditLineInput(ToolInput):
    line_id: BillyId = Field(
        description="The id of the invoice line to credit (see get_invoice)",
        examples=["rJOYmHUfQBecodHXkZF8qQ"],
    )
    quantity: Quantity | None = Field(
        None, description="How many units to credit (default: all of the line)", examples=["1"]
    )
    unit_price: UnitPrice | None = Field(
        None, description="Price per unit to credit (default: the line's price)", examples=["150.00"]
    )
    description: str | None = Field(
        None, max_length=1000, description="Line text (default: the line's)", examples=["Returneret"]
    )


class CreateCreditNoteInput(InvoiceIdInput):
    amount: Amount | None = Field(
        None,
        description="Credit this amount, in the invoice's tax mode (excl: before VAT, which is added), "
        "on the product of the invoice's first line. Leave out amount and lines to credit the whole invoice.",
        examples=["50.00"],
    )
    lines: Annotated[list[CreditLineInput], Field(min_length=1, max_length=MAX_LINES)] | None = Field(
        None,
        description="Credit these invoice lines (all or part of their quantity or price)",
        examples=[[{"line_id": "rJOYmHUfQBecodHXkZF8qQ", "quantity": "1"}]],
    )
    description: str | None = Field(
        None,
        max_length=1000,
        description="Line text for an amount credit",
        examples=["Kompensation for forsinkelse"],
    )
    entry_date: IsoDate | None = Field(
        None, description="Credit note date, YYYY-MM-DD (default: today in Denmark)", examples=["2026-03-15"]
    )
    message: str | None = Field(
        None,
        max_length=5000,
        description="Message printed on the credit note",
        examples=["Kreditering af faktura 1499"],
    )


@dataclass(frozen=True)
class CreditPlan:
    invoice: dict[str, Any]
    customer_name: str | None
    entry_date: date
    lines: list[dict[str, Any]]
    rates: list[Decimal]
    net: Decimal
    vat: Decimal
    gross: Decimal
    already_credited: Decimal

    @property
    def applied(self) -> Decimal:
        """What the credit note takes off the invoice's balance; the rest is owed back to the customer."""
        return min(self.gross, to_decimal(self.invoice.get("balance") or 0))


async def plan_credit(args: CreateCreditNoteInput, ctx: CallContext) -> CreditPlan:
    if args.amount is not None and args.lines is not None:
        raise field_error("amount", "conflicts_with_lines", "give amount or lines, not both")
    invoice, contacts = await read_invoice(ctx, args.invoice_id, fresh=True)
    if invoice.get("state") != "approved" or invoice.get("type") == "credit_note":
        raise Conflict(
            f"{label(invoice)} is {invoice.get('state')}; only approved invoices can be credited",
            details={"state": invoice.get("state"), "type": invoice.get("type")},
            hint="A draft is simply changed with update_invoice."
            if invoice.get("state") == "draft"
            else None,
        )
    entry = args.entry_date or today()
    if entry < date.fromisoformat(invoice["entryDate"]):
        raise field_error(
            "entry_date",
            "before_invoice",
            f"a credit note cannot predate the invoice ({invoice['entryDate']})",
        )
    originals = sorted(invoice.get("lines", []), key=_priority)
    rates_by_id = await tax_rates(ctx)

    def rate_of(line: dict[str, Any]) -> Decimal:
        rate = rates_by_id.get(str(line.get("taxRateId")))
        return to_decimal(rate["rate"]) if rate else ZERO

    picked: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if args.lines is not None:
        by_line = {str(line["id"]): line for line in originals}
        for index, wanted in enumerate(args.lines):
            original = by_line.get(wanted.line_id)
            if original is None:
                raise field_not_found(f"lines.{index}.line_id", "line on this invoice", wanted.line_id)
            quantity = wanted.quantity if wanted.quantity is not None else to_decimal(original["quantity"])
            if quantity > to_decimal(original["quantity"]):
                raise field_error(
                    f"lines.{index}.quantity", "exceeds_line", f"the line has {original['quantity']} units"
                )
            line = {**existing_line_payload(original), "quantity": quantity}
            if wanted.unit_price is not None:
                line["unitPrice"] = wanted.unit_price
            if wanted.description:
                line["description"] = wanted.description
            picked.append((original, line))
    elif args.amount is not None:
        first = originals[0]
        text = args.description or f"Kreditering af faktura {invoice.get('invoiceNo')}"
        picked.append(
            (
                first,
                {
                    "productId": first["productId"],
                    "description": text,
                    "quantity": Decimal(1),
                    "unitPrice": args.amount,
                },
            )
        )
    else:
        picked = [(line, existing_line_payload(line)) for line in originals]
    rates = [rate_of(original) for original, _ in picked]
    totals = calculate_invoice(
        [
            InvoiceLine(
                quantity=to_decimal(line.get("quantity", 1)),
                unit_price=to_decimal(line["unitPrice"]),
                rate=rate,
                discount_mode=_discount_mode(line),
                discount_value=to_decimal(line.get("discountValue") or 0),
            )
            for (_, line), rate in zip(picked, rates, strict=True)
        ],
        "incl" if invoice.get("taxMode") == "incl" else "excl",
    )
    credited = await credited_so_far(ctx, invoice["id"])
    left = to_decimal(gross_of(invoice)) - credited
    if totals.gross > left:
        field = "amount" if args.amount is not None else "lines"
        raise field_error(
            field,
            "exceeds_invoice",
            f"the credit note would be {money(totals.gross)} with VAT, but only {money(left)} of "
            f"{label(invoice)} is left to credit",
        )
    return CreditPlan(
        invoice=invoice,
        customer_name=contacts.get(str(invoice["contactId"]), {}).get("name"),
        entry_date=entry,
        lines=with_priorities(line for _, line in picked),
        rates=rates,
        net=totals.net,
        vat=totals.tax,
        gross=totals.gross,
        already_credited=credited,
    )


def _discount_mode(line: dict[str, Any]) -> Literal["percent", "cash"] | None:
    mode = line.get("discountMode")
    if mode == "percentage_discount":
        return "percent"
    if mode == "cash_discount":
        return "cash"
    return None


async def credited_so_far(ctx: CallContext, invoice_id: str) -> Decimal:
    notes = await ctx.billy.list_all("invoices", (("creditedInvoiceId", invoice_id), ("state", "approved")))
    return sum((to_decimal(gross_of(note)) for note in notes), ZERO)


async def describe_credit(args: CreateCreditNoteInput, ctx: CallContext) -> dict[str, Any]:
    plan = await plan_credit(args, ctx)
    invoice = plan.invoice
    balance = to_decimal(invoice.get("balance") or 0)
    return {
        "action": "create_credit_note",
        "credited_invoice": {
            "id": invoice["id"],
            "invoice_no": invoice.get("invoiceNo"),
            "customer_name": plan.customer_name,
            **money_overview(invoice),
            "already_credited": money(plan.already_credited),
        },
        "credit_note": {
            "entry_date": plan.entry_date.isoformat(),
            "currency": invoice.get("currencyId"),
            "tax_mode": invoice.get("taxMode"),
            "net_amount": money(plan.net),
            "vat_amount": money(plan.vat),
            "gross_amount": money(plan.gross),
            "lines": [
                {
                    "description": line.get("description"),
                    "quantity": str(line.get("quantity", 1)),
                    "unit_price": money(line["unitPrice"]),
                    "vat_rate": str(rate),
                }
                for line, rate in zip(plan.lines, plan.rates, strict=True)
            ],
        },
        "balance_after": money(balance - plan.applied),
        "refund_due": money(plan.gross - plan.applied),
        "effect": (
            "Billy books an approved credit note against the invoice: revenue and VAT are reversed and "
            "the invoice's balance drops. What exceeds the balance is owed back to the customer."
        ),
    }


async def create_credit_note(args: CreateCreditNoteInput, ctx: CallContext) -> dict[str, Any]:
    key = ctx.idempotency_key
    earlier = await existing_by_key(ctx, key)
    if earlier is not None:
        if earlier.get("type") != "credit_note" or earlier.get("creditedInvoiceId") != args.invoice_id:
            raise Conflict(
                f"idempotency_key {key} was already used for {label(earlier)}",
                details={"id": earlier["id"]},
                hint="Use a new idempotency_key for a new credit note.",
            )
        return await credit_result(ctx, earlier["id"], args.invoice_id, replayed=True)
    plan = await plan_credit(args, ctx)
    invoice = plan.invoice
    record: dict[str, Any] = {
        "type": "credit_note",
        "creditedInvoiceId": invoice["id"],
        "contactId": invoice["contactId"],
        "entryDate": plan.entry_date.isoformat(),
        "currencyId": invoice["currencyId"],
        "exchangeRate": invoice.get("exchangeRate"),
        "taxMode": invoice.get("taxMode"),
        "state": "approved",
        "lines": plan.lines,
    }
    if args.message is not None:
        record["contactMessage"] = args.message
    if key:
        record["externalId"] = key
    body = await ctx.billy.create(
        "invoices",
        record,
        idempotency_key=key,
        invalidates=("contacts", "organization"),  # an approved credit note takes a number
    )
    note_id = next(i["id"] for i in body["invoices"] if i.get("type") == "credit_note")
    return await credit_result(ctx, note_id, invoice["id"])


async def credit_result(ctx: CallContext, note_id: str, invoice_id: str, **extra: Any) -> dict[str, Any]:
    credited, contacts = await read_invoice(ctx, invoice_id, fresh=True)
    summary = invoice_summary(credited, contacts, today())
    keep = ("id", "invoice_no", "gross_amount", "balance", "is_paid")
    return await invoice_result(ctx, note_id, credited_invoice={key: summary[key] for key in keep}, **extra)


class CreditedInvoiceOutput(ToolOutput):
    id: str
    invoice_no: str | None = None
    gross_amount: str | None = None
    balance: str | None = Field(None, description="The invoice's balance after the credit note")
    is_paid: bool | None = None


class CreditNoteOutput(InvoiceWriteOutput):
    credited_invoice: CreditedInvoiceOutput | None = Field(None, description="The credited invoice, after")


CREATE_CREDIT_NOTE = Tool(
    name="create_credit_note",
    title="Credit an approved invoice",
    description=(
        "Use it to correct or cancel an approved invoice (approved invoices are never deleted): a credit note for the whole "
        "invoice, some of its lines, or an amount. Amounts are positive and reduce the invoice's balance. "
        "The first call previews the credit note and the balance after it and returns a confirmation_ticket."
    ),
    input_model=CreateCreditNoteInput,
    output_model=CreditNoteOutput,
    handler=create_credit_note,
    read_only=False,
    destructive=True,
    creates="invoices",
    preview=describe_credit,
)


def tools(kernel: Any) -> list[Tool]:
    return [CREATE_CREDIT_NOTE]
