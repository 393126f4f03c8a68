"""Invoice tools: read, create and edit drafts, approve, send, credit, record payments, aging.

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
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from billy_core.billy.client import singular
from billy_core.context import CallContext
from billy_core.domain.common import (
    GetInput,
    ListInput,
    ListOutput,
    billy_window,
    by_id,
    envelope,
    money_or_none,
    project,
    text_or_none,
    today,
    window,
)
from billy_core.domain.organization import fetch_organization
from billy_core.errors import Conflict, InvalidArgument, NotFound
from billy_core.money import format_dkk, money, round2, to_decimal
from billy_core.tools import Tool, ToolInput, ToolOutput
from billy_core.vat import InvoiceLine, calculate_invoice

ZERO = Decimal(0)
InvoiceState = Literal["draft", "approved", "voided"]
PaymentStatus = Literal["paid", "unpaid", "overdue"]
TaxMode = Literal["excl", "incl"]
TermsMode = Literal["net", "net_end_of_month", "date"]
TERMS_WIRE = {"net": "net", "net_end_of_month": "netEndOfMonth", "date": "date"}
SORTS = {
    "entry_date": "entryDate",
    "due_date": "dueDate",
    "invoice_no": "invoiceNo",
    "gross_amount": "grossAmount",
    "balance": "balance",
    "created_time": "createdTime",
}
INVOICE_INCLUDE = "invoice.lines:embed,invoice.contact:sideload"
FREE_TEXT_PRODUCT_EXTERNAL_ID = "billy-mcp:free-text-line"
FREE_TEXT_PRODUCT_NAME = "Diverse"
MAX_LINES = 200
EXAMPLE_ID = "cSHBqWWITexZvQy29lqpYg"

# ------------------------------------------------------------------ argument types

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: Any) -> Any:
    """Dates are written YYYY-MM-DD; numbers (pydantic would read them as Unix times) are refused."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value.strip()):
        raise PydanticCustomError("date_format", "a date is written YYYY-MM-DD, for example 2026-03-31")
    return value.strip()


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
BillyId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Amount = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=2, allow_inf_nan=False)]
UnitPrice = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=4, allow_inf_nan=False)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4, allow_inf_nan=False)]
Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2, allow_inf_nan=False)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(str.upper)]


# ------------------------------------------------------------------ errors naming a field


def field_error(field: str, rule: str, message: str, *, hint: str | None = None) -> InvalidArgument:
    """An invalid_argument in the same shape as the kernel's validation errors."""
    return InvalidArgument(
        f"{field}: {message}",
        details={"errors": [{"field": field, "rule": rule, "message": message}]},
        hint=hint,
    )


def field_not_found(field: str, what: str, record_id: str, cause: NotFound | None = None) -> NotFound:
    message = f"no {what} with id {record_id!r}"
    details = dict(cause.details) if cause is not None else {}
    details["errors"] = [{"field": field, "rule": "not_found", "message": message}]
    return NotFound(f"{field}: {message}", details=details, hint=f"Check {field}; list tools show valid ids.")


async def fetch_record(
    ctx: CallContext, plural: str, record_id: str, *, field: str, what: str, fresh: bool = False
) -> dict[str, Any]:
    """One Billy record; a missing one is a not_found that names the argument it came from."""
    try:
        body = await ctx.billy.request("GET", f"/{plural}/{record_id}", bypass_cache=fresh)
    except NotFound as exc:
        raise field_not_found(field, what, record_id, exc) from None
    record: dict[str, Any] = body[singular(plural)]
    return record


async def list_with_sideloads(
    ctx: CallContext, plural: str, query: Sequence[tuple[str, str]]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
    """Every record on every page, plus the sideloaded records (by plural, by id)."""
    records: list[dict[str, Any]] = []
    sideloads: dict[str, dict[str, dict[str, Any]]] = {}
    page, page_count = 1, 1
    while page <= page_count:
        body = await ctx.billy.request("GET", f"/{plural}", query=(*query, ("page", str(page))))
        records.extend(body.get(plural, []))
        for key, value in body.items():
            if key not in (plural, "meta") and isinstance(value, list):
                sideloads.setdefault(key, {}).update(by_id(value))
        page_count = int(body.get("meta", {}).get("paging", {}).get("pageCount") or 1)
        page += 1
    return records, sideloads


async def find_by_external_id(ctx: CallContext, plural: str, external_id: str) -> dict[str, Any] | None:
    """The oldest record with this externalId, read live: a cached (stale) miss would duplicate."""
    body = await ctx.billy.request(
        "GET", f"/{plural}", query=(("externalId", external_id),), bypass_cache=True, live=True
    )
    found = sorted(body.get(plural, []), key=lambda r: (str(r.get("createdTime") or ""), str(r["id"])))
    return found[0] if found else None


async def check_currency(ctx: CallContext, currency: str | None, field: str = "currency") -> None:
    if currency is None:
        return
    known = {str(c["id"]) for c in await ctx.billy.list_all("currencies")}
    if currency not in known:
        raise field_error(
            field,
            "unknown_currency",
            f"{currency} is not a currency Billy knows ({', '.join(sorted(known))})",
        )


async def tax_rates(ctx: CallContext) -> dict[str, dict[str, Any]]:
    return by_id(await ctx.billy.list_all("taxRates"))


# ------------------------------------------------------------------ summaries


def days_overdue(document: dict[str, Any], on: date) -> int:
    """Days past the due date of an approved, unpaid invoice or bill (0 otherwise)."""
    if (
        document.get("state") != "approved"
        or document.get("isPaid")
        or document.get("type") == "credit_note"
        or not document.get("dueDate")
    ):
        return 0
    return max(0, (on - date.fromisoformat(document["dueDate"])).days)


def gross_of(document: dict[str, Any]) -> Any:
    gross = document.get("grossAmount")
    if gross is None and document.get("amount") is not None:
        gross = document["amount"] + (document.get("tax") or 0)
    return gross


def amounts_summary(document: dict[str, Any], on: date) -> dict[str, Any]:
    """What invoices and bills share: dates, currency, amounts, balance, overdue."""
    overdue = days_overdue(document, on)
    return {
        "entry_date": document.get("entryDate"),
        "due_date": document.get("dueDate"),
        "currency": document.get("currencyId"),
        "tax_mode": document.get("taxMode"),
        "net_amount": money_or_none(document.get("amount")),
        "vat_amount": money_or_none(document.get("tax")),
        "gross_amount": money_or_none(gross_of(document)),
        "balance": money_or_none(document.get("balance")),
        "is_paid": bool(document.get("isPaid")),
        "is_overdue": overdue > 0,
        "days_overdue": overdue,
    }


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


# ------------------------------------------------------------------ output models


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


# ------------------------------------------------------------------ list_invoices / get_invoice


class DocumentListInput(ListInput):
    """What list_invoices and list_bills share: state, payment status, entry dates, order."""

    state: InvoiceState | None = Field(
        None, description="Only documents in this state: draft, approved or voided", examples=["approved"]
    )
    payment_status: PaymentStatus | None = Field(
        None,
        description="paid, unpaid (approved with a balance) or overdue (unpaid past the due date)",
        examples=["overdue"],
    )
    start_date: IsoDate | None = Field(
        None, description="Earliest entry (document) date, YYYY-MM-DD", examples=["2026-01-01"]
    )
    end_date: IsoDate | None = Field(
        None, description="Latest entry (document) date, YYYY-MM-DD", examples=["2026-03-31"]
    )
    order: Literal["asc", "desc"] = Field("desc", description="Sort direction", examples=["asc"])
    as_of: IsoDate | None = Field(
        None,
        description="Date to judge 'overdue' against (default: today in Denmark)",
        examples=["2026-09-30"],
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> DocumentListInput:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("start_date must not be after end_date")
        return self


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


def status_query(
    state: str | None, payment_status: str | None, on: date, *, field: str = "payment_status"
) -> list[tuple[str, str]]:
    """Billy filters for a state and a payment status (unpaid and overdue imply approved)."""
    query: list[tuple[str, str]] = []
    if state:
        query.append(("state", state))
    if payment_status == "paid":
        query.append(("isPaid", "true"))
    elif payment_status in ("unpaid", "overdue"):
        if state and state != "approved":
            raise InvalidArgument(
                "payment_status unpaid/overdue applies to approved documents only",
                details={"errors": [{"field": field, "rule": "state_conflict"}]},
            )
        query += [("isPaid", "false")] if state else [("isPaid", "false"), ("state", "approved")]
        if payment_status == "overdue":
            query.append(("maxDueDate", (on - timedelta(days=1)).isoformat()))
    return query


def date_query(start: date | None, end: date | None) -> list[tuple[str, str]]:
    bounds = (("minEntryDate", start), ("maxEntryDate", end))
    return [(name, day.isoformat()) for name, day in bounds if day is not None]


Summarise = Callable[[dict[str, Any], dict[str, dict[str, Any]], date], dict[str, Any]]


async def document_page(
    ctx: CallContext,
    plural: str,
    args: DocumentListInput,
    sort_property: str,
    filters: Sequence[tuple[str, str]],
    summarise: Summarise,
) -> dict[str, Any]:
    """One page of invoices or bills with their contacts: {items, total, has_more, next_offset}."""
    on = args.as_of or today()
    query = [
        ("include", f"{singular(plural)}.contact:sideload"),
        ("sortProperty", sort_property),
        ("sortDirection", args.order.upper()),
        *status_query(args.state, args.payment_status, on),
        *date_query(args.start_date, args.end_date),
        *filters,
    ]
    records, total, sideloads = await billy_window(
        ctx.billy, plural, query, offset=args.offset, limit=args.limit
    )
    contacts = by_id(sideloads.get("contacts", []))
    items = [summarise(record, contacts, on) for record in records]
    return envelope(items, total=total, offset=args.offset, fields=args.fields)


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


# ------------------------------------------------------------------ invoice lines in


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


def with_priorities(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**line, "priority": index} for index, line in enumerate(lines, start=1)]


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


# ------------------------------------------------------------------ create_invoice / update_invoice


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


# ------------------------------------------------------------------ approve_invoice


class InvoiceIdInput(ToolInput):
    invoice_id: BillyId = Field(description="The Billy id of the invoice", examples=[EXAMPLE_ID])


def money_overview(invoice: dict[str, Any]) -> dict[str, Any]:
    return {
        "currency": invoice.get("currencyId"),
        "net_amount": money_or_none(invoice.get("amount")),
        "vat_amount": money_or_none(invoice.get("tax")),
        "gross_amount": money_or_none(gross_of(invoice)),
        "balance": money_or_none(invoice.get("balance")),
    }


async def describe_approval(args: InvoiceIdInput, ctx: CallContext) -> dict[str, Any]:
    invoice, contacts = await read_invoice(ctx, args.invoice_id, fresh=True)
    require_draft(invoice, "approved")
    organization = await fetch_organization(ctx)
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
    await ctx.billy.update("invoices", args.invoice_id, {"state": "approved"}, invalidates=("contacts",))
    return await invoice_result(ctx, args.invoice_id)


# ------------------------------------------------------------------ send_invoice


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


# ------------------------------------------------------------------ create_credit_note


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
        invalidates=("contacts",),
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


# ------------------------------------------------------------------ payments (invoices and bills)


class PaymentInput(ToolInput):
    amount: Amount | None = Field(
        None,
        description="How much was paid, in the document's currency, at most its balance (default: the whole balance)",
        examples=["100.00"],
    )
    payment_date: IsoDate | None = Field(
        None,
        description="The day the money moved, YYYY-MM-DD (default: today in Denmark)",
        examples=["2026-03-20"],
    )
    bank_account_id: BillyId | None = Field(
        None,
        description="The payment-enabled bank account the money moved through (default: the organization's "
        "default bank account, else the first payment-enabled account in the document's currency)",
        examples=["Ne2CWgmlXMB0zf9Po0f8pQ"],
    )
    exchange_rate: Decimal | None = Field(
        None,
        gt=0,
        max_digits=18,
        decimal_places=8,
        description="Only when the bank account's currency differs from the document's: account currency "
        "per unit of document currency",
        examples=["7.46"],
    )


@dataclass(frozen=True)
class PaymentPlan:
    kind: str  # "invoice" or "bill"
    document: dict[str, Any]
    amount: Decimal
    account: dict[str, Any]
    entry_date: date
    cash_amount: Decimal
    exchange_rate: Decimal | None

    @property
    def balance_after(self) -> Decimal:
        return to_decimal(self.document["balance"]) - self.amount


async def plan_payment(
    ctx: CallContext, kind: str, document: dict[str, Any], args: PaymentInput, defaults: Sequence[str]
) -> PaymentPlan:
    """Check a payment of ``document`` against its state and balance; choose the bank account."""
    number = document.get("invoiceNo") or document.get("suppliersInvoiceNo") or document["id"]
    if document.get("state") != "approved" or document.get("type") == "credit_note":
        raise Conflict(
            f"{kind} {number} is {document.get('state')} ({document.get('type')}); only approved "
            f"{kind}s can be paid here",
            details={"state": document.get("state"), "type": document.get("type")},
            hint=f"Approve the draft first with approve_{kind}."
            if document.get("state") == "draft"
            else None,
        )
    balance = to_decimal(document.get("balance") or 0)
    if balance <= 0:
        raise Conflict(
            f"{kind} {number} is already paid (balance {money(balance)})", details={"balance": money(balance)}
        )
    amount = args.amount if args.amount is not None else balance
    if amount > balance:
        raise field_error(
            "amount",
            "exceeds_balance",
            f"{money(amount)} is more than the balance of {kind} {number} ({money(balance)})",
        )
    organization = await fetch_organization(ctx)
    currency = str(document.get("currencyId") or organization["baseCurrencyId"])
    account = await choose_account(ctx, args.bank_account_id, currency, organization, defaults)
    account_currency = str(account.get("currencyId") or organization["baseCurrencyId"])
    cash, rate = amount, None
    if account_currency != currency:
        if args.exchange_rate is None:
            raise field_error(
                "exchange_rate",
                "required",
                f"the account is in {account_currency} and the {kind} in {currency}: give the exchange rate",
            )
        rate = args.exchange_rate
        cash = round2(amount * rate)
        if round2(cash / rate) != amount:
            raise field_error(
                "exchange_rate", "inexact", f"{money(amount)} {currency} has no exact øre amount at {rate}"
            )
    return PaymentPlan(kind, document, amount, account, args.payment_date or today(), cash, rate)


async def choose_account(
    ctx: CallContext, chosen: str | None, currency: str, organization: dict[str, Any], defaults: Sequence[str]
) -> dict[str, Any]:
    if chosen is not None:
        account = await fetch_record(ctx, "accounts", chosen, field="bank_account_id", what="account")
        if not account.get("isPaymentEnabled"):
            raise field_error(
                "bank_account_id",
                "not_payment_enabled",
                f"account {account.get('accountNo')} {account.get('name')} cannot take payments",
            )
        return account
    accounts = await ctx.billy.list_all("accounts", (("isPaymentEnabled", "true"),))
    enabled = sorted(
        (a for a in accounts if a.get("isPaymentEnabled") and not a.get("isArchived")),
        key=lambda a: (a.get("accountNo") or 0, a["id"]),
    )
    base = organization["baseCurrencyId"]
    preferred = [organization.get(name) for name in defaults]
    ranked = [a for wanted in preferred for a in enabled if a["id"] == wanted] + enabled
    in_currency = [a for a in ranked if (a.get("currencyId") or base) == currency]
    if in_currency:
        return in_currency[0]
    if ranked:
        return ranked[0]
    raise field_error("bank_account_id", "required", "the organization has no payment-enabled bank account")


async def make_payment(ctx: CallContext, plan: PaymentPlan) -> str:
    record: dict[str, Any] = {
        "entryDate": plan.entry_date.isoformat(),
        "cashAmount": plan.cash_amount,
        "cashSide": "debit" if plan.kind == "invoice" else "credit",
        "cashAccountId": plan.account["id"],
        "associations": [{"subjectReference": f"{plan.kind}:{plan.document['id']}"}],
    }
    if plan.exchange_rate is not None:
        record["cashExchangeRate"] = plan.exchange_rate
    body = await ctx.billy.create(
        "bankPayments", record, invalidates=(f"{plan.kind}s", "contacts", "balanceModifiers")
    )
    payment_id = str(body["bankPayments"][0]["id"])
    ctx.touch(f"bankPayment:{payment_id}")
    return payment_id


def payment_preview(plan: PaymentPlan, party: dict[str, Any]) -> dict[str, Any]:
    document = plan.document
    currency = document.get("currencyId")
    preview: dict[str, Any] = {
        "action": f"record_{plan.kind}_payment",
        plan.kind: {
            "id": document["id"],
            "number": document.get("invoiceNo") or document.get("suppliersInvoiceNo"),
            **party,
            "currency": currency,
            "gross_amount": money(gross_of(document)),
            "balance": money(document["balance"]),
        },
        "amount": money(plan.amount),
        "currency": currency,
        "payment_date": plan.entry_date.isoformat(),
        "bank_account": account_summary(plan.account),
        "balance_after": money(plan.balance_after),
        "fully_paid": plan.balance_after == 0,
    }
    if plan.exchange_rate is not None:
        preview["cash_amount"] = money(plan.cash_amount)
        preview["exchange_rate"] = str(plan.exchange_rate)
    return preview


def account_summary(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": account["id"],
        "account_no": account.get("accountNo"),
        "name": account.get("name"),
        "currency": account.get("currencyId"),
    }


def payment_result(plan: PaymentPlan, payment_id: str) -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "amount": money(plan.amount),
        "currency": plan.document.get("currencyId"),
        "payment_date": plan.entry_date.isoformat(),
        "bank_account": account_summary(plan.account),
    }


class BankAccountOutput(ToolOutput):
    id: str
    account_no: int | None = None
    name: str | None = None
    currency: str | None = None


class PaymentFields(ToolOutput):
    payment_id: str | None = Field(None, description="The Billy bank payment that was made")
    amount: str | None = Field(None, description="What the payment settled, in the document's currency")
    payment_date: str | None = None
    bank_account: BankAccountOutput | None = None


class RecordInvoicePaymentInput(PaymentInput):
    invoice_id: BillyId = Field(
        description="The Billy id of the approved invoice that was paid", examples=[EXAMPLE_ID]
    )


class InvoicePaymentOutput(PaymentFields):
    currency: str | None = None
    invoice: InvoiceOutput | None = Field(
        None, description="The invoice after the payment (balance, is_paid)"
    )


async def plan_invoice_payment(
    args: RecordInvoicePaymentInput, ctx: CallContext
) -> tuple[PaymentPlan, dict[str, dict[str, Any]]]:
    invoice, contacts = await read_invoice(ctx, args.invoice_id, fresh=True)
    plan = await plan_payment(
        ctx, "invoice", invoice, args, ("defaultInvoiceBankAccountId", "defaultBillBankAccountId")
    )
    return plan, contacts


async def describe_invoice_payment(args: RecordInvoicePaymentInput, ctx: CallContext) -> dict[str, Any]:
    plan, contacts = await plan_invoice_payment(args, ctx)
    customer = contacts.get(str(plan.document["contactId"]), {})
    return {
        **payment_preview(plan, {"customer_name": customer.get("name")}),
        "effect": "Billy books a bank payment on the invoice; its balance drops and it is paid at 0.",
    }


async def record_invoice_payment(args: RecordInvoicePaymentInput, ctx: CallContext) -> dict[str, Any]:
    plan, _ = await plan_invoice_payment(args, ctx)
    payment_id = await make_payment(ctx, plan)
    invoice = await invoice_result(ctx, args.invoice_id)
    invoice.pop("lines", None)
    return {**payment_result(plan, payment_id), "invoice": invoice}


# ------------------------------------------------------------------ list_overdue_invoices

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


def base_amount(document: dict[str, Any], value: Any) -> Decimal:
    """An amount in the organization's base currency, at the document's exchange rate."""
    return round2(to_decimal(value) * to_decimal(document.get("exchangeRate") or 1))


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


# ------------------------------------------------------------------ the tools

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

RECORD_INVOICE_PAYMENT = Tool(
    name="record_invoice_payment",
    title="Record a payment of an invoice",
    description=(
        "Use it when a customer has paid an approved invoice, in full or in part (at most its balance): records a "
        "Billy bank payment on a payment-enabled bank account. This is how an invoice becomes paid. "
        "The first call previews the amount, account and balance after it and returns a confirmation_ticket."
    ),
    input_model=RecordInvoicePaymentInput,
    output_model=InvoicePaymentOutput,
    handler=record_invoice_payment,
    read_only=False,
    destructive=True,
    preview=describe_invoice_payment,
)

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
    return [
        LIST_INVOICES,
        GET_INVOICE,
        CREATE_INVOICE,
        UPDATE_INVOICE,
        APPROVE_INVOICE,
        SEND_INVOICE,
        CREATE_CREDIT_NOTE,
        RECORD_INVOICE_PAYMENT,
        LIST_OVERDUE_INVOICES,
    ]
