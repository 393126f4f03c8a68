"""Organization, user and reference data: currencies, countries, locales, cities, account natures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billy_sandbox.errors import invalid
from billy_sandbox.registry import register
from billy_sandbox.schema import CREATED, B, D, E, Hooks, I, Id, Record, Resource, S, T
from billy_sandbox.store import Tx

READ = frozenset({"get", "list"})
PAYMENT_TERMS = ("net", "netEndOfMonth", "date")


class OrganizationHooks(Hooks):
    def check_update(self, tx: Tx, old: Record, changes: Mapping[str, Any], children: bool) -> None:
        month = changes.get("fiscalYearEndMonth")
        if month is not None and not 1 <= month <= 12:
            raise invalid(
                "fiscalYearEndMonth must be 1-12.", {"fiscalYearEndMonth": "must be 1-12"}, "organization"
            )
        if changes.get("nextInvoiceNo", 1) < 1:
            raise invalid(
                "nextInvoiceNo must be at least 1.", {"nextInvoiceNo": "must be at least 1"}, "organization"
            )
        if changes.get("paymentTermsDays", 0) is not None and changes.get("paymentTermsDays", 0) < 0:
            raise invalid(
                "paymentTermsDays must not be negative.", {"paymentTermsDays": "negative"}, "organization"
            )


register(
    Resource(
        "organization",
        "organizations",
        (
            Id("ownerUserId", "user", readonly=True),
            CREATED,
            S("name", required=True, nullable=False),
            S("url", readonly=True),
            T("street"),
            T("zipcode"),
            T("city"),
            Id("countryId", "country", readonly=True),
            T("phone"),
            T("fax"),
            T("email"),
            S("registrationNo"),
            Id("baseCurrencyId", "currency", readonly=True),
            I("fiscalYearEndMonth", nullable=False),
            S("firstFiscalYearStart", readonly=True),
            S("firstFiscalYearEnd", readonly=True),
            B("hasBillVoucherNo"),
            B("isTrial", readonly=True),
            B("isTerminated", readonly=True),
            Id("localeId", "locale"),
            S("billEmailAddress", readonly=True),
            B("isLocked", readonly=True),
            E("emailAttachmentDeliveryMode", "link", "linkAndAttachment", "attachment", nullable=False),
            B("hasVat", default=True),
            E("salesTaxPeriod", "month", "quarter", "halfYear", nullable=False),
            E("invoiceNoMode", "sequential", nullable=False),
            I("nextInvoiceNo", nullable=False),
            E("paymentTermsMode", "net", "netEndOfMonth", nullable=False),
            I("paymentTermsDays", nullable=False),
            E("defaultTaxMode", "incl", "excl", nullable=False),
            Id("defaultSalesAccountId", "account"),
            Id("defaultSalesTaxRulesetId", "salesTaxRuleset"),
            Id("defaultBankFeeAccountId", "account"),
            Id("defaultBillBankAccountId", "account"),
            Id("defaultInvoiceBankAccountId", "account"),
            S("fiscalLockingDate", readonly=True),
            S("region", readonly=True),
            S("subscriptionPeriod", readonly=True),
        ),
        ops=frozenset({"get", "list", "update"}),
        hooks=OrganizationHooks(),
        has_org=False,
    )
)

register(
    Resource(
        "user",
        "users",
        (
            CREATED,
            S("name"),
            S("email"),
            S("phone"),
            B("isStaff"),
            B("isSupporter"),
            B("isAdmin"),
            B("isSupportAccessAllowed"),
        ),
        ops=READ,
        has_org=False,
    )
)

register(
    Resource(
        "currency", "currencies", (S("name"), D("exchangeRate")), ops=READ, natural_ids=True, has_org=False
    )
)
register(
    Resource(
        "country",
        "countries",
        (S("name"), B("hasStates"), B("hasFiniteStates"), B("hasFiniteZipcodes"), S("icon"), S("locale")),
        ops=READ,
        natural_ids=True,
        has_org=False,
    )
)
# The sandbox's own reading of countryGroups: Billy's fields are not documented.
register(
    Resource(
        "countryGroup",
        "countryGroups",
        (S("name"), S("icon"), S("memberCountryIds")),
        ops=READ,
        natural_ids=True,
        has_org=False,
    )
)
register(Resource("locale", "locales", (S("name"), S("icon")), ops=READ, natural_ids=True, has_org=False))
register(
    Resource(
        "city",
        "cities",
        (S("name"), S("county"), S("stateId"), Id("countryId", "country")),
        ops=READ,
        natural_ids=True,
        has_org=False,
    )
)
register(Resource("accountNature", "accountNatures", (S("name"),), ops=READ, natural_ids=True, has_org=False))
