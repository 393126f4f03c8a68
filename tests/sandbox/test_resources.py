"""Create/read/list/update/delete for the remaining resources, where Billy allows it."""

from __future__ import annotations

import httpx

from tests.sandbox.helpers import account, contact, created, error, invoice, lookup, product, tax_rate


def test_contacts_and_contact_persons(api: httpx.Client) -> None:
    made = contact(
        api,
        type="person",
        name="Mette Hansen",
        phone="+45 20 12 34 56",
        contactPersons=[{"email": "mette@example.dk"}],
    )
    assert (made["type"], made["street"], made["accessCode"] != "") == ("person", "", True)
    (person,) = lookup(api, "contactPersons", contactId=made["id"])
    updated = created(
        api.put(f"/contactPersons/{person['id']}", json={"contactPerson": {"name": "Mette"}}),
        "contactPersons",
    )
    assert (updated["name"], updated["email"]) == ("Mette", "mette@example.dk")
    error(
        api.post("/contactPersons", json={"contactPerson": {"contactId": made["id"]}}), 422, "INVALID_RECORD"
    )
    error(
        api.post(
            "/contactPersons", json={"contactPerson": {"contactId": made["id"], "email": "not an email"}}
        ),
        422,
        "INVALID_RECORD",
    )
    error(
        api.put(f"/contactPersons/{person['id']}", json={"contactPerson": {"contactId": "other"}}),
        422,
        "INVALID_RECORD",
    )
    body = api.put(f"/contacts/{made['id']}", json={"contact": {"contactPersons": [{"name": "Ny"}]}}).json()
    assert body["meta"]["deletedRecords"] == {"contactPersons": [person["id"]]}
    assert api.delete(f"/contactPersons/{body['contactPersons'][0]['id']}").status_code == 200


def test_contact_ean_is_checked_and_used_contacts_cannot_be_deleted(api: httpx.Client) -> None:
    assert contact(api, ean="5798000880016")["ean"] == "5798000880016"
    error(
        api.post("/contacts", json={"contact": {"name": "X", "countryId": "DK", "ean": "5798000880017"}}),
        422,
        "INVALID_RECORD",
    )
    made = invoice(api, [{"unitPrice": 1}])
    error(api.delete(f"/contacts/{made['contactId']}"), 422, "INVALID_RECORD")
    archived = created(
        api.put(f"/contacts/{made['contactId']}", json={"contact": {"isArchived": True}}), "contacts"
    )
    assert archived["isArchived"] is True


def test_products_and_prices(api: httpx.Client) -> None:
    body = api.post(
        "/products",
        json={
            "product": {
                "name": "Kværn",
                "productNo": "K-1",
                "prices": [
                    {"unitPrice": 14000, "currencyId": "DKK"},
                    {"unitPrice": 1900, "currencyId": "EUR"},
                ],
            }
        },
    ).json()
    made = body["products"][0]
    assert sorted(p["currencyId"] for p in body["productPrices"]) == ["DKK", "EUR"]
    error(
        api.post(
            "/productPrices",
            json={"productPrice": {"productId": made["id"], "unitPrice": 1, "currencyId": "DKK"}},
        ),
        422,
        "INVALID_RECORD",
    )
    usd = created(
        api.post(
            "/productPrices",
            json={"productPrice": {"productId": made["id"], "unitPrice": 2000, "currencyId": "USD"}},
        ),
        "productPrices",
    )
    assert (
        created(
            api.put(f"/productPrices/{usd['id']}", json={"productPrice": {"unitPrice": 2100}}),
            "productPrices",
        )["unitPrice"]
        == 2100
    )
    renamed = created(api.put(f"/products/{made['id']}", json={"product": {"name": "Kværn Pro"}}), "products")
    assert renamed["name"] == "Kværn Pro"
    listed = api.get(f"/products/{made['id']}", params={"include": "product.prices:embed"}).json()["product"]
    assert len(listed["prices"]) == 3
    deleted = api.delete(f"/products/{made['id']}").json()["meta"]["deletedRecords"]
    assert len(deleted["productPrices"]) == 3
    used = invoice(api, [{"unitPrice": 1}])
    (line,) = lookup(api, "invoiceLines", invoiceId=used["id"])
    error(api.delete(f"/products/{line['productId']}"), 422, "INVALID_RECORD")


def test_accounts(api: httpx.Client) -> None:
    bank = account(api, 5710)
    assert (bank["isPaymentEnabled"], bank["isBankAccount"], bank["natureId"]) == (True, True, "asset")
    roles = {a["accountNo"]: a["systemRole"] for a in lookup(api, "accounts")}
    assert (roles[5810], roles[7250], roles[7320]) == ("accountsReceivable", "salesTax", "accountsPayable")
    assert {1110, 1210, 5710, 5810, 7220, 7250} <= set(roles)
    group = account(api, 1110)["groupId"]
    made = created(
        api.post(
            "/accounts", json={"account": {"name": "Salg af kurser", "accountNo": 1160, "groupId": group}}
        ),
        "accounts",
    )
    assert (made["natureId"], made["currencyId"]) == ("revenue", "DKK")
    error(
        api.post("/accounts", json={"account": {"name": "Dublet", "accountNo": 1110, "groupId": group}}),
        422,
        "INVALID_RECORD",
    )
    assert created(api.put(f"/accounts/{made['id']}", json={"account": {"isArchived": True}}), "accounts")[
        "isArchived"
    ]
    error(api.delete(f"/accounts/{made['id']}"), 405, "METHOD_NOT_ALLOWED")


def test_tax_rates_and_rulesets(api: httpx.Client) -> None:
    rates = {r["predefinedTag"]: r for r in lookup(api, "taxRates")}
    assert (rates["dk_sales_25"]["rate"], rates["dk_sales_25"]["appliesToSales"]) == (0.25, True)
    assert (rates["eu_purchase_services"]["rate"], rates["eu_purchase_services"]["isReverseCharge"]) == (
        0.25,
        True,
    )
    assert rates["export"]["netAmountMetaField"] == "rubrikC"
    made = created(
        api.post("/taxRates", json={"taxRate": {"name": "Særlig", "rate": 0.1, "appliesToSales": True}}),
        "taxRates",
    )
    assert made["isPredefined"] is False
    error(api.put(f"/taxRates/{made['id']}", json={"taxRate": {"rate": 0.2}}), 422, "INVALID_RECORD")
    error(api.post("/taxRates", json={"taxRate": {"name": "Forkert", "rate": 25}}), 422, "INVALID_RECORD")
    body = api.post(
        "/salesTaxRulesets",
        json={
            "salesTaxRuleset": {
                "name": "Særligt",
                "fallbackTaxRateId": made["id"],
                "rules": [{"countryId": "DK", "taxRateId": tax_rate(api, "dk_sales_25")["id"]}],
            }
        },
    ).json()
    ruleset = body["salesTaxRulesets"][0]
    assert len(body["salesTaxRules"]) == 1
    item = product(api, salesTaxRulesetId=ruleset["id"])
    error(api.delete(f"/salesTaxRulesets/{ruleset['id']}"), 422, "INVALID_RECORD")
    api.delete(f"/products/{item['id']}")
    assert api.delete(f"/salesTaxRulesets/{ruleset['id']}").json()["meta"]["deletedRecords"]["salesTaxRules"]
    predefined = lookup(api, "salesTaxRulesets")[0]
    error(api.delete(f"/salesTaxRulesets/{predefined['id']}"), 422, "INVALID_RECORD")


def test_daybooks_and_transactions(api: httpx.Client) -> None:
    daybook = created(api.post("/daybooks", json={"daybook": {"name": "Webshop"}}), "daybooks")
    line = {
        "text": "Salg",
        "accountNo": 1110,
        "contraAccountId": account(api, 5710)["id"],
        "amount": 100,
        "side": "credit",
    }
    body = {
        "daybookId": daybook["id"],
        "entryDate": "2026-05-01",
        "description": "Ordre 1001",
        "apiType": "shop",
        "lines": [line],
    }
    made = created(api.post("/daybookTransactions", json={"daybookTransaction": body}), "daybookTransactions")
    (saved,) = lookup(api, "daybookTransactionLines", daybookTransactionId=made["id"])
    assert saved["accountId"] == account(api, 1110)["id"] and saved["currencyId"] == "DKK"
    assert [
        t["id"] for t in lookup(api, "daybookTransactions", apiType="shop", minEntryDate="2026-05-01")
    ] == [made["id"]]
    approved = created(
        api.put(f"/daybookTransactions/{made['id']}", json={"daybookTransaction": {"state": "approved"}}),
        "daybookTransactions",
    )
    assert approved["state"] == "approved"
    error(api.delete(f"/daybookTransactions/{made['id']}"), 422, "INVALID_RECORD")
    error(api.delete(f"/daybooks/{daybook['id']}"), 422, "INVALID_RECORD")
    unbalanced = {
        "entryDate": "2026-05-02",
        "state": "approved",
        "lines": [{"accountNo": 1110, "amount": 100, "side": "credit"}],
    }
    error(api.post("/daybookTransactions", json={"daybookTransaction": unbalanced}), 422, "INVALID_RECORD")
    error(
        api.post(
            "/daybookTransactions",
            json={
                "daybookTransaction": {"entryDate": "2026-05-02", "lines": [{"amount": 1, "side": "debit"}]}
            },
        ),
        422,
        "INVALID_RECORD",
    )
    error(
        api.post(
            "/daybookTransactions", json={"daybookTransaction": {"entryDate": "2026-05-02", "lines": []}}
        ),
        422,
        "INVALID_RECORD",
    )
    balanced = {
        "entryDate": "2026-05-02",
        "lines": [
            {"accountNo": 1110, "amount": 80, "side": "credit"},
            {"accountNo": 5710, "amount": 80, "side": "debit"},
        ],
    }
    draft = created(
        api.post("/daybookTransactions", json={"daybookTransaction": balanced}), "daybookTransactions"
    )
    assert draft["daybookId"] == lookup(api, "daybooks")[0]["id"]
    assert (
        lookup(api, "daybookTransactions", sortProperty="entryDate", sortDirection="DESC")[0]["id"]
        == draft["id"]
    )
    assert api.delete(f"/daybookTransactions/{draft['id']}").status_code == 200


def test_files_and_attachments(api: httpx.Client) -> None:
    pdf = b"%PDF-1.4 test"
    headers = {"X-Filename": "bilag.pdf", "Content-Type": "application/pdf", "x-create-attachment": "true"}
    body = api.post("/files", content=pdf, headers=headers).json()
    file = body["files"][0]
    assert (file["fileName"], file["fileSize"], file["isPdf"], file["isImage"]) == (
        "bilag.pdf",
        len(pdf),
        True,
        False,
    )
    assert body["attachments"][0]["fileId"] == file["id"]
    assert api.get(f"/files/{file['id']}/download").content == pdf
    made = invoice(api, [{"unitPrice": 1}])
    attachment = created(
        api.post(
            "/attachments",
            json={"attachment": {"ownerReference": f"invoice:{made['id']}", "fileId": file["id"]}},
        ),
        "attachments",
    )
    listed = api.get(f"/invoices/{made['id']}", params={"include": "invoice.attachments:embed"}).json()[
        "invoice"
    ]
    assert [a["id"] for a in listed["attachments"]] == [attachment["id"]]
    error(
        api.post(
            "/attachments", json={"attachment": {"ownerReference": "invoice:ghost", "fileId": file["id"]}}
        ),
        422,
        "INVALID_RECORD",
    )
    error(
        api.post("/attachments", json={"attachment": {"ownerReference": "bogus", "fileId": file["id"]}}),
        422,
        "INVALID_RECORD",
    )
    error(api.post("/files", content=b""), 422, "INVALID_RECORD")
    assert api.delete(f"/attachments/{attachment['id']}").status_code == 200
    error(api.get("/files/ghost/download"), 404, "RECORD_NOT_FOUND")
