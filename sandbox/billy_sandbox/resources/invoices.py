"""Invoices and credit notes with their lines: totals, approval and numbering, e-mails."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from billy_sandbox import amounts, filters
from billy_sandbox.errors import invalid
from billy_sandbox.registry import register
from billy_sandbox.resources.common import (
    STATES,
    check_document_delete,
    check_document_update,
)
from billy_sandbox.resources.documents import LineHooks, fill_money_defaults, ordered_lines
from billy_sandbox.resources.reference import PAYMENT_TERMS
from billy_sandbox.resources.settlement import apply_credit_note, check_credit_target, refresh_balance
from billy_sandbox.schema import (
    CREATED,
    ORG,
    B,
    Child,
    D,
    Date,
    E,
    Field,
    Hooks,
    I,
    Id,
    Kind,
    Record,
    Resource,
    S,
    T,
    Time,
)
from billy_sandbox.store import Tx
from billy_sandbox.taxes import sales_tax_rate_id

EDITABLE_WHEN_APPROVED = ("contactMessage", "sentState", "attContactPersonId")
NO_LINES = "Invoices must have at least one invoice line."


class InvoiceHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        _check_att_person(tx, record)
        if old is not None and old["state"] != "draft":
            return
        fill_money_defaults(tx, record)
        _fill_terms(tx, record)
        check_credit_target(tx, "invoice", record, "creditedInvoiceId")
        _check_invoice_no(tx, record)

    def check_update(self, tx: Tx, old: Record, changes: Mapping[str, Any], children: bool) -> None:
        check_document_update("invoice", old, changes, children, EDITABLE_WHEN_APPROVED)

    def check_delete(self, tx: Tx, record: Record) -> None:
        if record["state"] != "draft":
            raise invalid(
                f"An {record['state']} invoice cannot be deleted. Create a credit note instead.",
                {"state": "only drafts can be deleted"},
                "invoice",
            )
        check_document_delete("invoice", record)

    def after_write(self, tx: Tx, record: Record, old: Record | None) -> None:
        if record["state"] == "draft" or (old is not None and old["state"] == "draft"):
            record = recompute(tx, record)
        if record["state"] == "approved" and old is not None and old["state"] == "draft":
            approve(tx, record)


def _fill_terms(tx: Tx, record: Record) -> None:
    contact = tx.get("contact", record["contactId"]) or {}
    org = tx.org()
    if record.get("paymentTermsMode") is None:
        record["paymentTermsMode"] = contact.get("paymentTermsMode") or org["paymentTermsMode"]
        if record.get("paymentTermsDays") is None:
            days = contact.get("paymentTermsDays")
            record["paymentTermsDays"] = days if days is not None else org["paymentTermsDays"]
    mode = record["paymentTermsMode"]
    if mode == "date":
        if record.get("dueDate") is None:
            raise invalid(
                "dueDate is required when paymentTermsMode is date.", {"dueDate": "is required"}, "invoice"
            )
        record["paymentTermsDays"] = None
    else:
        if record.get("paymentTermsDays") is None:
            raise invalid("paymentTermsDays is required.", {"paymentTermsDays": "is required"}, "invoice")
        if record["paymentTermsDays"] < 0:
            raise invalid(
                "paymentTermsDays must not be negative.", {"paymentTermsDays": "negative"}, "invoice"
            )
    record["dueDate"] = amounts.due_date(
        record["entryDate"], mode, record["paymentTermsDays"], record.get("dueDate")
    )


def _check_invoice_no(tx: Tx, record: Record) -> None:
    number = record.get("invoiceNo")
    if number is None:
        return
    if not number.strip():
        raise invalid("invoiceNo must not be empty.", {"invoiceNo": "is empty"}, "invoice")
    if any(other["id"] != record["id"] for other in tx.find("invoice", "invoiceNo", number)):
        raise invalid(
            f"Invoice number {number} is already used.", {"invoiceNo": "is already used"}, "invoice"
        )


def _check_att_person(tx: Tx, record: Record) -> None:
    person_id = record.get("attContactPersonId")
    person = tx.get("contactPerson", person_id) if person_id else None
    if person is not None and person["contactId"] != record["contactId"]:
        raise invalid(
            "attContactPersonId must be a person of the invoice's contact.",
            {"attContactPersonId": "belongs to another contact"},
            "invoice",
        )


def recompute(tx: Tx, invoice: Record) -> Record:
    """Line amounts and taxes, then the invoice's totals, line description and balance."""
    lines = ordered_lines(tx, "invoiceLine", "invoiceId", invoice["id"])
    if not lines:
        raise invalid(NO_LINES, {"lines": "at least one line is required"}, "invoice")
    contact = tx.get("contact", invoice["contactId"])
    pairs: list[tuple[Decimal, Decimal]] = []
    descriptions: list[str] = []
    for line in lines:
        product = tx.get("product", line["productId"])
        assert product is not None and contact is not None
        line = _price_line(tx, line, product, contact, invoice["taxMode"])
        rate = tx.get("taxRate", line["taxRateId"]) if line["taxRateId"] else None
        pairs.append(
            (
                line["amount"],
                amounts.line_tax(line["amount"], rate["rate"] if rate else Decimal(0), invoice["taxMode"]),
            )
        )
        descriptions.append(
            f"{product['name']}: {line['description']}" if line["description"] else product["name"]
        )
    total = amounts.totals(pairs, invoice["taxMode"])
    invoice = tx.put(
        "invoice",
        {
            **invoice,
            "amount": total.amount,
            "tax": total.tax,
            "grossAmount": total.gross,
            "lineDescription": ", ".join(descriptions),
        },
    )
    return refresh_balance(tx, "invoice", invoice)


def _price_line(tx: Tx, line: Record, product: Record, contact: Record, tax_mode: str) -> Record:
    amount = amounts.line_amount(
        line["quantity"], line["unitPrice"], line["discountMode"], line["discountValue"]
    )
    rate_id = sales_tax_rate_id(tx, product, contact)
    rate = tx.get("taxRate", rate_id) if rate_id else None
    tax = amounts.round2(amounts.line_tax(amount, rate["rate"], tax_mode)) if rate else Decimal(0)
    if (line["amount"], line["tax"], line["taxRateId"]) != (amount, tax, rate_id):
        line = tx.put("invoiceLine", {**line, "amount": amount, "tax": tax, "taxRateId": rate_id})
    return line


def approve(tx: Tx, invoice: Record) -> Record:
    """Number the invoice from the organization's sequence, stamp approvedTime, settle a credited invoice."""
    org = tx.org()
    number = invoice["invoiceNo"]
    if number is None:
        number = str(org["nextInvoiceNo"])
        if tx.find("invoice", "invoiceNo", number):
            raise invalid(
                f"Invoice number {number} (the organization's nextInvoiceNo) is already used.",
                {"invoiceNo": "is already used"},
                "invoice",
            )
    if number.isdigit() and int(number) >= org["nextInvoiceNo"]:
        tx.put("organization", {**org, "nextInvoiceNo": int(number) + 1})
    invoice = tx.put(
        "invoice",
        {
            **invoice,
            "invoiceNo": number,
            "approvedTime": tx.now_text(),
            "downloadUrl": f"/v2/downloads/invoices/{invoice['id']}/invoice-no-{number}.pdf",
        },
    )
    invoice = refresh_balance(tx, "invoice", invoice)
    if invoice["creditedInvoiceId"]:
        apply_credit_note(tx, "invoice", invoice, "creditedInvoiceId")
    return tx.get("invoice", invoice["id"]) or invoice


def invoice_no_key(record: Record, tx: Tx) -> Any:
    number = record.get("invoiceNo")
    if number is None:
        return None
    return (0, int(number), "") if number.isdigit() else (1, 0, number)


def contact_name_key(record: Record, tx: Tx) -> Any:
    contact = tx.get("contact", record["contactId"])
    return contact["name"].lower() if contact else ""


register(
    Resource(
        "invoice",
        "invoices",
        (
            ORG,
            E(
                "type",
                "invoice",
                "credit_note",
                default="invoice",
                immutable=True,
                nullable=False,
                index=True,
            ),
            CREATED,
            Time("approvedTime", readonly=True),
            Id("contactId", "contact", required=True, immutable=True),
            Id("attContactPersonId", "contactPerson"),
            Date("entryDate", required=True),
            E("paymentTermsMode", *PAYMENT_TERMS),
            I("paymentTermsDays"),
            Date("dueDate"),
            E("state", *STATES, default="draft", nullable=False, index=True),
            E("sentState", "unsent", "printed", "sent", "opened", "viewed", default="unsent", nullable=False),
            Field("invoiceNo", Kind.NUMSTR, index=True),
            E("taxMode", "incl", "excl"),
            D("amount", readonly=True, default=Decimal(0)),
            D("tax", readonly=True, default=Decimal(0)),
            D("grossAmount", readonly=True, default=Decimal(0)),
            Id("currencyId", "currency"),
            D("exchangeRate"),
            D("balance", readonly=True, default=Decimal(0)),
            B("isPaid", readonly=True, index=True),
            Id("creditedInvoiceId", "invoice", immutable=True),
            T("contactMessage"),
            S("lineDescription", readonly=True, default=""),
            S("downloadUrl", readonly=True),
            S("orderNo"),
            S("externalId", index=True),
            S("recurringInvoiceId", readonly=True),
            S("quoteId", readonly=True),
        ),
        children=(
            Child("lines", "invoiceLine", "invoiceId"),
            Child("attachments", "attachment", "ownerReference", prefix="invoice:", writable=False),
            Child(
                "balanceModifiers", "balanceModifier", "subjectReference", prefix="invoice:", writable=False
            ),
        ),
        sortable=(
            "entryDate",
            "dueDate",
            "createdTime",
            "invoiceNo",
            "lineDescription",
            "amount",
            "grossAmount",
            "balance",
            "contact.name",
            "approvedTime",
            "orderNo",
        ),
        sort_keys={"invoiceNo": invoice_no_key, "contact.name": contact_name_key},
        filters={
            "minEntryDate": filters.min_date("entryDate"),
            "maxEntryDate": filters.max_date("entryDate"),
            "entryDatePeriod": filters.period("entryDate"),
            "minApprovedTime": filters.min_time("approvedTime"),
            "maxApprovedTime": filters.max_time("approvedTime"),
            "approvedTimePeriod": filters.period("approvedTime"),
            "minDueDate": filters.min_date("dueDate"),
            "maxDueDate": filters.max_date("dueDate"),
        },
        search=(
            "invoiceNo",
            "orderNo",
            "contact.name",
            "lineDescription",
            "amount",
            "grossAmount",
            "balance",
        ),
        hooks=InvoiceHooks(),
    )
)


class InvoiceLineHooks(LineHooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        super().prepare(tx, record, old)
        if record["description"] is None:
            product = tx.get("product", record["productId"])
            record["description"] = product["description"] if product else ""
        mode, value = record["discountMode"], record["discountValue"]
        if mode == "percentage_discount" and value is not None and not 0 <= value <= 100:
            raise invalid(
                "A percentage discount must be 0-100.", {"discountValue": "must be 0-100"}, "invoiceLine"
            )
        if mode is None and value:
            raise invalid(
                "discountValue needs a discountMode.", {"discountMode": "is required"}, "invoiceLine"
            )


register(
    Resource(
        "invoiceLine",
        "invoiceLines",
        (
            Id("invoiceId", "invoice", required=True, immutable=True),
            Id("productId", "product", required=True),
            S("description"),
            D("quantity", default=Decimal(1), nullable=False),
            D("unitPrice", required=True, nullable=False),
            D("amount", readonly=True, default=Decimal(0)),
            D("tax", readonly=True, default=Decimal(0)),
            Id("taxRateId", "taxRate", readonly=True),
            S("discountText"),
            E("discountMode", "cash_discount", "percentage_discount"),
            D("discountValue"),
            I("priority", default=0),
        ),
        hooks=InvoiceLineHooks("invoice", "invoiceId", recompute),
        has_org=False,
        parent=("invoice", "invoiceId"),
        search=("description",),
    )
)
