"""What invoices and bills share: argument types, field-named errors, reads, amounts, lists."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from billy_core.billy.client import singular
from billy_core.context import CallContext
from billy_core.domain.common import billy_window, by_id, money_or_none, today
from billy_core.errors import InvalidArgument, NotFound
from billy_core.listing import ListInput, envelope
from billy_core.money import round2, to_decimal

ZERO = Decimal(0)


InvoiceState = Literal["draft", "approved", "voided"]


PaymentStatus = Literal["paid", "unpaid", "overdue"]


TaxMode = Literal["excl", "incl"]


SORTS = {
    "entry_date": "entryDate",
    "due_date": "dueDate",
    "invoice_no": "invoiceNo",
    "gross_amount": "grossAmount",
    "balance": "balance",
    "created_time": "createdTime",
}


MAX_LINES = 200


EXAMPLE_ID = "cSHBqWWITexZvQy29lqpYg"


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
        await ctx.billy.page_read(plural, page, page_count)
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


def with_priorities(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**line, "priority": index} for index, line in enumerate(lines, start=1)]


def money_overview(invoice: dict[str, Any]) -> dict[str, Any]:
    return {
        "currency": invoice.get("currencyId"),
        "net_amount": money_or_none(invoice.get("amount")),
        "vat_amount": money_or_none(invoice.get("tax")),
        "gross_amount": money_or_none(gross_of(invoice)),
        "balance": money_or_none(invoice.get("balance")),
    }


def base_amount(document: dict[str, Any], value: Any) -> Decimal:
    """An amount in the organization's base currency, at the document's exchange rate."""
    return round2(to_decimal(value) * to_decimal(document.get("exchangeRate") or 1))
