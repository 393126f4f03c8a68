"""Product tools: list, get, create and update, with a unit price per currency.

Billy keeps prices as child records (``productPrices``), one per currency. Prices are edited one by
one, never by sending the product with an embedded ``prices`` array: that would replace (drop) the
prices in every currency not named. Creates store the idempotency key in the product's
``externalId`` and look it up first, so a retried create never makes a second product, even on
another server instance with another key store.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from billy_core.context import CallContext
from billy_core.domain.common import text_or_none
from billy_core.domain.references import (
    BillyId,
    CurrencyCode,
    Price,
    Problems,
    check_codes,
    find_live,
    get_or_not_found,
    note_partial_failure,
    records_by_id,
    search_window,
)
from billy_core.errors import ToolError
from billy_core.listing import GetInput, ListInput, ListOutput, project
from billy_core.money import money
from billy_core.tools import Tool, ToolInput, ToolOutput
from billy_core.write_safety import new_idempotency_key

WITH_PRICES = "product.prices:embed"


class PriceInput(ToolInput):
    currency: CurrencyCode = Field("DKK", description="ISO currency code (default DKK)", examples=["EUR"])
    unit_price: Price = Field(description="Unit price excluding VAT, two decimals at most")


class PriceOutput(ToolOutput):
    currency: str
    unit_price: str = Field(description="Two-decimal string, excluding VAT")


class ProductOutput(ToolOutput):
    id: str
    name: str | None = None
    product_no: str | None = Field(None, description="Your product number (SKU)")
    description: str | None = Field(None, description="Default text for invoice lines")
    unit: str | None = Field(None, description="Unit, such as pieces or hours")
    account_id: str | None = Field(None, description="The revenue account sales are booked to")
    sales_tax_ruleset_id: str | None = Field(None, description="The VAT ruleset deciding the rate")
    is_archived: bool | None = None
    external_id: str | None = Field(None, description="Key of the system that created it")
    prices: list[PriceOutput] | None = Field(None, description="One unit price per currency")


class CreatedProductOutput(ProductOutput):
    replayed: bool | None = Field(None, description="True when this is the product an earlier call created")


class UpdatedProductOutput(ProductOutput):
    changed: list[str] | None = Field(None, description="What this call changed; empty when nothing did")


class ListProductsInput(ListInput):
    search: str | None = Field(
        None,
        max_length=200,
        description="Part of the name, product number or description (case-insensitive)",
        examples=["espresso", "EM-100"],
    )
    include_archived: bool = Field(False, description="Also list archived products", examples=[False])


class GetProductInput(GetInput):
    product_id: BillyId = Field(
        description="The Billy id of the product", examples=["XdVvgPgKtJvnyPBIklBZHw"]
    )


class ProductFields(ToolInput):
    description: str | None = Field(
        None, max_length=1000, description="Default text for invoice lines", examples=["Inkl. montering"]
    )
    product_no: str | None = Field(
        None, max_length=50, description="Product number (SKU)", examples=["EM-100"]
    )
    unit: str | None = Field(
        None, max_length=30, description="Unit, such as pieces or hours", examples=["hours"]
    )
    account_id: BillyId | None = Field(
        None,
        description="Revenue account id (see list_accounts); default: the company's sales account",
        examples=["rPlln7zUcTlaQFuQGwTCzw"],
    )
    sales_tax_ruleset_id: BillyId | None = Field(
        None,
        description="VAT ruleset id; default: the company's default ruleset",
        examples=["mUvWuZawaw_OcMAUSAt8Tg"],
    )


class CreateProductInput(ProductFields):
    name: str = Field(min_length=1, max_length=255, description="Product name", examples=["Espressomaskine"])
    prices: list[PriceInput] = Field(
        default_factory=list,
        max_length=20,
        description="Unit prices, at most one per currency",
        examples=[
            [{"currency": "DKK", "unit_price": "18995.00"}, {"currency": "EUR", "unit_price": "2546.25"}]
        ],
    )


class UpdateProductInput(ProductFields):
    product_id: BillyId = Field(
        description="The Billy id of the product", examples=["XdVvgPgKtJvnyPBIklBZHw"]
    )
    name: str | None = Field(
        None, min_length=1, max_length=255, description="New name", examples=["Espresso Pro"]
    )
    archived: bool | None = Field(
        None, description="Archive (true) or restore (false) the product", examples=[False]
    )
    prices: list[PriceInput] | None = Field(
        None,
        max_length=20,
        description=(
            "Set the unit price in these currencies (added when the product has no price in that "
            "currency). Prices in currencies not named here are kept."
        ),
        examples=[[{"currency": "DKK", "unit_price": "199.00"}]],
    )


def price_summary(price: dict[str, Any]) -> dict[str, Any]:
    return {"currency": price.get("currencyId"), "unit_price": money(price.get("unitPrice", 0))}


def product_summary(product: dict[str, Any], prices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": product["id"],
        "name": product.get("name", ""),
        "product_no": text_or_none(product.get("productNo")),
        "description": text_or_none(product.get("description")),
        "unit": text_or_none(product.get("unit")),
        "account_id": product.get("accountId"),
        "sales_tax_ruleset_id": product.get("salesTaxRulesetId"),
        "is_archived": bool(product.get("isArchived")),
        "external_id": text_or_none(product.get("externalId")),
        "prices": [price_summary(price) for price in sorted(prices, key=lambda p: str(p.get("currencyId")))],
    }


def embedded(product: dict[str, Any]) -> dict[str, Any]:
    return product_summary(product, product.get("prices", []))


def matches(product: dict[str, Any], needle: str) -> bool:
    lowered = needle.casefold()
    return any(
        text and lowered in text.casefold()
        for text in (product["name"], product["product_no"], product["description"])
    )


async def list_products(args: ListProductsInput, ctx: CallContext) -> dict[str, Any]:
    products = await ctx.billy.list_all("products")
    prices: dict[str, list[dict[str, Any]]] = {}
    for price in await ctx.billy.list_all("productPrices"):
        prices.setdefault(str(price.get("productId")), []).append(price)
    summaries = [product_summary(product, prices.get(str(product["id"]), [])) for product in products]
    return search_window(
        summaries, args, search=args.search, include_archived=args.include_archived, matches=matches
    )


async def get_product(args: GetProductInput, ctx: CallContext) -> dict[str, Any]:
    product = await fetch_product(ctx, args.product_id)
    return project(embedded(product), args.fields)


async def fetch_product(ctx: CallContext, product_id: str, *, live: bool = False) -> dict[str, Any]:
    product = await get_or_not_found(
        ctx, "products", product_id, field="product_id", what="product", include=WITH_PRICES, live=live
    )
    ctx.touch(f"product:{product['id']}")
    return product


async def check_product_fields(
    ctx: CallContext, args: ProductFields, prices: list[PriceInput], problems: Problems
) -> None:
    """Currencies, the account and the ruleset must exist in Billy; one price per currency."""
    seen: set[str] = set()
    for index, price in enumerate(prices):
        if price.currency.upper() in seen:
            problems.add(f"prices.{index}.currency", "duplicate_currency", "one price per currency")
        seen.add(price.currency.upper())
    problems.raise_if_any()
    wanted = [(f"prices.{index}.currency", price.currency.upper()) for index, price in enumerate(prices)]
    await check_codes(ctx, "currencies", wanted, problems, what="currency")
    if args.account_id is not None:
        account = (await records_by_id(ctx, "accounts")).get(args.account_id)
        if account is None:
            problems.add("account_id", "unknown_account", "no such account (see list_accounts)")
        elif account.get("isArchived"):
            problems.add("account_id", "archived_account", "the account is archived")
    if args.sales_tax_ruleset_id is not None:
        rulesets = await records_by_id(ctx, "salesTaxRulesets")
        if args.sales_tax_ruleset_id not in rulesets:
            known = ", ".join(f"{r['id']} ({r.get('name')})" for r in rulesets.values())
            problems.add("sales_tax_ruleset_id", "unknown_ruleset", f"no such VAT ruleset; known: {known}")
    problems.raise_if_any()


def field_values(args: ProductFields) -> dict[str, Any]:
    values = {
        "description": args.description,
        "productNo": args.product_no,
        "unit": args.unit,
        "accountId": args.account_id,
        "salesTaxRulesetId": args.sales_tax_ruleset_id,
    }
    return {key: value for key, value in values.items() if value is not None}


async def create_product(args: CreateProductInput, ctx: CallContext) -> dict[str, Any]:
    await check_product_fields(ctx, args, args.prices, Problems())
    key = ctx.idempotency_key or new_idempotency_key()
    found = await find_live(ctx, "products", "externalId", key, include=WITH_PRICES)
    if found is not None:
        ctx.touch(f"product:{found['id']}")
        return {**embedded(found), "replayed": True}
    record = {
        "name": args.name,
        "externalId": key,
        **field_values(args),
        "prices": [{"currencyId": p.currency.upper(), "unitPrice": p.unit_price} for p in args.prices],
    }
    body = await ctx.billy.create("products", record, invalidates=("productPrices",))
    product = body["products"][0]
    ctx.touch(f"product:{product['id']}")
    return product_summary(product, body.get("productPrices", []))


async def update_product(args: UpdateProductInput, ctx: CallContext) -> dict[str, Any]:
    product = await fetch_product(ctx, args.product_id, live=True)
    await check_product_fields(ctx, args, args.prices or [], Problems())
    wanted = field_values(args)
    for key, value in (("name", args.name), ("isArchived", args.archived)):
        if value is not None:
            wanted[key] = value
    changes = {key: value for key, value in wanted.items() if product.get(key) != value}
    current = {str(price.get("currencyId")): price for price in product.get("prices", [])}
    applied: list[str] = []
    try:
        if changes:
            await ctx.billy.update("products", product["id"], changes, invalidates=("productPrices",))
            applied += sorted(changes)
        for price in args.prices or []:
            currency = price.currency.upper()
            existing = current.get(currency)
            if existing is None:
                record = {"productId": product["id"], "currencyId": currency, "unitPrice": price.unit_price}
                await ctx.billy.create("productPrices", record, invalidates=("products",))
            elif existing.get("unitPrice") != price.unit_price:
                changed = {"unitPrice": price.unit_price}
                await ctx.billy.update("productPrices", existing["id"], changed, invalidates=("products",))
            else:
                continue
            applied.append(f"price:{currency}")
    except ToolError as exc:
        note_partial_failure(exc, applied, "get_product")
        raise
    fresh = await ctx.billy.get_record("products", product["id"], include=WITH_PRICES)
    return {**embedded(fresh), "changed": applied}


LIST_PRODUCTS = Tool(
    name="list_products",
    title="List or search products",
    description=(
        "Find products by part of their name, product number or description, with their unit prices "
        "per currency; searches every page. Use it to pick a product for an invoice line. Returns "
        "{items, total, has_more, next_offset}."
    ),
    input_model=ListProductsInput,
    output_model=ListOutput,
    handler=list_products,
    idempotent=True,
)

GET_PRODUCT = Tool(
    name="get_product",
    title="Get a product",
    description="One product with its unit price in each currency, its revenue account and VAT ruleset.",
    input_model=GetProductInput,
    output_model=ProductOutput,
    handler=get_product,
    idempotent=True,
)

CREATE_PRODUCT = Tool(
    name="create_product",
    title="Create a product",
    description=(
        "Create a product with unit prices (excluding VAT) in one or more currencies. The currency, "
        "account and VAT ruleset are checked first. Safe to retry with the same idempotency_key, also "
        "across server restarts: the key is stored on the product in Billy."
    ),
    input_model=CreateProductInput,
    output_model=CreatedProductOutput,
    handler=create_product,
    read_only=False,
    creates="products",
)

UPDATE_PRODUCT = Tool(
    name="update_product",
    title="Update a product",
    description=(
        "Change a product's name, description, number, unit, account, VAT ruleset or archive flag, or "
        "set its price in a currency. Prices in other currencies are kept; nothing is ever removed. "
        "Repeating the same call changes nothing more."
    ),
    input_model=UpdateProductInput,
    output_model=UpdatedProductOutput,
    handler=update_product,
    read_only=False,
    idempotent=True,
)


def tools(kernel: Any) -> list[Tool]:
    return [LIST_PRODUCTS, GET_PRODUCT, CREATE_PRODUCT, UPDATE_PRODUCT]
