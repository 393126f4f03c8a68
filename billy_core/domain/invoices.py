"""Invoice tools: list and read, create and edit drafts, approve, send.

Credit notes, payments and the overdue list live in their own modules
(``credit_notes``, ``payments``, ``overdue``); what invoices share with bills is in ``documents``.

Billy has three states (draft, approved, voided); payment shows as ``balance``/``is_paid`` and
sending as ``sent_state``, never as a state (v1 invented "paid" and "cancelled", and its
cancel and mark-paid tools never worked). Nothing here deletes an approved invoice: a
correction is a credit note, a payment is a bank payment associated with the invoice.

The kernel does the write safety: destructive tools (approve, send, credit, pay) answer with
a preview and a ticket first, and create tools get an ``idempotency_key``. Invoices also carry
that key in Billy's ``externalId``, so a repeated create finds the first invoice even when the
kernel's key store does not know the key (another instance, a lost database).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from billy_core.context import CallContext
from billy_core.domain.common import by_id, money_or_none, text_or_none, today
from billy_core.domain.documents import (
    EXAMPLE_ID,
    MAX_LINES,
    SORTS,
    BillyId,
    CurrencyCode,
    DocumentListInput,
    IsoDate,
    Percent,
    Quantity,
    TaxMode,
    UnitPrice,
    amounts_summary,
    check_currency,
    document_page,
    fetch_record,
    field_error,
    field_not_found,
    find_by_external_id,
    gross_of,
    money_overview,
    with_priorities,
)
from billy_core.domain.organization import fetch_organization
from billy_core.errors import Conflict, NotFound
from billy_core.listing import GetInput, ListOutput, project
from billy_core.money import format_dkk, money, to_decimal
from billy_core.tools import Tool, ToolInput, ToolOutput

TermsMode = Literal["net", "net_end_of_month", "date"]


TERMS_WIRE = {"net": "net", "net_end_of_month": "netEndOfMonth", "date": "date"}


INVOICE_INCLUDE = "invoice.lines:embed,invoice.contact:sideload"


FREE_TEXT_PRODUCT_EXTERNAL_ID = "billy-mcp:free-text-line"


FREE_TEXT_PRODUCT_NAME = "Diverse"


def invoice_summary(invoice: dict[str, Any], contacts: dict[str, dict[str, Any]], on: date) -> dict[str, Any]:
    contact = contacts.get(str(invoice.get("contactId")), {})
    return {
        "id": invoice["id"],
        "invoice_no": text_or_none(invoice.get("invoiceNo")),
        "type": invoice.get("type", "invoice"),
        "state": invoice.get("state"),
        "sent_state": invoice.get("sentState"),
        "customer_id": invoice.get("contactId"),
        "customer_name": contact.get("name"),
        **amounts_summary(invoice, on),
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


def _priority(line: dict[str, Any]) -> Any:
    return line.get("priority") or 0


def invoice_details(invoice: dict[str, Any], contacts: dict[str, dict[str, Any]], on: date) -> dict[str, Any]:
    summary = invoice_summary(invoice, contacts, on)
    summary["lines"] = [line_summary(line) for line in sorted(invoice.get("lines", []), key=_priority)]
    return summary


async def read_invoice(
    ctx: CallContext, invoice_id: str, *, field: str = "invoice_id", fresh: bool = False
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The invoice with its lines embedded, and its contact (by id)."""
    try:
        body = await ctx.billy.request(
            "GET", f"/invoices/{invoice_id}", query=(("include", INVOICE_INCLUDE),), bypass_cache=fresh
        )
    except NotFound as exc:
        raise field_not_found(field, "invoice", invoice_id, exc) from None
    invoice: dict[str, Any] = body["invoice"]
    ctx.touch(f"invoice:{invoice['id']}")
    return invoice, by_id(body.get("contacts", []))


def label(invoice: dict[str, Any]) -> str:
    kind = "credit note" if invoice.get("type") == "credit_note" else "invoice"
    number = invoice.get("invoiceNo")
    return f"{kind} {number}" if number else f"draft {kind} {invoice['id']}"


class InvoiceLineOutput(ToolOutput):
    id: str
    product_id: str | None = Field(None, description="The Billy product of the line")
    description: str | None = None
    quantity: str | None = Field(None, description="Quantity as a decimal string")
    unit_price: str | None = Field(None, description="Price per unit, two decimals")
    amount: str | None = Field(None, description="The line amount (in the invoice's tax mode)")
    vat_amount: str | None = Field(None, description="The line's VAT, rounded to øre")
    tax_rate_id: str | None = None
    discount_mode: str | None = None
    discount_value: str | None = None


class InvoiceOutput(ToolOutput):
    id: str
    invoice_no: str | None = Field(None, description="Billy's invoice number; null on drafts")
    type: str | None = Field(None, description="invoice or credit_note")
    state: str | None = Field(None, description="draft, approved or voided (Billy has no 'paid' state)")
    sent_state: str | None = Field(None, description="unsent, printed, sent, opened or viewed")
    customer_id: str | None = None
    customer_name: str | None = None
    entry_date: str | None = Field(None, description="Invoice date, YYYY-MM-DD")
    due_date: str | None = None
    currency: str | None = None
    tax_mode: str | None = Field(None, description="excl: prices exclude VAT; incl: prices include VAT")
    net_amount: str | None = Field(None, description="Total without VAT")
    vat_amount: str | None = None
    gross_amount: str | None = Field(None, description="Total with VAT")
    balance: str | None = Field(None, description="What is still to be paid (gross)")
    is_paid: bool | None = None
    is_overdue: bool | None = None
    days_overdue: int | None = None
    credited_invoice_id: str | None = Field(None, description="For a credit note: the invoice it credits")
    message: str | None = Field(None, description="The message printed on the invoice")
    description: str | None = Field(None, description="The lines' text, as Billy summarises it")
    external_id: str | None = Field(None, description="The idempotency key the invoice was created with")
    lines: list[InvoiceLineOutput] | None = Field(None, description="Invoice lines with amounts")


class InvoiceWriteOutput(InvoiceOutput):
    replayed: bool | None = Field(None, description="True when an earlier call with this key made the record")


class ListInvoicesInput(DocumentListInput):
    customer_id: str | None = Field(
        None, description="Only this customer's invoices (a Billy contact id)", examples=[EXAMPLE_ID]
    )
    query: str | None = Field(
        None,
        description="Text search in invoice number, customer name, line descriptions and amounts",
        max_length=200,
        examples=["Espresso"],
    )
    invoice_type: Literal["invoice", "credit_note"] | None = Field(
        None, description="Invoices or credit notes only", examples=["credit_note"]
    )
    sort: Literal["entry_date", "due_date", "invoice_no", "gross_amount", "balance", "created_time"] = Field(
        "entry_date", description="Sort key", examples=["due_date"]
    )


async def list_invoices(args: ListInvoicesInput, ctx: CallContext) -> dict[str, Any]:
    filters = [
        ("contactId", args.customer_id),
        ("q", args.query),
        ("type", args.invoice_type),
    ]
    chosen = [(name, value) for name, value in filters if value]
    return await document_page(ctx, "invoices", args, SORTS[args.sort], chosen, invoice_summary)


class GetInvoiceInput(GetInput):
    invoice_id: BillyId = Field(description="The Billy id of the invoice", examples=[EXAMPLE_ID])


async def get_invoice(args: GetInvoiceInput, ctx: CallContext) -> dict[str, Any]:
    invoice, contacts = await read_invoice(ctx, args.invoice_id)
    return project(invoice_details(invoice, contacts, today()), args.fields)


async def invoice_result(ctx: CallContext, invoice_id: str, **extra: Any) -> dict[str, Any]:
    """The invoice as it is now in Billy (read past any cache), for a write tool's answer."""
    invoice, contacts = await read_invoice(ctx, invoice_id, fresh=True)
    return {**invoice_details(invoice, contacts, today()), **extra}


class InvoiceLineInput(ToolInput):
    product_id: BillyId | None = Field(
        None,
        description=(
            "The Billy product sold on this line (its revenue account and VAT rules apply). "
            "Leave out for a free-text line: it uses the organization's 'Diverse' product."
        ),
        examples=["XdVvgPgKtJvnyPBIklBZHw"],
    )
    description: str | None = Field(
        None,
        max_length=1000,
        description="Line text; required without product_id (defaults to the product's description)",
        examples=["Service af espressomaskine"],
    )
    quantity: Quantity = Field(Decimal(1), description="How many units; more than 0", examples=["2"])
    unit_price: UnitPrice | None = Field(
        None,
        description=(
            "Price per unit in the invoice currency, in the invoice's tax mode (excl: without VAT). "
            "Defaults to the product's price in that currency; required on free-text lines."
        ),
        examples=["150.00"],
    )
    discount_percent: Percent | None = Field(
        None, description="Percentage discount on the line, 0-100", examples=["10"]
    )


Lines = Annotated[list[InvoiceLineInput], Field(min_length=1, max_length=MAX_LINES)]


_free_text_locks: dict[tuple[int, str], asyncio.Lock] = {}


async def free_text_product_id(ctx: CallContext) -> str:
    """The product free-text lines are booked on, made on first use and found by a fixed externalId."""
    organization_id = await ctx.billy.organization_id()
    key = (id(asyncio.get_running_loop()), organization_id)
    lock = _free_text_locks.setdefault(key, asyncio.Lock())
    async with lock:
        found = await find_by_external_id(ctx, "products", FREE_TEXT_PRODUCT_EXTERNAL_ID)
        if found is not None:
            return str(found["id"])
        await ctx.billy.create(
            "products",
            {
                "name": FREE_TEXT_PRODUCT_NAME,
                "description": "",
                "externalId": FREE_TEXT_PRODUCT_EXTERNAL_ID,
            },
            invalidates=("products",),
        )
        # Read back: if another instance made one at the same time, everyone uses the oldest.
        made = await find_by_external_id(ctx, "products", FREE_TEXT_PRODUCT_EXTERNAL_ID)
        assert made is not None
        return str(made["id"])


async def product_price(ctx: CallContext, product_id: str, currency: str) -> Decimal | None:
    prices = await ctx.billy.list_all("productPrices", (("productId", product_id),))
    for price in prices:
        if price.get("currencyId") == currency:
            return to_decimal(price["unitPrice"])
    return None


async def line_payloads(
    ctx: CallContext, lines: Sequence[InvoiceLineInput], currency: str, field: str
) -> list[dict[str, Any]]:
    """Billy invoice lines for ``lines``: every line is checked (products exist, prices known)
    before the free-text product is made, so a refused call leaves nothing behind."""
    checked: set[str] = set()
    payloads = []
    for index, line in enumerate(lines):
        unit_price = line.unit_price
        if line.product_id is None:
            if not line.description:
                raise field_error(
                    f"{field}.{index}.description",
                    "required",
                    "a line without product_id needs a description",
                )
            if unit_price is None:
                raise field_error(
                    f"{field}.{index}.unit_price", "required", "a line without product_id needs a unit_price"
                )
        else:
            if line.product_id not in checked:
                where = f"{field}.{index}.product_id"
                await fetch_record(ctx, "products", line.product_id, field=where, what="product")
                checked.add(line.product_id)
            if unit_price is None:
                unit_price = await product_price(ctx, line.product_id, currency)
            if unit_price is None:
                raise field_error(
                    f"{field}.{index}.unit_price",
                    "required",
                    f"the product has no price in {currency}; give unit_price",
                )
        payload: dict[str, Any] = {
            "productId": line.product_id,
            "quantity": line.quantity,
            "unitPrice": unit_price,
        }
        if line.description:
            payload["description"] = line.description
        if line.discount_percent is not None:
            payload["discountMode"] = "percentage_discount"
            payload["discountValue"] = line.discount_percent
        payloads.append(payload)
    if any(payload["productId"] is None for payload in payloads):
        free_text = await free_text_product_id(ctx)
        payloads = [{**payload, "productId": payload["productId"] or free_text} for payload in payloads]
    return with_priorities(payloads)


def existing_line_payload(line: dict[str, Any]) -> dict[str, Any]:
    """An existing line as it is sent back when the lines are saved again (content unchanged)."""
    keys = (
        "productId",
        "description",
        "quantity",
        "unitPrice",
        "discountText",
        "discountMode",
        "discountValue",
    )
    return {key: line[key] for key in keys if line.get(key) is not None}


class InvoiceTermsInput(ToolInput):
    entry_date: IsoDate | None = Field(
        None, description="Invoice date, YYYY-MM-DD (default: today in Denmark)", examples=["2026-03-02"]
    )
    tax_mode: TaxMode | None = Field(
        None,
        description="excl: unit prices are without VAT (VAT is added); incl: they include VAT. "
        "Default: the organization's setting.",
        examples=["excl"],
    )
    currency: CurrencyCode | None = Field(
        None, description="ISO currency code (default: the organization's base currency)", examples=["DKK"]
    )
    payment_terms_mode: TermsMode | None = Field(
        None,
        description="net: due payment_terms_days after the invoice date; net_end_of_month: that many days "
        "after the end of the invoice's month (løbende måned); date: due on due_date. "
        "Default: the customer's or the organization's terms.",
        examples=["net"],
    )
    payment_terms_days: int | None = Field(
        None, ge=0, le=365, description="Days for net / net_end_of_month terms", examples=[14]
    )
    due_date: IsoDate | None = Field(
        None, description="Fixed due date, YYYY-MM-DD (payment_terms_mode date)", examples=["2026-03-31"]
    )
    message: str | None = Field(
        None,
        max_length=5000,
        description="Message printed at the top of the invoice",
        examples=["Tak for ordren"],
    )


def terms_payload(args: InvoiceTermsInput) -> dict[str, Any]:
    """Billy's paymentTermsMode/Days/dueDate for the arguments; {} when none were given."""
    mode = args.payment_terms_mode or ("date" if args.due_date else None)
    if mode == "date":
        if args.due_date is None:
            raise field_error("due_date", "required", "payment_terms_mode date needs a due_date")
        if args.payment_terms_days is not None:
            raise field_error(
                "payment_terms_days", "conflicts_with_mode", "leave out days when the due date is fixed"
            )
        return {"paymentTermsMode": "date", "dueDate": args.due_date.isoformat()}
    if args.due_date is not None:
        raise field_error(
            "due_date", "conflicts_with_mode", f"due_date goes with payment_terms_mode date, not {mode}"
        )
    if mode is None and args.payment_terms_days is None:
        return {}
    if args.payment_terms_days is None:
        raise field_error(
            "payment_terms_days", "required", f"payment_terms_mode {mode} needs the number of days"
        )
    return {"paymentTermsMode": TERMS_WIRE[mode or "net"], "paymentTermsDays": args.payment_terms_days}


def terms_changes(args: InvoiceTermsInput) -> dict[str, Any]:
    changes = terms_payload(args)
    if args.entry_date is not None:
        changes["entryDate"] = args.entry_date.isoformat()
    if args.tax_mode is not None:
        changes["taxMode"] = args.tax_mode
    if args.currency is not None:
        changes["currencyId"] = args.currency
    if args.message is not None:
        changes["contactMessage"] = args.message
    return changes


class CreateInvoiceInput(InvoiceTermsInput):
    customer_id: BillyId = Field(
        description="The Billy contact id of the customer (find it with list_customers)",
        examples=["S1-eu712iPsZO9P-32MJqQ"],
    )
    lines: Lines = Field(
        description="The invoice lines (at least one): a product_id, or a description for free text",
        examples=[[{"product_id": "XdVvgPgKtJvnyPBIklBZHw", "quantity": "2", "unit_price": "150.00"}]],
    )


async def existing_by_key(ctx: CallContext, key: str | None) -> dict[str, Any] | None:
    return await find_by_external_id(ctx, "invoices", key) if key else None


async def create_invoice(args: CreateInvoiceInput, ctx: CallContext) -> dict[str, Any]:
    key = ctx.idempotency_key
    earlier = await existing_by_key(ctx, key)
    if earlier is not None:
        return await invoice_result(ctx, earlier["id"], replayed=True)
    terms = terms_payload(args)
    await fetch_record(ctx, "contacts", args.customer_id, field="customer_id", what="customer")
    await check_currency(ctx, args.currency)
    currency = args.currency or str((await fetch_organization(ctx))["baseCurrencyId"])
    lines = await line_payloads(ctx, args.lines, currency, "lines")
    record: dict[str, Any] = {
        "type": "invoice",
        "contactId": args.customer_id,
        "entryDate": (args.entry_date or today()).isoformat(),
        "currencyId": currency,
        **terms,
        "lines": lines,
    }
    if args.tax_mode is not None:
        record["taxMode"] = args.tax_mode
    if args.message is not None:
        record["contactMessage"] = args.message
    if key:
        record["externalId"] = key
    body = await ctx.billy.create(
        "invoices",
        record,
        idempotency_key=key,
        invalidates=("contacts",),
    )
    return await invoice_result(ctx, body["invoices"][0]["id"])


class UpdateInvoiceInput(InvoiceTermsInput):
    invoice_id: BillyId = Field(description="The Billy id of the draft invoice", examples=[EXAMPLE_ID])
    replace_lines: Lines | None = Field(
        None,
        description="Replace ALL existing lines with these (the old lines are removed). "
        "Use add_lines / remove_line_ids to change only some.",
        examples=[[{"description": "Rengøring", "quantity": "1", "unit_price": "450.00"}]],
    )
    add_lines: Lines | None = Field(
        None,
        description="Lines to add after the existing ones (which are kept)",
        examples=[[{"product_id": "XdVvgPgKtJvnyPBIklBZHw", "quantity": "1"}]],
    )
    remove_line_ids: list[BillyId] | None = Field(
        None,
        min_length=1,
        max_length=MAX_LINES,
        description="Ids of existing lines to remove (see get_invoice); the others are kept",
        examples=[["rJOYmHUfQBecodHXkZF8qQ"]],
    )


def require_draft(invoice: dict[str, Any], action: str) -> None:
    if invoice.get("state") != "draft":
        raise Conflict(
            f"{label(invoice)} is {invoice.get('state')}; only drafts can be {action}",
            details={"state": invoice.get("state"), "invoice_id": invoice["id"]},
            hint="An approved invoice is booked and cannot change: correct it with create_credit_note.",
        )


async def update_invoice(args: UpdateInvoiceInput, ctx: CallContext) -> dict[str, Any]:
    if args.replace_lines is not None and (args.add_lines is not None or args.remove_line_ids is not None):
        raise field_error(
            "replace_lines",
            "conflicts_with_add_or_remove",
            "replace_lines replaces every line; do not combine it with add_lines or remove_line_ids",
        )
    invoice, _ = await read_invoice(ctx, args.invoice_id, fresh=True)
    require_draft(invoice, "changed")
    changes = terms_changes(args)
    await check_currency(ctx, args.currency)
    currency = args.currency or str(invoice.get("currencyId"))
    removed = 0
    existing = sorted(invoice.get("lines", []), key=_priority)
    if args.replace_lines is not None:
        changes["lines"] = await line_payloads(ctx, args.replace_lines, currency, "replace_lines")
        removed = len(existing)
    elif args.add_lines is not None or args.remove_line_ids is not None:
        gone = set(args.remove_line_ids or ())
        known = {str(line["id"]) for line in existing}
        for index, line_id in enumerate(args.remove_line_ids or ()):
            if line_id not in known:
                raise field_not_found(f"remove_line_ids.{index}", "line on this invoice", line_id)
        kept = [existing_line_payload(line) for line in existing if str(line["id"]) not in gone]
        added = (
            await line_payloads(ctx, args.add_lines or (), currency, "add_lines") if args.add_lines else []
        )
        if not kept and not added:
            raise field_error("remove_line_ids", "no_lines_left", "an invoice needs at least one line")
        changes["lines"] = with_priorities([*kept, *added])
        removed = len(gone)
    if not changes:
        raise field_error("(arguments)", "nothing_to_change", "give at least one field to change")
    await ctx.billy.update("invoices", args.invoice_id, changes, invalidates=("contacts",))
    return await invoice_result(ctx, args.invoice_id, changed=changed_names(changes), lines_removed=removed)


CHANGE_NAMES = {
    "entryDate": "entry_date",
    "taxMode": "tax_mode",
    "currencyId": "currency",
    "paymentTermsMode": "payment_terms_mode",
    "paymentTermsDays": "payment_terms_days",
    "dueDate": "due_date",
    "contactMessage": "message",
    "lines": "lines",
}


def changed_names(changes: dict[str, Any]) -> list[str]:
    return [CHANGE_NAMES[key] for key in changes if key in CHANGE_NAMES]


class UpdateInvoiceOutput(InvoiceOutput):
    changed: list[str] | None = Field(None, description="The fields that were changed")
    lines_removed: int | None = Field(None, description="How many existing lines were removed")


class InvoiceIdInput(ToolInput):
    invoice_id: BillyId = Field(description="The Billy id of the invoice", examples=[EXAMPLE_ID])


async def describe_approval(args: InvoiceIdInput, ctx: CallContext) -> dict[str, Any]:
    invoice, contacts = await read_invoice(ctx, args.invoice_id, fresh=True)
    require_draft(invoice, "approved")
    organization = await fetch_organization(ctx, fresh=True)  # approvals elsewhere move the number
    number = invoice.get("invoiceNo")
    if number is None and organization.get("invoiceNoMode", "sequential") == "sequential":
        number = str(organization.get("nextInvoiceNo"))
    customer = contacts.get(str(invoice["contactId"]), {})
    return {
        "action": "approve_invoice",
        "invoice_id": invoice["id"],
        "expected_invoice_no": number,
        "customer_id": invoice["contactId"],
        "customer_name": customer.get("name"),
        "entry_date": invoice.get("entryDate"),
        "due_date": invoice.get("dueDate"),
        **money_overview(invoice),
        "lines": [line_summary(line) for line in sorted(invoice.get("lines", []), key=_priority)],
        "effect": (
            "Billy numbers the invoice, books revenue, VAT and the receivable, and locks it: "
            "afterwards it can only be corrected with a credit note."
        ),
    }


async def approve_invoice(args: InvoiceIdInput, ctx: CallContext) -> dict[str, Any]:
    invoice, _ = await read_invoice(ctx, args.invoice_id, fresh=True)
    require_draft(invoice, "approved")
    await ctx.billy.update(
        "invoices", args.invoice_id, {"state": "approved"}, invalidates=("contacts", "organization")
    )
    return await invoice_result(ctx, args.invoice_id)


class SendInvoiceInput(InvoiceIdInput):
    contact_person_id: BillyId | None = Field(
        None,
        description="The customer's contact person to e-mail (default: the invoice's attention person, "
        "else the primary contact person with an e-mail address)",
        examples=["WM5PdciMoiSfodqLcDL5yA"],
    )
    subject: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="E-mail subject (default: 'Faktura <number> fra <company>')",
        examples=["Faktura 1499 fra Fjordlys Kaffeteknik ApS"],
    )
    body: str | None = Field(
        None,
        min_length=1,
        max_length=10000,
        description="E-mail text; Billy adds the link to the invoice (default: a short Danish text)",
        examples=["Hej Jane\n\nHermed faktura 1499.\n\nVenlig hilsen"],
    )


@dataclass(frozen=True)
class Email:
    person: dict[str, Any]
    subject: str
    body: str


def amount_text(value: Any, currency: str) -> str:
    return format_dkk(value) if currency == "DKK" else f"{format_dkk(value, symbol=False)} {currency}"


async def plan_email(
    args: SendInvoiceInput, ctx: CallContext
) -> tuple[dict[str, Any], dict[str, Any], Email]:
    invoice, contacts = await read_invoice(ctx, args.invoice_id, fresh=True)
    if invoice.get("state") != "approved":
        raise Conflict(
            f"{label(invoice)} is {invoice.get('state')}; only approved invoices can be sent",
            details={"state": invoice.get("state")},
            hint="Approve the draft first with approve_invoice." if invoice.get("state") == "draft" else None,
        )
    persons = await ctx.billy.list_all("contactPersons", (("contactId", str(invoice["contactId"])),))
    person = choose_person(args.contact_person_id, invoice, persons)
    organization = await fetch_organization(ctx)
    kind = "Kreditnota" if invoice.get("type") == "credit_note" else "Faktura"
    company = organization.get("name", "")
    subject = args.subject or f"{kind} {invoice.get('invoiceNo')} fra {company}"
    currency = str(invoice.get("currencyId"))
    body = args.body or (
        f"Hej {person.get('name') or ''}".rstrip()
        + f"\n\nHermed {kind.lower()} nr. {invoice.get('invoiceNo')} på "
        + f"{amount_text(gross_of(invoice), currency)}"
        + (f" med forfald {invoice['dueDate']}." if invoice.get("dueDate") and kind == "Faktura" else ".")
        + f"\n\nMed venlig hilsen\n{company}"
    )
    return invoice, contacts, Email(person, subject, body)


def choose_person(
    chosen: str | None, invoice: dict[str, Any], persons: list[dict[str, Any]]
) -> dict[str, Any]:
    if chosen is not None:
        person = next((p for p in persons if p["id"] == chosen), None)
        if person is None:
            raise field_error(
                "contact_person_id",
                "not_a_person_of_customer",
                "is not a contact person of the invoice's customer",
            )
        if not person.get("email"):
            raise field_error("contact_person_id", "no_email", "that contact person has no e-mail address")
        return person
    with_email = [p for p in persons if p.get("email")]
    preferred = [p for p in with_email if p["id"] == invoice.get("attContactPersonId")]
    preferred += sorted(with_email, key=lambda p: not p.get("isPrimary"))
    if not preferred:
        raise field_error(
            "contact_person_id",
            "required",
            "the customer has no contact person with an e-mail address",
            hint="Add a contact person with an e-mail address to the customer, then send again.",
        )
    return preferred[0]


def recipient(person: dict[str, Any]) -> dict[str, Any]:
    return {
        "contact_person_id": person["id"],
        "name": text_or_none(person.get("name")),
        "email": person["email"],
    }


async def describe_sending(args: SendInvoiceInput, ctx: CallContext) -> dict[str, Any]:
    invoice, contacts, email = await plan_email(args, ctx)
    return {
        "action": "send_invoice",
        "invoice_id": invoice["id"],
        "invoice_no": invoice.get("invoiceNo"),
        "customer_name": contacts.get(str(invoice["contactId"]), {}).get("name"),
        "to": recipient(email.person),
        "subject": email.subject,
        "body": email.body,
        **money_overview(invoice),
        "due_date": invoice.get("dueDate"),
        "sent_state": invoice.get("sentState"),
        "effect": "Billy e-mails the invoice (with a link to the PDF) to this address and marks it sent.",
    }


async def send_invoice(args: SendInvoiceInput, ctx: CallContext) -> dict[str, Any]:
    invoice, _, email = await plan_email(args, ctx)
    await ctx.billy.request(
        "POST",
        f"/invoices/{invoice['id']}/emails",
        body={
            "email": {
                "contactPersonId": email.person["id"],
                "emailSubject": email.subject,
                "emailBody": email.body,
            }
        },
        invalidates=("invoices",),
    )
    return await invoice_result(ctx, invoice["id"], sent_to=recipient(email.person), subject=email.subject)


class RecipientOutput(ToolOutput):
    contact_person_id: str
    name: str | None = None
    email: str


class SendInvoiceOutput(InvoiceOutput):
    sent_to: RecipientOutput | None = Field(None, description="Who the e-mail went to")
    subject: str | None = Field(None, description="The e-mail's subject")


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


CREATE_INVOICE = Tool(
    name="create_invoice",
    title="Create a draft invoice",
    description=(
        "Use it to bill a customer: creates a DRAFT invoice with lines by product_id (price defaults to "
        "the product's) "
        "or as free text, prices excl or incl VAT, payment terms, currency. Nothing is booked or sent; "
        "review it, then approve_invoice and send_invoice. Unknown customer or product ids are refused "
        "before Billy is asked. Repeating a call with the same idempotency_key returns the first invoice."
    ),
    input_model=CreateInvoiceInput,
    output_model=InvoiceWriteOutput,
    handler=create_invoice,
    read_only=False,
    creates="invoices",
)


UPDATE_INVOICE = Tool(
    name="update_invoice",
    title="Change a draft invoice",
    description=(
        "Use it to fix a DRAFT invoice before approval: date, tax mode, currency, payment terms, message, "
        "lines. Lines change "
        "only when you say so: replace_lines replaces all of them, add_lines appends, remove_line_ids "
        "removes the named ones. Approved invoices cannot change (conflict): use create_credit_note."
    ),
    input_model=UpdateInvoiceInput,
    output_model=UpdateInvoiceOutput,
    handler=update_invoice,
    read_only=False,
)


APPROVE_INVOICE = Tool(
    name="approve_invoice",
    title="Approve (book) a draft invoice",
    description=(
        "Use it when a draft is final. Billy gives the invoice its number and books it; it can no longer be edited "
        "(only credited). The first call returns a preview (number, customer, amounts) and a "
        "confirmation_ticket; call again with the ticket to approve. Do not approve without the user's go-ahead."
    ),
    input_model=InvoiceIdInput,
    output_model=InvoiceOutput,
    handler=approve_invoice,
    read_only=False,
    destructive=True,
    idempotent=True,
    preview=describe_approval,
)


SEND_INVOICE = Tool(
    name="send_invoice",
    title="E-mail an approved invoice",
    description=(
        "Use it after approve_invoice to deliver an invoice (or credit note): Billy e-mails it to a contact "
        "person of the customer, "
        "which marks it sent. The first call previews the recipient address, subject and text and returns "
        "a confirmation_ticket; call again with the ticket to send."
    ),
    input_model=SendInvoiceInput,
    output_model=SendInvoiceOutput,
    handler=send_invoice,
    read_only=False,
    destructive=True,
    preview=describe_sending,
)


def tools(kernel: Any) -> list[Tool]:
    return [LIST_INVOICES, GET_INVOICE, CREATE_INVOICE, UPDATE_INVOICE, APPROVE_INVOICE, SEND_INVOICE]
