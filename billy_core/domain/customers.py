"""The customer list and the contact summary every contact tool answers with. Billy has no separate
customer resource: customers are contacts with ``isCustomer``; e-mail addresses live on contact
persons, never on the contact. Get, create and update are in :mod:`billy_core.domain.contacts`."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from billy_core.context import CallContext
from billy_core.domain.common import text_or_none
from billy_core.domain.references import search_window
from billy_core.listing import ListInput, ListOutput
from billy_core.tools import Tool, ToolHandler


def contact_person_summary(person: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": person["id"],
        "name": text_or_none(person.get("name")),
        "email": text_or_none(person.get("email")),
        "is_primary": bool(person.get("isPrimary")),
    }


def contact_summary(contact: dict[str, Any], persons: list[dict[str, Any]]) -> dict[str, Any]:
    primary = next((p for p in persons if p.get("isPrimary")), persons[0] if persons else None)
    return {
        "id": contact["id"],
        "name": contact.get("name", ""),
        "type": contact.get("type"),
        "cvr": text_or_none(contact.get("registrationNo")),
        "ean": text_or_none(contact.get("ean")),
        "phone": text_or_none(contact.get("phone")),
        "email": text_or_none(primary.get("email")) if primary else None,
        "street": text_or_none(contact.get("street")),
        "zipcode": text_or_none(contact.get("zipcodeText")),
        "city": text_or_none(contact.get("cityText")),
        "country": contact.get("countryId"),
        "is_customer": bool(contact.get("isCustomer")),
        "is_supplier": bool(contact.get("isSupplier")),
        "is_archived": bool(contact.get("isArchived")),
        "contact_persons": [contact_person_summary(person) for person in persons],
    }


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def matches(summary: dict[str, Any], needle: str) -> bool:
    """Part of the name, CVR, phone, or a contact person's name or e-mail (case-insensitive)."""
    lowered = needle.casefold()
    texts = [summary["name"], summary.get("cvr"), summary.get("ean")]
    for person in summary["contact_persons"]:
        texts += [person.get("name"), person.get("email")]
    if any(text and lowered in text.casefold() for text in texts):
        return True
    digits = _digits(needle)
    numbers = [summary.get("phone"), summary.get("cvr")]
    return len(digits) >= 4 and any(number and digits in _digits(number) for number in numbers)


class ListCustomersInput(ListInput):
    search: str | None = Field(
        None,
        description="Part of the name, CVR number, phone number, or a contact person's name or e-mail",
        max_length=200,
        examples=["Hansen", "29403473", "jane@example.dk"],
    )
    include_archived: bool = Field(False, description="Also list archived customers", examples=[False])


async def contacts_with_persons(ctx: CallContext, role: str) -> list[dict[str, Any]]:
    """Every contact in ``role`` (isCustomer/isSupplier) with its contact persons, all pages."""
    contacts = await ctx.billy.list_all("contacts", ((role, "true"),))
    persons = await ctx.billy.list_all("contactPersons")
    by_contact: dict[str, list[dict[str, Any]]] = {}
    for person in persons:
        by_contact.setdefault(str(person.get("contactId")), []).append(person)
    return [contact_summary(contact, by_contact.get(str(contact["id"]), [])) for contact in contacts]


def role_lister(role: str) -> ToolHandler:
    """The list handler for one role (``isCustomer`` or ``isSupplier``): search, archive filter, paging."""

    async def list_contacts(args: ListCustomersInput, ctx: CallContext) -> dict[str, Any]:
        contacts = await contacts_with_persons(ctx, role)
        return search_window(
            contacts, args, search=args.search, include_archived=args.include_archived, matches=matches
        )

    return list_contacts


LIST_CUSTOMERS = Tool(
    name="list_customers",
    title="List or search customers",
    description=(
        "Find customers by part of their name, CVR number, phone number, or a contact person's name or "
        "e-mail; searches every page of Billy's contacts. Without search, lists all customers by name. "
        "Returns {items, total, has_more, next_offset}."
    ),
    input_model=ListCustomersInput,
    output_model=ListOutput,
    handler=role_lister("isCustomer"),
    idempotent=True,
)


def tools(kernel: Any) -> list[Tool]:
    return [LIST_CUSTOMERS]
