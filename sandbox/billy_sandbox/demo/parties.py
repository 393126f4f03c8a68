"""The demo's customers, suppliers and products, inserted directly (they have no derived fields)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billy_sandbox.amounts import round2
from billy_sandbox.checksums import cvr_check_digit, gs1_check_digit
from billy_sandbox.demo import catalogue as cat
from billy_sandbox.demo.loader import insert
from billy_sandbox.demo.personal import PersonalData, slug
from billy_sandbox.schema import Record
from billy_sandbox.store import Store

EUR_RATE = Decimal("7.46")


@dataclass
class Party:
    record: Record
    segment: str
    payer: str = "normal"
    currency: str = "DKK"
    weight: float = 1.0
    persons: list[Record] = field(default_factory=list)


class PartyMaker:
    def __init__(
        self, store: Store, org_id: str, rng: random.Random, personal: PersonalData, since: dt.date
    ) -> None:
        self.store = store
        self.org_id = org_id
        self.rng = rng
        self.personal = personal
        self.since = since
        self.used_cvr: set[str] = set()
        self.used_names: set[str] = set()

    def cvr(self) -> str:
        while True:
            first = str(self.rng.randint(1_000_000, 4_499_999))
            check = cvr_check_digit(first)
            if check is not None and first + str(check) not in self.used_cvr:
                self.used_cvr.add(first + str(check))
                return first + str(check)

    def ean(self) -> str:
        data = "5798" + "".join(self.rng.choice("0123456789") for _ in range(8))
        return data + str(gs1_check_digit(data))

    def vat_number(self, pattern: str) -> str:
        return "".join(self.rng.choice("0123456789") if c == "9" else c for c in pattern)

    def created(self) -> str:
        day = self.since - dt.timedelta(days=self.rng.randint(1, 400))
        return f"{day.isoformat()}T{self.rng.randint(8, 16):02d}:{self.rng.randint(0, 59):02d}:00"

    def person_name(self) -> str:
        return f"{self.rng.choice(cat.FIRST_NAMES)} {self.rng.choice(cat.LAST_NAMES)}"

    def contact(self, **fields: Any) -> Record:
        base: dict[str, Any] = {
            "organizationId": self.org_id,
            "createdTime": self.created(),
            "isCustomer": True,
        }
        return insert(self.store, "contact", None, **{**base, **fields})

    def contact_person(self, contact: Record, name: str, email: str, primary: bool = True) -> Record:
        return insert(
            self.store, "contactPerson", contactId=contact["id"], isPrimary=primary, name=name, email=email
        )

    def dk_address(self) -> dict[str, object]:
        zipcode, city, city_id = self.rng.choice(cat.DK_CITIES)
        street = f"{self.rng.choice(cat.STREETS)} {self.rng.randint(1, 140)}"
        return {
            "countryId": "DK",
            "street": street,
            "zipcodeText": zipcode,
            "cityText": city,
            "cityId": city_id,
        }


def _company_name(maker: PartyMaker) -> tuple[str, str]:
    while True:
        kind, segment = maker.rng.choice(cat.BUSINESS_KINDS)
        name = f"{kind} {maker.rng.choice(cat.PLACE_NAMES)} {maker.rng.choice(cat.LEGAL_FORMS)}"
        if name not in maker.used_names:
            maker.used_names.add(name)
            return name, segment


def _payer(rng: random.Random) -> str:
    return rng.choices([p[0] for p in cat.PAYERS], weights=[p[1] for p in cat.PAYERS])[0]


def dk_companies(maker: PartyMaker, count: int) -> list[Party]:
    parties = []
    for index in range(count):
        name, segment = _company_name(maker)
        record = maker.contact(
            type="company", name=name, registrationNo=maker.cvr(), phone=f"{maker.rng.randint(70, 99)} {maker.rng.randint(10, 99)} {maker.rng.randint(10, 99)} {maker.rng.randint(10, 99)}",
            contactNo=f"K{1000 + index}", **maker.dk_address(),
        )  # fmt: skip
        person = maker.person_name()
        domain = slug(name.rsplit(" ", 1)[0].replace(" ", "-")) + ".dk"
        label = f"{person} (mobil {maker.personal.phone(grouped=True)})" if index % 9 == 4 else person
        email = maker.personal.email(slug(person.split()[0]), domain)
        party = Party(record, segment, _payer(maker.rng), weight=maker.rng.uniform(0.5, 3.0))
        party.persons.append(maker.contact_person(record, label, email))
        parties.append(party)
    return parties


def dk_persons(maker: PartyMaker, count: int) -> list[Party]:
    parties = []
    for index in range(count):
        name = maker.person_name()
        phone = maker.personal.phone(grouped=index % 2 == 0)
        record = maker.contact(type="person", name=name, phone=phone, **maker.dk_address())
        local = slug(name.replace(" ", ".")) + str(maker.rng.randint(60, 99))
        email = maker.personal.email(local, "example.dk")
        party = Party(record, "person", _payer(maker.rng), weight=maker.rng.uniform(0.1, 0.4))
        party.persons.append(maker.contact_person(record, name, email))
        parties.append(party)
    return parties


def public_bodies(maker: PartyMaker) -> list[Party]:
    parties = []
    for name in cat.PUBLIC_BODIES:
        record = maker.contact(
            type="company", name=name, registrationNo=maker.cvr(), ean=maker.ean(), paymentTermsMode="net",
            paymentTermsDays=30, **maker.dk_address(),
        )  # fmt: skip
        person = maker.person_name()
        email = maker.personal.email(slug(person.replace(" ", ".")), "kommune.example.dk")
        party = Party(record, "public", "normal", weight=maker.rng.uniform(1.0, 2.0))
        party.persons.append(maker.contact_person(record, person, email))
        parties.append(party)
    return parties


def eu_businesses(maker: PartyMaker) -> list[Party]:
    parties = []
    for country, name, city, street, pattern in cat.EU_CUSTOMERS:
        record = maker.contact(
            type="company", name=name, countryId=country, cityText=city, street=street,
            registrationNo=maker.vat_number(pattern), currencyId="EUR", localeId="en_US",
            paymentTermsMode="net", paymentTermsDays=30,
        )  # fmt: skip
        domain = slug("-".join(name.split()[:2])) + ".example." + country.lower()
        party = Party(record, "eu", _payer(maker.rng), "EUR", maker.rng.uniform(0.5, 1.5))
        party.persons.append(
            maker.contact_person(record, maker.person_name(), maker.personal.email("orders", domain))
        )
        parties.append(party)
    return parties


def export_customers(maker: PartyMaker) -> list[Party]:
    parties = []
    for country, name, city, street in cat.EXPORT_CUSTOMERS:
        record = maker.contact(
            type="company", name=name, countryId=country, cityText=city, street=street, currencyId="EUR",
            localeId="en_US", paymentTermsMode="netEndOfMonth", paymentTermsDays=30,
        )  # fmt: skip
        domain = slug("-".join(name.split()[:2])) + ".example.com"
        party = Party(record, "export", _payer(maker.rng), "EUR", maker.rng.uniform(0.5, 1.5))
        party.persons.append(
            maker.contact_person(record, maker.person_name(), maker.personal.email("purchasing", domain))
        )
        parties.append(party)
    return parties


def suppliers(maker: PartyMaker) -> dict[str, Party]:
    found: dict[str, Party] = {}
    for key, country, name, city, pattern, days in cat.SUPPLIERS:
        record = maker.contact(
            type="company", name=name, countryId=country, cityText=city, isCustomer=False, isSupplier=True,
            registrationNo=maker.vat_number(pattern) if pattern else maker.cvr(), paymentTermsMode="net",
            paymentTermsDays=days, currencyId="DKK" if country == "DK" else "EUR",
        )  # fmt: skip
        found[key] = Party(record, "supplier", currency="DKK" if country == "DK" else "EUR")
    return found


def products(
    maker: PartyMaker, accounts: dict[int, Record], rulesets: dict[str, Record]
) -> dict[str, Record]:
    found: dict[str, Record] = {}
    for name, number, price, ruleset, account in cat.PRODUCTS:
        record = insert(
            maker.store, "product", organizationId=maker.org_id, createdTime=maker.created(), name=name,
            productNo=number, accountId=accounts[account]["id"], salesTaxRulesetId=rulesets[ruleset]["id"],
            unit="pieces" if ruleset == "VAR" else "hours",
        )  # fmt: skip
        for currency, amount in (("DKK", Decimal(price)), ("EUR", round2(Decimal(price) / EUR_RATE))):
            insert(maker.store, "productPrice", productId=record["id"], unitPrice=amount, currencyId=currency)
        found[number] = record
    return found
