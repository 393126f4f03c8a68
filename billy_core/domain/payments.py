"""Bank payments that settle invoices and bills (record_invoice_payment; bills reuse the plan).

This replaces v1's mark_invoice_paid, which tried to set a state Billy does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field

from billy_core.context import CallContext
from billy_core.domain.common import (
    today,
)
from billy_core.domain.documents import (
    EXAMPLE_ID,
    Amount,
    BillyId,
    IsoDate,
    fetch_record,
    field_error,
    gross_of,
)
from billy_core.domain.invoices import InvoiceOutput, invoice_result, read_invoice
from billy_core.domain.organization import fetch_organization
from billy_core.errors import Conflict
from billy_core.money import money, round2, to_decimal
from billy_core.tools import Tool, ToolInput, ToolOutput


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


def tools(kernel: Any) -> list[Tool]:
    return [RECORD_INVOICE_PAYMENT]
