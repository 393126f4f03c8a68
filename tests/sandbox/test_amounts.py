"""Billy's invoice arithmetic, asserted against literal values over HTTP."""

from __future__ import annotations

from decimal import Decimal

import httpx
from billy_sandbox import amounts

from tests.sandbox.helpers import invoice


def test_excl_300_gives_tax_75_gross_375(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 300}], taxMode="excl")
    assert (made["amount"], made["tax"], made["grossAmount"], made["balance"]) == (300, 75, 375, 375)
    assert made["isPaid"] is False


def test_incl_123_gives_tax_24_60(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 123}], taxMode="incl")
    assert (made["amount"], made["tax"], made["grossAmount"]) == (98.4, 24.6, 123)
    (line,) = api.get("/invoiceLines", params={"invoiceId": made["id"]}).json()["invoiceLines"]
    assert (line["amount"], line["tax"]) == (123, 24.6)


def test_incl_three_lines_like_the_java_capture(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 123}, {"unitPrice": 123}, {"unitPrice": 222}], taxMode="incl")
    assert (made["amount"], made["tax"], made["balance"]) == (374.4, 93.6, 468)


def test_tax_is_rounded_once_per_invoice_not_per_line(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 0.10}, {"unitPrice": 0.10}, {"unitPrice": 0.10}], taxMode="excl")
    # per line 0.025 rounds to 0.03 (sum 0.09); per invoice 0.075 rounds to 0.08
    assert (made["amount"], made["tax"], made["grossAmount"]) == (0.3, 0.08, 0.38)
    lines = api.get("/invoiceLines", params={"invoiceId": made["id"]}).json()["invoiceLines"]
    assert [line["tax"] for line in lines] == [0.03, 0.03, 0.03]


def test_quantity_is_rounded_before_discounts(api: httpx.Client) -> None:
    lines = [
        {"unitPrice": 33.333, "quantity": 3},
        {"unitPrice": 200, "quantity": 2, "discountMode": "percentage_discount", "discountValue": 10},
        {"unitPrice": 100, "discountMode": "cash_discount", "discountValue": 15.5},
    ]
    made = invoice(api, lines, taxMode="excl")
    listed = api.get("/invoiceLines", params={"invoiceId": made["id"]}).json()["invoiceLines"]
    assert [line["amount"] for line in listed] == [100, 360, 84.5]
    assert (made["amount"], made["tax"], made["grossAmount"]) == (544.5, 136.13, 680.63)


def test_half_up_rounding() -> None:
    assert amounts.round2(Decimal("0.125")) == Decimal("0.13")
    assert amounts.round2(Decimal("2.675")) == Decimal("2.68")
    assert amounts.round2(Decimal("-0.125")) == Decimal("-0.13")


def test_due_dates(api: httpx.Client) -> None:
    net = invoice(api, [{"unitPrice": 1}], entryDate="2016-12-23", paymentTermsMode="net", paymentTermsDays=7)
    assert net["dueDate"] == "2016-12-30"
    eom = invoice(
        api, [{"unitPrice": 1}], entryDate="2016-12-23", paymentTermsMode="netEndOfMonth", paymentTermsDays=7
    )
    assert eom["dueDate"] == "2017-01-07"
    fixed = invoice(
        api, [{"unitPrice": 1}], entryDate="2016-12-23", paymentTermsMode="date", dueDate="2017-02-01"
    )
    assert (fixed["dueDate"], fixed["paymentTermsDays"]) == ("2017-02-01", None)
    default = invoice(api, [{"unitPrice": 1}], entryDate="2023-07-05")
    assert (default["paymentTermsMode"], default["paymentTermsDays"], default["dueDate"]) == (
        "net",
        8,
        "2023-07-13",
    )


def test_foreign_currency_keeps_amounts_in_invoice_currency(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 100}], currencyId="EUR")
    assert (made["currencyId"], made["exchangeRate"], made["grossAmount"]) == ("EUR", 7.46, 125)
    own_rate = invoice(api, [{"unitPrice": 100}], currencyId="EUR", exchangeRate=7.5)
    assert own_rate["exchangeRate"] == 7.5
    dkk = invoice(api, [{"unitPrice": 100}], currencyId="DKK", exchangeRate=3)
    assert dkk["exchangeRate"] == 1
