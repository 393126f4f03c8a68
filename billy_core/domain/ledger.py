"""Ledger tools: the chart of accounts, VAT rates, bank payments and manual journal entries.

``create_daybook_transaction`` checks the entry before Billy sees it: every account and VAT rate
exists and is in use, the date is inside the books (not before the first fiscal year, not in a
locked period), and debit equals credit. It creates a *draft* in the daybook (kassekladde);
booking (approving) it stays a deliberate step in Billy. Billy documents ``apiType`` as a free,
filterable tag, so the entry carries ``billy-mcp:<idempotency key>`` there and a retried create
finds the first entry even on another server instance.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from billy_core.billy.client import MAX_PAGE_SIZE
from billy_core.context import CallContext
from billy_core.domain.common import text_or_none
from billy_core.domain.documents import list_with_sideloads
from billy_core.domain.references import (
    Amount,
    BillyId,
    Problems,
    find_live,
    get_or_not_found,
    records_by_id,
)
from billy_core.listing import ListInput, ListOutput, window
from billy_core.money import money
from billy_core.tools import Tool, ToolInput, ToolOutput
from billy_core.write_safety import new_idempotency_key

Nature = Literal["asset", "liability", "equity", "revenue", "expense"]
Side = Literal["debit", "credit"]
ZERO = Decimal(0)
API_TYPE_PREFIX = "billy-mcp:"
WITH_LINES = "daybookTransaction.lines:embed"


# ------------------------------------------------------------------ accounts


class ListAccountsInput(ListInput):
    search: str | None = Field(
        None, max_length=100, description="Part of the account name, or its number", examples=["bank", "1110"]
    )
    nature: Nature | None = Field(None, description="Only accounts of this nature", examples=["revenue"])
    payment_enabled: bool | None = Field(
        None, description="true: only accounts payments can go through (bank, cash)", examples=[True]
    )
    include_archived: bool = Field(False, description="Also list archived accounts", examples=[False])


def account_summary(account: dict[str, Any], groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    group = groups.get(str(account.get("groupId")), {})
    return {
        "id": account["id"],
        "account_no": account.get("accountNo"),
        "name": account.get("name", ""),
        "nature": account.get("natureId"),
        "group": group.get("name"),
        "system_role": account.get("systemRole"),
        "currency": account.get("currencyId"),
        "tax_rate_id": account.get("taxRateId"),
        "is_payment_enabled": bool(account.get("isPaymentEnabled")),
        "is_bank_account": bool(account.get("isBankAccount")),
        "is_archived": bool(account.get("isArchived")),
    }


def account_matches(account: dict[str, Any], args: ListAccountsInput) -> bool:
    if account["is_archived"] and not args.include_archived:
        return False
    if args.nature and account["nature"] != args.nature:
        return False
    if args.payment_enabled is not None and account["is_payment_enabled"] != args.payment_enabled:
        return False
    if not args.search:
        return True
    needle = args.search.casefold()
    return needle in account["name"].casefold() or str(account["account_no"] or "").startswith(needle)


async def list_accounts(args: ListAccountsInput, ctx: CallContext) -> dict[str, Any]:
    accounts = await ctx.billy.list_all("accounts")
    groups = await records_by_id(ctx, "accountGroups")
    summaries = [account_summary(account, groups) for account in accounts]
    chosen = [account for account in summaries if account_matches(account, args)]
    chosen.sort(key=lambda account: (account["account_no"] or 0, account["name"]))
    return window(chosen, args)


# ------------------------------------------------------------------ tax rates


class ListTaxRatesInput(ListInput):
    applies_to: Literal["sales", "purchases"] | None = Field(
        None, description="Only rates for sales or for purchases", examples=["sales"]
    )
    include_inactive: bool = Field(
        False, description="Also list rates that are switched off", examples=[False]
    )


def percent(rate: Any) -> str:
    value = (Decimal(str(rate)) * 100).normalize()
    return format(value, "f")


def tax_rate_summary(rate: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rate["id"],
        "name": rate.get("name", ""),
        "abbreviation": text_or_none(rate.get("abbreviation")),
        "percent": percent(rate.get("rate", 0)),
        "applies_to_sales": bool(rate.get("appliesToSales")),
        "applies_to_purchases": bool(rate.get("appliesToPurchases")),
        "is_reverse_charge": bool(rate.get("isReverseCharge")),
        "is_active": bool(rate.get("isActive", True)),
        "vat_return_box": rate.get("netAmountMetaField"),
    }


async def list_tax_rates(args: ListTaxRatesInput, ctx: CallContext) -> dict[str, Any]:
    rates = [tax_rate_summary(rate) for rate in await ctx.billy.list_all("taxRates")]
    chosen = [
        rate
        for rate in rates
        if (args.include_inactive or rate["is_active"])
        and (args.applies_to is None or rate[f"applies_to_{args.applies_to}"])
    ]
    return window(chosen, args)


# ------------------------------------------------------------------ bank payments


class ListBankPaymentsInput(ListInput):
    start_date: date | None = Field(
        None, description="Earliest payment date, YYYY-MM-DD", examples=["2026-01-01"]
    )
    end_date: date | None = Field(
        None, description="Latest payment date, YYYY-MM-DD", examples=["2026-03-31"]
    )
    direction: Literal["incoming", "outgoing"] | None = Field(
        None,
        description="incoming: money received (invoices paid); outgoing: money paid out (bills)",
        examples=["incoming"],
    )
    contact_id: BillyId | None = Field(
        None,
        description="Only payments from or to this customer or supplier",
        examples=["EhZmX9g2SPvGFveh4IcsAg"],
    )
    invoice_id: BillyId | None = Field(
        None, description="Only payments that settle this invoice", examples=["SyNT4pXYNWaUA2PhGvCRGg"]
    )
    bill_id: BillyId | None = Field(
        None, description="Only payments that settle this bill", examples=["CbHbhSOVnNNNCxC0VBku7w"]
    )
    include_voided: bool = Field(False, description="Also list voided payments", examples=[False])
    order: Literal["asc", "desc"] = Field(
        "desc", description="By payment date: newest first (desc) or oldest", examples=["desc"]
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> ListBankPaymentsInput:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("start_date must not be after end_date")
        return self


def payment_summary(
    payment: dict[str, Any], contacts: dict[str, dict[str, Any]], accounts: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    settles = []
    for association in payment.get("associations", []):
        kind, _, subject_id = str(association.get("subjectReference", "")).partition(":")
        settles.append({"type": kind, "id": subject_id, "amount": money(association.get("amount") or 0)})
    account = accounts.get(str(payment.get("cashAccountId")), {})
    fee = payment.get("feeAmount")
    return {
        "id": payment["id"],
        "entry_date": payment.get("entryDate"),
        "direction": "incoming" if payment.get("cashSide") == "debit" else "outgoing",
        "amount": money(payment.get("cashAmount", 0)),
        "currency": account.get("currencyId"),
        "cash_account_id": payment.get("cashAccountId"),
        "cash_account_name": account.get("name"),
        "subject_currency": payment.get("subjectCurrencyId"),
        "exchange_rate": str(payment.get("cashExchangeRate", 1)),
        "fee_amount": None if fee is None else money(fee),
        "contact_id": payment.get("contactId"),
        "contact_name": contacts.get(str(payment.get("contactId")), {}).get("name"),
        "is_voided": bool(payment.get("isVoided")),
        "settles": settles,
    }


def payment_matches(payment: dict[str, Any], args: ListBankPaymentsInput) -> bool:
    day = payment["entry_date"] or ""
    references = {(item["type"], item["id"]) for item in payment["settles"]}
    return (
        (args.include_voided or not payment["is_voided"])
        and (args.start_date is None or day >= args.start_date.isoformat())
        and (args.end_date is None or day <= args.end_date.isoformat())
        and (args.direction is None or payment["direction"] == args.direction)
        and (args.contact_id is None or payment["contact_id"] == args.contact_id)
        and (args.invoice_id is None or ("invoice", args.invoice_id) in references)
        and (args.bill_id is None or ("bill", args.bill_id) in references)
    )


async def list_bank_payments(args: ListBankPaymentsInput, ctx: CallContext) -> dict[str, Any]:
    for field, plural, what, value in (
        ("contact_id", "contacts", "contact", args.contact_id),
        ("invoice_id", "invoices", "invoice", args.invoice_id),
        ("bill_id", "bills", "bill", args.bill_id),
    ):
        if value is not None:
            await get_or_not_found(ctx, plural, value, field=field, what=what)
    include = "bankPayment.associations:embed,bankPayment.contact:sideload"
    records, sideloads = await list_with_sideloads(
        ctx, "bankPayments", (("include", include), ("pageSize", str(MAX_PAGE_SIZE)))
    )
    contacts = sideloads.get("contacts", {})
    accounts = await records_by_id(ctx, "accounts")
    payments = [payment_summary(payment, contacts, accounts) for payment in records]
    chosen = [payment for payment in payments if payment_matches(payment, args)]
    chosen.sort(
        key=lambda payment: (payment["entry_date"] or "", payment["id"]), reverse=args.order == "desc"
    )
    return window(chosen, args)


# ------------------------------------------------------------------ daybook transactions


class JournalLine(ToolInput):
    account_no: int | None = Field(None, ge=1, le=999999, description="Account number", examples=[5710])
    account_id: BillyId | None = Field(
        None, description="Account id (instead of account_no)", examples=["Ne2CWgmlXMB0zf9Po0f8pQ"]
    )
    side: Side = Field(description="debit or credit", examples=["debit"])
    amount: Amount = Field(description="Positive amount in the company's currency, two decimals at most")
    text: str | None = Field(None, max_length=255, description="Line text", examples=["Kontant hævet"])
    tax_rate_id: BillyId | None = Field(
        None,
        description="VAT rate id (see list_tax_rates), when VAT applies",
        examples=["uW7Vmo_OIZZgPSFkW2U0jA"],
    )
    contra_account_no: int | None = Field(
        None,
        ge=1,
        le=999999,
        description="Contra account number: the line then balances itself",
        examples=[1110],
    )
    contra_account_id: BillyId | None = Field(
        None, description="Contra account id (instead of the number)", examples=["rPlln7zUcTlaQFuQGwTCzw"]
    )


class CreateDaybookTransactionInput(ToolInput):
    entry_date: date = Field(description="Booking date, YYYY-MM-DD", examples=["2026-09-30"])
    description: str = Field(
        min_length=1, max_length=255, description="What the entry is", examples=["Hævet til kassebeholdning"]
    )
    lines: list[JournalLine] = Field(
        min_length=1,
        max_length=100,
        description=(
            "The lines. Lines without a contra account must balance: total debit equals total credit."
        ),
        examples=[
            [
                {"account_no": 5730, "side": "debit", "amount": "2700.00"},
                {"account_no": 5710, "side": "credit", "amount": "2700.00"},
            ]
        ],
    )
    voucher_no: str | None = Field(
        None, max_length=50, description="Voucher (bilag) number", examples=["B-1042"]
    )
    daybook_id: BillyId | None = Field(
        None,
        description="Daybook id; default: the company's first daybook",
        examples=["wFpvp5_m7FaKnzBihzGdcg"],
    )


class DaybookLineOutput(ToolOutput):
    account_id: str | None = None
    account_no: int | None = None
    side: str | None = None
    amount: str | None = None
    text: str | None = None
    tax_rate_id: str | None = None
    contra_account_id: str | None = None


class DaybookTransactionOutput(ToolOutput):
    id: str
    state: str | None = Field(None, description="draft: book it in Billy to post it to the ledger")
    entry_date: str | None = None
    description: str | None = None
    voucher_no: str | None = None
    daybook_id: str | None = None
    total_debit: str | None = None
    total_credit: str | None = None
    lines: list[DaybookLineOutput] | None = None
    replayed: bool | None = Field(None, description="True when this is the entry an earlier call created")


def _resolve(
    accounts: dict[str, dict[str, Any]],
    numbers: dict[int, dict[str, Any]],
    account_id: str | None,
    account_no: int | None,
    where: str,
    problems: Problems,
) -> dict[str, Any] | None:
    account = accounts.get(account_id) if account_id is not None else numbers.get(account_no or 0)
    if account is None:
        problems.add(where, "unknown_account", "no such account (see list_accounts)")
    elif account.get("isArchived"):
        problems.add(where, "archived_account", f"account {account.get('accountNo')} is archived")
    return account


def _line_shape(index: int, line: JournalLine, problems: Problems) -> None:
    where = f"lines.{index}"
    if (line.account_no is None) == (line.account_id is None):
        problems.add(where, "one_account", "give exactly one of account_no and account_id")
    if line.contra_account_no is not None and line.contra_account_id is not None:
        problems.add(
            where, "one_contra_account", "give at most one of contra_account_no and contra_account_id"
        )


def check_balance(lines: list[JournalLine], problems: Problems) -> None:
    """Lines without a contra account must balance among themselves (as Billy requires to book)."""
    own = [line for line in lines if line.contra_account_no is None and line.contra_account_id is None]
    own_debit = sum((line.amount for line in own if line.side == "debit"), ZERO)
    own_credit = sum((line.amount for line in own if line.side == "credit"), ZERO)
    if own_debit != own_credit:
        problems.add(
            "lines",
            "unbalanced",
            f"debit {money(own_debit)} and credit {money(own_credit)} differ by "
            f"{money(abs(own_debit - own_credit))} (lines with a contra account balance themselves)",
        )


async def check_journal(
    args: CreateDaybookTransactionInput, ctx: CallContext
) -> tuple[list[dict[str, Any]], str]:
    """The Billy lines and the daybook id, or ``invalid_argument`` naming every problem."""
    problems = Problems()
    for index, line in enumerate(args.lines):
        _line_shape(index, line, problems)
    check_balance(args.lines, problems)
    problems.raise_if_any()
    organization = (await ctx.billy.request("GET", "/organization"))["organization"]
    first_day, locked = organization.get("firstFiscalYearStart"), organization.get("fiscalLockingDate")
    day = args.entry_date.isoformat()
    if first_day and day < str(first_day):
        problems.add("entry_date", "before_first_fiscal_year", f"the books start on {first_day}")
    if locked and day <= str(locked):
        problems.add("entry_date", "locked_period", f"the books are locked up to and including {locked}")
    accounts = await records_by_id(ctx, "accounts")
    numbers = {int(a["accountNo"]): a for a in accounts.values() if a.get("accountNo") is not None}
    rates = await records_by_id(ctx, "taxRates") if any(line.tax_rate_id for line in args.lines) else {}
    billy_lines = []
    for index, line in enumerate(args.lines):
        where = f"lines.{index}"
        account = _resolve(accounts, numbers, line.account_id, line.account_no, f"{where}.account", problems)
        record: dict[str, Any] = {"side": line.side, "amount": line.amount, "text": line.text or ""}
        if account is not None:
            record["accountId"] = account["id"]
        if line.contra_account_no is not None or line.contra_account_id is not None:
            contra = _resolve(
                accounts,
                numbers,
                line.contra_account_id,
                line.contra_account_no,
                f"{where}.contra_account",
                problems,
            )
            if contra is not None and account is not None and contra["id"] == account["id"]:
                problems.add(
                    f"{where}.contra_account", "same_account", "the contra account is the account itself"
                )
            if contra is not None:
                record["contraAccountId"] = contra["id"]
        if line.tax_rate_id is not None:
            rate = rates.get(line.tax_rate_id)
            if rate is None or not rate.get("isActive", True):
                problems.add(
                    f"{where}.tax_rate_id", "unknown_tax_rate", "no such active VAT rate (see list_tax_rates)"
                )
            else:
                record["taxRateId"] = rate["id"]
        billy_lines.append(record)
    daybook_id = await _daybook(ctx, args.daybook_id, problems)
    problems.raise_if_any()
    return billy_lines, daybook_id


async def _daybook(ctx: CallContext, wanted: str | None, problems: Problems) -> str:
    daybooks = await ctx.billy.list_all("daybooks")
    if wanted is not None:
        if not any(str(daybook["id"]) == wanted for daybook in daybooks):
            problems.add("daybook_id", "unknown_daybook", "no such daybook")
        return wanted
    if not daybooks:
        problems.add("daybook_id", "no_daybook", "the company has no daybook; create one in Billy first")
        return ""
    return str(daybooks[0]["id"])


def transaction_summary(
    transaction: dict[str, Any], lines: list[dict[str, Any]], accounts: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    def total(side: str) -> str:
        return money(sum((Decimal(str(line["amount"])) for line in lines if line.get("side") == side), ZERO))

    return {
        "id": transaction["id"],
        "state": transaction.get("state"),
        "entry_date": transaction.get("entryDate"),
        "description": text_or_none(transaction.get("description")),
        "voucher_no": text_or_none(transaction.get("voucherNo")),
        "daybook_id": transaction.get("daybookId"),
        "total_debit": total("debit"),
        "total_credit": total("credit"),
        "lines": [
            {
                "account_id": line.get("accountId"),
                "account_no": accounts.get(str(line.get("accountId")), {}).get("accountNo"),
                "side": line.get("side"),
                "amount": money(line.get("amount", 0)),
                "text": text_or_none(line.get("text")),
                "tax_rate_id": line.get("taxRateId"),
                "contra_account_id": line.get("contraAccountId"),
            }
            for line in sorted(lines, key=lambda line: line.get("priority") or 0)
        ],
    }


async def create_daybook_transaction(args: CreateDaybookTransactionInput, ctx: CallContext) -> dict[str, Any]:
    billy_lines, daybook_id = await check_journal(args, ctx)
    accounts = await records_by_id(ctx, "accounts")
    api_type = API_TYPE_PREFIX + (ctx.idempotency_key or new_idempotency_key())
    found = await find_live(ctx, "daybookTransactions", "apiType", api_type, include=WITH_LINES)
    if found is not None:
        ctx.touch(f"daybookTransaction:{found['id']}")
        return {**transaction_summary(found, found.get("lines", []), accounts), "replayed": True}
    record: dict[str, Any] = {
        "daybookId": daybook_id,
        "entryDate": args.entry_date.isoformat(),
        "description": args.description,
        "apiType": api_type,
        "state": "draft",
        "lines": [{**line, "priority": index} for index, line in enumerate(billy_lines)],
    }
    if args.voucher_no:
        record["voucherNo"] = args.voucher_no
    body = await ctx.billy.create("daybookTransactions", record, invalidates=("daybookTransactionLines",))
    transaction = body["daybookTransactions"][0]
    ctx.touch(f"daybookTransaction:{transaction['id']}")
    return transaction_summary(transaction, body.get("daybookTransactionLines", []), accounts)


# ------------------------------------------------------------------ tools

LIST_ACCOUNTS = Tool(
    name="list_accounts",
    title="List the chart of accounts",
    description=(
        "The chart of accounts (kontoplan) with numbers, names, nature (asset, liability, equity, "
        "revenue, expense) and which accounts take payments. Use it to find the account for a product, "
        "a bill line, a payment or a journal entry. Returns {items, total, has_more, next_offset}."
    ),
    input_model=ListAccountsInput,
    output_model=ListOutput,
    handler=list_accounts,
    idempotent=True,
)

LIST_TAX_RATES = Tool(
    name="list_tax_rates",
    title="List VAT rates",
    description=(
        "The company's VAT rates (momssatser): 25 % sales and purchase VAT, EU and export rates, "
        "reverse charge, with the VAT-return box each feeds. Use it to pick tax_rate_id for lines."
    ),
    input_model=ListTaxRatesInput,
    output_model=ListOutput,
    handler=list_tax_rates,
    idempotent=True,
)

LIST_BANK_PAYMENTS = Tool(
    name="list_bank_payments",
    title="List bank payments",
    description=(
        "Payments registered in Billy (money in for invoices, money out for bills) with the invoices "
        "and bills each one settles. Filter by date range, direction, customer/supplier, invoice or "
        "bill. Use it to see how and when an invoice was paid."
    ),
    input_model=ListBankPaymentsInput,
    output_model=ListOutput,
    handler=list_bank_payments,
    idempotent=True,
)

CREATE_DAYBOOK_TRANSACTION = Tool(
    name="create_daybook_transaction",
    title="Create a journal entry (draft)",
    description=(
        "Put a manual journal entry in the daybook (kassekladde) as a draft: accounts by number or id, "
        "debit and credit lines that must balance, optional VAT rate and voucher number. Everything is "
        "checked before Billy sees it. Safe to retry with the same idempotency_key. The draft is booked "
        "in Billy by a person."
    ),
    input_model=CreateDaybookTransactionInput,
    output_model=DaybookTransactionOutput,
    handler=create_daybook_transaction,
    read_only=False,
    creates="daybookTransactions",
)


def tools(kernel: Any) -> list[Tool]:
    return [LIST_ACCOUNTS, LIST_TAX_RATES, LIST_BANK_PAYMENTS, CREATE_DAYBOOK_TRANSACTION]
