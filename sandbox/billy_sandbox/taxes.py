"""Which sales tax rate an invoice line gets: the product's ruleset applied to the contact."""

from __future__ import annotations

from billy_sandbox.schema import Record
from billy_sandbox.store import Tx


def _rule_matches(tx: Tx, rule: Record, contact: Record) -> bool:
    if rule.get("countryId") and rule["countryId"] != contact["countryId"]:
        return False
    if rule.get("countryGroupId"):
        group = tx.get("countryGroup", rule["countryGroupId"])
        if group is None or contact["countryId"] not in group["memberCountryIds"]:
            return False
    return not (rule.get("contactType") and rule["contactType"] != contact["type"])


def sales_tax_rate_id(tx: Tx, product: Record, contact: Record) -> str | None:
    """Rules by priority; the first that matches the contact's country (group) and type wins, else the fallback."""
    ruleset_id = product.get("salesTaxRulesetId") or tx.org().get("defaultSalesTaxRulesetId")
    ruleset = tx.get("salesTaxRuleset", ruleset_id) if ruleset_id else None
    if ruleset is None:
        return None
    rules = sorted(tx.find("salesTaxRule", "rulesetId", ruleset["id"]), key=lambda r: r["priority"])
    for rule in rules:
        if _rule_matches(tx, rule, contact):
            return str(rule["taxRateId"])
    fallback = ruleset.get("fallbackTaxRateId")
    return str(fallback) if fallback else None
