"""Bills (supplier invoices) with lines that carry their own account, tax rate and amount."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from billy_sandbox import amounts, filters, writes
from billy_sandbox.errors import invalid
from billy_sandbox.registry import register
from billy_sandbox.resources.common import (
    STATES,
    check_document_delete,
    check_document_update,
)
from billy_sandbox.resources.documents import LineHooks, fill_money_defaults, ordered_lines
from billy_sandbox.resources.invoices import contact_name_key
from billy_sandbox.resources.settlement import apply_credit_note, check_credit_target, refresh_balance
from billy_sandbox.schema import (
    CREATED,
    ORG,
    B,
    Child,
    D,
    Date,
    E,
    Hooks,
    I,
    Id,
    Record,
    Resource,
    S,
    T,
    Time,
)
from billy_sandbox.store import Tx

ZERO = Decimal(0)


class BillHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        if old is not None and old["state"] != "draft":
            return
        fill_money_defaults(tx, record)
        check_credit_target(tx, "bill", record, "creditedBillId")
        if record.get("dueDate") is None:
            contact = tx.get("contact", record["contactId"]) or {}
            days = contact.get("paymentTermsDays") or 0
            record["dueDate"] = amounts.due_date(
                record["entryDate"], contact.get("paymentTermsMode") or "net", days, None
            )
        if (record.get("paymentAccountId") is None) != (record.get("paymentDate") is None):
            raise invalid(
                "paymentAccountId and paymentDate go together.",
                {"paymentDate": "needs paymentAccountId"},
                "bill",
            )

    def check_update(self, tx: Tx, old: Record, changes: Mapping[str, Any], children: bool) -> None:
        check_document_update("bill", old, changes, children)

    def check_delete(self, tx: Tx, record: Record) -> None:
        check_document_delete("bill", record)

    def after_write(self, tx: Tx, record: Record, old: Record | None) -> None:
        if record["state"] == "draft" or (old is not None and old["state"] == "draft"):
            record = recompute(tx, record)
        if record["state"] == "approved" and old is not None and old["state"] == "draft":
            approve(tx, record)


def recompute(tx: Tx, bill: Record) -> Record:
    """Like invoices, except reverse-charge lines: their tax is self-assessed VAT, not owed to the supplier."""
    pairs: list[tuple[Decimal, Decimal]] = []
    for line in ordered_lines(tx, "billLine", "billId", bill["id"]):
        rate = tx.get("taxRate", line["taxRateId"])
        assert rate is not None
        reverse = rate["isReverseCharge"]
        unrounded = amounts.line_tax(line["amount"], rate["rate"], "excl" if reverse else bill["taxMode"])
        tax = amounts.round2(unrounded)
        if tax != line["tax"]:
            tx.put("billLine", {**line, "tax": tax})
        pairs.append((line["amount"], ZERO if reverse else unrounded))
    total = amounts.totals(pairs, bill["taxMode"])
    descriptions = [line["description"] for line in ordered_lines(tx, "billLine", "billId", bill["id"])]
    bill = tx.put(
        "bill",
        {
            **bill,
            "amount": total.amount,
            "tax": total.tax,
            "grossAmount": total.gross,
            "lineDescription": ", ".join(descriptions),
        },
    )
    return refresh_balance(tx, "bill", bill)


def approve(tx: Tx, bill: Record) -> None:
    if not tx.find("billLine", "billId", bill["id"]):
        raise invalid("Bills must have at least one line to be approved.", {"lines": "at least one"}, "bill")
    bill = tx.put("bill", {**bill, "approvedTime": tx.now_text()})
    bill = refresh_balance(tx, "bill", bill)
    if bill["creditedBillId"]:
        apply_credit_note(tx, "bill", bill, "creditedBillId")
        bill = tx.get("bill", bill["id"]) or bill
    if bill["paymentAccountId"] and bill["balance"] > 0:
        writes.create(
            tx,
            "bankPayment",
            {
                "entryDate": bill["paymentDate"],
                "cashAmount": amounts.round2(bill["balance"] * bill["exchangeRate"])
                if _foreign_cash(tx, bill)
                else bill["balance"],
                "cashSide": "debit" if bill["type"] == "credit_note" else "credit",
                "cashAccountId": bill["paymentAccountId"],
                **({"cashExchangeRate": bill["exchangeRate"]} if _foreign_cash(tx, bill) else {}),
                "associations": [{"subjectReference": f"bill:{bill['id']}"}],
            },
            "bill.payment",
        )


def _foreign_cash(tx: Tx, bill: Record) -> bool:
    account = tx.get("account", bill["paymentAccountId"])
    return account is not None and account["currencyId"] != bill["currencyId"]


def attachment_count_key(record: Record, tx: Tx) -> Any:
    return len(tx.store.table("attachment").bucket("ownerReference", f"bill:{record['id']}") or ())


register(
    Resource(
        "bill",
        "bills",
        (
            ORG,
            E("type", "bill", "credit_note", default="bill", immutable=True, nullable=False),
            CREATED,
            Time("approvedTime", readonly=True),
            Id("contactId", "contact", required=True, immutable=True),
            Date("entryDate", required=True),
            Id("paymentAccountId", "account", immutable=True),
            Date("paymentDate", immutable=True),
            Date("dueDate"),
            B("isBare", readonly=True),
            E("state", *STATES, default="draft", nullable=False, index=True),
            T("suppliersInvoiceNo"),
            E("taxMode", "incl", "excl"),
            S("voucherNo"),
            D("amount", readonly=True, default=ZERO),
            D("tax", readonly=True, default=ZERO),
            D("grossAmount", readonly=True, default=ZERO),
            D("balance", readonly=True, default=ZERO),
            B("isPaid", readonly=True, index=True),
            Id("currencyId", "currency"),
            D("exchangeRate"),
            S("lineDescription", readonly=True, default=""),
            Id("creditedBillId", "bill", immutable=True),
        ),
        children=(
            Child("lines", "billLine", "billId"),
            Child("attachments", "attachment", "ownerReference", prefix="bill:", writable=False),
            Child("balanceModifiers", "balanceModifier", "subjectReference", prefix="bill:", writable=False),
        ),
        sortable=(
            "entryDate",
            "dueDate",
            "createdTime",
            "lineDescription",
            "amount",
            "grossAmount",
            "balance",
            "contact.name",
            "voucherNo",
            "suppliersInvoiceNo",
            "attachments",
        ),
        sort_keys={"contact.name": contact_name_key, "attachments": attachment_count_key},
        filters={
            "minEntryDate": filters.min_date("entryDate"),
            "maxEntryDate": filters.max_date("entryDate"),
            "minDueDate": filters.min_date("dueDate"),
            "maxDueDate": filters.max_date("dueDate"),
            "hasAttachments": filters.has_owned("attachment", "bill"),
        },
        search=(
            "suppliersInvoiceNo",
            "voucherNo",
            "contact.name",
            "lineDescription",
            "amount",
            "grossAmount",
            "balance",
        ),
        hooks=BillHooks(),
    )
)


class BillLineHooks(LineHooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        super().prepare(tx, record, old)
        rate = tx.get("taxRate", record["taxRateId"])
        if rate is not None and not rate["appliesToPurchases"]:
            raise invalid(
                "The tax rate does not apply to purchases.", {"taxRateId": "not a purchase rate"}, "billLine"
            )


register(
    Resource(
        "billLine",
        "billLines",
        (
            Id("billId", "bill", required=True, immutable=True),
            Id("accountId", "account", required=True),
            Id("taxRateId", "taxRate", required=True),
            S("description", required=True, nullable=False),
            D("amount", required=True, nullable=False),
            D("tax", readonly=True, default=ZERO),
            I("priority", default=0),
        ),
        hooks=BillLineHooks("bill", "billId", recompute),
        has_org=False,
        parent=("bill", "billId"),
        search=("description",),
    )
)
