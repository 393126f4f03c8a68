"""get_revenue and list_overdue_invoices end to end: exact Decimal sums checked against the
sandbox's own records, currency conversion, aging bucket edges and argument checks."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from tests.catalogue.billing import approved_invoice, buckets, month, new_contact
from tests.catalogue.conftest import error_fields

pytestmark = pytest.mark.anyio


def exact(sandbox, path: str, **params) -> dict:
    """A sandbox answer with its numbers read as Decimal, so expectations are exact too."""
    response = httpx.get(f"{sandbox.api_url}{path}", params=params, headers={"X-Access-Token": sandbox.token})
    response.raise_for_status()
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture
def customer(catalogue_sandbox):
    return new_contact(catalogue_sandbox, "Omsætningstest", email="regnskab@omsaetning.dk")


async def test_revenue_of_the_demo_company_matches_billy_to_the_øre(tools, catalogue_sandbox):
    async with tools() as call:
        revenue = await call.ok(
            "get_revenue", {"start_date": "2026-01-01", "end_date": "2026-03-31", "as_of": "2026-09-30"}
        )
    documents = exact(
        catalogue_sandbox,
        "/invoices",
        state="approved",
        minEntryDate="2026-01-01",
        maxEntryDate="2026-03-31",
    )["invoices"]
    assert [item["month"] for item in revenue["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert revenue["currency"] == "DKK" and revenue["as_of"] == "2026-09-30"
    for name in ("2026-01", "2026-02", "2026-03"):
        mine = [d for d in documents if d["entryDate"].startswith(name)]
        expected = {"net": Decimal(0), "vat": Decimal(0), "gross": Decimal(0), "outstanding": Decimal(0)}
        for document in mine:
            sign = -1 if document["type"] == "credit_note" else 1
            rate = Decimal(document["exchangeRate"])
            for key, field in (
                ("net", "amount"),
                ("vat", "tax"),
                ("gross", "grossAmount"),
                ("outstanding", "balance"),
            ):
                expected[key] += sign * (Decimal(document[field]) * rate).quantize(Decimal("0.01"))
        got = month(revenue, name)
        assert {key: got[key] for key in expected} == {key: f"{value:.2f}" for key, value in expected.items()}
        assert got["invoices"] + got["credit_notes"] == len(mine)
    totals = revenue["totals"]
    for key in ("net", "vat", "gross", "paid", "outstanding", "overdue"):
        assert Decimal(totals[key]) == sum(Decimal(item[key]) for item in revenue["months"])
    assert totals["invoices"] == sum(item["invoices"] for item in revenue["months"])


async def test_revenue_counts_approved_documents_only_and_converts_currencies(tools, customer):
    async with tools() as call:
        await call.ok(
            "create_invoice",
            {
                "customer_id": customer["id"],
                "entry_date": "2025-05-05",
                "lines": [{"description": "x", "unit_price": "999"}],
            },
        )
        await approved_invoice(call, customer, entry_date="2025-05-06", currency="EUR")
        await approved_invoice(call, customer, entry_date="2025-06-30")
        revenue = await call.ok(
            "get_revenue",
            {
                "start_date": "2025-05-01",
                "end_date": "2025-07-31",
                "customer_id": customer["id"],
                "as_of": "2025-07-01",
            },
        )
    may, june, july = revenue["months"]
    # 375.00 EUR at the invoice's rate 7.46: 300.00 -> 2238.00, 75.00 -> 559.50, 375.00 -> 2797.50
    assert (may["invoices"], may["net"], may["vat"], may["gross"], may["outstanding"], may["overdue"]) == (
        1,
        "2238.00",
        "559.50",
        "2797.50",
        "2797.50",
        "2797.50",
    )
    assert (june["invoices"], june["gross"], june["paid"], june["overdue"]) == (1, "375.00", "0.00", "0.00")
    assert july == {
        "month": "2025-07",
        "invoices": 0,
        "credit_notes": 0,
        **dict.fromkeys(("net", "vat", "gross", "paid", "outstanding", "overdue"), "0.00"),
    }
    assert revenue["totals"]["gross"] == "3172.50"


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({"start_date": "2026-03-01", "end_date": "2026-02-28"}, "end_date", "before_start_date"),
        ({"start_date": "2000-01-01", "end_date": "2026-12-31"}, "end_date", "period_too_long"),
        ({"start_date": "2026-1-1", "end_date": "2026-12-31"}, "start_date", "date_format"),
        ({"end_date": "2026-12-31"}, "start_date", "missing"),
        (
            {"start_date": "2026-01-01", "end_date": "2026-12-31", "customer_id": "a/b"},
            "customer_id",
            "string_pattern_mismatch",
        ),
    ],
)
async def test_get_revenue_refuses_bad_periods(tools, arguments, field, rule):
    async with tools() as call:
        refused = await call.error("get_revenue", arguments)
    assert refused["code"] == "invalid_argument" and (field, rule) in error_fields(refused)


async def test_overdue_list_of_the_demo_company_adds_up(tools, catalogue_sandbox):
    async with tools() as call:
        overdue = await call.ok("list_overdue_invoices", {"as_of": "2026-09-30", "limit": 500})
        slim = await call.ok(
            "list_overdue_invoices", {"as_of": "2026-09-30", "limit": 2, "fields": ["balance"]}
        )
    expected = [
        invoice
        for invoice in exact(
            catalogue_sandbox,
            "/invoices",
            state="approved",
            isPaid="false",
            type="invoice",
            maxDueDate="2026-09-29",
        )["invoices"]
        if invoice["balance"] > 0
    ]
    assert overdue["total"] == len(expected) > 0
    base_total = sum(
        ((Decimal(i["balance"]) * Decimal(i["exchangeRate"])).quantize(Decimal("0.01")) for i in expected),
        Decimal(0),
    )
    assert overdue["total_balance"] == f"{base_total:.2f}"
    assert sum(Decimal(b["balance"]) for b in overdue["buckets"]) == base_total
    assert sum(b["count"] for b in overdue["buckets"]) == overdue["total"]
    days = [item["days_overdue"] for item in overdue["items"]]
    assert days == sorted(days, reverse=True) and min(days) >= 1
    assert all(set(item) == {"id", "balance"} for item in slim["items"]) and slim["has_more"] is True


@pytest.mark.parametrize(
    ("as_of", "days", "bucket"),
    [
        ("2025-09-02", 1, "0-30"),
        ("2025-10-01", 30, "0-30"),
        ("2025-10-02", 31, "31-60"),
        ("2025-10-31", 60, "31-60"),
        ("2025-11-01", 61, "61-90"),
        ("2025-11-30", 90, "61-90"),
        ("2025-12-01", 91, "over 90"),
    ],
)
async def test_aging_bucket_edges(tools, customer, as_of, days, bucket):
    async with tools() as call:
        invoice = await approved_invoice(
            call, customer, entry_date="2025-08-18", payment_terms_mode="net", payment_terms_days=14
        )
        on_due_date = await call.ok(
            "list_overdue_invoices", {"as_of": "2025-09-01", "customer_id": customer["id"]}
        )
        overdue = await call.ok("list_overdue_invoices", {"as_of": as_of, "customer_id": customer["id"]})
    assert invoice["due_date"] == "2025-09-01" and on_due_date["total"] == 0
    (item,) = overdue["items"]
    assert (item["id"], item["days_overdue"], item["bucket"], item["balance"]) == (
        invoice["id"],
        days,
        bucket,
        "375.00",
    )
    assert buckets(overdue)[bucket] == (1, "375.00") and overdue["total_balance"] == "375.00"
