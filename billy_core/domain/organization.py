"""Organization tools: who am I talking to, and does the token work."""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from billy_core.context import CallContext
from billy_core.errors import Forbidden, ToolError
from billy_core.tools import Tool, ToolInput, ToolOutput


class NoArguments(ToolInput):
    pass


class OrganizationOutput(ToolOutput):
    id: str
    name: str
    cvr: str | None = Field(None, description="The company's CVR number")
    country: str | None = None
    base_currency: str | None = None
    fiscal_year_end_month: int | None = Field(None, description="1-12; the fiscal year ends with this month")
    sales_tax_period: str | None = Field(None, description="VAT period: month, quarter or halfYear")
    default_tax_mode: str | None = Field(
        None, description="incl or excl: whether prices include VAT by default"
    )
    payment_terms_mode: str | None = None
    payment_terms_days: int | None = None
    locale: str | None = None


def organization_summary(org: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": org["id"],
        "name": org.get("name", ""),
        "cvr": org.get("registrationNo") or None,
        "country": org.get("countryId"),
        "base_currency": org.get("baseCurrencyId"),
        "fiscal_year_end_month": org.get("fiscalYearEndMonth"),
        "sales_tax_period": org.get("salesTaxPeriod"),
        "default_tax_mode": org.get("defaultTaxMode"),
        "payment_terms_mode": org.get("paymentTermsMode"),
        "payment_terms_days": org.get("paymentTermsDays"),
        "locale": org.get("localeId"),
    }


async def fetch_organization(ctx: CallContext, *, fresh: bool = False) -> dict[str, Any]:
    """The organization; ``fresh`` reads past the cache (its next invoice number moves)."""
    body = await ctx.billy.request("GET", "/organization", bypass_cache=fresh)
    organization: dict[str, Any] = body["organization"]
    return organization


async def get_organization(args: NoArguments, ctx: CallContext) -> dict[str, Any]:
    return organization_summary(await fetch_organization(ctx))


class AuthStatus(ToolOutput):
    valid: bool = Field(description="Whether Billy accepted the access token")
    organization_id: str | None = None
    organization_name: str | None = None
    read_only: bool = Field(description="Whether this server refuses writes")
    reason: str | None = Field(None, description="Why the token was refused")


def auth_status_tool(read_only: bool) -> Tool:
    async def validate_auth(args: NoArguments, ctx: CallContext) -> dict[str, Any]:
        try:
            org = await fetch_organization(ctx)
        except Forbidden as exc:
            return {"valid": False, "read_only": read_only, "reason": exc.message}
        return {
            "valid": True,
            "organization_id": org["id"],
            "organization_name": org.get("name"),
            "read_only": read_only,
        }

    return Tool(
        name="validate_auth",
        title="Check the Billy access token",
        description=(
            "Check that the configured Billy access token works and which organization it belongs to. "
            "Use it first when other tools fail with 'forbidden'."
        ),
        input_model=NoArguments,
        output_model=AuthStatus,
        handler=validate_auth,
        idempotent=True,
    )


class ConnectionStatus(ToolOutput):
    ok: bool = Field(description="Billy answered and accepted the access token")
    reachable: bool = Field(description="Billy answered at all (any HTTP answer counts)")
    authenticated: bool = Field(description="Billy accepted the access token")
    latency_ms: float | None = Field(None, description="Round trip of one GET /organization, in ms")
    api_url: str = Field(description="The Billy API this server talks to")
    organization_id: str | None = None
    organization_name: str | None = None
    error_code: str | None = Field(None, description="Our error code when the check failed")
    reason: str | None = Field(None, description="Why the check failed, in words")


def connection_tool(api_url: str) -> Tool:
    async def test_connection(args: NoArguments, ctx: CallContext) -> dict[str, Any]:
        result: dict[str, Any] = {"ok": False, "api_url": api_url, "reachable": False, "authenticated": False}
        try:
            await ctx.billy.organization_id()  # finds the organization first, so the timing is one request
            started = time.perf_counter()
            body = await ctx.billy.request("GET", "/organization", bypass_cache=True)
            result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        except ToolError as exc:
            answered = isinstance(exc.details.get("http_status"), int)
            return {**result, "reachable": answered, "error_code": exc.code.value, "reason": exc.message}
        organization = body["organization"]
        return {
            **result,
            "ok": True,
            "reachable": True,
            "authenticated": True,
            "organization_id": organization["id"],
            "organization_name": organization.get("name"),
        }

    return Tool(
        name="test_connection",
        title="Test the connection to Billy",
        description=(
            "Check that Billy is reachable, how long one request takes (latency_ms), that the access "
            "token is accepted, and which organization it opens. Use it when tools fail with "
            "upstream_unavailable or forbidden, or to check a new set-up."
        ),
        input_model=NoArguments,
        output_model=ConnectionStatus,
        handler=test_connection,
        idempotent=True,
    )


GET_ORGANIZATION = Tool(
    name="get_organization",
    title="Get the organization",
    description=(
        "The Billy organization (company) this server works for: name, CVR, base currency, fiscal year "
        "end month, VAT period and default payment terms. Use it to learn the company's settings."
    ),
    input_model=NoArguments,
    output_model=OrganizationOutput,
    handler=get_organization,
    idempotent=True,
)


def tools(kernel: Any) -> list[Tool]:
    return [GET_ORGANIZATION, auth_status_tool(kernel.read_only), connection_tool(kernel.settings.api_url)]
