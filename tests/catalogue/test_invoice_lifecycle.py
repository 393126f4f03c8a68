"""The full life of an invoice, end to end through an MCP client against the sandbox:

customer -> draft -> update -> preview and confirm approve -> send -> partial payment ->
credit note -> get_revenue and list_overdue_invoices reflecting each step with exact amounts.

The customer is our own, so the demo company's data cannot disturb the numbers; every date is
given, so the test does not depend on the clock. The amounts are written out by hand:

    draft:       1 × 150.00 excl 25 % VAT                 = 150.00 + 37.50 = 187.50
    update:      2 × 150.00                                = 300.00 + 75.00 = 375.00
    payment:     100.00 on 2026-10-25                      -> balance 275.00
    credit note: 50.00 excl on 2026-11-03 = 50.00 + 12.50  = 62.50 -> balance 212.50
    the rest:    212.50 on 2026-12-10                      -> balance 0.00, paid
"""

from __future__ import annotations

import pytest

from tests.catalogue.billing import amounts, billy_get, buckets, confirmed, month, new_contact, outbox

pytestmark = pytest.mark.anyio

PERIOD = {"start_date": "2026-10-01", "end_date": "2026-11-30"}
ZERO_MONTH = dict.fromkeys(("net", "vat", "gross", "paid", "outstanding", "overdue"), "0.00")


async def test_the_full_life_of_an_invoice(tools, catalogue_sandbox):
    customer = new_contact(catalogue_sandbox, "Livscyklus", email="jane@livscyklus.dk")
    scope = {"customer_id": customer["id"]}

    async with tools() as call:

        async def revenue(as_of: str) -> dict:
            return await call.ok("get_revenue", {**PERIOD, **scope, "as_of": as_of})

        async def overdue(as_of: str) -> dict:
            return await call.ok("list_overdue_invoices", {**scope, "as_of": as_of})

        # -- draft: 1 × 150.00 excl VAT, net 14 days from 2026-10-05
        draft = await call.ok(
            "create_invoice",
            {
                **scope,
                "entry_date": "2026-10-05",
                "payment_terms_mode": "net",
                "payment_terms_days": 14,
                "lines": [
                    {"description": "Service af espressomaskine", "quantity": "1", "unit_price": "150.00"}
                ],
            },
        )
        assert (draft["state"], draft["invoice_no"], draft["due_date"]) == ("draft", None, "2026-10-19")
        assert amounts(draft) == ("150.00", "37.50", "187.50")
        invoice_id = draft["id"]

        # drafts are not revenue and not overdue
        assert month(await revenue("2026-10-29"), "2026-10") == {
            "month": "2026-10",
            "invoices": 0,
            "credit_notes": 0,
            **ZERO_MONTH,
        }
        assert (await overdue("2026-10-29"))["total"] == 0

        # -- update: two of them
        updated = await call.ok(
            "update_invoice",
            {
                "invoice_id": invoice_id,
                "replace_lines": [
                    {"description": "Service af espressomaskine", "quantity": "2", "unit_price": "150.00"}
                ],
            },
        )
        assert amounts(updated) == ("300.00", "75.00", "375.00")
        assert updated["state"] == "draft" and updated["lines_removed"] == 1

        # -- approve: the preview changes nothing, the confirmation books it with the promised number
        first = await call.ok("approve_invoice", {"invoice_id": invoice_id})
        preview = first["preview"]
        assert preview["customer_name"] == customer["name"]
        assert amounts(preview) == ("300.00", "75.00", "375.00")
        assert billy_get(catalogue_sandbox, f"/invoices/{invoice_id}")["invoice"]["state"] == "draft"
        approved = await call.ok(
            "approve_invoice", {"invoice_id": invoice_id, "confirmation_ticket": first["confirmation_ticket"]}
        )
        assert (approved["state"], approved["invoice_no"], approved["balance"]) == (
            "approved",
            preview["expected_invoice_no"],
            "375.00",
        )
        number = approved["invoice_no"]

        october = month(await revenue("2026-10-29"), "2026-10")
        assert (october["invoices"], october["net"], october["vat"], october["gross"]) == (
            1,
            "300.00",
            "75.00",
            "375.00",
        )
        assert (october["paid"], october["outstanding"], october["overdue"]) == ("0.00", "375.00", "375.00")
        assert (
            month(await revenue("2026-10-19"), "2026-10")["overdue"] == "0.00"
        )  # due today, not overdue yet
        aging = await overdue("2026-10-29")
        assert [(i["invoice_no"], i["days_overdue"], i["bucket"], i["balance"]) for i in aging["items"]] == [
            (number, 10, "0-30", "375.00")
        ]

        # -- send: the preview names the address and the subject; the mail goes out on confirmation
        mails_before = len(outbox(catalogue_sandbox))
        sending, sent = await confirmed(call, "send_invoice", {"invoice_id": invoice_id})
        assert sending["to"]["email"] == "jane@livscyklus.dk"
        assert sending["subject"] == f"Faktura {number} fra Fjordlys Kaffeteknik ApS"
        assert sent["sent_state"] == "sent"
        (mail,) = outbox(catalogue_sandbox)[mails_before:]
        assert (mail["to"], mail["subject"], mail["invoiceId"]) == (
            "jane@livscyklus.dk",
            sending["subject"],
            invoice_id,
        )

        # -- partial payment of 100.00
        paying, paid = await confirmed(
            call,
            "record_invoice_payment",
            {"invoice_id": invoice_id, "amount": "100.00", "payment_date": "2026-10-25"},
        )
        assert (paying["amount"], paying["invoice"]["balance"], paying["balance_after"]) == (
            "100.00",
            "375.00",
            "275.00",
        )
        assert (paid["invoice"]["balance"], paid["invoice"]["is_paid"]) == ("275.00", False)

        october = month(await revenue("2026-10-29"), "2026-10")
        assert (october["gross"], october["paid"], october["outstanding"], october["overdue"]) == (
            "375.00",
            "100.00",
            "275.00",
            "275.00",
        )
        assert buckets(await overdue("2026-10-29"))["0-30"] == (1, "275.00")

        # -- credit note: 50.00 excl VAT = 62.50, entered in November
        crediting, note = await confirmed(
            call,
            "create_credit_note",
            {"invoice_id": invoice_id, "amount": "50.00", "entry_date": "2026-11-03", "description": "Rabat"},
        )
        assert (crediting["credit_note"]["net_amount"], crediting["credit_note"]["vat_amount"]) == (
            "50.00",
            "12.50",
        )
        assert (
            crediting["credit_note"]["gross_amount"],
            crediting["balance_after"],
            crediting["refund_due"],
        ) == (
            "62.50",
            "212.50",
            "0.00",
        )
        assert (note["type"], note["gross_amount"], note["credited_invoice"]["balance"]) == (
            "credit_note",
            "62.50",
            "212.50",
        )
        assert billy_get(catalogue_sandbox, f"/invoices/{invoice_id}")["invoice"]["balance"] == 212.5

        after_credit = await revenue("2026-11-05")
        october, november = month(after_credit, "2026-10"), month(after_credit, "2026-11")
        assert october == {
            "month": "2026-10",
            "invoices": 1,
            "credit_notes": 0,
            "net": "300.00",
            "vat": "75.00",
            "gross": "375.00",
            "paid": "100.00",
            "outstanding": "212.50",
            "overdue": "212.50",
        }
        assert november == {
            "month": "2026-11",
            "invoices": 0,
            "credit_notes": 1,
            "net": "-50.00",
            "vat": "-12.50",
            "gross": "-62.50",
            "paid": "0.00",
            "outstanding": "0.00",
            "overdue": "0.00",
        }
        assert (
            after_credit["totals"]["net"],
            after_credit["totals"]["gross"],
            after_credit["totals"]["outstanding"],
        ) == (
            "250.00",
            "312.50",
            "212.50",
        )

        # the invoice ages: 0-30 days on 5 November, 31-60 on 1 December (43 days)
        assert buckets(await overdue("2026-11-05"))["0-30"] == (1, "212.50")
        december = await overdue("2026-12-01")
        assert buckets(december) == {
            "0-30": (0, "0.00"),
            "31-60": (1, "212.50"),
            "61-90": (0, "0.00"),
            "over 90": (0, "0.00"),
        }
        assert december["items"][0]["days_overdue"] == 43 and december["total_balance"] == "212.50"

        # -- the rest is paid: nothing outstanding, nothing overdue
        _, settled = await confirmed(
            call, "record_invoice_payment", {"invoice_id": invoice_id, "payment_date": "2026-12-10"}
        )
        assert (settled["amount"], settled["invoice"]["balance"], settled["invoice"]["is_paid"]) == (
            "212.50",
            "0.00",
            True,
        )
        final = await revenue("2026-12-31")
        assert (final["totals"]["paid"], final["totals"]["outstanding"], final["totals"]["overdue"]) == (
            "312.50",
            "0.00",
            "0.00",
        )
        assert (await overdue("2026-12-31"))["total"] == 0
        # nothing was deleted: the invoice and its credit note are both still approved in Billy
        kept = billy_get(catalogue_sandbox, "/invoices", contactId=customer["id"])["invoices"]
        assert sorted((i["type"], i["state"]) for i in kept) == [
            ("credit_note", "approved"),
            ("invoice", "approved"),
        ]
