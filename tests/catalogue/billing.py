"""Helpers for the invoice, bill, payment and revenue tests: direct sandbox reads (to check what
really happened in Billy) and the preview -> confirm round trip of destructive tools."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

_names = itertools.count(1)

# name: (readOnlyHint, destructiveHint, idempotentHint)
TOOL_HINTS = {
    "list_invoices": (True, False, True),
    "get_invoice": (True, False, True),
    "create_invoice": (False, False, False),
    "update_invoice": (False, False, False),  # add_lines twice adds twice
    "approve_invoice": (False, True, True),
    "send_invoice": (False, True, False),
    "create_credit_note": (False, True, False),
    "record_invoice_payment": (False, True, False),
    "list_overdue_invoices": (True, False, True),
    "list_bills": (True, False, True),
    "get_bill": (True, False, True),
    "create_bill": (False, False, False),
    "approve_bill": (False, True, True),
    "record_bill_payment": (False, True, False),
    "get_revenue": (True, False, True),
}


def billy_get(sandbox: Any, path: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{sandbox.api_url}{path}", params=params, headers={"X-Access-Token": sandbox.token})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def billy_post(sandbox: Any, plural: str, record: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{sandbox.api_url}/{plural}",
        json={plural[:-1]: record},
        headers={"X-Access-Token": sandbox.token},
    )
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()[plural][0]
    return created


def billy_put(sandbox: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A change made in Billy directly (its own app, another integration), not through us."""
    response = httpx.put(f"{sandbox.api_url}{path}", json=body, headers={"X-Access-Token": sandbox.token})
    assert response.status_code == 200, response.text
    changed: dict[str, Any] = response.json()
    return changed


def new_contact(sandbox: Any, label: str, *, email: str | None = None, **fields: Any) -> dict[str, Any]:
    """A contact of our own, so the demo company's data cannot disturb the numbers."""
    name = f"{label} {next(_names)} ApS"
    persons = [{"name": "Jane Test", "email": email, "isPrimary": True}] if email else []
    record = {"name": name, "countryId": "DK", "isCustomer": True, "contactPersons": persons, **fields}
    return billy_post(sandbox, "contacts", record)


def outbox(sandbox: Any) -> list[dict[str, Any]]:
    emails: list[dict[str, Any]] = httpx.get(f"{sandbox.base_url}/_sandbox/outbox").json()["emails"]
    return emails


def invoices_with_external_id(sandbox: Any, external_id: str) -> list[dict[str, Any]]:
    invoices: list[dict[str, Any]] = billy_get(sandbox, "/invoices", externalId=external_id)["invoices"]
    return invoices


def account_id(sandbox: Any, number: int) -> str:
    (account,) = billy_get(sandbox, "/accounts", accountNo=number)["accounts"]
    return str(account["id"])


async def confirmed(call: Any, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Preview, then confirm with the ticket: returns (preview, result)."""
    first = await call.ok(tool, arguments)
    assert set(first) >= {"preview", "confirmation_ticket", "expires_at"}, first
    result = await call.ok(tool, {**arguments, "confirmation_ticket": first["confirmation_ticket"]})
    preview: dict[str, Any] = first["preview"]
    return preview, result


async def approved_invoice(call: Any, customer: dict[str, Any], **arguments: Any) -> dict[str, Any]:
    """2 × 150.00 excl 25 % VAT = 300.00 + 75.00 = 375.00, approved through preview -> confirm."""
    body = {
        "customer_id": customer["id"],
        "entry_date": "2026-02-02",
        "lines": [{"description": "Service", "quantity": "2", "unit_price": "150.00"}],
        **arguments,
    }
    made = await call.ok("create_invoice", body)
    _, approved = await confirmed(call, "approve_invoice", {"invoice_id": made["id"]})
    return approved


def amounts(record: dict[str, Any]) -> tuple[str, str, str]:
    """(net, VAT, gross) of an invoice, bill or preview."""
    return record["net_amount"], record["vat_amount"], record["gross_amount"]


def month(revenue: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in revenue["months"] if item["month"] == name)
    return found


def buckets(overdue: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {bucket["bucket"]: (bucket["count"], bucket["balance"]) for bucket in overdue["buckets"]}
