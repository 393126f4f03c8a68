"""Ledger tools end to end: chart of accounts, VAT rates, bank payments, journal entries."""

from __future__ import annotations

import pytest

from tests.catalogue.conftest import billy_get, error_fields, sandbox_writes

pytestmark = pytest.mark.anyio

CASH_WITHDRAWAL = {
    "entry_date": "2026-09-15",
    "description": "Hævet til kassebeholdning",
    "voucher_no": "K-17",
    "lines": [
        {"account_no": 5730, "side": "debit", "amount": "2700.00", "text": "Kasse"},
        {"account_no": 5710, "side": "credit", "amount": "2700.00", "text": "Bank"},
    ],
}


async def test_list_accounts_filters_by_nature_number_and_payment(tools):
    async with tools() as call:
        everything = await call.ok("list_accounts", {"limit": 500})
        revenue = await call.ok("list_accounts", {"nature": "revenue", "limit": 500})
        by_number = await call.ok("list_accounts", {"search": "1110"})
        payable = await call.ok("list_accounts", {"payment_enabled": True})
    numbers = [item["account_no"] for item in everything["items"]]
    assert numbers == sorted(numbers) and len(numbers) == everything["total"]
    assert revenue["items"] and {item["nature"] for item in revenue["items"]} == {"revenue"}
    assert by_number["items"][0]["name"] == "Salg" and by_number["items"][0]["group"] == "Omsætning"
    assert {item["account_no"] for item in payable["items"]} == {5710, 5720, 5730}


async def test_list_tax_rates_for_sales_and_purchases(tools):
    async with tools() as call:
        sales = await call.ok("list_tax_rates", {"applies_to": "sales"})
        purchases = await call.ok(
            "list_tax_rates", {"applies_to": "purchases", "fields": ["name", "percent"]}
        )
    assert all(item["applies_to_sales"] for item in sales["items"])
    standard = next(item for item in sales["items"] if item["abbreviation"] == "U25")
    assert standard["percent"] == "25"
    assert {"Købsmoms 25%"} <= {item["name"] for item in purchases["items"]}
    assert all(set(item) == {"id", "name", "percent"} for item in purchases["items"])


async def test_list_bank_payments_by_invoice_date_and_direction(tools):
    async with tools() as call:
        newest = await call.ok("list_bank_payments", {"limit": 5})
        paid = next(p for p in newest["items"] if p["settles"] and p["settles"][0]["type"] == "invoice")
        invoice_id = paid["settles"][0]["id"]
        for_invoice = await call.ok("list_bank_payments", {"invoice_id": invoice_id})
        quarter = await call.ok(
            "list_bank_payments",
            {"start_date": "2026-07-01", "end_date": "2026-09-30", "direction": "outgoing", "limit": 500},
        )
        oldest = await call.ok("list_bank_payments", {"order": "asc", "limit": 1})
    dates = [item["entry_date"] for item in newest["items"]]
    assert dates == sorted(dates, reverse=True) and newest["total"] > 1000
    assert paid["id"] in {item["id"] for item in for_invoice["items"]}
    assert all(item["direction"] == "outgoing" for item in quarter["items"])
    assert all("2026-07-01" <= item["entry_date"] <= "2026-09-30" for item in quarter["items"])
    assert oldest["items"][0]["entry_date"] <= dates[-1]
    assert paid["amount"].count(".") == 1 and len(paid["amount"].split(".")[1]) == 2


async def test_list_bank_payments_refuses_unknown_ids_and_reversed_dates(tools):
    async with tools() as call:
        unknown = await call.error("list_bank_payments", {"contact_id": "NoSuchContact0000000"})
        reversed_dates = await call.error(
            "list_bank_payments", {"start_date": "2026-09-30", "end_date": "2026-01-01"}
        )
        malformed = await call.error("list_bank_payments", {"start_date": "30-09-2026"})
    assert unknown["code"] == "not_found" and ("contact_id", "not_found") in error_fields(unknown)
    assert reversed_dates["code"] == "invalid_argument"
    assert ("start_date", "date_from_datetime_parsing") in error_fields(malformed)


async def test_create_daybook_transaction_makes_a_balanced_draft_once(
    tools, other_deployment, catalogue_sandbox
):
    arguments = {**CASH_WITHDRAWAL, "idempotency_key": "journal-k17-0001"}
    async with tools() as call:
        created = await call.ok("create_daybook_transaction", arguments)
        writes = sandbox_writes(catalogue_sandbox)
        again = await call.ok("create_daybook_transaction", arguments)
    async with other_deployment() as call:
        elsewhere = await call.ok("create_daybook_transaction", arguments)
    assert created["state"] == "draft" and created["voucher_no"] == "K-17"
    assert created["total_debit"] == created["total_credit"] == "2700.00"
    assert [(line["account_no"], line["side"]) for line in created["lines"]] == [
        (5730, "debit"),
        (5710, "credit"),
    ]
    assert again["id"] == elsewhere["id"] == created["id"] and elsewhere["replayed"] is True
    assert sandbox_writes(catalogue_sandbox) == writes
    stored = billy_get(catalogue_sandbox, f"/daybookTransactions/{created['id']}")["daybookTransaction"]
    assert stored["state"] == "draft" and stored["apiType"] == "billy-mcp:journal-k17-0001"


async def test_contra_account_lines_balance_themselves(tools):
    async with tools() as call:
        created = await call.ok(
            "create_daybook_transaction",
            {
                "entry_date": "2026-09-20",
                "description": "Kontantsalg",
                "lines": [
                    {"account_no": 5730, "contra_account_no": 1110, "side": "debit", "amount": "125.00"}
                ],
            },
        )
    assert created["lines"][0]["contra_account_id"] and created["total_debit"] == "125.00"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"lines": [{"account_no": 5730, "side": "debit", "amount": "100.00"}]}, ("lines", "unbalanced")),
        (
            {
                "lines": [
                    {"account_no": 5730, "side": "debit", "amount": "100.00"},
                    {"account_no": 5710, "side": "credit", "amount": "99.99"},
                ]
            },
            ("lines", "unbalanced"),
        ),
        (
            {
                "lines": [
                    {"account_no": 9999, "side": "debit", "amount": "1.00"},
                    {"account_no": 5710, "side": "credit", "amount": "1.00"},
                ]
            },
            ("lines.0.account", "unknown_account"),
        ),
        (
            {
                "lines": [
                    {"side": "debit", "amount": "1.00"},
                    {"account_no": 5710, "side": "credit", "amount": "1.00"},
                ]
            },
            ("lines.0", "one_account"),
        ),
        (
            {
                "lines": [
                    {"account_no": 5730, "side": "debit", "amount": "1.00", "tax_rate_id": "NoSuchRate00000"},
                    {"account_no": 5710, "side": "credit", "amount": "1.00"},
                ]
            },
            ("lines.0.tax_rate_id", "unknown_tax_rate"),
        ),
        (
            {"lines": [{"account_no": 5710, "contra_account_no": 5710, "side": "debit", "amount": "1.00"}]},
            ("lines.0.contra_account", "same_account"),
        ),
        ({"entry_date": "2010-01-01"}, ("entry_date", "before_first_fiscal_year")),
        ({"entry_date": "2026-02-30"}, ("entry_date", "date_from_datetime_parsing")),
        ({"daybook_id": "NoSuchDaybook00000"}, ("daybook_id", "unknown_daybook")),
        ({"lines": []}, ("lines", "too_short")),
        (
            {"lines": [{"account_no": 5730, "side": "debit", "amount": "0"}]},
            ("lines.0.amount", "greater_than"),
        ),
        ({"description": " "}, ("description", "string_too_short")),
    ],
)
async def test_create_daybook_transaction_refuses_before_billy(tools, catalogue_sandbox, change, problem):
    writes = sandbox_writes(catalogue_sandbox)
    async with tools() as call:
        refused = await call.error("create_daybook_transaction", {**CASH_WITHDRAWAL, **change})
    assert refused["code"] == "invalid_argument", refused
    assert problem in error_fields(refused), refused
    assert sandbox_writes(catalogue_sandbox) == writes
