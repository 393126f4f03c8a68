"""Billy's wire conventions: auth, envelopes, paging, sorting, filters, include, errors, bulk."""

from __future__ import annotations

import httpx
import pytest
from billy_sandbox.runner import SandboxServer

from tests.sandbox.helpers import contact, created, error, invoice, lookup, product


def test_missing_token_is_authentication_required(bare_server: SandboxServer) -> None:
    body = error(httpx.get(f"{bare_server.api_url}/invoices"), 401, "AUTHENTICATION_REQUIRED")
    assert (
        body["errorMessage"]
        == "You must use Basic auth or an OAuth access token to make requests to the API."
    )


def test_wrong_token_is_invalid_access_token(bare_server: SandboxServer) -> None:
    response = httpx.get(f"{bare_server.api_url}/invoices", headers={"X-Access-Token": "nope"})
    body = error(response, 401, "OAUTH_INVALID_ACCESS_TOKEN")
    assert body["errorMessage"] == "Invalid OAuth 2 access token."


def test_organization_current_and_by_id(api: httpx.Client) -> None:
    org = api.get("/organization").json()["organization"]
    assert org["countryId"] == "DK" and org["baseCurrencyId"] == "DKK" and org["localeId"] == "da_DK"
    assert org["salesTaxPeriod"] == "quarter" and org["fiscalYearEndMonth"] == 12
    assert org["invoiceNoMode"] == "sequential" and org["nextInvoiceNo"] == 1
    assert (
        org["paymentTermsMode"] == "net" and org["paymentTermsDays"] == 8 and org["defaultTaxMode"] == "excl"
    )
    assert api.get(f"/organizations/{org['id']}").json()["organization"] == org
    error(api.get("/organizations/someoneElse"), 404, "RECORD_NOT_FOUND")
    accounts = {a["id"]: a["accountNo"] for a in lookup(api, "accounts")}
    assert accounts[org["defaultSalesAccountId"]] == 1110
    assert accounts[org["defaultBillBankAccountId"]] == 5710


def test_organization_put_changes_writable_fields(api: httpx.Client) -> None:
    org_id = api.get("/organization").json()["organization"]["id"]
    response = api.put(
        f"/organizations/{org_id}",
        json={"organization": {"salesTaxPeriod": "halfYear", "fiscalYearEndMonth": 6}},
    )
    org = created(response, "organizations")
    assert (org["salesTaxPeriod"], org["fiscalYearEndMonth"]) == ("halfYear", 6)
    error(
        api.put(f"/organizations/{org_id}", json={"organization": {"salesTaxPeriod": "weekly"}}),
        422,
        "INVALID_RECORD",
    )
    error(
        api.put(f"/organizations/{org_id}", json={"organization": {"fiscalYearEndMonth": 13}}),
        422,
        "INVALID_RECORD",
    )
    error(
        api.put(f"/organizations/{org_id}", json={"organization": {"baseCurrencyId": "EUR"}}),
        422,
        "INVALID_RECORD",
    )


def test_get_one_is_singular_and_list_is_plural_with_paging(api: httpx.Client) -> None:
    made = contact(api)
    one = api.get(f"/contacts/{made['id']}").json()
    assert one["contact"] == made and one["meta"]["success"] is True and one["meta"]["statusCode"] == 200
    listed = api.get("/contacts").json()
    assert listed["contacts"] == [made]
    assert listed["meta"]["paging"] == {"page": 1, "pageCount": 1, "pageSize": 1000, "total": 1}


def test_paging_links_and_page_size_limit(api: httpx.Client) -> None:
    for i in range(5):
        contact(api, name=f"Kunde {i}")
    body = api.get("/contacts", params={"pageSize": 2, "page": 2}).json()
    assert [c["name"] for c in body["contacts"]] == ["Kunde 2", "Kunde 3"]
    paging = body["meta"]["paging"]
    assert (paging["page"], paging["pageCount"], paging["pageSize"], paging["total"]) == (2, 3, 2, 5)
    assert (
        "page=1" in paging["previousUrl"] and "page=3" in paging["nextUrl"] and "page=3" in paging["lastUrl"]
    )
    assert api.get("/contacts", params={"pageSize": 2, "page": 4}).json()["contacts"] == []
    error(api.get("/contacts", params={"pageSize": 1001}), 400, "INVALID_PARAMETERS")
    error(api.get("/contacts", params={"page": 0}), 400, "INVALID_PARAMETERS")


def test_sorting(api: httpx.Client) -> None:
    for name in ("Bravo", "Alfa", "Charlie"):
        contact(api, name=name)
    names = [c["name"] for c in lookup(api, "contacts", sortProperty="name")]
    assert names == ["Alfa", "Bravo", "Charlie"]
    names = [c["name"] for c in lookup(api, "contacts", sortProperty="name", sortDirection="DESC")]
    assert names == ["Charlie", "Bravo", "Alfa"]
    error(api.get("/invoices", params={"sortProperty": "taxMode"}), 400, "INVALID_PARAMETERS")
    error(
        api.get("/contacts", params={"sortProperty": "name", "sortDirection": "UP"}),
        400,
        "INVALID_PARAMETERS",
    )


def test_equality_filters_on_other_resources(api: httpx.Client) -> None:
    customer = contact(api, name="Kunde", isCustomer=True)
    contact(api, name="Leverandør", isCustomer=False, isSupplier=True)
    assert [c["id"] for c in lookup(api, "contacts", isCustomer="true")] == [customer["id"]]
    assert [c["name"] for c in lookup(api, "contacts", isSupplier="true")] == ["Leverandør"]
    assert [a["name"] for a in lookup(api, "accounts", accountNo=1110)] == ["Salg"]
    assert [c["name"] for c in lookup(api, "contacts", q="leveran")] == ["Leverandør"]
    error(api.get("/contacts", params={"noSuchField": "x"}), 400, "INVALID_PARAMETERS")
    error(api.get("/contacts", params={"isCustomer": "maybe"}), 400, "INVALID_PARAMETERS")


def test_organization_id_accepted_when_matching(api: httpx.Client) -> None:
    org_id = api.get("/organization").json()["organization"]["id"]
    assert api.get("/contacts", params={"organizationId": org_id}).status_code == 200
    made = contact(api, organizationId=org_id)
    assert made["organizationId"] == org_id
    error(api.get("/contacts", params={"organizationId": "other"}), 422, "INVALID_RECORD")
    body = {"contact": {"name": "X", "countryId": "DK", "organizationId": "other"}}
    error(api.post("/contacts", json=body), 422, "INVALID_RECORD")


def test_include_embed_and_sideload(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 100}, {"unitPrice": 50}])
    body = api.get(
        f"/invoices/{made['id']}", params={"include": "invoice.lines:embed,invoice.contact:sideload"}
    ).json()
    assert [line["unitPrice"] for line in body["invoice"]["lines"]] == [100, 50]
    assert body["contacts"][0]["id"] == made["contactId"]
    body = api.get(
        "/invoices", params={"include": "invoice.lines,invoice.contact:embed,contact.country:embed"}
    ).json()
    listed = body["invoices"][0]
    assert len(listed["lineIds"]) == 2 and {line["id"] for line in body["invoiceLines"]} == set(
        listed["lineIds"]
    )
    assert listed["contact"]["country"] == {
        "id": "DK", "name": "Denmark", "hasStates": False, "hasFiniteStates": False,
        "hasFiniteZipcodes": False, "icon": "/flags/dk.png", "locale": "da_DK",
    }  # fmt: skip
    assert "lines" not in api.get(f"/invoices/{made['id']}").json()["invoice"]
    error(api.get("/invoices", params={"include": "invoice.nothing"}), 400, "INVALID_PARAMETERS")
    error(api.get("/invoices", params={"include": "bogus"}), 400, "INVALID_PARAMETERS")


def test_amounts_are_json_numbers(api: httpx.Client) -> None:
    made = invoice(api, [{"unitPrice": 99.95, "quantity": 3}])
    raw = api.get(f"/invoices/{made['id']}").text
    assert '"amount":299.85' in raw and '"tax":74.96' in raw and '"grossAmount":374.81' in raw


@pytest.mark.parametrize(
    ("body", "attribute"),
    [
        ({"name": "X", "countryId": "DK", "externalId": "abc"}, "externalId"),
        ({"name": "X", "countryId": "DK", "favouriteColour": "blue"}, "favouriteColour"),
        ({"name": 5, "countryId": "DK"}, "name"),
        ({"name": "X", "countryId": "DK", "isCustomer": "yes"}, "isCustomer"),
        ({"name": "X", "countryId": "DK", "paymentTermsDays": 1.5}, "paymentTermsDays"),
        ({"countryId": "DK"}, "name"),
        ({"name": "X"}, "countryId"),
        ({"name": "X", "countryId": "XX"}, "countryId"),
        ({"name": "X", "countryId": "DK", "type": "robot"}, "type"),
        ({"name": "X", "countryId": "DK", "accessCode": "abc"}, "accessCode"),
    ],
)
def test_bad_records_are_invalid_record_and_change_nothing(
    api: httpx.Client, body: dict[str, object], attribute: str
) -> None:
    response = api.post("/contacts", json={"contact": body})
    answer = error(response, 422, "INVALID_RECORD")
    (entry,) = answer["validationErrors"].values()
    assert attribute in entry["attributes"]
    assert lookup(api, "contacts") == []


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b'"text"', b"", b'{"contact": NaN}', b'{"contact": Infinity}', b"\xff\xfe"],
)
def test_malformed_json_is_invalid_request_body(api: httpx.Client, raw: bytes) -> None:
    error(api.post("/contacts", content=raw), 400, "INVALID_REQUEST_BODY")
    assert lookup(api, "contacts") == []


def test_wrong_root_key_is_invalid_request_body(api: httpx.Client) -> None:
    error(api.post("/contacts", json={"kontakt": {"name": "X"}}), 400, "INVALID_REQUEST_BODY")
    error(
        api.post("/contacts", json={"contact": {"name": "X", "countryId": "DK"}, "x": 1}),
        400,
        "INVALID_REQUEST_BODY",
    )


def test_not_a_record_object_is_invalid(api: httpx.Client) -> None:
    error(api.post("/contacts", json={"contact": ["name"]}), 422, "INVALID_RECORD")


def test_unknown_ids(api: httpx.Client) -> None:
    body = error(api.get("/contacts/nope"), 404, "RECORD_NOT_FOUND")
    assert body["errorMessage"] == "No `contact` record with id `nope` was found."
    error(api.put("/contacts/nope", json={"contact": {"name": "X"}}), 404, "RECORD_NOT_FOUND")
    made = contact(api)
    error(
        api.put(f"/contacts/{made['id']}", json={"contact": {"id": "other", "name": "Y"}}),
        422,
        "INVALID_RECORD",
    )


def test_delete_is_idempotent_and_reports_deleted_records(api: httpx.Client) -> None:
    made = contact(api, contactPersons=[{"name": "Jane", "email": "jane@example.com"}])
    body = api.delete(f"/contacts/{made['id']}").json()
    assert body["meta"]["deletedRecords"]["contacts"] == [made["id"]]
    assert len(body["meta"]["deletedRecords"]["contactPersons"]) == 1
    again = api.delete(f"/contacts/{made['id']}")
    assert again.status_code == 200 and again.json()["meta"]["deletedRecords"] == {"contacts": [made["id"]]}
    assert api.delete("/contacts/neverExisted").status_code == 200


def test_bulk_save_and_bulk_delete(api: httpx.Client) -> None:
    first = contact(api, name="Første")
    body = {"contacts": [{"id": first["id"], "name": "Første A/S"}, {"name": "Anden", "countryId": "SE"}]}
    saved = api.patch("/contacts", json=body).json()["contacts"]
    assert [c["name"] for c in saved] == ["Første A/S", "Anden"]
    bad = {"contacts": [{"id": first["id"], "name": "Ændret"}, {"name": "Mangler land"}]}
    error(api.patch("/contacts", json=bad), 422, "INVALID_RECORD")
    assert sorted(c["name"] for c in lookup(api, "contacts")) == ["Anden", "Første A/S"]
    ids = [c["id"] for c in saved]
    deleted = api.delete("/contacts", params=[("ids[]", i) for i in ids]).json()["meta"]["deletedRecords"]
    assert deleted["contacts"] == ids and lookup(api, "contacts") == []


def test_client_id_is_echoed_and_keys_validation_errors(api: httpx.Client) -> None:
    made = api.post("/contacts", json={"contact": {"_clientId": "c1", "name": "X", "countryId": "DK"}}).json()
    assert made["contacts"][0]["_clientId"] == "c1"
    bad = api.post("/contacts", json={"contact": {"_clientId": "c2", "countryId": "DK"}}).json()
    assert set(bad["validationErrors"]) == {"c2"}


def test_unknown_routes_and_methods(api: httpx.Client) -> None:
    error(api.get("/nonsense"), 404, "ROUTE_NOT_FOUND")
    error(api.get("/a/b/c/d"), 404, "ROUTE_NOT_FOUND")
    error(api.post("/currencies", json={"currency": {"name": "X"}}), 405, "METHOD_NOT_ALLOWED")
    error(api.delete("/organization"), 405, "METHOD_NOT_ALLOWED")
    error(api.post("/balanceModifiers", json={"balanceModifier": {}}), 405, "METHOD_NOT_ALLOWED")


def test_user_and_user_organizations(api: httpx.Client) -> None:
    user = api.get("/user").json()["user"]
    assert user["isAdmin"] is True
    orgs = api.get("/user/organizations").json()["organizations"]
    assert [o["id"] for o in orgs] == [api.get("/organization").json()["organization"]["id"]]


def test_reference_data(api: httpx.Client) -> None:
    assert {"DKK", "EUR", "USD"} <= {c["id"] for c in lookup(api, "currencies")}
    countries = {c["id"] for c in lookup(api, "countries")}
    assert {"DK", "DE", "SE", "NO", "US", "GB"} <= countries
    assert api.get("/currencies/DKK").json()["currency"]["exchangeRate"] == 1
    eu = api.get("/countryGroups/eu").json()["countryGroup"]
    assert "DE" in eu["memberCountryIds"] and "NO" not in eu["memberCountryIds"]
    assert len(lookup(api, "daybooks")) == 1
    assert (
        product(api)["accountId"] == api.get("/organization").json()["organization"]["defaultSalesAccountId"]
    )
