"""Reference data every sandbox has: the organization, its user, currencies, countries, the Danish chart
of accounts, VAT rates and sales-tax rulesets, and one daybook."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billy_sandbox.checksums import cvr_check_digit
from billy_sandbox.demo.loader import insert
from billy_sandbox.schema import Record
from billy_sandbox.store import Store

ORG_CVR_PREFIX = "3914872"
ORG_NAME = "Fjordlys Kaffeteknik ApS"

CURRENCIES = {
    "DKK": ("Danish krone", "1"),
    "EUR": ("Euro", "7.46"),
    "USD": ("US dollar", "6.85"),
    "SEK": ("Swedish krona", "0.64"),
    "NOK": ("Norwegian krone", "0.63"),
    "GBP": ("British pound", "8.70"),
    "CHF": ("Swiss franc", "7.95"),
    "PLN": ("Polish zloty", "1.74"),
}
EU = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus", "CZ": "Czech Republic",
    "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "FR": "France", "DE": "Germany", "GR": "Greece",
    "HU": "Hungary", "IE": "Ireland", "IT": "Italy", "LV": "Latvia", "LT": "Lithuania", "LU": "Luxembourg",
    "MT": "Malta", "NL": "Netherlands", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SK": "Slovakia",
    "SI": "Slovenia", "ES": "Spain", "SE": "Sweden",
}  # fmt: skip
NON_EU = {
    "NO": "Norway", "IS": "Iceland", "CH": "Switzerland", "GB": "United Kingdom", "US": "United States",
    "CA": "Canada", "AU": "Australia", "JP": "Japan", "CN": "China", "FO": "Faroe Islands", "GL": "Greenland",
}  # fmt: skip
LOCALES = {
    "da_DK": "Dansk",
    "en_US": "English",
    "fr_FR": "Français",
    "nl_NL": "Nederlands",
    "de_DE": "Deutsch",
}
CITIES = (
    "København",
    "Aarhus",
    "Odense",
    "Aalborg",
    "Esbjerg",
    "Vejle",
    "Randers",
    "Horsens",
    "Kolding",
    "Roskilde",
)
NATURES = {
    "asset": "Aktiver",
    "liability": "Passiver",
    "equity": "Egenkapital",
    "revenue": "Indtægter",
    "expense": "Udgifter",
}
GROUPS = (
    (1100, "Omsætning", "revenue"),
    (1200, "Direkte omkostninger", "expense"),
    (1600, "Lokaleomkostninger", "expense"),
    (1700, "Administrationsomkostninger", "expense"),
    (2000, "Personaleomkostninger", "expense"),
    (2200, "Finansielle poster", "expense"),
    (5100, "Anlægsaktiver", "asset"),
    (5600, "Omsætningsaktiver", "asset"),
    (5700, "Likvide beholdninger", "asset"),
    (7100, "Egenkapital", "equity"),
    (7200, "Skyldig moms", "liability"),
    (7300, "Kortfristet gæld", "liability"),
)
# (accountNo, name, group, systemRole, tax rate tag, payment-enabled, bank account, currency)
ACCOUNTS: tuple[tuple[int, str, int, str | None, str | None, bool, bool, str], ...] = (
    (1110, "Salg", 1100, None, "dk_sales_25", False, False, "DKK"),
    (1115, "Salg af fragt", 1100, None, "dk_sales_25", False, False, "DKK"),
    (1120, "Salg af varer uden for EU", 1100, None, "export", False, False, "DKK"),
    (1130, "Salg af ydelser uden for EU", 1100, None, "export", False, False, "DKK"),
    (1140, "Salg af varer til EU", 1100, None, "eu_sales_goods", False, False, "DKK"),
    (1150, "Salg af ydelser til EU", 1100, None, "eu_sales_services", False, False, "DKK"),
    (1210, "Vareindkøb", 1200, None, "dk_purchase_25", False, False, "DKK"),
    (1220, "Varekøb i EU", 1200, None, "eu_purchase_goods", False, False, "DKK"),
    (1230, "Ydelseskøb i EU", 1200, None, "eu_purchase_services", False, False, "DKK"),
    (1240, "Fremmed arbejde", 1200, None, "dk_purchase_25", False, False, "DKK"),
    (1310, "Fragt", 1200, None, "dk_purchase_25", False, False, "DKK"),
    (1610, "Husleje", 1600, None, "purchase_exempt", False, False, "DKK"),
    (1620, "El, vand og varme", 1600, None, "dk_purchase_25", False, False, "DKK"),
    (1710, "Kontorartikler", 1700, None, "dk_purchase_25", False, False, "DKK"),
    (1720, "Telefon og internet", 1700, None, "dk_purchase_25", False, False, "DKK"),
    (1730, "IT og software", 1700, None, "dk_purchase_25", False, False, "DKK"),
    (1740, "Revisor og advokat", 1700, None, "dk_purchase_25", False, False, "DKK"),
    (1750, "Forsikringer", 1700, None, "purchase_exempt", False, False, "DKK"),
    (1760, "Reklame og markedsføring", 1700, None, "dk_purchase_25", False, False, "DKK"),
    (1770, "Rejser og transport", 1700, None, "dk_purchase_25", False, False, "DKK"),
    (2010, "Lønninger", 2000, None, None, False, False, "DKK"),
    (2210, "Valutakursdifferencer", 2200, "realizedCurrencyDifference", None, False, False, "DKK"),
    (2220, "Rykkergebyrer", 2200, "lateFeesRevenue", None, False, False, "DKK"),
    (2230, "Bankgebyrer", 2200, None, None, False, False, "DKK"),
    (2240, "Renteudgifter", 2200, None, None, False, False, "DKK"),
    (5110, "Inventar og udstyr", 5100, None, "dk_purchase_25", False, False, "DKK"),
    (5610, "Varelager", 5600, None, None, False, False, "DKK"),
    (5710, "Bank", 5700, None, None, True, True, "DKK"),
    (5720, "Bank EUR", 5700, None, None, True, True, "EUR"),
    (5730, "Kasse", 5700, None, None, True, False, "DKK"),
    (5810, "Tilgodehavender fra salg", 5600, "accountsReceivable", None, False, False, "DKK"),
    (5820, "Forudbetalte omkostninger", 5600, "prepaymentAsset", None, False, False, "DKK"),
    (7110, "Årets resultat", 7100, "currentEarnings", None, False, False, "DKK"),
    (7120, "Overført resultat", 7100, "retainedEarnings", None, False, False, "DKK"),
    (
        7150,
        "Urealiserede valutakursdifferencer",
        7100,
        "unrealizedCurrencyDifference",
        None,
        False,
        False,
        "DKK",
    ),
    (7210, "Afregnet moms", 7200, "salesTaxPayable", None, False, False, "DKK"),
    (7220, "Købsmoms", 7200, None, None, False, False, "DKK"),
    (7230, "Moms af varekøb i udlandet", 7200, None, None, False, False, "DKK"),
    (7240, "Moms af ydelseskøb i udlandet", 7200, None, None, False, False, "DKK"),
    (7250, "Salgsmoms", 7200, "salesTax", None, False, False, "DKK"),
    (7310, "Forudbetalinger fra kunder", 7300, "prepaymentLiability", None, False, False, "DKK"),
    (7320, "Leverandørgæld", 7300, "accountsPayable", None, False, False, "DKK"),
    (7330, "Skyldig løn", 7300, None, None, False, False, "DKK"),
)
# (predefinedTag, name, abbreviation, rate, sales, purchases, netAmountMetaField, reverse charge)
TAX_RATES: tuple[tuple[str, str, str, str, bool, bool, str | None, bool], ...] = (
    ("dk_sales_25", "Salgsmoms 25%", "U25", "0.25", True, False, None, False),
    ("dk_purchase_25", "Købsmoms 25%", "I25", "0.25", False, True, None, False),
    ("eu_sales_goods", "EU-salg af varer, momsfri (rubrik B varer)", "EUV", "0", True, False, "rubrikBGoods", False),
    ("eu_sales_services", "EU-salg af ydelser, omvendt betalingspligt (rubrik B ydelser)", "EUY", "0", True, False, "rubrikBServices", False),
    ("export", "Eksport uden for EU, momsfri (rubrik C)", "EXP", "0", True, False, "rubrikC", False),
    ("eu_purchase_goods", "EU-køb af varer, omvendt betalingspligt 25% (rubrik A varer)", "EUKV", "0.25", False, True, "rubrikAGoods", True),
    ("eu_purchase_services", "EU-køb af ydelser, omvendt betalingspligt 25% (rubrik A ydelser)", "EUKY", "0.25", False, True, "rubrikAServices", True),
    ("purchase_exempt", "Momsfrit køb", "I0", "0", False, True, None, False),
)  # fmt: skip
# ruleset abbreviation -> (name, EU business rate tag); DK and EU consumers pay Danish VAT, the rest is export
RULESETS = {"VAR": ("Varer", "eu_sales_goods"), "YDE": ("Ydelser", "eu_sales_services")}


def org_cvr() -> str:
    check = cvr_check_digit(ORG_CVR_PREFIX)
    assert check is not None
    return f"{ORG_CVR_PREFIX}{check}"


def _reference_tables(store: Store) -> None:
    for code, (name, rate) in CURRENCIES.items():
        insert(store, "currency", code, name=name, exchangeRate=Decimal(rate))
    for code, name in {**EU, **NON_EU}.items():
        insert(
            store,
            "country",
            code,
            name=name,
            icon=f"/flags/{code.lower()}.png",
            locale="da_DK" if code == "DK" else "en_US",
        )
    insert(store, "countryGroup", "eu", name="EU", icon="/flags/eu.png", memberCountryIds=sorted(EU))
    for code, name in LOCALES.items():
        insert(store, "locale", code, name=name, icon=f"/flags/{code[-2:].lower()}.png")
    for name in CITIES:
        slug = name.lower().replace("ø", "o").replace("å", "aa").replace("æ", "ae")
        insert(store, "city", f"dk_{slug}", name=name, county="", countryId="DK")
    for code, name in NATURES.items():
        insert(store, "accountNature", code, name=name)


def _tax(store: Store, org_id: str) -> dict[str, Record]:
    rates: dict[str, Record] = {}
    for priority, (tag, name, abbr, rate, sales, purchases, box, reverse) in enumerate(TAX_RATES):
        rates[tag] = insert(
            store, "taxRate", organizationId=org_id, name=name, abbreviation=abbr, description=name,
            rate=Decimal(rate), appliesToSales=sales, appliesToPurchases=purchases, isPredefined=True,
            isActive=True, predefinedTag=tag, netAmountMetaField=box, isReverseCharge=reverse, priority=priority,
        )  # fmt: skip
    return rates


def _rulesets(store: Store, org_id: str, rates: dict[str, Record]) -> dict[str, Record]:
    rulesets: dict[str, Record] = {}
    for abbr, (name, eu_tag) in RULESETS.items():
        ruleset = insert(
            store, "salesTaxRuleset", organizationId=org_id, name=name, abbreviation=abbr,
            description=f"{name}: DK and EU consumers 25%, EU businesses {eu_tag}, outside the EU export",
            fallbackTaxRateId=rates["export"]["id"], isPredefined=True,
        )  # fmt: skip
        rules = (
            ("DK", None, None, "dk_sales_25"),
            (None, "eu", "company", eu_tag),
            (None, "eu", "person", "dk_sales_25"),
        )
        for priority, (country, group, contact_type, tag) in enumerate(rules, start=1):
            insert(
                store, "salesTaxRule", rulesetId=ruleset["id"], countryId=country, countryGroupId=group,
                contactType=contact_type, taxRateId=rates[tag]["id"], priority=priority,
            )  # fmt: skip
        rulesets[abbr] = ruleset
    return rulesets


def _accounts(store: Store, org_id: str, rates: dict[str, Record]) -> dict[int, Record]:
    groups = {
        number: insert(
            store,
            "accountGroup",
            organizationId=org_id,
            name=name,
            accountNo=number,
            type="group",
            natureId=nature,
            priority=i,
        )
        for i, (number, name, nature) in enumerate(GROUPS)
    }
    accounts: dict[int, Record] = {}
    for number, name, group, role, tag, payment, bank, currency in ACCOUNTS:
        accounts[number] = insert(
            store, "account", organizationId=org_id, name=name, accountNo=number, description="",
            groupId=groups[group]["id"], natureId=groups[group]["natureId"], systemRole=role,
            currencyId=currency, taxRateId=rates[tag]["id"] if tag else None,
            isPaymentEnabled=payment, isBankAccount=bank, isArchived=False,
        )  # fmt: skip
    return accounts


def seed_reference(store: Store, today: dt.date) -> str:
    """Insert the organization and all reference data; returns the organization id."""
    _reference_tables(store)
    user = insert(
        store, "user", createdTime="2019-01-02T09:00:00", name="Demo Ejer", email="ejer@fjordlys-kaffeteknik.dk",
        phone="", isAdmin=True,
    )  # fmt: skip
    org_id = store.ids.new()
    rates = _tax(store, org_id)
    rulesets = _rulesets(store, org_id, rates)
    accounts = _accounts(store, org_id, rates)
    insert(
        store, "organization", org_id, ownerUserId=user["id"], createdTime="2019-01-02T09:00:00", name=ORG_NAME,
        url=f"https://app.billy.dk/{org_id}", street="Jægergårdsgade 42", zipcode="8000", city="Aarhus C",
        countryId="DK", phone="86 12 34 00", email="kontakt@fjordlys-kaffeteknik.dk", registrationNo=org_cvr(),
        baseCurrencyId="DKK", fiscalYearEndMonth=12, firstFiscalYearStart="2019-01-01",
        firstFiscalYearEnd="2019-12-31", localeId="da_DK", billEmailAddress=f"{org_id.lower()}@bills.billy.dk",
        emailAttachmentDeliveryMode="link", hasVat=True, salesTaxPeriod="quarter", invoiceNoMode="sequential",
        nextInvoiceNo=1, paymentTermsMode="net", paymentTermsDays=8, defaultTaxMode="excl",
        defaultSalesAccountId=accounts[1110]["id"], defaultSalesTaxRulesetId=rulesets["VAR"]["id"],
        defaultBankFeeAccountId=accounts[2230]["id"], defaultBillBankAccountId=accounts[5710]["id"],
        defaultInvoiceBankAccountId=accounts[5710]["id"], region="dk", subscriptionPeriod="yearly",
    )  # fmt: skip
    insert(
        store,
        "daybook",
        organizationId=org_id,
        name="Kassekladde",
        defaultContraAccountId=accounts[5710]["id"],
    )
    return org_id
