"""Invoice tools end to end: MCP client -> kernel -> real HTTP -> the sandbox.

Drafts (create, update), approval and sending through preview -> confirm, the checks that
refuse a call before anything reaches Billy, and idempotent creates (one invoice per key,
counted in the sandbox by externalId)."""

from __future__ import annotations

import anyio
import pytest

from billy_core.testing import mcp_client
from tests.catalogue.billing import (
    TOOL_HINTS,
    amounts,
    billy_get,
    billy_post,
    billy_put,
    confirmed,
    invoices_with_external_id,
    new_contact,
    outbox,
)
from tests.catalogue.conftest import Caller, error_fields, sandbox_writes

pytestmark = pytest.mark.anyio


@pytest.fixture
def customer(catalogue_sandbox):
    return new_contact(catalogue_sandbox, "Fakturatest", email="jane@fakturatest.dk")


@pytest.fixture
def product(catalogue_sandbox):
    return billy_post(
        catalogue_sandbox,
        "products",
        {"name": "Serviceeftersyn", "prices": [{"unitPrice": 150, "currencyId": "DKK"}]},
    )


async def draft(call, customer, **arguments):
    body = {
        "customer_id": customer["id"],
        "entry_date": "2026-03-02",
        "lines": [{"description": "Service", "quantity": "2", "unit_price": "150.00"}],
        **arguments,
    }
    return await call.ok("create_invoice", body)


async def test_invoice_bill_and_revenue_tools_are_annotated_and_documented(tools):
    async with tools() as call:
        listed = {tool.name: tool for tool in (await call.client.list_tools()).tools}
    for name, (read_only, destructive, idempotent) in TOOL_HINTS.items():
        tool = listed[name]
        hints = tool.annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
            read_only,
            destructive,
            idempotent,
        ), name
        assert hints.open_world_hint is True and tool.output_schema, name
        assert "Use " in tool.description, name
        for argument, schema in tool.input_schema["properties"].items():
            assert schema.get("description"), (name, argument)
    assert "idempotency_key" in listed["create_invoice"].input_schema["properties"]
    assert "confirmation_ticket" in listed["approve_invoice"].input_schema["properties"]
    assert {"idempotency_key", "confirmation_ticket"} <= set(
        listed["create_credit_note"].input_schema["properties"]
    )


async def test_create_invoice_makes_a_draft_with_exact_amounts(tools, catalogue_sandbox, customer, product):
    async with tools() as call:
        made = await draft(
            call,
            customer,
            lines=[
                {"product_id": product["id"], "quantity": 2},
                {"description": "Kørsel", "unit_price": "49.95"},
            ],
            payment_terms_mode="net",
            payment_terms_days=14,
            message="Tak for ordren",
        )
    # 2 × 150.00 (the product's price) + 49.95 = 349.95; VAT 25 % = 87.4875 -> 87.49
    assert (made["net_amount"], made["vat_amount"], made["gross_amount"], made["balance"]) == (
        "349.95",
        "87.49",
        "437.44",
        "437.44",
    )
    assert (made["state"], made["invoice_no"], made["is_paid"], made["sent_state"]) == (
        "draft",
        None,
        False,
        "unsent",
    )
    assert (made["entry_date"], made["due_date"], made["message"]) == (
        "2026-03-02",
        "2026-03-16",
        "Tak for ordren",
    )
    assert made["external_id"] == made["idempotency_key"]
    first, second = made["lines"]
    assert (first["product_id"], first["quantity"], first["unit_price"], first["amount"]) == (
        product["id"],
        "2",
        "150.00",
        "300.00",
    )
    (free_text,) = billy_get(catalogue_sandbox, "/products", externalId="billy-mcp:free-text-line")[
        "products"
    ]
    assert (second["product_id"], second["description"], second["amount"]) == (
        free_text["id"],
        "Kørsel",
        "49.95",
    )


async def test_the_free_text_product_is_made_once(tools, catalogue_sandbox, customer):
    async with tools() as call:
        await draft(call, customer)
        await draft(call, customer, lines=[{"description": "Rengøring", "unit_price": "10"}])
    products = billy_get(catalogue_sandbox, "/products", externalId="billy-mcp:free-text-line")["products"]
    assert len(products) == 1


async def test_incl_vat_payment_terms_and_currency(tools, customer, product):
    async with tools() as call:
        incl = await draft(
            call,
            customer,
            tax_mode="incl",
            lines=[{"description": "Kaffe", "unit_price": "125.00"}],
            entry_date="2026-01-15",
            payment_terms_mode="net_end_of_month",
            payment_terms_days=30,
        )
        fixed = await draft(call, customer, due_date="2026-04-30")
        euros = await draft(
            call, customer, currency="eur", lines=[{"product_id": product["id"], "unit_price": "20"}]
        )
        no_price = await call.error(
            "create_invoice",
            {"customer_id": customer["id"], "currency": "EUR", "lines": [{"product_id": product["id"]}]},
        )
    assert (incl["tax_mode"], incl["net_amount"], incl["vat_amount"], incl["gross_amount"]) == (
        "incl",
        "100.00",
        "25.00",
        "125.00",
    )
    assert incl["due_date"] == "2026-03-02"  # 31 January + 30 days
    assert fixed["due_date"] == "2026-04-30"
    assert (euros["currency"], euros["gross_amount"]) == ("EUR", "25.00")
    assert ("lines.0.unit_price", "required") in error_fields(no_price)


@pytest.mark.parametrize(
    ("change", "code", "field", "rule"),
    [
        ({"customer_id": "NoSuchCustomer000000"}, "not_found", "customer_id", "not_found"),
        ({"lines": []}, "invalid_argument", "lines", "too_short"),
        (
            {"lines": [{"description": "x", "quantity": 0, "unit_price": "1"}]},
            "invalid_argument",
            "lines.0.quantity",
            "greater_than",
        ),
        (
            {"lines": [{"description": "x", "quantity": "-2", "unit_price": "1"}]},
            "invalid_argument",
            "lines.0.quantity",
            "greater_than",
        ),
        (
            {"lines": [{"description": "x", "unit_price": "-1"}]},
            "invalid_argument",
            "lines.0.unit_price",
            "greater_than_equal",
        ),
        ({"lines": [{"description": "x"}]}, "invalid_argument", "lines.0.unit_price", "required"),
        ({"lines": [{"unit_price": "5"}]}, "invalid_argument", "lines.0.description", "required"),
        ({"entry_date": "02-03-2026"}, "invalid_argument", "entry_date", "date_format"),
        ({"entry_date": 20260302}, "invalid_argument", "entry_date", "date_format"),
        ({"entry_date": "2026-02-30"}, "invalid_argument", "entry_date", "date_from_datetime_parsing"),
        ({"tax_mode": "inclusive"}, "invalid_argument", "tax_mode", "literal_error"),
        ({"currency": "XYZ"}, "invalid_argument", "currency", "unknown_currency"),
        ({"currency": "kroner"}, "invalid_argument", "currency", "string_pattern_mismatch"),
        ({"payment_terms_mode": "net"}, "invalid_argument", "payment_terms_days", "required"),
        (
            {"payment_terms_mode": "net", "payment_terms_days": 8, "due_date": "2026-04-01"},
            "invalid_argument",
            "due_date",
            "conflicts_with_mode",
        ),
        ({"payment_terms_mode": "date"}, "invalid_argument", "due_date", "required"),
        ({"payment_terms_days": -1}, "invalid_argument", "payment_terms_days", "greater_than_equal"),
        ({"state": "approved"}, "invalid_argument", "state", "extra_forbidden"),
    ],
)
async def test_create_invoice_refuses_bad_arguments_before_billy(
    tools, catalogue_sandbox, customer, change, code, field, rule
):
    arguments = {
        "customer_id": customer["id"],
        "lines": [{"description": "Service", "unit_price": "100"}],
        **change,
    }
    before = sandbox_writes(catalogue_sandbox)
    async with tools() as call:
        refused = await call.error("create_invoice", arguments)
    assert refused["code"] == code, refused
    assert (field, rule) in error_fields(refused), refused
    assert sandbox_writes(catalogue_sandbox) == before


async def test_an_unknown_product_on_any_line_is_named_and_nothing_is_written(
    tools, catalogue_sandbox, customer
):
    before = sandbox_writes(catalogue_sandbox)
    async with tools() as call:
        refused = await call.error(
            "create_invoice",
            {
                "customer_id": customer["id"],
                "lines": [
                    {"description": "Fri tekst", "unit_price": "1"},
                    {"product_id": "NoSuchProduct0000000"},
                ],
            },
        )
    assert refused["code"] == "not_found" and ("lines.1.product_id", "not_found") in error_fields(refused)
    assert sandbox_writes(catalogue_sandbox) == before


async def test_the_same_idempotency_key_twice_gives_one_invoice(tools, catalogue_sandbox, customer):
    async with tools() as call:
        first = await draft(call, customer, idempotency_key="order-2026-0042")
        again = await draft(call, customer, idempotency_key="order-2026-0042")
    assert again["id"] == first["id"] and again["replayed"] is True
    assert [invoice["id"] for invoice in invoices_with_external_id(catalogue_sandbox, "order-2026-0042")] == [
        first["id"]
    ]


async def test_concurrent_calls_with_one_key_give_one_invoice(tools, catalogue_sandbox, customer):
    results = []
    async with tools() as call:

        async def create() -> None:
            results.append(await draft(call, customer, idempotency_key="concurrent-key-1"))

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(create)
    assert len({result["id"] for result in results}) == 1
    assert len(invoices_with_external_id(catalogue_sandbox, "concurrent-key-1")) == 1


async def test_billy_remembers_the_key_when_the_kernel_store_does_not(
    tools, make_kernel, catalogue_sandbox, customer, tmp_path
):
    async with tools() as call:
        first = await draft(call, customer, idempotency_key="remembered-by-billy")
    other = make_kernel(
        api_url=catalogue_sandbox.api_url,
        access_token=catalogue_sandbox.token,
        sandbox=True,
        database_url=f"sqlite:///{tmp_path / 'another-instance.sqlite3'}",
    )
    async with mcp_client(other) as client:
        again = await Caller(client).ok(
            "create_invoice",
            {
                "customer_id": customer["id"],
                "idempotency_key": "remembered-by-billy",
                "lines": [{"description": "Service", "unit_price": "1"}],
            },
        )
    assert again["id"] == first["id"] and again["replayed"] is True
    assert len(invoices_with_external_id(catalogue_sandbox, "remembered-by-billy")) == 1


async def test_update_invoice_changes_lines_only_when_told(tools, customer, product):
    async with tools() as call:
        made = await draft(call, customer)
        original = made["lines"][0]
        retitled = await call.ok(
            "update_invoice", {"invoice_id": made["id"], "message": "Ny tekst", "due_date": "2026-05-01"}
        )
        added = await call.ok(
            "update_invoice",
            {"invoice_id": made["id"], "add_lines": [{"product_id": product["id"], "quantity": "1"}]},
        )
        removed = await call.ok(
            "update_invoice", {"invoice_id": made["id"], "remove_line_ids": [added["lines"][0]["id"]]}
        )
        replaced = await call.ok(
            "update_invoice",
            {
                "invoice_id": made["id"],
                "replace_lines": [{"description": "Alt i ét", "quantity": "3", "unit_price": "100"}],
            },
        )
    assert (retitled["changed"], retitled["lines_removed"], retitled["message"], retitled["due_date"]) == (
        ["payment_terms_mode", "due_date", "message"],
        0,
        "Ny tekst",
        "2026-05-01",
    )
    assert [line["id"] for line in retitled["lines"]] == [original["id"]]
    assert [(line["description"], line["amount"]) for line in added["lines"]] == [
        ("Service", "300.00"),
        (None, "150.00"),
    ]
    assert (added["net_amount"], added["lines_removed"]) == ("450.00", 0)
    assert [line["product_id"] for line in removed["lines"]] == [product["id"]] and removed[
        "lines_removed"
    ] == 1
    assert [(line["description"], line["amount"]) for line in replaced["lines"]] == [("Alt i ét", "300.00")]
    assert (replaced["gross_amount"], replaced["lines_removed"]) == ("375.00", 1)


async def test_update_invoice_refusals(tools, catalogue_sandbox, customer):
    async with tools() as call:
        made = await draft(call, customer)
        line_id = made["lines"][0]["id"]
        both = await call.error(
            "update_invoice",
            {
                "invoice_id": made["id"],
                "replace_lines": [{"description": "x", "unit_price": "1"}],
                "remove_line_ids": [line_id],
            },
        )
        unknown_line = await call.error(
            "update_invoice", {"invoice_id": made["id"], "remove_line_ids": ["NoSuchLine"]}
        )
        empty = await call.error("update_invoice", {"invoice_id": made["id"], "remove_line_ids": [line_id]})
        nothing = await call.error("update_invoice", {"invoice_id": made["id"]})
        missing = await call.error("update_invoice", {"invoice_id": "NoSuchInvoice0000000", "message": "x"})
        await confirmed(call, "approve_invoice", {"invoice_id": made["id"]})
        before = sandbox_writes(catalogue_sandbox)
        locked = await call.error(
            "update_invoice",
            {"invoice_id": made["id"], "replace_lines": [{"description": "x", "unit_price": "1"}]},
        )
    assert ("replace_lines", "conflicts_with_add_or_remove") in error_fields(both)
    assert unknown_line["code"] == "not_found" and ("remove_line_ids.0", "not_found") in error_fields(
        unknown_line
    )
    assert ("remove_line_ids", "no_lines_left") in error_fields(empty)
    assert ("(arguments)", "nothing_to_change") in error_fields(nothing)
    assert missing["code"] == "not_found" and ("invoice_id", "not_found") in error_fields(missing)
    assert locked["code"] == "conflict" and "create_credit_note" in locked["hint"]
    assert sandbox_writes(catalogue_sandbox) == before


async def test_approve_previews_then_books_with_the_promised_number(tools, catalogue_sandbox, customer):
    async with tools() as call:
        made = await draft(call, customer)
        first = await call.ok("approve_invoice", {"invoice_id": made["id"]})
        still = billy_get(catalogue_sandbox, f"/invoices/{made['id']}")["invoice"]
        approved = await call.ok(
            "approve_invoice", {"invoice_id": made["id"], "confirmation_ticket": first["confirmation_ticket"]}
        )
        reused = await call.error(
            "approve_invoice", {"invoice_id": made["id"], "confirmation_ticket": first["confirmation_ticket"]}
        )
        again = await call.error("approve_invoice", {"invoice_id": made["id"]})
    preview = first["preview"]
    assert still["state"] == "draft"
    assert preview["customer_name"] == customer["name"]
    assert amounts(preview) == ("300.00", "75.00", "375.00")
    assert preview["expected_invoice_no"] and "credit note" in preview["effect"]
    assert (approved["state"], approved["invoice_no"]) == ("approved", preview["expected_invoice_no"])
    assert reused["code"] == "confirmation_required"
    assert again["code"] == "conflict"


async def test_each_approval_preview_promises_the_number_billy_will_give(tools, catalogue_sandbox, customer):
    """The organization (and its next invoice number) is cached; approvals must not leave an
    old number in a later preview, whether they went through this server or not."""

    async def approve(call, invoice_id):
        preview, approved = await confirmed(call, "approve_invoice", {"invoice_id": invoice_id})
        return preview["expected_invoice_no"], approved["invoice_no"]

    async with tools() as call:
        await call.ok("get_organization", {})  # the organization is in the cache now
        first, second, third, fourth = [await draft(call, customer) for _ in range(4)]
        promised, given = await approve(call, first["id"])
        assert promised == given
        promised, given = await approve(call, second["id"])  # after an approval through us
        assert promised == given
        elsewhere = billy_put(
            catalogue_sandbox, f"/invoices/{third['id']}", {"invoice": {"state": "approved"}}
        )["invoices"][0]["invoiceNo"]
        assert int(elsewhere) == int(given) + 1
        promised, given = await approve(call, fourth["id"])  # after one made in Billy's own app
        assert promised == given == str(int(elsewhere) + 1)


async def test_send_invoice_mails_a_contact_person_after_a_preview(tools, catalogue_sandbox, customer):
    async with tools() as call:
        made = await draft(call, customer)
        not_yet = await call.error("send_invoice", {"invoice_id": made["id"]})
        await confirmed(call, "approve_invoice", {"invoice_id": made["id"]})
        mails_before = len(outbox(catalogue_sandbox))
        first = await call.ok("send_invoice", {"invoice_id": made["id"]})
        previewed_only = len(outbox(catalogue_sandbox))
        sent = await call.ok(
            "send_invoice", {"invoice_id": made["id"], "confirmation_ticket": first["confirmation_ticket"]}
        )
        custom_preview, _ = await confirmed(
            call, "send_invoice", {"invoice_id": made["id"], "subject": "Påmindelse", "body": "Hej igen"}
        )
    preview = first["preview"]
    assert not_yet["code"] == "conflict" and "approve" in not_yet["hint"]
    assert previewed_only == mails_before
    assert preview["to"]["email"] == "jane@fakturatest.dk"
    assert preview["subject"] == f"Faktura {sent['invoice_no']} fra Fjordlys Kaffeteknik ApS"
    assert "375,00 kr." in preview["body"]
    assert (sent["sent_state"], sent["sent_to"]["email"], sent["subject"]) == (
        "sent",
        "jane@fakturatest.dk",
        preview["subject"],
    )
    mails = outbox(catalogue_sandbox)[mails_before:]
    assert [(mail["to"], mail["subject"], mail["invoiceId"]) for mail in mails] == [
        ("jane@fakturatest.dk", preview["subject"], made["id"]),
        ("jane@fakturatest.dk", "Påmindelse", made["id"]),
    ]
    assert custom_preview["body"] == "Hej igen" and mails[1]["body"] == "Hej igen"


async def test_send_invoice_needs_a_person_of_the_customer_with_an_address(tools, catalogue_sandbox):
    silent = new_contact(catalogue_sandbox, "Uden mail")
    other = new_contact(catalogue_sandbox, "Anden kunde", email="x@anden.dk")
    (stranger,) = billy_get(catalogue_sandbox, "/contactPersons", contactId=other["id"])["contactPersons"]
    async with tools() as call:
        made = await draft(call, silent)
        await confirmed(call, "approve_invoice", {"invoice_id": made["id"]})
        nobody = await call.error("send_invoice", {"invoice_id": made["id"]})
        wrong = await call.error(
            "send_invoice", {"invoice_id": made["id"], "contact_person_id": stranger["id"]}
        )
    assert ("contact_person_id", "required") in error_fields(nobody)
    assert ("contact_person_id", "not_a_person_of_customer") in error_fields(wrong)


async def test_get_and_list_invoices(tools, customer):
    async with tools() as call:
        made = await draft(call, customer)
        full = await call.ok("get_invoice", {"invoice_id": made["id"]})
        slim = await call.ok("get_invoice", {"invoice_id": made["id"], "fields": ["gross_amount", "state"]})
        listed = await call.ok(
            "list_invoices", {"customer_id": customer["id"], "state": "draft", "fields": ["gross_amount"]}
        )
    assert full["lines"] and full["customer_name"] == customer["name"]
    assert slim == {"id": made["id"], "gross_amount": "375.00", "state": "draft"}
    assert {"id": made["id"], "gross_amount": "375.00"} in listed["items"]
