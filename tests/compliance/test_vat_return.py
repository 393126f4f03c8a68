"""vat_return on the demo company, against figures computed by hand.

The demo's 36 months start on 2023-10-01 and each quarter holds ~170 invoices and ~28 bills: every
box is non-zero there (see test_demo_quarter_fills_every_box_billy_data_can_fill), but no person can
add such a quarter up. So the test quarter is 2023-Q3, which the demo leaves empty: the records below
are created through Billy's API, Billy computes their amounts, the test pins those amounts, and the
expected boxes are worked out by hand in the comments (never by the code under test).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billy_core.domain.vat_return import compute_vat_return
from tests.compliance.conftest import Billy, error_fields

pytestmark = pytest.mark.anyio

EUR_RATE = Decimal("7.4537")  # set on every EUR document below (the demo's own EUR rate is 7.46)


def invoice(contact: str, day: str, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    record = {"contactId": contact, "entryDate": day, "currencyId": "DKK", "taxMode": "excl", "lines": lines}
    return {**record, **extra}


def in_eur(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "currencyId": "EUR", "exchangeRate": EUR_RATE}


def line(product: str, quantity: str, unit_price: str) -> dict[str, Any]:
    return {"productId": product, "quantity": Decimal(quantity), "unitPrice": Decimal(unit_price)}


def bill_line(account: str, rate: str, amount: str, text: str) -> dict[str, Any]:
    return {"accountId": account, "taxRateId": rate, "amount": Decimal(amount), "description": text}


@pytest.fixture(scope="module")
def quarter(billy: Billy) -> dict[str, dict[str, Any]]:
    """2023-Q3 (01.07.2023 - 30.09.2023) of the demo company, plus two records just outside it."""
    contact = {
        name: billy.by_name("contacts", name)
        for name in (
            "Kaffebaren Møllen ApS",  # DK company
            "Ida Kristensen",  # DK private person
            "Kaffeehaus Brenner GmbH",  # DE company (EU)
            "Nordic Brew Inc.",  # US company (export)
            "Risteriet Sydhavn ApS",  # DK supplier
            "Kontorland Danmark A/S",  # DK supplier
            "Espresso Technik Müller GmbH",  # DE supplier of goods
            "CloudTill Software Ltd",  # IE supplier of services
            "Ejendomsselskabet Jægergården ApS",  # landlord (rent is VAT exempt)
        )
    }
    product = {
        name: billy.by_name("products", name)
        for name in (
            "Kaffekværn K30",  # goods (Varer ruleset)
            "Kaffekværn Mini",
            "Mælkeskummer",
            "Espressomaskine Classic",
            "Reparation, pr. time",  # services (Ydelser ruleset)
            "Baristakursus, pr. deltager",
            "Konsulentbistand, pr. time",
        )
    }
    i25, i0 = billy.tax_rate_id("dk_purchase_25"), billy.tax_rate_id("purchase_exempt")
    eukv, euky = billy.tax_rate_id("eu_purchase_goods"), billy.tax_rate_id("eu_purchase_services")

    def approved_invoice(record: dict[str, Any]) -> dict[str, Any]:
        return billy.approved("invoices", "invoice", record)

    def approved_bill(record: dict[str, Any]) -> dict[str, Any]:
        return billy.approved("bills", "bill", record)

    records: dict[str, dict[str, Any]] = {}
    records["I1"] = approved_invoice(
        invoice(
            contact["Kaffebaren Møllen ApS"],
            "2023-07-03",
            [
                line(product["Kaffekværn K30"], "3", "1234.50"),
                line(product["Reparation, pr. time"], "2.5", "695.00"),
            ],
        )
    )
    records["I2"] = approved_invoice(
        invoice(
            contact["Ida Kristensen"],
            "2023-08-15",
            [line(product["Mælkeskummer"], "1", "999.99")],
            taxMode="incl",
        )
    )
    records["I3"] = approved_invoice(
        in_eur(
            invoice(
                contact["Kaffeehaus Brenner GmbH"],
                "2023-08-21",
                [
                    line(product["Espressomaskine Classic"], "2", "2546.25"),
                    line(product["Baristakursus, pr. deltager"], "3", "200.40"),
                ],
            )
        )
    )
    records["I4"] = approved_invoice(
        in_eur(
            invoice(
                contact["Nordic Brew Inc."],
                "2023-09-12",
                [
                    line(product["Kaffekværn Mini"], "4", "401.47"),
                    line(product["Konsulentbistand, pr. time"], "1.5", "127.35"),
                ],
            )
        )
    )
    records["C1"] = approved_invoice(
        invoice(
            contact["Kaffebaren Møllen ApS"],
            "2023-09-28",
            [line(product["Kaffekværn K30"], "1", "1234.50")],
            type="credit_note",
            creditedInvoiceId=records["I1"]["id"],
        )
    )
    records["C2"] = approved_invoice(
        in_eur(
            invoice(
                contact["Kaffeehaus Brenner GmbH"],
                "2023-09-29",
                [line(product["Espressomaskine Classic"], "1", "2546.25")],
                type="credit_note",
                creditedInvoiceId=records["I3"]["id"],
            )
        )
    )
    records["B1"] = approved_bill(
        invoice(
            contact["Risteriet Sydhavn ApS"],
            "2023-07-10",
            [
                bill_line(billy.account_id(1210), i25, "8000.00", "Kaffebønner, 400 kg"),
                bill_line(billy.account_id(1310), i25, "1111.11", "Fragt"),
            ],
        )
    )
    records["B2"] = approved_bill(
        invoice(
            contact["Kontorland Danmark A/S"],
            "2023-07-20",
            [bill_line(billy.account_id(1710), i25, "1249.99", "Kontorartikler")],
            taxMode="incl",
        )
    )
    records["B3"] = approved_bill(
        in_eur(
            invoice(
                contact["Espresso Technik Müller GmbH"],
                "2023-08-03",
                [bill_line(billy.account_id(1220), eukv, "3000.00", "Espressomaskiner til lager")],
            )
        )
    )
    records["B4"] = approved_bill(
        in_eur(
            invoice(
                contact["CloudTill Software Ltd"],
                "2023-09-05",
                [bill_line(billy.account_id(1230), euky, "1234.56", "Kassesystem, årsabonnement")],
            )
        )
    )
    records["B5"] = approved_bill(
        invoice(
            contact["Ejendomsselskabet Jægergården ApS"],
            "2023-09-01",
            [bill_line(billy.account_id(1610), i0, "15000.00", "Husleje 3. kvartal")],
        )
    )
    records["BC1"] = approved_bill(
        invoice(
            contact["Risteriet Sydhavn ApS"],
            "2023-09-20",
            [bill_line(billy.account_id(1210), i25, "500.00", "Returnerede kaffebønner")],
            type="credit_note",
            creditedBillId=records["B1"]["id"],
        )
    )
    # Outside the return: approved the day before the quarter, and a draft inside it.
    records["X1"] = approved_invoice(
        invoice(
            contact["Kaffebaren Møllen ApS"], "2023-06-30", [line(product["Kaffekværn K30"], "1", "9999.00")]
        )
    )
    records["X2"] = billy.create(
        "bills",
        "bill",
        invoice(
            contact["Risteriet Sydhavn ApS"],
            "2023-08-01",
            [bill_line(billy.account_id(1210), i25, "7777.00", "Kladde")],
        ),
    )
    return records


def figures(record: dict[str, Any]) -> tuple[Any, ...]:
    lines = [(billy_line["amount"], billy_line["tax"]) for billy_line in record["lines"]]
    return (
        record["type"],
        record["currencyId"],
        record["exchangeRate"],
        record["amount"],
        record["tax"],
        lines,
    )


def test_the_quarter_holds_exactly_the_records_computed_by_hand(
    billy: Billy, quarter: dict[str, dict[str, Any]]
):
    window = {
        "state": "approved",
        "minEntryDate": "2023-07-01",
        "maxEntryDate": "2023-09-30",
        "pageSize": 1000,
    }
    invoice_ids = {item["id"] for item in billy.get("invoices", **window)["invoices"]}
    bill_ids = {item["id"] for item in billy.get("bills", **window)["bills"]}
    assert invoice_ids == {quarter[key]["id"] for key in ("I1", "I2", "I3", "I4", "C1", "C2")}
    assert bill_ids == {quarter[key]["id"] for key in ("B1", "B2", "B3", "B4", "B5", "BC1")}
    d = Decimal
    # Billy's own amounts for each record (line amount = round2(qty x price); VAT rounded once per document).
    assert figures(quarter["I1"]) == (
        "invoice",
        "DKK",
        1,
        d("5441"),
        d("1360.25"),
        [(d("3703.5"), d("925.88")), (d("1737.5"), d("434.38"))],
    )
    assert figures(quarter["I2"]) == ("invoice", "DKK", 1, d("799.99"), d("200"), [(d("999.99"), d("200"))])
    assert figures(quarter["I3"]) == (
        "invoice",
        "EUR",
        EUR_RATE,
        d("5693.7"),
        0,
        [(d("5092.5"), 0), (d("601.2"), 0)],
    )
    assert figures(quarter["I4"]) == (
        "invoice",
        "EUR",
        EUR_RATE,
        d("1796.91"),
        0,
        [(d("1605.88"), 0), (d("191.03"), 0)],
    )
    assert figures(quarter["C1"]) == (
        "credit_note",
        "DKK",
        1,
        d("1234.5"),
        d("308.63"),
        [(d("1234.5"), d("308.63"))],
    )
    assert figures(quarter["C2"]) == ("credit_note", "EUR", EUR_RATE, d("2546.25"), 0, [(d("2546.25"), 0)])
    assert figures(quarter["B1"]) == (
        "bill",
        "DKK",
        1,
        d("9111.11"),
        d("2277.78"),
        [(8000, 2000), (d("1111.11"), d("277.78"))],
    )
    assert figures(quarter["B2"]) == ("bill", "DKK", 1, d("999.99"), d("250"), [(d("1249.99"), d("250"))])
    # Reverse charge: the self-assessed VAT is on the line only, not in the bill's tax.
    assert figures(quarter["B3"]) == ("bill", "EUR", EUR_RATE, 3000, 0, [(3000, 750)])
    assert figures(quarter["B4"]) == ("bill", "EUR", EUR_RATE, d("1234.56"), 0, [(d("1234.56"), d("308.64"))])
    assert figures(quarter["B5"]) == ("bill", "DKK", 1, 15000, 0, [(15000, 0)])
    assert figures(quarter["BC1"]) == ("credit_note", "DKK", 1, 500, 125, [(500, 125)])
    # The rulesets chose these sales rates (taxRateId is read-only on invoice lines).
    tags = {
        key: [billy.tag_of(item["taxRateId"]) for item in quarter[key]["lines"]]
        for key in ("I1", "I2", "I3", "I4")
    }
    assert tags == {
        "I1": ["dk_sales_25", "dk_sales_25"],
        "I2": ["dk_sales_25"],
        "I3": ["eu_sales_goods", "eu_sales_services"],
        "I4": ["export", "export"],
    }
    assert quarter["X2"]["state"] == "draft"


def box(amount: str, text: str, exact: str, name: str) -> dict[str, str]:
    return {"name": name, "amount": amount, "text": text, "exact": exact}


async def test_vat_return_of_the_quarter_matches_the_figures_computed_by_hand(tools, quarter):
    async with tools() as call:
        result = await call.ok("vat_return", {"period": "2023-Q3"})
    boxes = result["boxes"]
    # Salgsmoms: I1 1,360.25 + I2 200.00 - C1 308.63 = 1,251.62 -> 1,251 (øre cut off)
    assert boxes["sales_vat"] == box("1251.00", "1.251,00 kr.", "1251.62", "Salgsmoms")
    # Moms af varekøb i udlandet: B3 750.00 EUR x 7.4537 = 5,590.275 -> 5,590.28 (øre, half up) -> 5,590
    assert boxes["vat_on_goods_bought_abroad"]["amount"] == "5590.00"
    assert boxes["vat_on_goods_bought_abroad"]["exact"] == "5590.28"
    # Moms af ydelseskøb i udlandet: B4 308.64 EUR x 7.4537 = 2,300.509968 -> 2,300.51 -> 2,300
    assert (
        boxes["vat_on_services_bought_abroad"]["amount"],
        boxes["vat_on_services_bought_abroad"]["exact"],
    ) == (
        "2300.00",
        "2300.51",
    )
    # Købsmoms: B1 2,277.78 + B2 250.00 - BC1 125.00 + the self-assessed 5,590.28 + 2,300.51 = 10,293.57 -> 10,293
    # (B5 is rent at the exempt rate: nothing; the draft X2 is not counted)
    assert boxes["purchase_vat"] == box("10293.00", "10.293,00 kr.", "10293.57", "Købsmoms")
    # Rubrik A varer: B3 3,000.00 EUR x 7.4537 = 22,361.10 -> 22,361
    assert (boxes["rubrik_a_goods"]["amount"], boxes["rubrik_a_goods"]["text"]) == (
        "22361.00",
        "22.361,00 kr.",
    )
    # Rubrik A ydelser: B4 1,234.56 EUR x 7.4537 = 9,202.039872 -> 9,202.04 -> 9,202
    assert (boxes["rubrik_a_services"]["amount"], boxes["rubrik_a_services"]["exact"]) == (
        "9202.00",
        "9202.04",
    )
    # Rubrik B varer (EU-salg uden moms): I3 5,092.50 EUR x 7.4537 = 37,957.96725 -> 37,957.97,
    # minus C2 2,546.25 EUR x 7.4537 = 18,978.983625 -> 18,978.98; 37,957.97 - 18,978.98 = 18,978.99 -> 18,978
    assert (
        boxes["rubrik_b_goods_eu_sales_list"]["amount"],
        boxes["rubrik_b_goods_eu_sales_list"]["exact"],
    ) == (
        "18978.00",
        "18978.99",
    )
    # Rubrik B ydelser: I3 601.20 EUR x 7.4537 = 4,481.16444 -> 4,481.16 -> 4,481
    assert (boxes["rubrik_b_services"]["amount"], boxes["rubrik_b_services"]["exact"]) == (
        "4481.00",
        "4481.16",
    )
    # Rubrik C (export): I4 1,605.88 + 191.03 (1.5 x 127.35 = 191.025 -> 191.03) = 1,796.91 EUR
    # x 7.4537 = 13,393.628067 -> 13,393.63 -> 13,393
    assert (boxes["rubrik_c"]["amount"], boxes["rubrik_c"]["text"]) == ("13393.00", "13.393,00 kr.")
    # No Billy rate reports to rubrik B varer outside EU-salg uden moms.
    assert boxes["rubrik_b_goods_not_on_eu_sales_list"]["amount"] == "0.00"
    # Afgiftstilsvar from the whole-kroner boxes: 1,251 + 5,590 + 2,300 - 10,293 = -1,152 (money back)
    assert result["payable"]["amount"] == "-1152.00"
    assert result["payable"]["text"] == "-1.152,00 kr."
    assert (result["result"], result["result_text"]) == ("refundable", "VAT to get back: 1.152,00 kr.")
    assert result["documents"] == {"invoices": 4, "credit_notes": 2, "bills": 5, "bill_credit_notes": 1}
    assert result["period"] == {
        "label": "2023-Q3",
        "kind": "quarter",
        "start_date": "2023-07-01",
        "end_date": "2023-09-30",
        "text": "01.07.2023 - 30.09.2023",
    }
    assert result["currency"] == "DKK" and result["warnings"] == []


async def test_the_filing_deadline_comes_from_the_calendar(tools, quarter):
    async with tools() as call:
        q3 = await call.ok("vat_return", {"period": "2023-Q3"})
        august = await call.ok("vat_return", {"period": "2023-08"})
        projected = await call.ok("vat_return", {"period": "2026-Q3"})
    # billy_core/data/vat_deadlines.json: 2023-Q3 is due 2023-12-01 (skat.dk)
    assert {
        key: q3["filing"][key] for key in ("filing_deadline", "filing_deadline_text", "deadline_source")
    } == {
        "filing_deadline": "2023-12-01",
        "filing_deadline_text": "01.12.2023",
        "deadline_source": "skat",
    }
    assert q3["filing"]["covers_request"] and q3["filing"]["deadline_confirmed"]
    assert q3["filing"]["text"] == "The return for 2023-Q3 must be filed and paid by 01.12.2023."
    # A month of a quarterly filer: the deadline of the quarter that holds it, and a note saying so.
    assert (august["filing"]["period"]["label"], august["filing"]["covers_request"]) == ("2023-Q3", False)
    assert any("2023-Q3" in note for note in august["notes"])
    assert august["period"]["label"] == "2023-08"
    # 2026 dates are projections until Skattestyrelsen publishes them.
    assert projected["filing"]["filing_deadline"] == "2026-12-01"
    assert (
        projected["filing"]["deadline_source"] == "projected"
        and not projected["filing"]["deadline_confirmed"]
    )
    assert "projected" in projected["filing"]["text"]


async def test_a_date_range_gives_the_same_figures_as_the_period(tools, quarter):
    async with tools() as call:
        by_period = await call.ok("vat_return", {"period": "2023-q3"})
        by_dates = await call.ok("vat_return", {"start_date": "2023-07-01", "end_date": "2023-09-30"})
        july = await call.ok("vat_return", {"start_date": "2023-07-01", "end_date": "2023-07-31"})
    assert by_dates["boxes"] == by_period["boxes"] and by_dates["period"]["label"] == "2023-Q3"
    # July alone: I1 only on the sales side; 1,360.25 -> 1,360
    assert july["boxes"]["sales_vat"]["amount"] == "1360.00"
    # B1 2,277.78 + B2 250.00 = 2,527.78 -> 2,527
    assert july["boxes"]["purchase_vat"]["amount"] == "2527.00"
    assert july["period"]["label"] == "2023-07"


async def test_demo_quarter_fills_every_box_billy_data_can_fill(tools, billy):
    """2026-Q2 of the untouched demo: every box but rubrik B varer outside the EU list is non-zero,
    the documents counted are those Billy lists, and the boxes add up to the amount payable."""
    window = {
        "state": "approved",
        "minEntryDate": "2026-04-01",
        "maxEntryDate": "2026-06-30",
        "pageSize": 1000,
    }
    invoices = billy.get("invoices", **window)["invoices"]
    bills = billy.get("bills", **window)["bills"]
    async with tools() as call:
        result = await call.ok("vat_return", {"period": "2026-Q2"})
    credit_notes = sum(1 for item in invoices if item["type"] == "credit_note")
    assert result["documents"] == {
        "invoices": len(invoices) - credit_notes,
        "credit_notes": credit_notes,
        "bills": len(bills),
        "bill_credit_notes": 0,
    }
    assert (len(invoices), credit_notes, len(bills)) == (169, 4, 28)  # the demo as seeded (seed 1)
    amounts = {key: Decimal(value["amount"]) for key, value in result["boxes"].items()}
    assert [key for key, value in amounts.items() if value == 0] == ["rubrik_b_goods_not_on_eu_sales_list"]
    assert all(value == value.to_integral_value() for value in amounts.values())
    owed = (
        amounts["sales_vat"]
        + amounts["vat_on_goods_bought_abroad"]
        + amounts["vat_on_services_bought_abroad"]
    )
    assert Decimal(result["payable"]["amount"]) == owed - amounts["purchase_vat"]
    assert (
        amounts["purchase_vat"]
        > amounts["vat_on_goods_bought_abroad"] + amounts["vat_on_services_bought_abroad"]
    )


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({}, "period", "period_or_dates"),
        (
            {"period": "2026-Q2", "start_date": "2026-04-01", "end_date": "2026-06-30"},
            "period",
            "period_or_dates",
        ),
        ({"period": "2026-Q5"}, "period", "vat_period_format"),
        ({"period": "Q2 2026"}, "period", "vat_period_format"),
        ({"period": "2026-13"}, "period", "vat_period_format"),
        ({"start_date": "2026-04-01"}, "end_date", "required_with_start_date"),
        ({"end_date": "2026-04-01"}, "start_date", "required_with_end_date"),
        ({"start_date": "2026-06-30", "end_date": "2026-04-01"}, "end_date", "before_start_date"),
        ({"start_date": "2025-01-01", "end_date": "2026-01-01"}, "end_date", "period_too_long"),
        ({"start_date": "01.04.2026", "end_date": "2026-06-30"}, "start_date", "date_format"),
        ({"start_date": 1775000000, "end_date": "2026-06-30"}, "start_date", "date_format"),
        ({"period": "2026-Q2", "year": 2026}, "year", "extra_forbidden"),
    ],
)
async def test_bad_arguments_are_refused_naming_the_field_and_rule(tools, billy, arguments, field, rule):
    async with tools() as call:
        body = await call.error("vat_return", arguments)
    assert body["code"] == "invalid_argument"
    assert (field, rule) in error_fields(body)


def test_incl_mode_lines_and_unknown_boxes_without_billy():
    """The arithmetic alone: an incl-mode EU line is net already (0 %), an unknown box is a warning."""
    rates = [
        {"id": "u25", "name": "U25", "rate": Decimal("0.25"), "netAmountMetaField": None},
        {"id": "euv", "name": "EUV", "rate": 0, "netAmountMetaField": "rubrikBGoods"},
        {"id": "odd", "name": "Custom", "rate": 0, "netAmountMetaField": "rubrikZ"},
    ]
    sale = {
        "id": "s1",
        "type": "invoice",
        "entryDate": "2026-01-05",
        "taxMode": "incl",
        "exchangeRate": 1,
        "tax": Decimal("20.00"),
        "lines": [
            {"taxRateId": "u25", "amount": Decimal("100.00")},
            {"taxRateId": "euv", "amount": Decimal("50.50")},
            {"taxRateId": "odd", "amount": Decimal("7.00")},
            {"taxRateId": None, "amount": Decimal("3.00")},
        ],
    }
    result = compute_vat_return([sale], [], rates)
    # 100.00 incl. VAT holds 20.00 VAT; the 0 % line's 50.50 is all net
    assert (result.exact["sales_vat"], result.exact["rubrik_b_goods_eu_sales_list"]) == (
        Decimal("20.00"),
        Decimal("50.50"),
    )
    assert len(result.warnings) == 2
    assert "rubrikZ" in result.warnings[0] and "no known VAT rate" in result.warnings[1]
    # 20 - 0 = 20 payable
    assert result.payable == Decimal("20")
