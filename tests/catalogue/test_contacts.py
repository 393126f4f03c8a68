"""Customer and supplier tools end to end: MCP client -> kernel -> real HTTP -> the sandbox."""

from __future__ import annotations

import pytest

from tests.catalogue.conftest import billy_get, error_fields, sandbox_writes

pytestmark = pytest.mark.anyio


def persons_of(sandbox, contact_id: str) -> list[dict]:
    return billy_get(sandbox, "/contactPersons", contactId=contact_id)["contactPersons"]


async def some_customer(call) -> dict:
    listed = await call.ok("list_customers", {"search": "Kaffebaren Møllen", "limit": 1})
    return listed["items"][0]


async def test_get_customer_has_its_contact_persons_and_honours_fields(tools):
    async with tools() as call:
        customer = await some_customer(call)
        full = await call.ok("get_customer", {"customer_id": customer["id"]})
        slim = await call.ok("get_customer", {"customer_id": customer["id"], "fields": ["name", "cvr"]})
    assert full["name"] == "Kaffebaren Møllen ApS" and full["is_customer"] is True
    assert full["contact_persons"] and full["email"] == full["contact_persons"][0]["email"]
    assert full["cvr"] and full["phone"]
    assert set(slim) == {"id", "name", "cvr"}


async def test_get_customer_refuses_unknown_and_malformed_ids(tools, catalogue_sandbox):
    async with tools() as call:
        unknown = await call.error("get_customer", {"customer_id": "NoSuchContact0000000"})
        malformed = await call.error("get_customer", {"customer_id": "../invoices"})
    assert unknown["code"] == "not_found" and ("customer_id", "not_found") in error_fields(unknown)
    assert malformed["code"] == "invalid_argument"
    assert ("customer_id", "string_pattern_mismatch") in error_fields(malformed)


async def test_create_customer_puts_phone_on_the_contact_and_email_on_a_primary_person(
    tools, catalogue_sandbox
):
    arguments = {
        "name": "Rødovre Risteri ApS",
        "cvr": "DK 13 74 81 36",
        "phone": "+45 36 70 12 34",
        "email": "bogholderi@rodovre-risteri.dk",
        "contact_person_name": "Mette Hansen",
        "street": "Rødovrevej 12",
        "zipcode": "2610",
        "city": "Rødovre",
        "ean": "5798000880016",
        "payment_terms_days": 14,
        "idempotency_key": "contacts-create-0001",
    }
    async with tools() as call:
        created = await call.ok("create_customer", arguments)
        writes = sandbox_writes(catalogue_sandbox)
        again = await call.ok("create_customer", arguments)
    assert created["cvr"] == "13748136" and created["ean"] == "5798000880016"
    assert again["id"] == created["id"] and again["replayed"] is True
    assert sandbox_writes(catalogue_sandbox) == writes, "a repeated key must not write again"
    contact = billy_get(catalogue_sandbox, f"/contacts/{created['id']}")["contact"]
    assert contact["phone"] == "+45 36 70 12 34" and contact["isCustomer"] is True
    assert contact["paymentTermsDays"] == 14 and contact["zipcodeText"] == "2610"
    [person] = persons_of(catalogue_sandbox, created["id"])
    assert person == {
        **person,
        "email": "bogholderi@rodovre-risteri.dk",
        "name": "Mette Hansen",
        "isPrimary": True,
    }


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"cvr": "13748137"}, ("cvr", "cvr_checksum")),
        ({"cvr": "1234"}, ("cvr", "cvr_checksum")),
        ({"country": "DE", "cvr": "DE123"}, ("cvr", "eu_vat_format")),
        ({"ean": "5798000880017"}, ("ean", "ean_checksum")),
        ({"email": "not-an-email"}, ("email", "email_format")),
        ({"phone": "call me"}, ("phone", "phone_format")),
        ({"zipcode": "DK-2610"}, ("zipcode", "dk_zipcode")),
        ({"country": "XX"}, ("country", "unknown_country")),
        ({"name": "   "}, ("name", "string_too_short")),
        ({"type": "customer"}, ("type", "literal_error")),
        ({"surprise": 1}, ("surprise", "extra_forbidden")),
    ],
)
async def test_create_customer_refuses_bad_arguments_before_billy(
    tools, catalogue_sandbox, arguments, problem
):
    writes = sandbox_writes(catalogue_sandbox)
    async with tools() as call:
        refused = await call.error("create_customer", {"name": "Skal ikke oprettes ApS", **arguments})
    assert refused["code"] == "invalid_argument"
    assert problem in error_fields(refused)
    assert sandbox_writes(catalogue_sandbox) == writes


async def test_foreign_customer_with_a_valid_eu_vat_number(tools):
    async with tools() as call:
        created = await call.ok(
            "create_customer", {"name": "Kaffeehaus Nord GmbH", "country": "de", "cvr": "DE136695976"}
        )
    assert created["country"] == "DE" and created["cvr"] == "DE136695976"


async def test_update_customer_adds_and_edits_persons_and_never_drops_one(tools, catalogue_sandbox):
    async with tools() as call:
        created = await call.ok(
            "create_customer",
            {"name": "Personale Test ApS", "email": "first@example.dk", "contact_person_name": "Første"},
        )
        [first] = created["contact_persons"]
        change = {
            "customer_id": created["id"],
            "phone": "70 20 30 40",
            "contact_persons": [
                {"name": "Anden", "email": "second@example.dk", "is_primary": True},
                {"id": first["id"], "name": "Første Person"},
            ],
        }
        updated = await call.ok("update_customer", change)
        persons = {person["name"]: person for person in updated["contact_persons"]}
        writes = sandbox_writes(catalogue_sandbox)
        repeated = await call.ok("update_customer", change)
        writes_after_repeat = sandbox_writes(catalogue_sandbox)
        email_only = await call.ok(
            "update_customer", {"customer_id": created["id"], "email": "ny@example.dk"}
        )
    assert set(persons) == {"Første Person", "Anden"}
    assert persons["Anden"]["is_primary"] is True and persons["Første Person"]["is_primary"] is False
    assert persons["Første Person"]["email"] == "first@example.dk"
    assert updated["phone"] == "70 20 30 40" and updated["email"] == "second@example.dk"
    assert repeated["changed"] == [] and writes_after_repeat == writes
    assert email_only["email"] == "ny@example.dk" and len(email_only["contact_persons"]) == 2
    assert len(persons_of(catalogue_sandbox, created["id"])) == 2


async def test_update_customer_validates_before_writing(tools, catalogue_sandbox):
    async with tools() as call:
        customer = await some_customer(call)
        writes = sandbox_writes(catalogue_sandbox)
        unknown = await call.error("update_customer", {"customer_id": "NoSuchContact0000000", "name": "X"})
        foreign_person = await call.error(
            "update_customer",
            {
                "customer_id": customer["id"],
                "contact_persons": [{"id": "NotThisContactsPerson", "name": "X"}],
            },
        )
        empty_person = await call.error(
            "update_customer", {"customer_id": customer["id"], "contact_persons": [{"is_primary": False}]}
        )
        two_primaries = await call.error(
            "update_customer",
            {
                "customer_id": customer["id"],
                "contact_persons": [{"name": "A", "is_primary": True}, {"name": "B", "is_primary": True}],
            },
        )
        bad_cvr = await call.error("update_customer", {"customer_id": customer["id"], "cvr": "11111111"})
    assert unknown["code"] == "not_found" and ("customer_id", "not_found") in error_fields(unknown)
    assert ("contact_persons.0.id", "not_a_person_of_this_contact") in error_fields(foreign_person)
    assert ("contact_persons.0", "name_or_email") in error_fields(empty_person)
    assert ("contact_persons", "one_primary") in error_fields(two_primaries)
    assert ("cvr", "cvr_checksum") in error_fields(bad_cvr)
    assert sandbox_writes(catalogue_sandbox) == writes


async def test_list_suppliers_and_create_supplier(tools):
    async with tools() as call:
        before = await call.ok("list_suppliers", {"limit": 500})
        created = await call.ok(
            "create_supplier", {"name": "Grøn Strøm A/S", "cvr": "13748136", "email": "faktura@gron-strom.dk"}
        )
        found = await call.ok("list_suppliers", {"search": "grøn strøm"})
        customers = await call.ok("list_customers", {"search": "grøn strøm"})
    assert before["items"] and all(item["is_supplier"] for item in before["items"])
    assert created["is_supplier"] is True and created["is_customer"] is False
    assert [item["id"] for item in found["items"]] == [created["id"]]
    assert customers["total"] == 0
