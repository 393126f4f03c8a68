"""Chart of accounts, tax rates and sales-tax rulesets, daybooks and daybook transactions."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from billy_sandbox import filters
from billy_sandbox.errors import invalid
from billy_sandbox.registry import register
from billy_sandbox.resources.common import (
    STATES,
    check_document_delete,
    check_document_update,
    check_parent_draft,
)
from billy_sandbox.schema import CREATED, ORG, B, Child, D, Date, E, Hooks, I, Id, Record, Resource, S, T
from billy_sandbox.store import Tx

READ = frozenset({"get", "list"})
NO_DELETE = frozenset({"get", "list", "create", "update"})


register(
    Resource(
        "accountGroup",
        "accountGroups",
        (
            ORG,
            S("name"),
            I("accountNo"),
            S("type"),
            Id("natureId", "accountNature"),
            S("sumFrom"),
            S("style"),
            I("priority"),
        ),
        ops=READ,
    )
)


class AccountHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        number = record.get("accountNo")
        if number is not None and any(
            a["id"] != record["id"] for a in tx.find("account", "accountNo", number)
        ):
            raise invalid(
                f"Account number {number} is already used.", {"accountNo": "is already used"}, "account"
            )
        if old is None:
            group = tx.get("accountGroup", record["groupId"])
            if group is not None and record.get("natureId") is None:
                record["natureId"] = group["natureId"]
            record["currencyId"] = record.get("currencyId") or tx.org()["baseCurrencyId"]


register(
    Resource(
        "account",
        "accounts",
        (
            ORG,
            S("name", required=True, nullable=False),
            I("accountNo", index=True),
            T("description"),
            Id("groupId", "accountGroup", required=True),
            Id("natureId", "accountNature", immutable=True),
            S("systemRole", readonly=True),
            Id("currencyId", "currency", immutable=True),
            Id("taxRateId", "taxRate"),
            B("isPaymentEnabled"),
            B("isBankAccount", immutable=True),
            B("isArchived"),
        ),
        ops=NO_DELETE,
        hooks=AccountHooks(),
        search=("name",),
    )
)


class TaxRateHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        rate = record["rate"]
        if not Decimal(0) <= rate <= Decimal(1):
            raise invalid(
                "A tax rate is a fraction between 0 and 1 (0.25 for 25%).", {"rate": "must be 0-1"}, "taxRate"
            )


register(
    Resource(
        "taxRate",
        "taxRates",
        (
            ORG,
            S("name", required=True, immutable=True, nullable=False),
            T("abbreviation"),
            T("description"),
            D("rate", required=True, immutable=True),
            B("appliesToSales"),
            B("appliesToPurchases"),
            B("isPredefined", readonly=True),
            B("isActive", default=True),
            S("predefinedTag", readonly=True),
            S("netAmountMetaField", immutable=True),
            B("isReverseCharge", immutable=True),
            I("priority", default=0),
        ),
        ops=NO_DELETE,
        hooks=TaxRateHooks(),
        search=("name", "abbreviation"),
    )
)


class RulesetHooks(Hooks):
    def check_delete(self, tx: Tx, record: Record) -> None:
        if record["isPredefined"]:
            raise invalid(
                "Predefined rulesets cannot be deleted.", {"isPredefined": "predefined"}, "salesTaxRuleset"
            )
        if tx.find("product", "salesTaxRulesetId", record["id"]):
            raise invalid("The ruleset is used by products.", {"id": "in use"}, "salesTaxRuleset")


register(
    Resource(
        "salesTaxRuleset",
        "salesTaxRulesets",
        (
            ORG,
            S("name", required=True, immutable=True, nullable=False),
            T("abbreviation"),
            T("description"),
            Id("fallbackTaxRateId", "taxRate"),
            B("isPredefined", readonly=True),
        ),
        children=(Child("rules", "salesTaxRule", "rulesetId"),),
        hooks=RulesetHooks(),
    )
)
register(
    Resource(
        "salesTaxRule",
        "salesTaxRules",
        (
            Id("rulesetId", "salesTaxRuleset", immutable=True),
            Id("countryId", "country"),
            S("stateId"),
            Id("countryGroupId", "countryGroup"),
            E("contactType", "company", "person"),
            Id("taxRateId", "taxRate"),
            I("priority", default=0),
        ),
        has_org=False,
    )
)


class DaybookHooks(Hooks):
    def check_delete(self, tx: Tx, record: Record) -> None:
        if tx.find("daybookTransaction", "daybookId", record["id"]):
            raise invalid(
                "A daybook with transactions cannot be deleted.", {"id": "has transactions"}, "daybook"
            )


register(
    Resource(
        "daybook",
        "daybooks",
        (
            ORG,
            B("isTransactionSummaryEnabled"),
            S("name", required=True, nullable=False),
            Id("defaultContraAccountId", "account"),
        ),
        hooks=DaybookHooks(),
    )
)


class DaybookTransactionHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        if record.get("daybookId") is None:
            daybooks = list(tx.store.all("daybook"))
            record["daybookId"] = daybooks[0]["id"] if daybooks else None

    def check_update(self, tx: Tx, old: Record, changes: Mapping[str, Any], children: bool) -> None:
        check_document_update("daybookTransaction", old, changes, children)

    def check_delete(self, tx: Tx, record: Record) -> None:
        check_document_delete("daybookTransaction", record)

    def after_write(self, tx: Tx, record: Record, old: Record | None) -> None:
        lines = tx.find("daybookTransactionLine", "daybookTransactionId", record["id"])
        if not lines and (old is None or record["state"] == "approved"):
            raise invalid(
                "Daybook transactions must have at least one line.",
                {"lines": "at least one"},
                "daybookTransaction",
            )
        if record["state"] == "approved" and (old is None or old["state"] == "draft"):
            _check_balanced(lines)


def _check_balanced(lines: list[Record]) -> None:
    """Lines with a contra account balance themselves; the rest must sum to zero debit minus credit."""
    balance = sum(
        (line["amount"] if line["side"] == "debit" else -line["amount"])
        for line in lines
        if line.get("contraAccountId") is None
    )
    if balance != 0:
        raise invalid(
            f"The transaction does not balance (debit minus credit is {balance}).",
            {"lines": "debit and credit must balance"},
            "daybookTransaction",
        )


register(
    Resource(
        "daybookTransaction",
        "daybookTransactions",
        (
            ORG,
            Id("daybookId", "daybook"),
            CREATED,
            Date("entryDate", required=True, immutable=True, index=True),
            S("voucherNo"),
            T("description"),
            T("extendedDescription"),
            S("apiType", index=True),
            E("state", *STATES, default="draft", nullable=False, index=True),
            I("priority", default=0),
        ),
        children=(Child("lines", "daybookTransactionLine", "daybookTransactionId"),),
        sortable=("priority", "entryDate", "createdTime"),
        filters={
            "minEntryDate": filters.min_date("entryDate"),
            "maxEntryDate": filters.max_date("entryDate"),
        },
        search=("description", "voucherNo", "extendedDescription"),
        hooks=DaybookTransactionHooks(),
    )
)


class DaybookLineHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        check_parent_draft(tx, "daybookTransaction", record, "daybookTransactionId", "daybookTransaction")
        number = record.get("accountNo")
        if number is not None:
            accounts = tx.find("account", "accountNo", number)
            if not accounts:
                raise invalid(
                    f"No account with number {number}.",
                    {"accountNo": "does not exist"},
                    "daybookTransactionLine",
                )
            if record.get("accountId") not in (None, accounts[0]["id"]):
                raise invalid(
                    "accountId and accountNo disagree.", {"accountNo": "disagrees"}, "daybookTransactionLine"
                )
            record["accountId"] = accounts[0]["id"]
        if record.get("accountId") is None:
            raise invalid(
                "Either accountId or accountNo must be filled in.",
                {"accountId": "is required"},
                "daybookTransactionLine",
            )
        if record["amount"] < 0:
            raise invalid(
                "Line amounts must not be negative; use side.",
                {"amount": "negative"},
                "daybookTransactionLine",
            )
        record["currencyId"] = record.get("currencyId") or tx.org()["baseCurrencyId"]

    def check_delete(self, tx: Tx, record: Record) -> None:
        check_parent_draft(tx, "daybookTransaction", record, "daybookTransactionId", "daybookTransaction")


register(
    Resource(
        "daybookTransactionLine",
        "daybookTransactionLines",
        (
            Id("daybookTransactionId", "daybookTransaction", required=True, immutable=True),
            T("text"),
            Id("accountId", "account"),
            I("accountNo"),
            Id("taxRateId", "taxRate"),
            Id("contraAccountId", "account"),
            D("amount", required=True, nullable=False),
            E("side", "debit", "credit", required=True, nullable=False),
            Id("currencyId", "currency"),
            I("priority", default=0),
        ),
        hooks=DaybookLineHooks(),
        has_org=False,
        parent=("daybookTransaction", "daybookTransactionId"),
    )
)
