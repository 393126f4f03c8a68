"""check_invoice_compliance against momsbekendtgørelsen kap. 12 and the public-sector rules.

The invoices are created in May 2023, a month the demo leaves empty, for customers made for the
test (the demo's customers all have addresses, and its EU VAT numbers are random digits that fail
their country's check digit, so no demo EU invoice passes; see docs/compliance.md).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billy_core.domain.compliance import buyer_vat_number, local_date, looks_public
from tests.compliance.conftest import Billy, error_fields

pytestmark = pytest.mark.anyio

VALID_DE_VAT = "DE813659211"  # check digit by ISO 7064 mod 11,10 (the German rule)
VALID_CVR = "13748136"  # Erhvervsstyrelsen's worked example (danish-rules.md A4)


def contact(billy: Billy, name: str, country: str, **fields: Any) -> str:
    record = {"name": name, "countryId": country, "type": "company", "isCustomer": True, **fields}
    return str(billy.create("contacts", "contact", record)["id"])


def sale(
    billy: Billy,
    contact_id: str,
    product: str,
    quantity: str,
    price: str,
    *,
    draft: bool = False,
    **extra: Any,
) -> str:
    record = {
        "contactId": contact_id,
        "entryDate": "2023-05-10",
        "currencyId": "DKK",
        "taxMode": "excl",
        "lines": [
            {
                "productId": billy.by_name("products", product),
                "quantity": Decimal(quantity),
                "unitPrice": Decimal(price),
            }
        ],
        **extra,
    }
    created = billy.create("invoices", "invoice", record)
    if not draft:
        billy.approve("invoices", "invoice", created["id"])
    return str(created["id"])


@pytest.fixture(scope="module")
def invoices(billy: Billy) -> dict[str, str]:
    street = {"street": "Hauptstraße 1", "zipcodeText": "10115", "cityText": "Berlin"}
    eur = {"currencyId": "EUR", "exchangeRate": Decimal("7.4537")}
    no_address = contact(billy, "Café Uden Adresse ApS", "DK", registrationNo=VALID_CVR)
    eu_without_vat_number = contact(billy, "Rösterei Ohne USt GmbH", "DE", **street)
    eu_complete = contact(billy, "Kaffeehaus Gültig GmbH", "DE", registrationNo=VALID_DE_VAT, **street)
    municipality = contact(
        billy, "Odder Kommune – Rådhuset", "DK", street="Rådhusgade 3", zipcodeText="8300", cityText="Odder"
    )
    small_customer = contact(billy, "Kiosken uden adresse", "DK", type="person")
    return {
        # 1 x 18,995.00 + 25 % = 23,743.75 kr. incl. VAT: a full invoice, so the address is required
        "no_address": sale(billy, no_address, "Espressomaskine Classic", "1", "18995.00"),
        "eu_without_vat_number": sale(billy, eu_without_vat_number, "Kaffekværn K30", "2", "1138.74", **eur),
        "eu_complete": sale(
            billy,
            eu_complete,
            "Kaffekværn K30",
            "2",
            "1138.74",
            contactMessage="Leveret 08.05.2023. Momsfri EU-levering, jf. momslovens § 34.",
            **eur,
        ),
        "domestic_complete": sale(
            billy,
            billy.by_name("contacts", "Kaffebaren Møllen ApS"),
            "Kaffebønner Husets Blend 1 kg",
            "20",
            "189.00",
            contactMessage="Leveringsdato: 09.05.2023",
        ),
        "municipality": sale(billy, municipality, "Kaffebønner Husets Blend 1 kg", "30", "189.00"),
        # 1 x 1,495.00 + 25 % = 1,868.75 kr.: at most 3,000 kr., so a simplified invoice will do
        "simplified": sale(billy, small_customer, "Mælkeskummer", "1", "1495.00"),
        "draft": sale(billy, no_address, "Espressomaskine Classic", "1", "18995.00", draft=True),
    }


def statuses(result: dict[str, Any]) -> dict[str, str]:
    return {check["rule"]: check["status"] for check in result["checks"]}


async def check(tools: Any, *invoice_ids: str) -> list[dict[str, Any]]:
    """check_invoice_compliance for each invoice, through one MCP client."""
    async with tools() as call:
        return [
            await call.ok("check_invoice_compliance", {"invoice_id": invoice_id})
            for invoice_id in invoice_ids
        ]


async def test_a_missing_buyer_address_is_flagged_with_its_rule(tools, invoices):
    [result] = await check(tools, invoices["no_address"])
    assert not result["compliant"] and not result["simplified_invoice_allowed"]
    assert [item["rule"] for item in result["missing"]] == ["buyer_name_address"]
    missing = result["missing"][0]
    assert missing["source"] == "Momsbekendtgørelsen (BEK nr. 1435 af 29/11/2023) § 58, stk. 1, nr. 4"
    assert missing["detail"] == "Café Uden Adresse ApS has no street, postcode, city in Billy"
    assert result["total_text"] == "23.743,75 kr."
    assert result["entry_date_text"] == "10.05.2023"
    assert result["vat_by_rate"] == [
        {
            "tax_rate": "Salgsmoms 25%",
            "percent": "25",
            "net": "18995.00",
            "vat": "4748.75",
            "net_text": "18.995,00 kr.",
            "vat_text": "4.748,75 kr.",
        }
    ]
    assert "buyer_name_address" in result["summary"]


async def test_an_eu_sale_without_the_buyers_vat_number_is_flagged(tools, invoices):
    [result] = await check(tools, invoices["eu_without_vat_number"])
    assert [item["rule"] for item in result["missing"]] == ["eu_buyer_vat_number"]
    assert (
        result["missing"][0]["detail"] == "Rösterei Ohne USt GmbH has no VAT number in Billy (registrationNo)"
    )
    assert "§ 62" in result["missing"][0]["source"]
    # The 0 % rate's name carries the exemption wording ("momsfri").
    assert statuses(result)["eu_exemption_wording"] == "passed"
    assert result["total_text"] == "2.277,48 EUR"


async def test_a_complete_eu_sale_passes(tools, invoices):
    [result] = await check(tools, invoices["eu_complete"])
    assert result["compliant"] and result["missing"] == [] and result["to_check"] == []
    assert statuses(result)["eu_buyer_vat_number"] == "passed"
    assert statuses(result)["delivery_date"] == "passed"
    assert result["summary"].endswith("meets the requirements Billy's data can show.")


async def test_a_complete_domestic_invoice_passes(tools, invoices):
    [result] = await check(tools, invoices["domestic_complete"])
    assert result["compliant"] and result["missing"] == [] and result["to_check"] == []
    assert statuses(result) == {
        "issue_date": "passed",
        "sequential_number": "passed",
        "seller_vat_number": "passed",
        "seller_name_address": "passed",
        "buyer_name_address": "passed",
        "description_and_quantity": "passed",
        "delivery_date": "passed",
        "unit_price_excl_vat": "passed",
        "vat_rate": "passed",
        "vat_amount": "passed",
        "exempt_lines_subtotal": "not_applicable",
        "credit_note_reference": "not_applicable",
        "eu_buyer_vat_number": "not_applicable",
        "eu_exemption_wording": "not_applicable",
        "public_sector_ean": "not_applicable",
        "public_sector_order_reference": "not_applicable",
    }
    # 20 x 189.00 = 3,780.00; VAT 945.00
    assert result["vat_by_rate"][0]["vat_text"] == "945,00 kr."


async def test_a_public_authority_needs_an_ean_and_an_order_reference(tools, invoices, billy):
    # A demo invoice to a municipality with EAN, requisition number and att. person passes both.
    aarhus = billy.by_name("contacts", "Aarhus Kommune – Rådhuskantinen")
    demo = billy.get("invoices", contactId=aarhus, state="approved", pageSize=1)["invoices"][0]
    municipality, result = await check(tools, invoices["municipality"], demo["id"])
    assert [item["rule"] for item in municipality["missing"]] == [
        "public_sector_ean",
        "public_sector_order_reference",
    ]
    assert statuses(result)["public_sector_ean"] == "passed"
    assert statuses(result)["public_sector_order_reference"] == "passed"


async def test_a_small_invoice_may_be_simplified_and_a_draft_has_no_number_yet(tools, invoices):
    simplified, draft = await check(tools, invoices["simplified"], invoices["draft"])
    assert simplified["simplified_invoice_allowed"] and simplified["compliant"]
    assert statuses(simplified)["buyer_name_address"] == "not_applicable"
    assert draft["invoice_no"] is None and draft["state"] == "draft"
    assert statuses(draft)["sequential_number"] == "not_applicable"
    assert [item["rule"] for item in draft["missing"]] == ["buyer_name_address"]


async def test_a_credit_note_must_name_the_invoice_it_credits(tools, billy):
    demo_note = billy.get("invoices", type="credit_note", state="approved", pageSize=1)["invoices"][0]
    [result] = await check(tools, demo_note["id"])
    assert result["type"] == "credit_note"
    assert statuses(result)["credit_note_reference"] == "passed"


async def test_unknown_and_malformed_invoice_ids(tools):
    async with tools() as call:
        unknown = await call.error("check_invoice_compliance", {"invoice_id": "NoSuchInvoice000000000"})
        malformed = await call.error("check_invoice_compliance", {"invoice_id": "../organization"})
    assert unknown["code"] == "not_found"
    assert ("invoice_id", "string_pattern_mismatch") in error_fields(malformed)


def test_helpers_without_billy():
    assert buyer_vat_number({"registrationNo": "813659211", "countryId": "DE"}) == "DE813659211"
    assert buyer_vat_number({"registrationNo": "094259216", "countryId": "GR"}) == "EL094259216"
    assert looks_public("Region Midtjylland – Regionshuset Viborg")
    assert looks_public("Skattestyrelsen") and looks_public("Aarhus Universitet")
    assert not looks_public("Kaffebaren Møllen ApS")
    day = date(2026, 3, 31)
    assert [local_date(day, locale) for locale in ("da_DK", "en_US", "de_DE", "fr_FR", "nl_NL", None)] == [
        "31.03.2026",
        "03/31/2026",
        "31.03.2026",
        "31/03/2026",
        "31-03-2026",
        "31.03.2026",
    ]
