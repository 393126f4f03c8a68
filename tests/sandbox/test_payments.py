"""Bank payments settle invoices and bills through associations; voiding restores balances."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.helpers import account, approve, contact, created, error, invoice, lookup, tax_rate


def _pay(api: httpx.Client, subject: str, amount: float, side: str = "debit", **extra: Any) -> httpx.Response:
    body = {
        "entryDate": "2026-04-01",
        "cashAmount": amount,
        "cashSide": side,
        "cashAccountId": extra.pop("cashAccountId", None) or account(api, 5710)["id"],
        "associations": [{"subjectReference": subject}],
        **extra,
    }
    return api.post("/bankPayments", json={"bankPayment": body})


def _invoice(api: httpx.Client, net: float = 1000, **fields: Any) -> dict[str, Any]:
    return approve(api, invoice(api, [{"unitPrice": net}], **fields)["id"])


def test_full_payment_settles_the_invoice(api: httpx.Client) -> None:
    made = _invoice(api)
    body = _pay(api, f"invoice:{made['id']}", 1250).json()
    assert body["invoices"][0]["balance"] == 0 and body["invoices"][0]["isPaid"] is True
    payment = body["bankPayments"][0]
    assert (payment["contactId"], payment["subjectCurrencyId"], payment["cashExchangeRate"]) == (
        made["contactId"],
        "DKK",
        1,
    )
    (modifier,) = body["balanceModifiers"]
    assert (modifier["subjectReference"], modifier["amount"]) == (f"invoice:{made['id']}", 1250)
    assert modifier["modifierReference"] == f"bankPayment:{payment['id']}"
    included = api.get(
        f"/bankPayments/{payment['id']}", params={"include": "bankPayment.associations:embed"}
    ).json()
    assert included["bankPayment"]["associations"][0]["id"] == modifier["id"]
    assert [i["id"] for i in lookup(api, "invoices", isPaid="true")] == [made["id"]]


def test_partial_payments_and_overpayment(api: httpx.Client) -> None:
    made = _invoice(api)
    assert _pay(api, f"invoice:{made['id']}", 1000).json()["invoices"][0]["balance"] == 250
    error(_pay(api, f"invoice:{made['id']}", 250.01), 422, "INVALID_RECORD")
    assert api.get(f"/invoices/{made['id']}").json()["invoice"]["balance"] == 250
    assert len(lookup(api, "bankPayments")) == 1
    done = _pay(api, f"invoice:{made['id']}", 250).json()["invoices"][0]
    assert (done["balance"], done["isPaid"]) == (0, True)


def test_payment_rules(api: httpx.Client) -> None:
    made = _invoice(api)
    draft = invoice(api, [{"unitPrice": 10}])
    error(_pay(api, f"invoice:{draft['id']}", 12.5), 422, "INVALID_RECORD")
    error(_pay(api, "invoice:ghost", 10), 422, "INVALID_RECORD")
    error(_pay(api, f"invoice:{made['id']}", 10, side="credit"), 422, "INVALID_RECORD")
    error(
        _pay(api, f"invoice:{made['id']}", 10, cashAccountId=account(api, 1110)["id"]), 422, "INVALID_RECORD"
    )
    error(_pay(api, f"invoice:{made['id']}", -5), 422, "INVALID_RECORD")
    error(_pay(api, "nonsense", 10), 422, "INVALID_RECORD")
    no_assoc = {
        "entryDate": "2026-04-01",
        "cashAmount": 10,
        "cashSide": "debit",
        "cashAccountId": account(api, 5710)["id"],
    }
    error(api.post("/bankPayments", json={"bankPayment": no_assoc}), 422, "INVALID_RECORD")
    assert lookup(api, "bankPayments") == [] and lookup(api, "balanceModifiers") == []


def test_fee_on_a_deposit_settles_the_invoice_too(api: httpx.Client) -> None:
    made = _invoice(api, 80)
    body = _pay(api, f"invoice:{made['id']}", 95, feeAmount=5).json()
    assert body["invoices"][0]["isPaid"] is True
    assert body["bankPayments"][0]["feeAccountId"] == account(api, 2230)["id"]


def test_void_restores_the_balance_and_is_one_way(api: httpx.Client) -> None:
    made = _invoice(api)
    payment = _pay(api, f"invoice:{made['id']}", 1250).json()["bankPayments"][0]
    body = api.put(f"/bankPayments/{payment['id']}", json={"bankPayment": {"isVoided": True}}).json()
    assert body["invoices"][0]["balance"] == 1250 and body["invoices"][0]["isPaid"] is False
    assert body["balanceModifiers"][0]["isVoided"] is True
    error(
        api.put(f"/bankPayments/{payment['id']}", json={"bankPayment": {"isVoided": False}}),
        422,
        "INVALID_RECORD",
    )
    error(
        api.put(f"/bankPayments/{payment['id']}", json={"bankPayment": {"cashAmount": 1}}),
        422,
        "INVALID_RECORD",
    )
    error(api.delete(f"/bankPayments/{payment['id']}"), 422, "INVALID_RECORD")


def test_one_payment_settles_several_invoices_in_order(api: httpx.Client) -> None:
    customer = contact(api)["id"]
    first, second = _invoice(api, 100, contactId=customer), _invoice(api, 200, contactId=customer)
    body = {
        "entryDate": "2026-04-01", "cashAmount": 200, "cashSide": "debit", "cashAccountId": account(api, 5710)["id"],
        "associations": [{"subjectReference": f"invoice:{first['id']}"}, {"subjectReference": f"invoice:{second['id']}"}],
    }  # fmt: skip
    balances = {
        i["id"]: i["balance"]
        for i in api.post("/bankPayments", json={"bankPayment": body}).json()["invoices"]
    }
    assert balances == {first["id"]: 0, second["id"]: 175}


def test_foreign_currency_payment_into_a_dkk_account(api: httpx.Client) -> None:
    made = _invoice(api, 100, currencyId="EUR")
    error(_pay(api, f"invoice:{made['id']}", 932.5), 422, "INVALID_RECORD")
    paid = _pay(api, f"invoice:{made['id']}", 932.5, cashExchangeRate=7.46).json()
    assert paid["invoices"][0]["isPaid"] is True and paid["bankPayments"][0]["subjectCurrencyId"] == "EUR"
    other = _invoice(api, 100, currencyId="EUR")
    eur_account = account(api, 5720)["id"]
    assert (
        _pay(api, f"invoice:{other['id']}", 125, cashAccountId=eur_account).json()["invoices"][0]["isPaid"]
        is True
    )


def test_paid_invoice_credit_note_is_refunded_with_a_withdrawal(api: httpx.Client) -> None:
    made = _invoice(api, 100)
    _pay(api, f"invoice:{made['id']}", 125)
    item = lookup(api, "products")[0]["id"]
    note = {
        "type": "credit_note",
        "creditedInvoiceId": made["id"],
        "contactId": made["contactId"],
        "entryDate": "2026-04-02",
        "state": "approved",
        "lines": [{"productId": item, "unitPrice": 40}],
    }
    credit = created(api.post("/invoices", json={"invoice": note}), "invoices")
    assert (credit["balance"], credit["isPaid"]) == (50, False)
    error(_pay(api, f"invoice:{credit['id']}", 50), 422, "INVALID_RECORD")
    refunded = _pay(api, f"invoice:{credit['id']}", 50, side="credit").json()["invoices"][0]
    assert (refunded["balance"], refunded["isPaid"]) == (0, True)


def _bill(api: httpx.Client, lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    supplier = fields.pop("contactId", None) or contact(api, name="Leverandør ApS", isSupplier=True)["id"]
    body = {"contactId": supplier, "entryDate": "2026-02-01", "lines": lines, **fields}
    return created(api.post("/bills", json={"bill": body}), "bills")


def test_bills_domestic_and_reverse_charge(api: httpx.Client) -> None:
    purchase, eu_goods = tax_rate(api, "dk_purchase_25")["id"], tax_rate(api, "eu_purchase_goods")["id"]
    expense = account(api, 1210)["id"]
    bill = _bill(api, [
        {"accountId": expense, "taxRateId": purchase, "description": "Kaffebønner", "amount": 800},
        {"accountId": account(api, 1220)["id"], "taxRateId": eu_goods, "description": "Kværne fra DE", "amount": 400},
    ])  # fmt: skip
    # the reverse-charge line's VAT is self-assessed: on the line, not owed to the supplier
    assert (bill["amount"], bill["tax"], bill["grossAmount"], bill["balance"]) == (1200, 200, 1400, 1400)
    lines = lookup(api, "billLines", billId=bill["id"])
    assert [line["tax"] for line in lines] == [200, 100]
    assert bill["lineDescription"] == "Kaffebønner, Kværne fra DE"
    approved = approve(api, bill["id"], "bills")
    assert approved["state"] == "approved" and approved["approvedTime"]
    error(api.put(f"/bills/{bill['id']}", json={"bill": {"suppliersInvoiceNo": "X"}}), 422, "INVALID_RECORD")
    error(api.delete(f"/bills/{bill['id']}"), 422, "INVALID_RECORD")
    paid = _pay(api, f"bill:{bill['id']}", 1400, side="credit").json()["bills"][0]
    assert (paid["balance"], paid["isPaid"]) == (0, True)


def test_bill_rules_and_immediate_payment(api: httpx.Client) -> None:
    purchase = tax_rate(api, "dk_purchase_25")["id"]
    line = {
        "accountId": account(api, 1710)["id"],
        "taxRateId": purchase,
        "description": "Papir",
        "amount": 100,
    }
    draft = _bill(api, [])
    error(api.put(f"/bills/{draft['id']}", json={"bill": {"state": "approved"}}), 422, "INVALID_RECORD")
    sales_rate = tax_rate(api, "dk_sales_25")["id"]
    error(
        api.post(
            "/bills",
            json={
                "bill": {
                    "contactId": draft["contactId"],
                    "entryDate": "2026-01-01",
                    "lines": [{**line, "taxRateId": sales_rate}],
                }
            },
        ),
        422,
        "INVALID_RECORD",
    )
    error(
        api.post(
            "/bills",
            json={
                "bill": {"contactId": draft["contactId"], "entryDate": "2026-01-01", "lines": [{"amount": 1}]}
            },
        ),
        422,
        "INVALID_RECORD",
    )
    paid = _bill(
        api, [line], state="approved", paymentAccountId=account(api, 5710)["id"], paymentDate="2026-02-01"
    )
    assert (paid["isPaid"], paid["balance"]) == (True, 0)
    (payment,) = lookup(api, "bankPayments")
    assert (payment["cashSide"], payment["cashAmount"]) == ("credit", 125)


def test_bill_incl_tax_mode(api: httpx.Client) -> None:
    purchase = tax_rate(api, "dk_purchase_25")["id"]
    bill = _bill(
        api,
        [{"accountId": account(api, 1710)["id"], "taxRateId": purchase, "description": "x", "amount": 125}],
        taxMode="incl",
    )
    assert (bill["amount"], bill["tax"], bill["grossAmount"]) == (100, 25, 125)
