"""Customer and supplier tools beyond the customer list: get, create, update, and the suppliers.

Billy keeps customers and suppliers as one resource, contacts, flagged ``isCustomer`` /
``isSupplier``. The phone number lives on the contact; e-mail addresses live on contact persons
(Billy has no e-mail on the contact). Contact persons are edited one by one through
``/contactPersons``: a PUT of the contact with an embedded ``contactPersons`` array would replace
them, dropping the persons an invoice's ``attContactPersonId`` points at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from billy_core.context import CallContext
from billy_core.danish import validate_cvr, validate_eu_vat
from billy_core.domain.customers import ListCustomersInput, contact_summary, role_lister
from billy_core.domain.references import (
    BillyId,
    CountryCode,
    Ean,
    Email,
    Phone,
    Problems,
    check_codes,
    get_or_not_found,
    note_partial_failure,
)
from billy_core.errors import ToolError
from billy_core.listing import GetInput, ListOutput, project
from billy_core.tools import Tool, ToolInput, ToolOutput

Role = Literal["customer", "supplier"]
ContactType = Literal["company", "person"]
ROLE_FLAG = {"customer": "isCustomer", "supplier": "isSupplier"}
# Invoice, bill and payment lists sideload the contact, so a renamed contact makes them stale.
CONTACT_READERS = ("contactPersons", "invoices", "bills", "bankPayments")
WITH_PERSONS = "contact.contactPersons:embed"


class ContactPersonOutput(ToolOutput):
    id: str
    name: str | None = None
    email: str | None = None
    is_primary: bool = False


class ContactOutput(ToolOutput):
    id: str
    name: str | None = Field(None, description="The company's or person's name")
    type: str | None = Field(None, description="company or person (the legal form, not the role)")
    cvr: str | None = Field(None, description="CVR number (or EU VAT number for foreign companies)")
    ean: str | None = Field(None, description="EAN location number for e-invoicing (public sector)")
    phone: str | None = None
    email: str | None = Field(None, description="The primary contact person's e-mail")
    street: str | None = None
    zipcode: str | None = None
    city: str | None = None
    country: str | None = Field(None, description="ISO country code, such as DK")
    is_customer: bool | None = None
    is_supplier: bool | None = None
    is_archived: bool | None = None
    contact_persons: list[ContactPersonOutput] | None = Field(None, description="The contact's persons")


class UpdatedContactOutput(ContactOutput):
    changed: list[str] | None = Field(None, description="What this call changed; empty when nothing did")


class GetContactInput(GetInput):
    customer_id: BillyId = Field(
        description="The Billy contact id of the customer (a supplier's id works too)",
        examples=["EhZmX9g2SPvGFveh4IcsAg"],
    )


class ContactFields(ToolInput):
    phone: Phone | None = Field(
        None, description="Phone number, on the contact itself", examples=["+45 86 12 34 00"]
    )
    street: str | None = Field(
        None, max_length=255, description="Street and number", examples=["Vestergade 6"]
    )
    zipcode: str | None = Field(
        None, max_length=20, description="Postal code (4 digits in Denmark)", examples=["8000"]
    )
    city: str | None = Field(None, max_length=100, description="City", examples=["Aarhus C"])
    cvr: str | None = Field(
        None,
        max_length=20,
        description=(
            "CVR number (8 digits, mod-11 checked) for Danish contacts; an EU VAT number such as "
            "DE136695976 for foreign companies"
        ),
        examples=["13748136"],
    )
    ean: Ean | None = Field(
        None,
        description="EAN location number (13 digits, GS1 check digit) for e-invoicing public customers",
        examples=["5798000880016"],
    )
    payment_terms_days: int | None = Field(
        None, ge=0, le=365, description="Net payment terms in days for this contact", examples=[14]
    )


class CreateContactInput(ContactFields):
    name: str = Field(
        min_length=1, max_length=255, description="Company or person name", examples=["Kaffebaren Møllen ApS"]
    )
    type: ContactType = Field(
        "company", description="company (default) or person: the legal form", examples=["company"]
    )
    country: CountryCode = Field("DK", description="ISO 3166 country code (default DK)", examples=["DK"])
    email: Email | None = Field(
        None,
        description="E-mail address for invoices; stored on the primary contact person",
        examples=["bogholderi@kaffebaren.dk"],
    )
    contact_person_name: str | None = Field(
        None, max_length=255, description="Name of the primary contact person", examples=["Julie Kristensen"]
    )


class ContactPersonChange(ToolInput):
    id: BillyId | None = Field(
        None,
        description="The id of an existing contact person to edit; leave out to add a new person",
        examples=["6_FShWNi6HePGy7rdTqMDg"],
    )
    name: str | None = Field(None, max_length=255, description="The person's name", examples=["Jens Hansen"])
    email: Email | None = Field(None, description="The person's e-mail", examples=["jens@example.dk"])
    is_primary: bool | None = Field(
        None,
        description="Make this the primary person (invoices are mailed to the primary person)",
        examples=[True],
    )


class UpdateContactInput(ContactFields):
    customer_id: BillyId = Field(
        description="The Billy contact id of the customer (a supplier's id works too)",
        examples=["EhZmX9g2SPvGFveh4IcsAg"],
    )
    name: str | None = Field(
        None, min_length=1, max_length=255, description="New name", examples=["Kaffebaren Møllen A/S"]
    )
    type: ContactType | None = Field(None, description="company or person", examples=["company"])
    country: CountryCode | None = Field(None, description="ISO country code", examples=["DK"])
    email: Email | None = Field(
        None,
        description=("E-mail of the primary contact person (a primary person is added when there is none)"),
        examples=["faktura@example.dk"],
    )
    contact_persons: list[ContactPersonChange] | None = Field(
        None,
        max_length=20,
        description=(
            "Contact persons to edit (with id) or add (without id). Persons not named here are kept "
            "unchanged; this tool never removes a person."
        ),
        examples=[[{"name": "Jens Hansen", "email": "jens@example.dk"}]],
    )
    archived: bool | None = Field(
        None,
        description="Archive (true) or restore (false) the contact; archiving hides it from lists",
        examples=[False],
    )


# ------------------------------------------------------------------ checks


def check_registration(cvr: str | None, country: str, problems: Problems) -> str | None:
    """A Danish contact's CVR must pass mod 11; a foreign EU VAT number is checked by its country's rule."""
    if not cvr:
        return cvr
    if country.upper() == "DK":
        check = validate_cvr(cvr)
        if not check.valid:
            problems.add("cvr", "cvr_checksum", f"{check.reason or 'not a CVR number'}")
        return check.number
    if cvr[:2].isalpha():
        vat = validate_eu_vat(cvr)
        if not vat.valid:
            problems.add("cvr", "eu_vat_format", f"not a valid EU VAT number: {vat.reason}")
        return vat.number
    return cvr


def check_zipcode(zipcode: str | None, country: str, problems: Problems) -> None:
    if zipcode and country.upper() == "DK" and not (zipcode.isdigit() and len(zipcode) == 4):
        problems.add("zipcode", "dk_zipcode", "Danish postal codes have 4 digits")


def contact_changes(args: ContactFields, registration: str | None) -> dict[str, Any]:
    """The Billy fields these arguments set (None: leave as it is; "" clears a text field)."""
    values: dict[str, Any] = {
        "phone": args.phone,
        "street": args.street,
        "zipcodeText": args.zipcode,
        "cityText": args.city,
        "registrationNo": registration,
        "ean": args.ean,
    }
    if args.payment_terms_days is not None:
        values["paymentTermsMode"] = "net"
        values["paymentTermsDays"] = args.payment_terms_days
    return {key: value for key, value in values.items() if value is not None}


# ------------------------------------------------------------------ handlers


async def fetch_contact(ctx: CallContext, contact_id: str, *, live: bool = False) -> dict[str, Any]:
    """The contact with its persons embedded; an unknown id is ``not_found`` on ``customer_id``."""
    contact = await get_or_not_found(
        ctx, "contacts", contact_id, field="customer_id", what="contact", include=WITH_PERSONS, live=live
    )
    ctx.touch(f"contact:{contact['id']}")
    return contact


async def get_contact(args: GetContactInput, ctx: CallContext) -> dict[str, Any]:
    contact = await fetch_contact(ctx, args.customer_id)
    return project(contact_summary(contact, contact.get("contactPersons", [])), args.fields)


def create_contact_handler(role: Role) -> Any:
    async def create_contact(args: CreateContactInput, ctx: CallContext) -> dict[str, Any]:
        problems = Problems()
        country = args.country.upper()
        registration = check_registration(args.cvr, country, problems)
        check_zipcode(args.zipcode, country, problems)
        problems.raise_if_any()
        await check_codes(ctx, "countries", [("country", country)], problems, what="country")
        problems.raise_if_any()
        record: dict[str, Any] = {
            "name": args.name,
            "type": args.type,
            "countryId": country,
            ROLE_FLAG[role]: True,
            **contact_changes(args, registration),
        }
        if args.email or args.contact_person_name:
            record["contactPersons"] = [
                {"name": args.contact_person_name or "", "email": args.email or "", "isPrimary": True}
            ]
        body = await ctx.billy.create("contacts", record, invalidates=CONTACT_READERS)
        contact = body["contacts"][0]
        ctx.touch(f"contact:{contact['id']}")
        return contact_summary(contact, body.get("contactPersons", []))

    return create_contact


@dataclass
class PersonPlan:
    """What update_customer will do to contact persons: edits by id, then additions."""

    edits: dict[str, dict[str, Any]] = field(default_factory=dict)
    additions: list[dict[str, Any]] = field(default_factory=list)


def _same_person(person: dict[str, Any], name: str, email: str) -> bool:
    return (person.get("name") or "").casefold() == name.casefold() and (
        person.get("email") or ""
    ).casefold() == email.casefold()


def plan_persons(args: UpdateContactInput, persons: list[dict[str, Any]], problems: Problems) -> PersonPlan:
    plan = PersonPlan()
    by_id = {str(person["id"]): person for person in persons}
    changes = list(args.contact_persons or [])
    if sum(1 for change in changes if change.is_primary) > 1:
        problems.add("contact_persons", "one_primary", "at most one person can be made primary")
    for index, change in enumerate(changes):
        where = f"contact_persons.{index}"
        wanted = {
            key: value
            for key, value in (
                ("name", change.name),
                ("email", change.email),
                ("isPrimary", change.is_primary),
            )
            if value is not None
        }
        if change.id is None:
            name, email = change.name or "", change.email or ""
            twin = next((person for person in persons if _same_person(person, name, email)), None)
            if not name and not email:
                problems.add(where, "name_or_email", "a new contact person needs a name or an e-mail")
            elif twin is not None:  # already there: adding it again would duplicate it
                _merge_edit(plan, twin, {"isPrimary": True} if change.is_primary else {})
            else:
                plan.additions.append({"name": name, "email": email, "isPrimary": bool(change.is_primary)})
            continue
        person = by_id.get(change.id)
        if person is None:
            problems.add(f"{where}.id", "not_a_person_of_this_contact", "no such person on this contact")
            continue
        merged = {**person, **wanted}
        if not (merged.get("name") or "").strip() and not (merged.get("email") or "").strip():
            problems.add(where, "name_or_email", "a contact person needs a name or an e-mail")
        _merge_edit(plan, person, wanted)
    if args.email is not None:
        _plan_primary_email(plan, persons, args.email, problems)
    _demote_other_primaries(plan, persons)
    return plan


def _merge_edit(plan: PersonPlan, person: dict[str, Any], wanted: dict[str, Any]) -> None:
    differing = {key: value for key, value in wanted.items() if person.get(key) != value}
    if differing:
        plan.edits.setdefault(str(person["id"]), {}).update(differing)


def _plan_primary_email(
    plan: PersonPlan, persons: list[dict[str, Any]], email: str, problems: Problems
) -> None:
    primary = next((person for person in persons if person.get("isPrimary")), None)
    if primary is None:
        if not email:
            return
        holder = next((p for p in persons if (p.get("email") or "").casefold() == email.casefold()), None)
        if holder is not None:
            _merge_edit(plan, holder, {"isPrimary": True})
        else:
            plan.additions.append({"name": "", "email": email, "isPrimary": True})
        return
    already = plan.edits.get(str(primary["id"]), {}).get("email")
    if already is not None and already != email:
        problems.add("email", "conflict", "contact_persons sets another e-mail for the primary person")
        return
    if not email and not (primary.get("name") or ""):
        problems.add(
            "email", "name_or_email", "the primary person has no name, so its e-mail cannot be cleared"
        )
        return
    _merge_edit(plan, primary, {"email": email})


def _demote_other_primaries(plan: PersonPlan, persons: list[dict[str, Any]]) -> None:
    promoted = {pid for pid, edit in plan.edits.items() if edit.get("isPrimary")}
    if any(addition["isPrimary"] for addition in plan.additions):
        promoted.add("")
    if not promoted:
        return
    for person in persons:
        pid = str(person["id"])
        if person.get("isPrimary") and pid not in promoted:
            _merge_edit(plan, person, {"isPrimary": False})


async def update_contact(args: UpdateContactInput, ctx: CallContext) -> dict[str, Any]:
    contact = await fetch_contact(ctx, args.customer_id, live=True)
    persons: list[dict[str, Any]] = list(contact.get("contactPersons", []))
    problems = Problems()
    country = (args.country or contact.get("countryId") or "DK").upper()
    registration = check_registration(args.cvr, country, problems)
    check_zipcode(args.zipcode, country, problems)
    wanted = contact_changes(args, registration)
    for key, value in (("name", args.name), ("type", args.type), ("isArchived", args.archived)):
        if value is not None:
            wanted[key] = value
    if args.country is not None:
        wanted["countryId"] = country
    plan = plan_persons(args, persons, problems)
    problems.raise_if_any()
    if args.country is not None:
        await check_codes(ctx, "countries", [("country", country)], problems, what="country")
        problems.raise_if_any()
    changes = {key: value for key, value in wanted.items() if contact.get(key) != value}
    applied = await apply_update(ctx, contact["id"], changes, plan)
    fresh = await ctx.billy.get_record("contacts", contact["id"], include=WITH_PERSONS)
    return {**contact_summary(fresh, fresh.get("contactPersons", [])), "changed": applied}


async def apply_update(
    ctx: CallContext, contact_id: str, changes: dict[str, Any], plan: PersonPlan
) -> list[str]:
    """Contact fields, then person edits, then new persons; a failure says what was already done."""
    applied: list[str] = []
    try:
        if changes:
            await ctx.billy.update("contacts", contact_id, changes, invalidates=CONTACT_READERS)
            applied += sorted(changes)
        for person_id, edit in plan.edits.items():
            await ctx.billy.update("contactPersons", person_id, edit, invalidates=("contacts",))
            applied.append(f"contact_person:{person_id}")
        for addition in plan.additions:
            body = await ctx.billy.create(
                "contactPersons", {"contactId": contact_id, **addition}, invalidates=("contacts",)
            )
            applied.append(f"contact_person:{body['contactPersons'][0]['id']} (added)")
    except ToolError as exc:
        note_partial_failure(exc, applied, "get_customer")
        raise
    return applied


class ListSuppliersInput(ListCustomersInput):
    include_archived: bool = Field(False, description="Also list archived suppliers", examples=[False])


# ------------------------------------------------------------------ tools

GET_CUSTOMER = Tool(
    name="get_customer",
    title="Get a customer",
    description=(
        "One customer (or supplier) with address, CVR, EAN, phone and all contact persons with their "
        "e-mails. Use list_customers or list_suppliers first to find the id."
    ),
    input_model=GetContactInput,
    output_model=ContactOutput,
    handler=get_contact,
    idempotent=True,
)


def create_tool(role: Role, description: str) -> Tool:
    return Tool(
        name=f"create_{role}",
        title=f"Create a {role}",
        description=description,
        input_model=CreateContactInput,
        output_model=ContactOutput,
        handler=create_contact_handler(role),
        read_only=False,
        creates="contacts",
    )


CREATE_CUSTOMER = create_tool(
    "customer",
    "Create a customer in Billy. CVR (Danish contacts, mod 11) and EAN (GS1) are checked first; "
    "the phone goes on the contact and the e-mail on a primary contact person. Safe to retry with "
    "the same idempotency_key. Search with list_customers first to avoid duplicates.",
)

CREATE_SUPPLIER = create_tool(
    "supplier",
    "Create a supplier (a contact you receive bills from). Same checks as create_customer: CVR for "
    "Danish suppliers, EU VAT number for foreign ones, EAN. Safe to retry with the same idempotency_key.",
)

UPDATE_CUSTOMER = Tool(
    name="update_customer",
    title="Update a customer",
    description=(
        "Change a customer's (or supplier's) name, address, phone, CVR, EAN, payment terms or archive "
        "flag, and add or edit contact persons. Only the fields you pass change; existing contact "
        "persons are always kept. Repeating the same call changes nothing more."
    ),
    input_model=UpdateContactInput,
    output_model=UpdatedContactOutput,
    handler=update_contact,
    read_only=False,
    idempotent=True,
)

LIST_SUPPLIERS = Tool(
    name="list_suppliers",
    title="List or search suppliers",
    description=(
        "Find suppliers by part of their name, CVR number, phone number, or a contact person's name or "
        "e-mail; searches every page. Without search, lists all suppliers by name. Returns "
        "{items, total, has_more, next_offset}."
    ),
    input_model=ListSuppliersInput,
    output_model=ListOutput,
    handler=role_lister("isSupplier"),
    idempotent=True,
)


def tools(kernel: Any) -> list[Tool]:
    return [GET_CUSTOMER, CREATE_CUSTOMER, UPDATE_CUSTOMER, LIST_SUPPLIERS, CREATE_SUPPLIER]
