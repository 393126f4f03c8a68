"""Products with a price per currency."""

from __future__ import annotations

from billy_sandbox.errors import invalid
from billy_sandbox.registry import register
from billy_sandbox.schema import CREATED, ORG, B, Child, D, Hooks, Id, Record, Resource, S, T
from billy_sandbox.store import Tx


class ProductHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        org = tx.org()
        record["accountId"] = record.get("accountId") or org["defaultSalesAccountId"]
        record["salesTaxRulesetId"] = record.get("salesTaxRulesetId") or org["defaultSalesTaxRulesetId"]

    def check_delete(self, tx: Tx, record: Record) -> None:
        if tx.find("invoiceLine", "productId", record["id"]):
            raise invalid(
                "The product is used on invoices and cannot be deleted; archive it with isArchived instead.",
                {"id": "is used on invoice lines"},
                "product",
            )


register(
    Resource(
        "product",
        "products",
        (
            ORG,
            CREATED,
            S("name", required=True, nullable=False),
            T("description"),
            Id("accountId", "account"),
            Id("inventoryAccountId", "account", readonly=True),
            T("productNo"),
            T("suppliersProductNo"),
            Id("salesTaxRulesetId", "salesTaxRuleset"),
            B("isArchived"),
            B("isInInventory", readonly=True),
            S("unit"),
            S("externalId", index=True),
        ),
        children=(Child("prices", "productPrice", "productId"),),
        hooks=ProductHooks(),
        search=("name", "productNo", "description"),
    )
)


class ProductPriceHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        for other in tx.find("productPrice", "productId", record["productId"]):
            if other["id"] != record["id"] and other["currencyId"] == record["currencyId"]:
                raise invalid(
                    f"The product already has a price in {record['currencyId']}.",
                    {"currencyId": "already has a price"},
                    "productPrice",
                )


register(
    Resource(
        "productPrice",
        "productPrices",
        (
            Id("productId", "product", required=True, immutable=True),
            D("unitPrice", required=True, nullable=False),
            Id("currencyId", "currency", required=True),
        ),
        hooks=ProductPriceHooks(),
        has_org=False,
        parent=("product", "productId"),
    )
)
