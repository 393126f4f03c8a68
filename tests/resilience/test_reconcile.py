"""The kernel's read-back rules (billy_core.reconcile) against the sandbox, one per resource."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from billy_core.reconcile import CLOCK_SKEW_SECONDS, ReadBack, read_back_for, utcnow

pytestmark = pytest.mark.anyio


def fetcher(sandbox: Any) -> Any:
    async def fetch(path: str, query: Any) -> Any:
        async with httpx.AsyncClient(
            base_url=sandbox.api_url + "/", headers={"X-Access-Token": sandbox.token}
        ) as client:
            answer = await client.get(path.lstrip("/"), params=list(query))
            answer.raise_for_status()
            return answer.json()

    return fetch


def read_back(sandbox: Any, plural: str, record: dict[str, Any], **options: Any) -> ReadBack:
    found = read_back_for(plural, record, fetcher(sandbox), **options)
    assert found is not None, f"no rule for {plural} {record}"
    return found


async def found_id(read: ReadBack) -> str | None:
    answer = await read()
    if answer is None:
        return None
    assert answer.reconciled and answer.status == 200
    return str(answer.body[read.plural][0]["id"])


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@pytest.mark.parametrize("plural,singular", [("products", "product"), ("invoices", "invoice")])
async def test_invoices_and_products_are_found_by_external_id(sandbox, plural, singular):
    key = unique("idem")
    if plural == "products":
        record = {"name": unique("Vare"), "externalId": key}
    else:
        contact = sandbox.list("contacts", isCustomer="true")[0]
        product = sandbox.list("products")[0]
        record = {
            "contactId": contact["id"],
            "entryDate": "2026-09-01",
            "currencyId": "DKK",
            "paymentTermsDays": 8,
            "externalId": key,
            "lines": [{"productId": product["id"], "unitPrice": 100}],
        }
    rule = read_back(sandbox, plural, record)
    assert rule.rule == "externalId"
    assert await found_id(rule) is None
    created = sandbox.create(plural, singular, record)
    assert await found_id(rule) == created["id"]
    other = read_back(sandbox, plural, {**record, "externalId": unique("idem")})
    assert await found_id(other) is None


def test_no_rule_without_the_stable_key():
    fetch: Any = None
    assert read_back_for("products", {"name": "x"}, fetch) is None
    assert read_back_for("contacts", {"countryId": "DK"}, fetch) is None
    assert read_back_for("bills", {"contactId": "c"}, fetch) is None
    assert read_back_for("bankPayments", {"cashAmount": 1, "entryDate": "2026-01-01"}, fetch) is None
    assert read_back_for("daybookTransactions", {"entryDate": "2026-01-01", "lines": []}, fetch) is None
    assert read_back_for("invoiceLines", {"invoiceId": "i", "unitPrice": 1}, fetch) is None


async def test_contacts_by_name_cvr_and_creation_window(sandbox):
    record = {"name": unique("Kunde ApS"), "countryId": "DK", "registrationNo": "12345674"}
    rule = read_back(sandbox, "contacts", record)
    assert await found_id(rule) is None
    created = sandbox.create("contacts", "contact", record)
    assert await found_id(rule) == created["id"]
    # another CVR, or a contact made long before this create began, is not ours
    assert await found_id(read_back(sandbox, "contacts", {**record, "registrationNo": "87654321"})) is None
    later = utcnow() + timedelta(seconds=CLOCK_SKEW_SECONDS + 60)
    assert await found_id(read_back(sandbox, "contacts", record, since=later)) is None
    # an earlier ambiguous attempt widens the window back to its own start
    widened = read_back(sandbox, "contacts", record, since=later)
    widened.widen(time.time() - 5)
    assert await found_id(widened) == created["id"]


async def test_bills_by_contact_and_suppliers_invoice_number(sandbox):
    supplier = sandbox.list("contacts", isSupplier="true")[0]
    account = sandbox.list("accounts", accountNo="1210")[0]
    record = {
        "contactId": supplier["id"],
        "entryDate": "2026-09-01",
        "suppliersInvoiceNo": unique("SUP"),
        "lines": [
            {"accountId": account["id"], "taxRateId": account["taxRateId"], "description": "x", "amount": 100}
        ],
    }
    rule = read_back(sandbox, "bills", record)
    assert await found_id(rule) is None
    created = sandbox.create("bills", "bill", record)
    assert await found_id(rule) == created["id"]
    assert await found_id(read_back(sandbox, "bills", {**record, "suppliersInvoiceNo": "other"})) is None


async def test_bank_payments_by_subject_amount_and_date(sandbox):
    invoice = sandbox.list("invoices", state="approved", isPaid="false", currencyId="DKK")[0]
    bank = next(a for a in sandbox.list("accounts", isPaymentEnabled="true") if a["currencyId"] == "DKK")
    record = {
        "entryDate": "2026-09-03",
        "cashAmount": Decimal("1.25"),
        "cashSide": "debit",
        "cashAccountId": bank["id"],
        "associations": [{"subjectReference": f"invoice:{invoice['id']}"}],
    }
    rule = read_back(sandbox, "bankPayments", record)
    assert await found_id(rule) is None
    created = sandbox.create("bankPayments", "bankPayment", {**record, "cashAmount": 1.25})
    assert await found_id(rule) == created["id"]
    for changed in ({"cashAmount": "1.26"}, {"entryDate": "2026-09-04"}, {"cashSide": "credit"}):
        assert await found_id(read_back(sandbox, "bankPayments", {**record, **changed})) is None


async def test_daybook_transactions_by_api_type_or_by_content(sandbox):
    daybook = sandbox.list("daybooks")[0]
    expense = sandbox.list("accounts", accountNo="1210")[0]
    bank = next(a for a in sandbox.list("accounts", isPaymentEnabled="true") if a["currencyId"] == "DKK")
    lines = [
        {"accountId": expense["id"], "amount": 50, "side": "debit"},
        {"accountId": bank["id"], "amount": 50, "side": "credit"},
    ]
    record = {
        "daybookId": daybook["id"],
        "entryDate": "2026-09-05",
        "voucherNo": unique("V"),
        "description": "Kontorartikler",
        "lines": lines,
    }
    by_content = read_back(sandbox, "daybookTransactions", record)
    tagged = {**record, "voucherNo": unique("V"), "apiType": unique("billy-mcp")}
    by_tag = read_back(sandbox, "daybookTransactions", tagged)
    assert by_tag.rule.startswith("apiType")
    assert await found_id(by_content) is None and await found_id(by_tag) is None
    created = sandbox.create("daybookTransactions", "daybookTransaction", record)
    tagged_created = sandbox.create("daybookTransactions", "daybookTransaction", tagged)
    assert await found_id(by_content) == created["id"]
    assert await found_id(by_tag) == tagged_created["id"]
    other_amounts = [{**lines[0], "amount": 51}, {**lines[1], "amount": 51}]
    assert (
        await found_id(read_back(sandbox, "daybookTransactions", {**record, "lines": other_amounts})) is None
    )
