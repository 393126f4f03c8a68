"""Small builders for contract tests: each returns the created record as the API answered it."""

from __future__ import annotations

from typing import Any

import httpx


def created(response: httpx.Response, plural: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()[plural]
    return records[0]


def lookup(api: httpx.Client, plural: str, **query: Any) -> list[dict[str, Any]]:
    response = api.get(f"/{plural}", params=query)
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()[plural]
    return records


def tax_rate(api: httpx.Client, tag: str) -> dict[str, Any]:
    return next(r for r in lookup(api, "taxRates") if r["predefinedTag"] == tag)


def account(api: httpx.Client, number: int) -> dict[str, Any]:
    (found,) = lookup(api, "accounts", accountNo=number)
    return found


def contact(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"name": "Ninjas ApS", "countryId": "DK", "isCustomer": True, **fields}
    return created(api.post("/contacts", json={"contact": body}), "contacts")


def product(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"name": "Espressomaskine", **fields}
    return created(api.post("/products", json={"product": body}), "products")


def invoice(api: httpx.Client, lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    if "contactId" not in fields:
        fields["contactId"] = contact(api)["id"]
    if any("productId" not in line for line in lines):
        product_id = product(api)["id"]
        lines = [{"productId": product_id, **line} for line in lines]
    body = {"entryDate": "2026-03-02", "lines": lines, **fields}
    return created(api.post("/invoices", json={"invoice": body}), "invoices")


def approve(api: httpx.Client, invoice_id: str, plural: str = "invoices") -> dict[str, Any]:
    singular = plural[:-1]
    return created(api.put(f"/{plural}/{invoice_id}", json={singular: {"state": "approved"}}), plural)


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["errorCode"] == code, body
    assert body["meta"] == {"statusCode": status, "success": False}
    assert isinstance(body["errorMessage"], str) and body["errorMessage"]
    return body
