"""What changes an invoice's balance, end to end: payments (record_invoice_payment) and credit
notes (create_credit_note), each through preview -> confirm, checked against the sandbox."""

from __future__ import annotations

import pytest

from tests.catalogue.billing import (
    account_id,
    amounts,
    approved_invoice,
    billy_get,
    confirmed,
    invoices_with_external_id,
    new_contact,
)
from tests.catalogue.conftest import error_fields, sandbox_writes

pytestmark = pytest.mark.anyio


@pytest.fixture
def customer(catalogue_sandbox):
    return new_contact(catalogue_sandbox, "Betalingstest", email="bogholderi@betalingstest.dk")


def payments_of(sandbox, invoice_id: str) -> list[dict]:
    modifiers = billy_get(sandbox, "/balanceModifiers", subjectReference=f"invoice:{invoice_id}")[
        "balanceModifiers"
    ]
    return [
        billy_get(sandbox, f"/bankPayments/{m['modifierReference'].partition(':')[2]}")["bankPayment"]
        for m in modifiers
        if m["modifierReference"].startswith("bankPayment:")
    ]


async def test_partial_then_full_payment(tools, catalogue_sandbox, customer):
    async with tools() as call:
        invoice = await approved_invoice(call, customer)
        arguments = {"invoice_id": invoice["id"], "amount": "100.00", "payment_date": "2026-02-10"}
        first = await call.ok("record_invoice_payment", arguments)
        unchanged = billy_get(catalogue_sandbox, f"/invoices/{invoice['id']}")["invoice"]["balance"]
        partial = await call.ok(
            "record_invoice_payment", {**arguments, "confirmation_ticket": first["confirmation_ticket"]}
        )
        rest_preview, rest = await confirmed(
            call, "record_invoice_payment", {"invoice_id": invoice["id"], "payment_date": "2026-02-20"}
        )
        paid_already = await call.error("record_invoice_payment", {"invoice_id": invoice["id"]})
    preview = first["preview"]
    assert (preview["amount"], preview["balance_after"], preview["fully_paid"]) == ("100.00", "275.00", False)
    assert preview["invoice"]["balance"] == "375.00" and preview["bank_account"]["account_no"] == 5710
    assert unchanged == 375
    assert (partial["amount"], partial["invoice"]["balance"], partial["invoice"]["is_paid"]) == (
        "100.00",
        "275.00",
        False,
    )
    assert (rest_preview["amount"], rest_preview["balance_after"], rest_preview["fully_paid"]) == (
        "275.00",
        "0.00",
        True,
    )
    assert (rest["invoice"]["balance"], rest["invoice"]["is_paid"], rest["invoice"]["is_overdue"]) == (
        "0.00",
        True,
        False,
    )
    assert paid_already["code"] == "conflict"
    payments = payments_of(catalogue_sandbox, invoice["id"])
    assert sorted((p["cashAmount"], p["cashSide"], p["entryDate"], p["cashAccountId"]) for p in payments) == [
        (100, "debit", "2026-02-10", account_id(catalogue_sandbox, 5710)),
        (275, "debit", "2026-02-20", account_id(catalogue_sandbox, 5710)),
    ]
    assert {partial["payment_id"], rest["payment_id"]} == {p["id"] for p in payments}


async def test_payment_refusals_write_nothing(tools, catalogue_sandbox, customer):
    async with tools() as call:
        invoice = await approved_invoice(call, customer)
        draft = await call.ok(
            "create_invoice",
            {"customer_id": customer["id"], "lines": [{"description": "x", "unit_price": "1"}]},
        )
        before = sandbox_writes(catalogue_sandbox)
        too_much = await call.error(
            "record_invoice_payment", {"invoice_id": invoice["id"], "amount": "375.01"}
        )
        negative = await call.error("record_invoice_payment", {"invoice_id": invoice["id"], "amount": "-5"})
        bad_date = await call.error(
            "record_invoice_payment", {"invoice_id": invoice["id"], "payment_date": "10/02/2026"}
        )
        not_approved = await call.error("record_invoice_payment", {"invoice_id": draft["id"]})
        not_a_bank = await call.error(
            "record_invoice_payment",
            {"invoice_id": invoice["id"], "bank_account_id": account_id(catalogue_sandbox, 1210)},
        )
        no_account = await call.error(
            "record_invoice_payment", {"invoice_id": invoice["id"], "bank_account_id": "NoSuchAccount0000000"}
        )
        no_invoice = await call.error("record_invoice_payment", {"invoice_id": "NoSuchInvoice0000000"})
    assert ("amount", "exceeds_balance") in error_fields(too_much)
    assert ("amount", "greater_than") in error_fields(negative)
    assert ("payment_date", "date_format") in error_fields(bad_date)
    assert not_approved["code"] == "conflict" and "approve_invoice" in not_approved["hint"]
    assert ("bank_account_id", "not_payment_enabled") in error_fields(not_a_bank)
    assert no_account["code"] == "not_found" and ("bank_account_id", "not_found") in error_fields(no_account)
    assert no_invoice["code"] == "not_found" and ("invoice_id", "not_found") in error_fields(no_invoice)
    assert sandbox_writes(catalogue_sandbox) == before


async def test_bank_accounts_and_currencies(tools, catalogue_sandbox, customer):
    async with tools() as call:
        euros = await approved_invoice(call, customer, currency="EUR")
        cash_box = await approved_invoice(call, customer)
        default_eur, _ = await confirmed(
            call, "record_invoice_payment", {"invoice_id": euros["id"], "amount": "75.00"}
        )
        no_rate = await call.error(
            "record_invoice_payment",
            {"invoice_id": euros["id"], "bank_account_id": account_id(catalogue_sandbox, 5710)},
        )
        converted, paid = await confirmed(
            call,
            "record_invoice_payment",
            {
                "invoice_id": euros["id"],
                "bank_account_id": account_id(catalogue_sandbox, 5710),
                "exchange_rate": "7.46",
            },
        )
        _, kasse = await confirmed(
            call,
            "record_invoice_payment",
            {"invoice_id": cash_box["id"], "bank_account_id": account_id(catalogue_sandbox, 5730)},
        )
    assert (default_eur["bank_account"]["account_no"], default_eur["currency"]) == (5720, "EUR")
    assert ("exchange_rate", "required") in error_fields(no_rate)
    # 375.00 - 75.00 = 300.00 EUR at 7.46 = 2238.00 DKK into the DKK account
    assert (converted["amount"], converted["cash_amount"], converted["bank_account"]["account_no"]) == (
        "300.00",
        "2238.00",
        5710,
    )
    assert (paid["invoice"]["balance"], paid["invoice"]["is_paid"]) == ("0.00", True)
    assert (kasse["bank_account"]["account_no"], kasse["invoice"]["is_paid"]) == (5730, True)


async def test_full_credit_note_settles_the_invoice(tools, catalogue_sandbox, customer):
    async with tools() as call:
        invoice = await approved_invoice(call, customer)
        preview, note = await confirmed(
            call,
            "create_credit_note",
            {"invoice_id": invoice["id"], "entry_date": "2026-02-05", "message": "Fejl"},
        )
    assert preview["credit_note"]["gross_amount"] == "375.00" and preview["balance_after"] == "0.00"
    assert (note["type"], note["state"], note["credited_invoice_id"], note["message"]) == (
        "credit_note",
        "approved",
        invoice["id"],
        "Fejl",
    )
    assert amounts(note) == ("300.00", "75.00", "375.00")
    assert note["credited_invoice"] == {
        "id": invoice["id"],
        "invoice_no": invoice["invoice_no"],
        "gross_amount": "375.00",
        "balance": "0.00",
        "is_paid": True,
    }
    assert [line["quantity"] for line in note["lines"]] == ["2"]
    original = billy_get(catalogue_sandbox, f"/invoices/{invoice['id']}")["invoice"]
    assert (original["state"], original["balance"]) == ("approved", 0)  # kept, never deleted


async def test_partial_credit_notes_by_lines_and_by_amount(tools, catalogue_sandbox, customer):
    async with tools() as call:
        invoice = await approved_invoice(call, customer)
        line_id = invoice["lines"][0]["id"]
        _, by_line = await confirmed(
            call,
            "create_credit_note",
            {"invoice_id": invoice["id"], "lines": [{"line_id": line_id, "quantity": "1"}]},
        )
        by_amount_preview, by_amount = await confirmed(
            call,
            "create_credit_note",
            {
                "invoice_id": invoice["id"],
                "amount": "50.00",
                "description": "Rabat",
                "idempotency_key": "credit-key-1",
            },
        )
        replay = await call.ok(
            "create_credit_note",
            {
                "invoice_id": invoice["id"],
                "amount": "50.00",
                "description": "Rabat",
                "idempotency_key": "credit-key-1",
            },
        )
        replay_done = await call.ok(
            "create_credit_note",
            {
                "invoice_id": invoice["id"],
                "amount": "50.00",
                "description": "Rabat",
                "idempotency_key": "credit-key-1",
                "confirmation_ticket": replay["confirmation_ticket"],
            },
        )
        too_much = await call.error("create_credit_note", {"invoice_id": invoice["id"], "amount": "100.01"})
    # 1 × 150.00 + 25 % = 187.50 off 375.00 -> 187.50; then 50.00 + 12.50 = 62.50 -> 125.00
    assert (by_line["gross_amount"], by_line["credited_invoice"]["balance"]) == ("187.50", "187.50")
    assert by_amount_preview["balance_after"] == "125.00"
    assert amounts(by_amount) == ("50.00", "12.50", "62.50")
    assert (
        by_amount["lines"][0]["description"] == "Rabat"
        and by_amount["credited_invoice"]["balance"] == "125.00"
    )
    assert replay_done["id"] == by_amount["id"] and replay_done["replayed"] is True
    assert len(invoices_with_external_id(catalogue_sandbox, "credit-key-1")) == 1
    # 125.00 is left to credit: 100.01 excl VAT is 125.01 with it
    assert ("amount", "exceeds_invoice") in error_fields(too_much)


async def test_credit_note_of_a_paid_invoice_is_owed_back(tools, customer):
    async with tools() as call:
        invoice = await approved_invoice(call, customer)
        await confirmed(call, "record_invoice_payment", {"invoice_id": invoice["id"]})
        preview, note = await confirmed(
            call, "create_credit_note", {"invoice_id": invoice["id"], "amount": "50.00"}
        )
    assert (preview["balance_after"], preview["refund_due"]) == ("0.00", "62.50")
    assert (note["balance"], note["is_paid"]) == ("62.50", False)
    assert note["credited_invoice"]["is_paid"] is True


async def test_credit_note_refusals(tools, catalogue_sandbox, customer):
    async with tools() as call:
        invoice = await approved_invoice(call, customer)
        line_id = invoice["lines"][0]["id"]
        draft = await call.ok(
            "create_invoice",
            {"customer_id": customer["id"], "lines": [{"description": "x", "unit_price": "1"}]},
        )
        _, note = await confirmed(call, "create_credit_note", {"invoice_id": invoice["id"], "amount": "1.00"})
        before = sandbox_writes(catalogue_sandbox)
        refusals = {
            "both": await call.error(
                "create_credit_note",
                {"invoice_id": invoice["id"], "amount": "1", "lines": [{"line_id": line_id}]},
            ),
            "draft": await call.error("create_credit_note", {"invoice_id": draft["id"]}),
            "of_a_note": await call.error("create_credit_note", {"invoice_id": note["id"]}),
            "early": await call.error(
                "create_credit_note", {"invoice_id": invoice["id"], "entry_date": "2026-01-31"}
            ),
            "line": await call.error(
                "create_credit_note", {"invoice_id": invoice["id"], "lines": [{"line_id": "NoSuchLine00"}]}
            ),
            "quantity": await call.error(
                "create_credit_note",
                {"invoice_id": invoice["id"], "lines": [{"line_id": line_id, "quantity": "3"}]},
            ),
            "full": await call.error("create_credit_note", {"invoice_id": invoice["id"]}),
            "zero": await call.error("create_credit_note", {"invoice_id": invoice["id"], "amount": "0"}),
        }
    assert ("amount", "conflicts_with_lines") in error_fields(refusals["both"])
    assert refusals["draft"]["code"] == "conflict" and "update_invoice" in refusals["draft"]["hint"]
    assert refusals["of_a_note"]["code"] == "conflict"
    assert ("entry_date", "before_invoice") in error_fields(refusals["early"])
    assert ("lines.0.line_id", "not_found") in error_fields(refusals["line"])
    assert ("lines.0.quantity", "exceeds_line") in error_fields(refusals["quantity"])
    assert ("lines", "exceeds_invoice") in error_fields(refusals["full"])  # 1.25 is credited already
    assert ("amount", "greater_than") in error_fields(refusals["zero"])
    assert sandbox_writes(catalogue_sandbox) == before
