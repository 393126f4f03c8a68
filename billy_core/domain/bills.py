"""Bill tools (supplier invoices): list, read, create drafts, approve, record payments.

Bills follow invoices' state model (draft, approved, voided; paid is ``balance``/``is_paid``),
but their lines carry an expense account, a purchase VAT rate, a description and an amount
instead of product × quantity × price. Billy's bills have no ``externalId``, so a repeated
create is answered by the kernel's idempotency-key store alone.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field

from billy_core.context import CallContext
from billy_core.domain.common import by_id, money_or_none, text_or_none, today
from billy_core.domain.documents import (
    MAX_LINES,
    Amount,
    BillyId,
    CurrencyCode,
    DocumentListInput,
    IsoDate,
    TaxMode,
    amounts_summary,
    check_currency,
    document_page,
    fetch_record,
    field_error,
    field_not_found,
    money_overview,
    tax_rates,
    with_priorities,
)
from billy_core.domain.payments import (
    PaymentFields,
    PaymentInput,
    PaymentPlan,
    make_payment,
    payment_preview,
    payment_result,
    plan_payment,
)
from billy_core.errors import Conflict, NotFound
from billy_core.listing import GetInput, ListOutput, project
from billy_core.tools import Tool, ToolInput, ToolOutput

BillState = Literal["draft", "approved", "voided"]
BILL_SORTS = {
    "entry_date": "entryDate",
    "due_date": "dueDate",
    "gross_amount": "grossAmount",
    "balance": "balance",
    "created_time": "createdTime",
}
BILL_INCLUDE = "bill.lines:embed,bill.contact:sideload,billLine.account:sideload"
EXAMPLE_BILL_ID = "CbHbhSOVnNNNCxC0VBku7w"
EXAMPLE_SUPPLIER_ID = "Yevfv0gfq3zwwPP2iK9aHw"


def bill_summary(bill: dict[str, Any], contacts: dict[str, dict[str, Any]], on: date) -> dict[str, Any]:
    supplier = contacts.get(str(bill.get("contactId")), {})
    return {
        "id": bill["id"],
        "type": bill.get("type", "bill"),
        "state": bill.get("state"),
        "supplier_id": bill.get("contactId"),
        "supplier_name": supplier.get("name"),
        "suppliers_invoice_no": text_or_none(bill.get("suppliersInvoiceNo")),
        "voucher_no": text_or_none(bill.get("voucherNo")),
        **amounts_summary(bill, on),
        "description": text_or_none(bill.get("lineDescription")),
        "credited_bill_id": bill.get("creditedBillId"),
    }


def bill_line_summary(line: dict[str, Any], accounts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    account = accounts.get(str(line.get("accountId")), {})
    return {
        "id": line["id"],
        "account_id": line.get("accountId"),
        "account_no": account.get("accountNo"),
        "account_name": account.get("name"),
        "tax_rate_id": line.get("taxRateId"),
        "description": text_or_none(line.get("description")),
        "amount": money_or_none(line.get("amount")),
        "vat_amount": money_or_none(line.get("tax")),
    }


def bill_label(bill: dict[str, Any]) -> str:
    number = bill.get("suppliersInvoiceNo")
    return f"bill {number}" if number else f"bill {bill['id']}"


async def read_bill(
    ctx: CallContext, bill_id: str, *, fresh: bool = False
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The bill with its lines embedded, its supplier and its lines' accounts (by id)."""
    try:
        body = await ctx.billy.request(
            "GET", f"/bills/{bill_id}", query=(("include", BILL_INCLUDE),), bypass_cache=fresh
        )
    except NotFound as exc:
        raise field_not_found("bill_id", "bill", bill_id, exc) from None
    bill: dict[str, Any] = body["bill"]
    ctx.touch(f"bill:{bill['id']}")
    return bill, by_id(body.get("contacts", [])), by_id(body.get("accounts", []))


def bill_details(
    bill: dict[str, Any], contacts: dict[str, dict[str, Any]], accounts: dict[str, dict[str, Any]], on: date
) -> dict[str, Any]:
    lines = sorted(bill.get("lines", []), key=lambda line: line.get("priority") or 0)
    return {
        **bill_summary(bill, contacts, on),
        "lines": [bill_line_summary(line, accounts) for line in lines],
    }


async def bill_result(ctx: CallContext, bill_id: str) -> dict[str, Any]:
    bill, contacts, accounts = await read_bill(ctx, bill_id, fresh=True)
    return bill_details(bill, contacts, accounts, today())


# ------------------------------------------------------------------ output models


class BillLineOutput(ToolOutput):
    id: str
    account_id: str | None = Field(None, description="The expense (or asset) account the line is booked on")
    account_no: int | None = None
    account_name: str | None = None
    tax_rate_id: str | None = Field(None, description="The purchase VAT rate")
    description: str | None = None
    amount: str | None = Field(None, description="The line amount (in the bill's tax mode)")
    vat_amount: str | None = None


class BillOutput(ToolOutput):
    id: str
    type: str | None = Field(None, description="bill or credit_note")
    state: str | None = Field(None, description="draft, approved or voided")
    supplier_id: str | None = None
    supplier_name: str | None = None
    suppliers_invoice_no: str | None = Field(None, description="The supplier's own invoice number")
    voucher_no: str | None = None
    entry_date: str | None = Field(None, description="Bill date, YYYY-MM-DD")
    due_date: str | None = None
    currency: str | None = None
    tax_mode: str | None = None
    net_amount: str | None = None
    vat_amount: str | None = None
    gross_amount: str | None = None
    balance: str | None = Field(None, description="What is still to be paid to the supplier")
    is_paid: bool | None = None
    is_overdue: bool | None = None
    days_overdue: int | None = None
    description: str | None = None
    credited_bill_id: str | None = None
    lines: list[BillLineOutput] | None = None


# ------------------------------------------------------------------ list_bills / get_bill


class ListBillsInput(DocumentListInput):
    supplier_id: BillyId | None = Field(
        None, description="Only this supplier's bills (a Billy contact id)", examples=[EXAMPLE_SUPPLIER_ID]
    )
    query: str | None = Field(
        None,
        max_length=200,
        description="Text search in the supplier's invoice number, supplier name, descriptions and amounts",
        examples=["Husleje"],
    )
    sort: Literal["entry_date", "due_date", "gross_amount", "balance", "created_time"] = Field(
        "entry_date", description="Sort key", examples=["due_date"]
    )


async def list_bills(args: ListBillsInput, ctx: CallContext) -> dict[str, Any]:
    filters = [(name, value) for name, value in (("contactId", args.supplier_id), ("q", args.query)) if value]
    return await document_page(ctx, "bills", args, BILL_SORTS[args.sort], filters, bill_summary)


class BillIdInput(ToolInput):
    bill_id: BillyId = Field(description="The Billy id of the bill", examples=[EXAMPLE_BILL_ID])


class GetBillInput(GetInput):
    bill_id: BillyId = Field(description="The Billy id of the bill", examples=[EXAMPLE_BILL_ID])


async def get_bill(args: GetBillInput, ctx: CallContext) -> dict[str, Any]:
    bill, contacts, accounts = await read_bill(ctx, args.bill_id)
    return project(bill_details(bill, contacts, accounts, today()), args.fields)


# ------------------------------------------------------------------ create_bill


class BillLineInput(ToolInput):
    account: str = Field(
        min_length=1,
        max_length=64,
        description="The account to book the cost on: its Billy id or its account number",
        examples=["1210"],
    )
    tax_rate: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The purchase VAT rate: its Billy id or its abbreviation (I25 = købsmoms 25 %, "
        "I0 = momsfrit). Default: the account's VAT rate.",
        examples=["I25"],
    )
    description: str = Field(
        min_length=1, max_length=1000, description="What was bought", examples=["Kaffebønner, 20 kg"]
    )
    amount: Amount = Field(
        description="The line amount in the bill's tax mode (excl: without VAT)", examples=["1200.00"]
    )


class CreateBillInput(ToolInput):
    supplier_id: BillyId = Field(
        description="The Billy contact id of the supplier", examples=[EXAMPLE_SUPPLIER_ID]
    )
    lines: Annotated[list[BillLineInput], Field(min_length=1, max_length=MAX_LINES)] = Field(
        description="The bill lines (at least one)",
        examples=[
            [{"account": "1210", "tax_rate": "I25", "description": "Kaffebønner", "amount": "1200.00"}]
        ],
    )
    entry_date: IsoDate | None = Field(
        None, description="Bill date, YYYY-MM-DD (default: today in Denmark)", examples=["2026-03-02"]
    )
    due_date: IsoDate | None = Field(
        None,
        description="When the bill must be paid (default: the supplier's terms)",
        examples=["2026-03-16"],
    )
    suppliers_invoice_no: str | None = Field(
        None, max_length=100, description="The supplier's own invoice number", examples=["71634"]
    )
    tax_mode: TaxMode | None = Field(
        None,
        description="excl: amounts are without VAT; incl: they include VAT (default: the organization's)",
        examples=["excl"],
    )
    currency: CurrencyCode | None = Field(
        None, description="ISO currency code (default: the organization's base currency)", examples=["DKK"]
    )


def _match_account(accounts: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    if wanted.isdigit() and len(wanted) <= 6:
        return next((a for a in accounts if str(a.get("accountNo")) == wanted), None)
    return next((a for a in accounts if a["id"] == wanted), None)


def _match_rate(rates: dict[str, dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    if wanted in rates:
        return rates[wanted]
    lowered = wanted.casefold()
    return next((r for r in rates.values() if str(r.get("abbreviation") or "").casefold() == lowered), None)


async def bill_line_payloads(ctx: CallContext, lines: list[BillLineInput]) -> list[dict[str, Any]]:
    accounts = await ctx.billy.list_all("accounts")
    rates = await tax_rates(ctx)
    payloads = []
    for index, line in enumerate(lines):
        account = _match_account(accounts, line.account)
        if account is None:
            raise field_not_found(f"lines.{index}.account", "account", line.account)
        if line.tax_rate is not None:
            rate = _match_rate(rates, line.tax_rate)
            if rate is None:
                raise field_not_found(f"lines.{index}.tax_rate", "tax rate", line.tax_rate)
        else:
            rate = rates.get(str(account.get("taxRateId")))
            if rate is None or not rate.get("appliesToPurchases"):
                raise field_error(
                    f"lines.{index}.tax_rate",
                    "required",
                    f"account {account.get('accountNo')} has no purchase VAT rate; give tax_rate (e.g. I25 or I0)",
                )
        if not rate.get("appliesToPurchases"):
            raise field_error(
                f"lines.{index}.tax_rate",
                "not_a_purchase_rate",
                f"{rate.get('abbreviation')} ({rate.get('name')}) is a sales rate; bills need a purchase rate",
            )
        payloads.append(
            {
                "accountId": account["id"],
                "taxRateId": rate["id"],
                "description": line.description,
                "amount": line.amount,
            }
        )
    return with_priorities(payloads)


async def create_bill(args: CreateBillInput, ctx: CallContext) -> dict[str, Any]:
    await fetch_record(ctx, "contacts", args.supplier_id, field="supplier_id", what="supplier")
    await check_currency(ctx, args.currency)
    if args.due_date and args.entry_date and args.due_date < args.entry_date:
        raise field_error("due_date", "before_entry_date", "the due date cannot be before the bill date")
    record: dict[str, Any] = {
        "contactId": args.supplier_id,
        "entryDate": (args.entry_date or today()).isoformat(),
        "lines": await bill_line_payloads(ctx, args.lines),
    }
    optional = {
        "dueDate": args.due_date.isoformat() if args.due_date else None,
        "suppliersInvoiceNo": args.suppliers_invoice_no,
        "taxMode": args.tax_mode,
        "currencyId": args.currency,
    }
    record.update({key: value for key, value in optional.items() if value is not None})
    body = await ctx.billy.create(
        "bills", record, idempotency_key=ctx.idempotency_key, invalidates=("contacts",)
    )
    return await bill_result(ctx, body["bills"][0]["id"])


# ------------------------------------------------------------------ approve_bill


def require_draft_bill(bill: dict[str, Any]) -> None:
    if bill.get("state") != "draft":
        raise Conflict(
            f"{bill_label(bill)} is {bill.get('state')}; only drafts can be approved",
            details={"state": bill.get("state"), "bill_id": bill["id"]},
        )
    if not bill.get("lines"):
        raise Conflict(f"{bill_label(bill)} has no lines; add lines before approving it")


async def describe_bill_approval(args: BillIdInput, ctx: CallContext) -> dict[str, Any]:
    bill, contacts, accounts = await read_bill(ctx, args.bill_id, fresh=True)
    require_draft_bill(bill)
    details = bill_details(bill, contacts, accounts, today())
    return {
        "action": "approve_bill",
        "bill_id": bill["id"],
        "supplier_id": details["supplier_id"],
        "supplier_name": details["supplier_name"],
        "suppliers_invoice_no": details["suppliers_invoice_no"],
        "entry_date": details["entry_date"],
        "due_date": details["due_date"],
        **money_overview(bill),
        "lines": details["lines"],
        "effect": "Billy books the costs and purchase VAT and the debt to the supplier, and locks the bill.",
    }


async def approve_bill(args: BillIdInput, ctx: CallContext) -> dict[str, Any]:
    bill, _, _ = await read_bill(ctx, args.bill_id, fresh=True)
    require_draft_bill(bill)
    await ctx.billy.update("bills", args.bill_id, {"state": "approved"}, invalidates=("contacts",))
    return await bill_result(ctx, args.bill_id)


# ------------------------------------------------------------------ record_bill_payment


class RecordBillPaymentInput(PaymentInput):
    bill_id: BillyId = Field(
        description="The Billy id of the approved bill that was paid", examples=[EXAMPLE_BILL_ID]
    )


class BillPaymentOutput(PaymentFields):
    currency: str | None = None
    bill: BillOutput | None = Field(None, description="The bill after the payment (balance, is_paid)")


async def _plan_bill_payment(
    args: RecordBillPaymentInput, ctx: CallContext
) -> tuple[PaymentPlan, str | None]:
    bill, contacts, _ = await read_bill(ctx, args.bill_id, fresh=True)
    plan = await plan_payment(ctx, "bill", bill, args, ("defaultBillBankAccountId",))
    return plan, contacts.get(str(bill["contactId"]), {}).get("name")


async def describe_bill_payment(args: RecordBillPaymentInput, ctx: CallContext) -> dict[str, Any]:
    plan, supplier_name = await _plan_bill_payment(args, ctx)
    return {
        **payment_preview(plan, {"supplier_name": supplier_name}),
        "effect": "Billy books money paid out of the bank account against the bill; its balance drops.",
    }


async def record_bill_payment(args: RecordBillPaymentInput, ctx: CallContext) -> dict[str, Any]:
    plan, _ = await _plan_bill_payment(args, ctx)
    payment_id = await make_payment(ctx, plan)
    bill = await bill_result(ctx, args.bill_id)
    bill.pop("lines", None)
    return {**payment_result(plan, payment_id), "bill": bill}


# ------------------------------------------------------------------ the tools

LIST_BILLS = Tool(
    name="list_bills",
    title="List bills",
    description=(
        "Use it to find bills (supplier invoices): filter by state, payment status (paid, unpaid, overdue), bill date "
        "range, supplier or free text. Returns one page ({items, total, has_more, next_offset}). "
        "Use get_bill for the lines of one bill."
    ),
    input_model=ListBillsInput,
    output_model=ListOutput,
    handler=list_bills,
    idempotent=True,
)

GET_BILL = Tool(
    name="get_bill",
    title="Get a bill",
    description=(
        "Use it to see one bill with its lines (account, VAT rate, description, amount), amounts, balance and due date. "
        "Use list_bills first to find the id."
    ),
    input_model=GetBillInput,
    output_model=BillOutput,
    handler=get_bill,
    idempotent=True,
)

CREATE_BILL = Tool(
    name="create_bill",
    title="Create a draft bill",
    description=(
        "Use it to register a supplier's invoice as a DRAFT bill: lines with an account (id or number), a purchase "
        "VAT rate (id or abbreviation such as I25), a description and an amount. Nothing is booked until "
        "approve_bill. Repeating a call with the same idempotency_key returns the first bill."
    ),
    input_model=CreateBillInput,
    output_model=BillOutput,
    handler=create_bill,
    read_only=False,
    creates="bills",
)

APPROVE_BILL = Tool(
    name="approve_bill",
    title="Approve (book) a draft bill",
    description=(
        "Use it when a draft bill is right: Billy books the cost, the purchase VAT and the debt to the supplier and locks "
        "the bill. The first call returns a preview and a confirmation_ticket; call again with the ticket."
    ),
    input_model=BillIdInput,
    output_model=BillOutput,
    handler=approve_bill,
    read_only=False,
    destructive=True,
    idempotent=True,
    preview=describe_bill_approval,
)

RECORD_BILL_PAYMENT = Tool(
    name="record_bill_payment",
    title="Record a payment of a bill",
    description=(
        "Use it when a supplier has been paid for an approved bill, in full or in part (at most its balance): records it "
        "as a Billy bank payment out of a payment-enabled bank account. The first call previews the amount, "
        "account and balance after it and returns a confirmation_ticket."
    ),
    input_model=RecordBillPaymentInput,
    output_model=BillPaymentOutput,
    handler=record_bill_payment,
    read_only=False,
    destructive=True,
    preview=describe_bill_payment,
)


def tools(kernel: Any) -> list[Tool]:
    return [LIST_BILLS, GET_BILL, CREATE_BILL, APPROVE_BILL, RECORD_BILL_PAYMENT]
