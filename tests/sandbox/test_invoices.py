"""Invoices: drafts, approval and numbering, locks, tax rate derivation, credit notes, e-mails, filters."""

from __future__ import annotations

import httpx

from tests.sandbox.helpers import approve, contact, created, error, invoice, lookup, product, tax_rate


def test_draft_then_approved_numbers_from_the_sequence(api: httpx.Client) -> None:
    first = invoice(api, [{"unitPrice": 10}])
    second = invoice(api, [{"unitPrice": 20}])
    assert (first["state"], first["invoiceNo"], first["approvedTime"]) == ("draft", None, None)
    response = api.put(f"/invoices/{second['id']}", json={"invoice": {"state": "approved"}})
    body = response.json()
    assert body["invoices"][0]["invoiceNo"] == "1" and body["invoices"][0]["approvedTime"]
    assert body["organizations"][0]["nextInvoiceNo"] == 2
    assert approve(api, first["id"])["invoiceNo"] == "2"
    assert api.get("/organization").json()["organization"]["nextInvoiceNo"] == 3


def test_create_directly_approved(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 10}], state="approved")
    assert (made["state"], made["invoiceNo"]) == ("approved", "1")


def test_organization_next_invoice_no_is_respected_and_numbers_are_unique(api: httpx.Client) -> None:
    org_id = api.get("/organization").json()["organization"]["id"]
    api.put(f"/organizations/{org_id}", json={"organization": {"nextInvoiceNo": 1000}})
    assert invoice(api, [{"unitPrice": 1}], state="approved")["invoiceNo"] == "1000"
    manual = invoice(api, [{"unitPrice": 1}], invoiceNo=991)
    assert manual["invoiceNo"] == "991"
    error(api.post("/invoices", json={"invoice": {**_body(api), "invoiceNo": "1000"}}), 422, "INVALID_RECORD")
    api.put(f"/organizations/{org_id}", json={"organization": {"nextInvoiceNo": 1000}})
    draft = invoice(api, [{"unitPrice": 1}])
    error(api.put(f"/invoices/{draft['id']}", json={"invoice": {"state": "approved"}}), 422, "INVALID_RECORD")
    assert api.get(f"/invoices/{draft['id']}").json()["invoice"]["state"] == "draft"


def _body(api: httpx.Client) -> dict[str, object]:
    return {
        "contactId": contact(api)["id"],
        "entryDate": "2026-01-05",
        "lines": [{"productId": product(api)["id"], "unitPrice": 5}],
    }


def test_approved_invoices_reject_edits_and_deletes(api: httpx.Client) -> None:
    made = approve(api, invoice(api, [{"unitPrice": 10}])["id"])
    body = error(
        api.put(f"/invoices/{made['id']}", json={"invoice": {"entryDate": "2026-01-01"}}),
        422,
        "INVALID_RECORD",
    )
    assert "entryDate" in next(iter(body["validationErrors"].values()))["attributes"]
    error(api.put(f"/invoices/{made['id']}", json={"invoice": {"lines": []}}), 422, "INVALID_RECORD")
    error(api.delete(f"/invoices/{made['id']}"), 422, "INVALID_RECORD")
    (line,) = lookup(api, "invoiceLines", invoiceId=made["id"])
    error(
        api.put(f"/invoiceLines/{line['id']}", json={"invoiceLine": {"unitPrice": 1}}), 422, "INVALID_RECORD"
    )
    error(api.delete(f"/invoiceLines/{line['id']}"), 422, "INVALID_RECORD")
    for state in ("draft", "voided"):
        error(api.put(f"/invoices/{made['id']}", json={"invoice": {"state": state}}), 422, "INVALID_RECORD")
    edited = created(
        api.put(f"/invoices/{made['id']}", json={"invoice": {"contactMessage": "Tak!"}}), "invoices"
    )
    assert edited["contactMessage"] == "Tak!"
    assert api.get(f"/invoices/{made['id']}").json()["invoice"]["state"] == "approved"


def test_draft_edits_replace_lines_and_report_deleted_children(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 10}, {"unitPrice": 20}])
    old_lines = {line["id"] for line in lookup(api, "invoiceLines", invoiceId=made["id"])}
    product_id = lookup(api, "products")[0]["id"]
    body = api.put(
        f"/invoices/{made['id']}", json={"invoice": {"lines": [{"productId": product_id, "unitPrice": 7}]}}
    ).json()
    assert set(body["meta"]["deletedRecords"]["invoiceLines"]) == old_lines
    assert body["invoices"][0]["amount"] == 7 and len(body["invoiceLines"]) == 1
    moved = created(
        api.put(f"/invoices/{made['id']}", json={"invoice": {"entryDate": "2026-05-01"}}), "invoices"
    )
    assert moved["dueDate"] == "2026-05-09"
    assert api.delete(f"/invoices/{made['id']}").status_code == 200
    assert lookup(api, "invoiceLines") == []


def test_invoice_rules(api: httpx.Client) -> None:
    customer = contact(api)["id"]
    no_lines = {"invoice": {"contactId": customer, "entryDate": "2026-01-01", "lines": []}}
    body = error(api.post("/invoices", json=no_lines), 422, "INVALID_RECORD")
    assert body["errorMessage"] == "Invoices must have at least one invoice line."
    no_product = {"invoice": {"contactId": customer, "entryDate": "2026-01-01", "lines": [{"unitPrice": 1}]}}
    body = error(api.post("/invoices", json=no_product), 422, "INVALID_RECORD")
    assert set(body["validationErrors"]) == {"invoice.lines[0]"}
    missing_contact = {"invoice": {"contactId": "ghost", "entryDate": "2026-01-01", "lines": []}}
    error(api.post("/invoices", json=missing_contact), 422, "INVALID_RECORD")
    bad_date = {"invoice": {"contactId": customer, "entryDate": "2026-02-30", "lines": []}}
    error(api.post("/invoices", json=bad_date), 422, "INVALID_RECORD")
    read_only = {"invoice": {**_body(api), "amount": 5}}
    error(api.post("/invoices", json=read_only), 422, "INVALID_RECORD")
    assert lookup(api, "invoices") == [] and lookup(api, "invoiceLines") == []


def test_standalone_invoice_lines_recompute_the_invoice(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 100}])
    product_id = lookup(api, "products")[0]["id"]
    body = api.post(
        "/invoiceLines",
        json={"invoiceLine": {"invoiceId": made["id"], "productId": product_id, "unitPrice": 50}},
    ).json()
    assert body["invoices"][0]["amount"] == 150 and body["invoiceLines"][0]["amount"] == 50
    body = api.delete(f"/invoiceLines/{body['invoiceLines'][0]['id']}").json()
    assert body["invoices"][0]["amount"] == 100
    (last,) = lookup(api, "invoiceLines", invoiceId=made["id"])
    error(api.delete(f"/invoiceLines/{last['id']}"), 422, "INVALID_RECORD")


def _line_rate(api: httpx.Client, country: str, kind: str, ruleset: str = "VAR") -> str:
    rulesets = {r["abbreviation"]: r["id"] for r in lookup(api, "salesTaxRulesets")}
    customer = contact(api, countryId=country, type=kind)
    item = product(api, salesTaxRulesetId=rulesets[ruleset])
    made = invoice(api, [{"unitPrice": 100, "productId": item["id"]}], contactId=customer["id"])
    (line,) = lookup(api, "invoiceLines", invoiceId=made["id"])
    return str(line["taxRateId"])


def test_line_tax_rate_comes_from_ruleset_and_contact(api: httpx.Client) -> None:
    assert _line_rate(api, "DK", "company") == tax_rate(api, "dk_sales_25")["id"]
    assert _line_rate(api, "DE", "company") == tax_rate(api, "eu_sales_goods")["id"]
    assert _line_rate(api, "DE", "company", "YDE") == tax_rate(api, "eu_sales_services")["id"]
    assert _line_rate(api, "SE", "person") == tax_rate(api, "dk_sales_25")["id"]
    assert _line_rate(api, "US", "company") == tax_rate(api, "export")["id"]
    assert _line_rate(api, "NO", "person", "YDE") == tax_rate(api, "export")["id"]
    eu = invoice(api, [{"unitPrice": 100}], contactId=contact(api, countryId="FR")["id"])
    assert (eu["tax"], eu["grossAmount"]) == (0, 100)


def test_line_tax_rate_is_read_only(api: httpx.Client) -> None:
    rate = tax_rate(api, "export")["id"]
    error(
        api.post(
            "/invoices",
            json={
                "invoice": {
                    **_body(api),
                    "lines": [{"productId": product(api)["id"], "unitPrice": 1, "taxRateId": rate}],
                }
            },
        ),
        422,
        "INVALID_RECORD",
    )


def test_external_id_on_invoices_and_products(api: httpx.Client) -> None:
    tagged = invoice(api, [{"unitPrice": 1}], externalId="idem-1")
    invoice(api, [{"unitPrice": 1}], externalId="idem-2")
    assert [i["id"] for i in lookup(api, "invoices", externalId="idem-1")] == [tagged["id"]]
    item = product(api, externalId="sku-1")
    assert [p["id"] for p in lookup(api, "products", externalId="sku-1")] == [item["id"]]
    for plural, singular, body in (
        ("bills", "bill", {"contactId": contact(api)["id"], "entryDate": "2026-01-01"}),
        ("bankPayments", "bankPayment", {"entryDate": "2026-01-01"}),
        ("daybookTransactions", "daybookTransaction", {"entryDate": "2026-01-01"}),
        ("contacts", "contact", {"name": "X", "countryId": "DK"}),
    ):
        answer = error(
            api.post(f"/{plural}", json={singular: {**body, "externalId": "x"}}), 422, "INVALID_RECORD"
        )
        assert (
            next(iter(answer["validationErrors"].values()))["attributes"]["externalId"]
            == "is an unknown field"
        )


def test_credit_note_reduces_the_credited_balance(api: httpx.Client) -> None:
    original = approve(api, invoice(api, [{"unitPrice": 400}])["id"])
    assert original["balance"] == 500
    item = lookup(api, "products")[0]["id"]
    note = created(
        api.post(
            "/invoices",
            json={
                "invoice": {
                    "type": "credit_note",
                    "creditedInvoiceId": original["id"],
                    "contactId": original["contactId"],
                    "entryDate": "2026-03-10",
                    "lines": [{"productId": item, "unitPrice": 100}],
                }
            },
        ),
        "invoices",
    )
    assert (note["amount"], note["tax"], note["grossAmount"]) == (100, 25, 125)
    approved = api.put(f"/invoices/{note['id']}", json={"invoice": {"state": "approved"}}).json()["invoices"]
    by_id = {i["id"]: i for i in approved}
    assert by_id[original["id"]]["balance"] == 375 and by_id[original["id"]]["isPaid"] is False
    assert by_id[note["id"]]["balance"] == 0 and by_id[note["id"]]["isPaid"] is True
    assert [i["id"] for i in lookup(api, "invoices", creditedInvoiceId=original["id"])] == [note["id"]]
    too_much = {
        "invoice": {
            "type": "credit_note",
            "creditedInvoiceId": original["id"],
            "contactId": original["contactId"],
            "entryDate": "2026-03-11",
            "state": "approved",
            "lines": [{"productId": item, "unitPrice": 400}],
        }
    }
    error(api.post("/invoices", json=too_much), 422, "INVALID_RECORD")
    assert api.get(f"/invoices/{original['id']}").json()["invoice"]["balance"] == 375


def test_credit_note_needs_an_approved_invoice_of_the_same_contact(api: httpx.Client) -> None:
    draft = invoice(api, [{"unitPrice": 100}])
    item = lookup(api, "products")[0]["id"]
    note = {
        "type": "credit_note",
        "creditedInvoiceId": draft["id"],
        "contactId": draft["contactId"],
        "entryDate": "2026-03-10",
        "state": "approved",
        "lines": [{"productId": item, "unitPrice": 10}],
    }
    error(api.post("/invoices", json={"invoice": note}), 422, "INVALID_RECORD")
    other = {**note, "contactId": contact(api, name="Anden")["id"]}
    error(api.post("/invoices", json={"invoice": other}), 422, "INVALID_RECORD")


def test_email_goes_to_the_outbox_and_marks_sent(api: httpx.Client, control: httpx.Client) -> None:
    customer = contact(api, contactPersons=[{"name": "Jane", "email": "jane@example.com", "isPrimary": True}])
    (person,) = lookup(api, "contactPersons", contactId=customer["id"])
    made = invoice(api, [{"unitPrice": 10}], contactId=customer["id"])
    mail = {"email": {"contactPersonId": person["id"], "emailSubject": "Faktura", "emailBody": "Hej"}}
    error(api.post(f"/invoices/{made['id']}/emails", json=mail), 422, "INVALID_RECORD")
    approve(api, made["id"])
    body = api.post(f"/invoices/{made['id']}/emails", json=mail).json()
    assert body["invoices"][0]["sentState"] == "sent"
    (sent,) = control.get("/outbox").json()["emails"]
    assert (sent["to"], sent["subject"], sent["body"], sent["invoiceId"]) == (
        "jane@example.com",
        "Faktura",
        "Hej",
        made["id"],
    )
    error(
        api.post(f"/invoices/{made['id']}/emails", json={"email": {"emailSubject": "x", "emailBody": "y"}}),
        422,
        "INVALID_RECORD",
    )
    error(api.post("/invoices/ghost/emails", json=mail), 404, "RECORD_NOT_FOUND")
    assert len(control.get("/outbox").json()["emails"]) == 1


def test_sent_state_can_be_set(api: httpx.Client) -> None:
    made = approve(api, invoice(api, [{"unitPrice": 10}])["id"])
    assert (
        created(api.put(f"/invoices/{made['id']}", json={"invoice": {"sentState": "printed"}}), "invoices")[
            "sentState"
        ]
        == "printed"
    )
    error(api.put(f"/invoices/{made['id']}", json={"invoice": {"sentState": "lost"}}), 422, "INVALID_RECORD")


def test_invoice_filters_and_sorting(api: httpx.Client) -> None:
    alice = contact(api, name="Alice ApS")["id"]
    bob = contact(api, name="Bob ApS")["id"]
    a = approve(api, invoice(api, [{"unitPrice": 100}], contactId=alice, entryDate="2025-01-15")["id"])
    b = invoice(api, [{"unitPrice": 200}], contactId=bob, entryDate="2025-04-20")
    c = approve(
        api, invoice(api, [{"unitPrice": 300}], contactId=bob, entryDate="2025-07-01", orderNo="PO-77")["id"]
    )

    def ids(**query: object) -> list[str]:
        return [i["id"] for i in lookup(api, "invoices", **query)]

    assert ids(contactId=bob) == [b["id"], c["id"]]
    assert ids(state="approved") == [a["id"], c["id"]]
    assert ids(state="draft") == [b["id"]]
    assert ids(isPaid="false", state="approved") == [a["id"], c["id"]]
    assert ids(minEntryDate="2025-04-01", maxEntryDate="2025-06-30") == [b["id"]]
    assert ids(entryDatePeriod="quarter:2025-3") == [c["id"]]
    assert ids(entryDatePeriod="month:2025-01") == [a["id"]]
    assert ids(entryDatePeriod="year:2025") == [a["id"], b["id"], c["id"]]
    assert ids(entryDatePeriod="dates:2025-04-20...2025-07-01") == [b["id"], c["id"]]
    assert ids(minDueDate="2025-07-02") == [c["id"]]
    assert ids(invoiceNo="2") == [c["id"]]
    assert ids(amount=200) == [b["id"]]
    assert ids(q="alice") == [a["id"]]
    assert ids(q="PO-77") == [c["id"]]
    assert ids(q="375") == [c["id"]]
    assert ids(sortProperty="grossAmount", sortDirection="DESC") == [c["id"], b["id"], a["id"]]
    assert ids(sortProperty="contact.name") == [a["id"], b["id"], c["id"]]
    assert ids(sortProperty="invoiceNo") == [b["id"], a["id"], c["id"]]
    assert ids(**{"contactId[]": [alice, bob], "state": "approved"}) == [a["id"], c["id"]]
    error(api.get("/invoices", params={"entryDatePeriod": "fortnight:2025-1"}), 400, "INVALID_PARAMETERS")
    error(api.get("/invoices", params={"minEntryDate": "yesterday"}), 400, "INVALID_PARAMETERS")


def test_fiscal_year_period_follows_the_organization(api: httpx.Client) -> None:
    org_id = api.get("/organization").json()["organization"]["id"]
    api.put(f"/organizations/{org_id}", json={"organization": {"fiscalYearEndMonth": 6}})
    inside = invoice(api, [{"unitPrice": 1}], entryDate="2024-07-01")
    invoice(api, [{"unitPrice": 1}], entryDate="2025-07-01")
    assert [i["id"] for i in lookup(api, "invoices", entryDatePeriod="fiscalYear:2025")] == [inside["id"]]
