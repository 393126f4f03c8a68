"""Contacts (customers and suppliers) and their contact persons."""

from __future__ import annotations

import hashlib

from billy_sandbox.checksums import ean_valid
from billy_sandbox.errors import invalid
from billy_sandbox.registry import register
from billy_sandbox.resources.reference import PAYMENT_TERMS
from billy_sandbox.schema import CREATED, ORG, B, Child, E, Hooks, I, Id, Record, Resource, S, T
from billy_sandbox.store import Tx


class ContactHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        ean = record.get("ean")
        if ean and not ean_valid(ean):
            raise invalid(
                "EAN must be 13 digits with a valid GS1 check digit.",
                {"ean": "is not a valid EAN"},
                "contact",
            )
        if record.get("paymentTermsDays") is not None and record["paymentTermsDays"] < 0:
            raise invalid(
                "paymentTermsDays must not be negative.", {"paymentTermsDays": "negative"}, "contact"
            )
        if old is None and not record.get("accessCode"):
            record["accessCode"] = hashlib.blake2b(record["id"].encode(), digest_size=8).hexdigest()

    def check_delete(self, tx: Tx, record: Record) -> None:
        for name in ("invoice", "bill", "bankPayment"):
            if tx.find(name, "contactId", record["id"]):
                raise invalid(
                    f"The contact has {name}s and cannot be deleted; archive it with isArchived instead.",
                    {"id": f"has {name}s"},
                    "contact",
                )


register(
    Resource(
        "contact",
        "contacts",
        (
            ORG,
            E("type", "company", "person", default="company", nullable=False),
            CREATED,
            S("name", required=True, nullable=False),
            Id("countryId", "country", required=True),
            T("street"),
            Id("cityId", "city"),
            T("cityText"),
            S("stateId"),
            T("stateText"),
            S("zipcodeId"),
            T("zipcodeText"),
            T("contactNo"),
            T("phone"),
            T("fax"),
            Id("currencyId", "currency"),
            T("registrationNo"),
            T("ean"),
            Id("localeId", "locale"),
            B("isCustomer", index=True),
            B("isSupplier", index=True),
            E("paymentTermsMode", *PAYMENT_TERMS),
            I("paymentTermsDays"),
            S("accessCode", readonly=True),
            E("emailAttachmentDeliveryMode", "link", "linkAndAttachment", "attachment"),
            B("isArchived"),
            B("isSalesTaxExempt"),
        ),
        children=(Child("contactPersons", "contactPerson", "contactId"),),
        hooks=ContactHooks(),
        search=("name", "registrationNo", "contactNo", "phone"),
    )
)


class ContactPersonHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        if not (record.get("name") or "").strip() and not (record.get("email") or "").strip():
            raise invalid(
                "Either name or email must be set.", {"name": "name or email is required"}, "contactPerson"
            )
        email = record.get("email") or ""
        if email and ("@" not in email or " " in email.strip()):
            raise invalid(
                "The e-mail address is not valid.",
                {"email": "is not a valid e-mail address"},
                "contactPerson",
            )


register(
    Resource(
        "contactPerson",
        "contactPersons",
        (
            Id("contactId", "contact", required=True, immutable=True),
            B("isPrimary"),
            T("name"),
            T("email"),
        ),
        hooks=ContactPersonHooks(),
        has_org=False,
        parent=("contact", "contactId"),
        search=("name", "email"),
    )
)
