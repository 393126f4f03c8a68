"""Bank payments and the balance modifiers (associations) through which they settle invoices and bills."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from billy_sandbox import amounts
from billy_sandbox.errors import BillyError, invalid
from billy_sandbox.registry import register
from billy_sandbox.resources.settlement import refresh_balance
from billy_sandbox.schema import CREATED, ORG, B, Child, D, Date, E, Hooks, Id, Record, Ref, Resource
from billy_sandbox.store import Tx

ZERO = Decimal(0)
ONE = Decimal(1)
SUBJECT_TYPES = ("invoice", "bill")


def _fail(message: str, attribute: str, problem: str) -> BillyError:
    return invalid(message, {attribute: problem}, "bankPayment")


class BankPaymentHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        if old is not None:
            return
        account = tx.get("account", record["cashAccountId"])
        if account is not None and not account["isPaymentEnabled"]:
            raise _fail(
                "The cash account must be payment-enabled.", "cashAccountId", "is not payment-enabled"
            )
        if record["cashAmount"] <= 0:
            raise _fail("cashAmount must be positive.", "cashAmount", "must be positive")
        fee = record.get("feeAmount") or ZERO
        if fee < 0:
            raise _fail("feeAmount must not be negative.", "feeAmount", "negative")
        if fee and record.get("feeAccountId") is None:
            record["feeAccountId"] = tx.org()["defaultBankFeeAccountId"]
        if record.get("isVoided"):
            raise _fail("A bank payment cannot be created voided.", "isVoided", "must be false")

    def check_update(self, tx: Tx, old: Record, changes: Mapping[str, Any], children: bool) -> None:
        changed = [k for k, v in changes.items() if v != old.get(k)]
        if children or any(k != "isVoided" for k in changed):
            raise _fail(
                "Bank payments cannot be changed; void them with isVoided: true.", "isVoided", "immutable"
            )
        if old["isVoided"] and changes.get("isVoided") is False:
            raise _fail("A voided bank payment cannot be un-voided.", "isVoided", "cannot be reset")

    def check_delete(self, tx: Tx, record: Record) -> None:
        raise _fail(
            "Bank payments cannot be deleted; void them with isVoided: true.", "id", "cannot be deleted"
        )

    def after_write(self, tx: Tx, record: Record, old: Record | None) -> None:
        if old is None:
            settle(tx, record)
        elif record["isVoided"] and not old["isVoided"]:
            void(tx, record)


def _subject(tx: Tx, reference: str) -> tuple[str, Record]:
    kind, _, subject_id = reference.partition(":")
    subject = tx.get(kind, subject_id) if kind in SUBJECT_TYPES else None
    if subject is None:
        raise _fail(f"No invoice or bill `{reference}`.", "associations", f"`{reference}` does not exist")
    if subject["state"] != "approved":
        raise _fail(
            f"Only approved documents can be paid (`{reference}` is {subject['state']}).",
            "associations",
            "not approved",
        )
    return kind, subject


def _expected_side(kind: str, subject: Record) -> str:
    """Money in (debit) pays invoices and refunds bill credit notes; money out (credit) the reverse."""
    incoming = (kind == "invoice") != (subject["type"] == "credit_note")
    return "debit" if incoming else "credit"


def settle(tx: Tx, payment: Record) -> None:
    """Allocate the payment over its associations in order, each up to the subject's balance."""
    modifiers = tx.find("balanceModifier", "modifierReference", f"bankPayment:{payment['id']}")
    if not modifiers:
        raise _fail("A bank payment needs at least one association.", "associations", "at least one")
    subjects = [_subject(tx, m["subjectReference"]) for m in modifiers]
    currencies = {s["currencyId"] for _, s in subjects}
    if len(currencies) != 1:
        raise _fail("All associations must share one currency.", "associations", "mixed currencies")
    subject_currency = currencies.pop()
    cash_rate = _cash_rate(tx, payment, subject_currency)
    remaining = _subject_total(payment, cash_rate)
    payment = {**payment, "subjectCurrencyId": subject_currency, "cashExchangeRate": cash_rate}
    for modifier, (kind, subject) in zip(modifiers, subjects, strict=True):
        if _expected_side(kind, subject) != payment["cashSide"]:
            raise _fail(
                f"cashSide must be {_expected_side(kind, subject)} for {modifier['subjectReference']}.",
                "cashSide",
                "wrong side",
            )
        amount = modifier["amount"] if modifier["amount"] is not None else min(remaining, subject["balance"])
        if amount <= 0 or amount > subject["balance"]:
            raise _fail(
                f"The payment exceeds the outstanding balance of {modifier['subjectReference']} ({subject['balance']}).",
                "cashAmount",
                "exceeds the balance",
            )
        remaining -= amount
        tx.put(
            "balanceModifier",
            {**modifier, "amount": amount, "entryDate": payment["entryDate"], "organizationId": tx.org_id},
        )
        refresh_balance(tx, kind, subject)
        payment["contactId"] = payment.get("contactId") or subject["contactId"]
    if remaining != 0:
        raise _fail(
            "The payment does not match the balances it settles (overpayment to the contact's balance is not emulated).",
            "cashAmount",
            "exceeds the balances" if remaining > 0 else "less than the association amounts",
        )
    tx.put("bankPayment", payment)


def _cash_rate(tx: Tx, payment: Record, subject_currency: str) -> Decimal:
    account = tx.get("account", payment["cashAccountId"])
    assert account is not None
    if account["currencyId"] == subject_currency:
        return ONE
    if payment.get("cashExchangeRate") is None or payment["cashExchangeRate"] <= 0:
        raise _fail(
            "cashExchangeRate is required when the subject currency differs from the cash account's.",
            "cashExchangeRate",
            "is required",
        )
    return Decimal(payment["cashExchangeRate"])


def _subject_total(payment: Record, cash_rate: Decimal) -> Decimal:
    """What the payment settles, in subject currency; a deposit's fee settles too, a withdrawal's does not."""
    fee = payment.get("feeAmount") or ZERO
    cash = payment["cashAmount"] + (fee if payment["cashSide"] == "debit" else -fee)
    return amounts.round2(cash / cash_rate)


def void(tx: Tx, payment: Record) -> None:
    for modifier in tx.find("balanceModifier", "modifierReference", f"bankPayment:{payment['id']}"):
        tx.put("balanceModifier", {**modifier, "isVoided": True})
        kind, _, subject_id = modifier["subjectReference"].partition(":")
        subject = tx.get(kind, subject_id)
        if subject is not None:
            refresh_balance(tx, kind, subject)


register(
    Resource(
        "bankPayment",
        "bankPayments",
        (
            ORG,
            Id("contactId", "contact", immutable=True),
            CREATED,
            Date("entryDate", required=True, immutable=True, index=True),
            D("cashAmount", required=True, immutable=True, nullable=False),
            E("cashSide", "debit", "credit", required=True, immutable=True, nullable=False),
            Id("cashAccountId", "account", required=True, immutable=True),
            D("cashExchangeRate", immutable=True),
            Id("subjectCurrencyId", "currency", immutable=True),
            D("feeAmount", immutable=True),
            Id("feeAccountId", "account", immutable=True),
            B("isVoided"),
        ),
        children=(Child("associations", "balanceModifier", "modifierReference", prefix="bankPayment:"),),
        ops=frozenset({"get", "list", "create", "update", "delete"}),
        hooks=BankPaymentHooks(),
    )
)

register(
    Resource(
        "balanceModifier",
        "balanceModifiers",
        (
            ORG,
            Ref("modifierReference", immutable=True),
            Ref("subjectReference", required=True, immutable=True),
            D("amount", immutable=True),
            Date("entryDate", readonly=True),
            D("realizedCurrencyDifference", readonly=True, default=ZERO),
            B("isVoided", readonly=True),
        ),
        ops=frozenset({"get", "list"}),
    )
)
