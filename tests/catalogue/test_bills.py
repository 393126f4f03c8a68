"""Bill tools end to end: list and read the demo company's bills, create drafts (idempotent by the
kernel's key store, as Billy's bills have no externalId), approve and pay through preview -> confirm."""

from __future__ import annotations

import anyio
import pytest

from tests.catalogue.billing import account_id, amounts, billy_get, confirmed, new_contact
from tests.catalogue.conftest import error_fields, sandbox_writes

pytestmark = pytest.mark.anyio


@pytest.fixture
def supplier(catalogue_sandbox):
    return new_contact(catalogue_sandbox, "Leverandør", isCustomer=False, isSupplier=True)


def bills_of(sandbox, supplier_id: str) -> list[dict]:
    return billy_get(sandbox, "/bills", contactId=supplier_id)["bills"]


async def draft_bill(call, supplier, **arguments):
    body = {
        "supplier_id": supplier["id"],
        "entry_date": "2026-02-01",
        "due_date": "2026-02-15",
        "suppliers_invoice_no": "F-1001",
        "lines": [
            {"account": "1210", "tax_rate": "I25", "description": "Kaffebønner", "amount": "1000.00"},
            {"account": "1210", "description": "Fragt", "amount": "99.99"},
        ],
        **arguments,
    }
    return await call.ok("create_bill", body)


async def test_list_and_get_demo_bills(tools, catalogue_sandbox):
    async with tools() as call:
        page = await call.ok(
            "list_bills", {"limit": 5, "state": "approved", "sort": "entry_date", "order": "asc"}
        )
        slim = await call.ok("list_bills", {"limit": 3, "fields": ["gross_amount", "supplier_name"]})
        unpaid = await call.ok("list_bills", {"payment_status": "unpaid", "limit": 50})
        one = await call.ok("get_bill", {"bill_id": page["items"][0]["id"]})
        missing = await call.error("get_bill", {"bill_id": "NoSuchBill0000000000"})
    total = billy_get(catalogue_sandbox, "/bills", state="approved", pageSize=1)["meta"]["paging"]["total"]
    assert page["total"] == total and len(page["items"]) == 5 and page["next_offset"] == 5
    dates = [item["entry_date"] for item in page["items"]]
    assert dates == sorted(dates)
    assert all(set(item) == {"id", "gross_amount", "supplier_name"} for item in slim["items"])
    assert all(item["state"] == "approved" and not item["is_paid"] for item in unpaid["items"])
    assert one["lines"] and one["lines"][0]["account_no"] and one["supplier_name"]
    assert missing["code"] == "not_found" and ("bill_id", "not_found") in error_fields(missing)


async def test_create_bill_resolves_accounts_and_vat_rates(tools, catalogue_sandbox, supplier):
    async with tools() as call:
        bill = await draft_bill(call, supplier)
        incl = await draft_bill(
            call,
            supplier,
            tax_mode="incl",
            suppliers_invoice_no="F-1002",
            lines=[
                {"account": account_id(catalogue_sandbox, 1210), "description": "Varer", "amount": "125.00"}
            ],
        )
    # 1000.00 + 99.99 = 1099.99 net; VAT 25 % = 274.9975 -> 275.00; gross 1374.99
    assert (bill["state"], bill["net_amount"], bill["vat_amount"], bill["gross_amount"]) == (
        "draft",
        "1099.99",
        "275.00",
        "1374.99",
    )
    assert (bill["supplier_name"], bill["suppliers_invoice_no"], bill["due_date"]) == (
        supplier["name"],
        "F-1001",
        "2026-02-15",
    )
    purchase_vat = next(
        rate["id"]
        for rate in billy_get(catalogue_sandbox, "/taxRates")["taxRates"]
        if rate["abbreviation"] == "I25"
    )
    assert [(line["account_no"], line["tax_rate_id"], line["amount"]) for line in bill["lines"]] == [
        (1210, purchase_vat, "1000.00"),
        (1210, purchase_vat, "99.99"),
    ]
    assert amounts(incl) == ("100.00", "25.00", "125.00")


@pytest.mark.parametrize(
    ("change", "code", "field", "rule"),
    [
        ({"supplier_id": "NoSuchSupplier000000"}, "not_found", "supplier_id", "not_found"),
        ({"lines": []}, "invalid_argument", "lines", "too_short"),
        (
            {"lines": [{"account": "9999", "description": "x", "amount": "1"}]},
            "not_found",
            "lines.0.account",
            "not_found",
        ),
        (
            {"lines": [{"account": "1210", "tax_rate": "X99", "description": "x", "amount": "1"}]},
            "not_found",
            "lines.0.tax_rate",
            "not_found",
        ),
        (
            {"lines": [{"account": "1210", "tax_rate": "U25", "description": "x", "amount": "1"}]},
            "invalid_argument",
            "lines.0.tax_rate",
            "not_a_purchase_rate",
        ),
        (
            {"lines": [{"account": "5710", "description": "x", "amount": "1"}]},
            "invalid_argument",
            "lines.0.tax_rate",
            "required",
        ),
        (
            {"lines": [{"account": "1210", "description": "x", "amount": "0"}]},
            "invalid_argument",
            "lines.0.amount",
            "greater_than",
        ),
        (
            {"lines": [{"account": "1210", "amount": "5"}]},
            "invalid_argument",
            "lines.0.description",
            "missing",
        ),
        ({"due_date": "2026-01-01"}, "invalid_argument", "due_date", "before_entry_date"),
        ({"entry_date": "1. februar"}, "invalid_argument", "entry_date", "date_format"),
        ({"currency": "ABC"}, "invalid_argument", "currency", "unknown_currency"),
    ],
)
async def test_create_bill_refuses_before_billy(
    tools, catalogue_sandbox, supplier, change, code, field, rule
):
    body = {
        "supplier_id": supplier["id"],
        "entry_date": "2026-02-01",
        "lines": [{"account": "1210", "description": "Varer", "amount": "10"}],
        **change,
    }
    before = sandbox_writes(catalogue_sandbox)
    async with tools() as call:
        refused = await call.error("create_bill", body)
    assert refused["code"] == code and (field, rule) in error_fields(refused), refused
    assert sandbox_writes(catalogue_sandbox) == before


async def test_one_bill_per_idempotency_key_even_concurrently(tools, catalogue_sandbox, supplier):
    results = []
    async with tools() as call:
        first = await draft_bill(call, supplier, idempotency_key="bill-key-0001")
        again = await draft_bill(call, supplier, idempotency_key="bill-key-0001")

        async def create() -> None:
            results.append(await draft_bill(call, supplier, idempotency_key="bill-key-0002"))

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(create)
    assert again["id"] == first["id"] and again["replayed"] is True
    assert len({result["id"] for result in results}) == 1
    assert len(bills_of(catalogue_sandbox, supplier["id"])) == 2


async def test_approve_and_pay_a_bill(tools, catalogue_sandbox, supplier):
    async with tools() as call:
        bill = await draft_bill(call, supplier)
        too_early = await call.error("record_bill_payment", {"bill_id": bill["id"]})
        approval, approved = await confirmed(call, "approve_bill", {"bill_id": bill["id"]})
        again = await call.error("approve_bill", {"bill_id": bill["id"]})
        too_much = await call.error("record_bill_payment", {"bill_id": bill["id"], "amount": "1375.00"})
        part_preview, part = await confirmed(
            call,
            "record_bill_payment",
            {"bill_id": bill["id"], "amount": "374.99", "payment_date": "2026-02-10"},
        )
        _, rest = await confirmed(
            call, "record_bill_payment", {"bill_id": bill["id"], "payment_date": "2026-02-14"}
        )
    assert too_early["code"] == "conflict" and "approve_bill" in too_early["hint"]
    assert (approval["gross_amount"], approval["supplier_name"], len(approval["lines"])) == (
        "1374.99",
        supplier["name"],
        2,
    )
    assert approved["state"] == "approved" and again["code"] == "conflict"
    assert ("amount", "exceeds_balance") in error_fields(too_much)
    assert (part_preview["balance_after"], part_preview["bank_account"]["account_no"]) == ("1000.00", 5710)
    assert (part["bill"]["balance"], part["bill"]["is_paid"]) == ("1000.00", False)
    assert (rest["amount"], rest["bill"]["balance"], rest["bill"]["is_paid"]) == ("1000.00", "0.00", True)
    payment = billy_get(catalogue_sandbox, f"/bankPayments/{part['payment_id']}")["bankPayment"]
    assert (payment["cashSide"], payment["cashAmount"], payment["entryDate"]) == (
        "credit",
        374.99,
        "2026-02-10",
    )
