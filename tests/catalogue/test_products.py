"""Product tools end to end against the sandbox: lists, prices per currency, idempotent creates."""

from __future__ import annotations

import pytest

from tests.catalogue.conftest import billy_get, error_fields, sandbox_writes

pytestmark = pytest.mark.anyio


def billy_prices(sandbox, product_id: str) -> dict[str, str]:
    prices = billy_get(sandbox, "/productPrices", productId=product_id)["productPrices"]
    return {price["currencyId"]: str(price["unitPrice"]) for price in prices}


async def test_list_products_searches_and_shows_prices_per_currency(tools):
    async with tools() as call:
        everything = await call.ok("list_products", {"limit": 500})
        found = await call.ok("list_products", {"search": "em-100"})
        slim = await call.ok("list_products", {"limit": 2, "fields": ["name"]})
    assert everything["total"] == len(everything["items"]) >= 20
    names = [item["name"] for item in everything["items"]]
    assert names == sorted(names, key=str.casefold)
    [espresso] = found["items"]
    assert espresso["product_no"] == "EM-100"
    assert {price["currency"]: price["unit_price"] for price in espresso["prices"]} == {
        "DKK": "18995.00",
        "EUR": "2546.25",
    }
    assert slim["has_more"] is True and slim["next_offset"] == 2
    assert all(set(item) == {"id", "name"} for item in slim["items"])


async def test_get_product_and_unknown_product(tools):
    async with tools() as call:
        [listed] = (await call.ok("list_products", {"search": "EM-100"}))["items"]
        product = await call.ok("get_product", {"product_id": listed["id"]})
        missing = await call.error("get_product", {"product_id": "NoSuchProduct000000"})
    assert product == listed
    assert missing["code"] == "not_found" and ("product_id", "not_found") in error_fields(missing)


async def test_create_product_is_idempotent_even_across_deployments(
    tools, other_deployment, catalogue_sandbox
):
    arguments = {
        "name": "Kaffekværn Mini",
        "product_no": "KV-MINI",
        "unit": "pieces",
        "prices": [{"currency": "DKK", "unit_price": "1495.00"}, {"currency": "eur", "unit_price": 199.5}],
        "idempotency_key": "product-kv-mini-0001",
    }
    async with tools() as call:
        created = await call.ok("create_product", arguments)
        writes = sandbox_writes(catalogue_sandbox)
        again = await call.ok("create_product", arguments)
    async with other_deployment() as call:
        elsewhere = await call.ok("create_product", arguments)
    assert created["external_id"] == "product-kv-mini-0001"
    assert {price["currency"]: price["unit_price"] for price in created["prices"]} == {
        "DKK": "1495.00",
        "EUR": "199.50",
    }
    assert again["id"] == elsewhere["id"] == created["id"]
    assert elsewhere["replayed"] is True
    assert sandbox_writes(catalogue_sandbox) == writes


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"prices": [{"currency": "XYZ", "unit_price": "10"}]}, ("prices.0.currency", "unknown_currency")),
        (
            {"prices": [{"currency": "DKK", "unit_price": "1"}, {"currency": "dkk", "unit_price": "2"}]},
            ("prices.1.currency", "duplicate_currency"),
        ),
        (
            {"prices": [{"currency": "DKK", "unit_price": "-1"}]},
            ("prices.0.unit_price", "greater_than_equal"),
        ),
        (
            {"prices": [{"currency": "DKK", "unit_price": "1.005"}]},
            ("prices.0.unit_price", "decimal_max_places"),
        ),
        ({"prices": [{"currency": "DKK", "unit_price": "NaN"}]}, ("prices.0.unit_price", "finite_number")),
        ({"account_id": "NoSuchAccount000000"}, ("account_id", "unknown_account")),
        ({"sales_tax_ruleset_id": "NoSuchRuleset000000"}, ("sales_tax_ruleset_id", "unknown_ruleset")),
        ({"name": ""}, ("name", "string_too_short")),
    ],
)
async def test_create_product_refuses_bad_arguments_before_billy(
    tools, catalogue_sandbox, arguments, problem
):
    writes = sandbox_writes(catalogue_sandbox)
    async with tools() as call:
        refused = await call.error("create_product", {"name": "Må ikke oprettes", **arguments})
    assert refused["code"] == "invalid_argument"
    assert problem in error_fields(refused)
    assert sandbox_writes(catalogue_sandbox) == writes


async def test_update_product_sets_prices_without_dropping_any(tools, catalogue_sandbox):
    async with tools() as call:
        product = await call.ok(
            "create_product",
            {
                "name": "Servicepakke",
                "prices": [
                    {"currency": "DKK", "unit_price": "995.00"},
                    {"currency": "EUR", "unit_price": "133.00"},
                ],
            },
        )
        change = {
            "product_id": product["id"],
            "name": "Servicepakke Plus",
            "prices": [
                {"currency": "EUR", "unit_price": "139.00"},
                {"currency": "USD", "unit_price": "149.00"},
            ],
        }
        updated = await call.ok("update_product", change)
        writes = sandbox_writes(catalogue_sandbox)
        repeated = await call.ok("update_product", change)
        writes_after_repeat = sandbox_writes(catalogue_sandbox)
        archived = await call.ok("update_product", {"product_id": product["id"], "archived": True})
        hidden = await call.ok("list_products", {"search": "Servicepakke Plus"})
    assert updated["name"] == "Servicepakke Plus"
    assert {p["currency"]: p["unit_price"] for p in updated["prices"]} == {
        "DKK": "995.00",
        "EUR": "139.00",
        "USD": "149.00",
    }
    assert sorted(updated["changed"]) == ["name", "price:EUR", "price:USD"]
    assert billy_prices(catalogue_sandbox, product["id"]) == {"DKK": "995", "EUR": "139", "USD": "149"}
    assert repeated["changed"] == [] and writes_after_repeat == writes
    assert archived["is_archived"] is True and hidden["total"] == 0


async def test_update_product_validates_before_writing(tools, catalogue_sandbox):
    async with tools() as call:
        [product] = (await call.ok("list_products", {"search": "EM-100"}))["items"]
        writes = sandbox_writes(catalogue_sandbox)
        unknown = await call.error("update_product", {"product_id": "NoSuchProduct000000", "name": "X"})
        bad_currency = await call.error(
            "update_product",
            {"product_id": product["id"], "prices": [{"currency": "QQQ", "unit_price": "1"}]},
        )
    assert unknown["code"] == "not_found"
    assert ("prices.0.currency", "unknown_currency") in error_fields(bad_currency)
    assert sandbox_writes(catalogue_sandbox) == writes
