"""The Danish helpers (no I/O) and test_connection, through a real MCP client."""

from __future__ import annotations

import httpx
import pytest

from billy_core.testing import mcp_client
from tests.catalogue.conftest import Caller, error_fields

pytestmark = pytest.mark.anyio


def sandbox_requests(sandbox) -> int:
    return int(httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()["total"])


async def test_calculate_vat_shows_where_per_line_and_per_invoice_rounding_differ(tools):
    async with tools() as call:
        lines = await call.ok(
            "calculate_vat", {"lines": [{"quantity": "3", "unit_price": "33.33"}, {"unit_price": "0.10"}]}
        )
        agree = await call.ok("calculate_vat", {"amount": "1000"})
    assert (lines["net"], lines["vat"], lines["gross"]) == ("100.09", "25.02", "125.11")
    assert lines["vat_rounded_per_line"] == "25.03" and lines["rounding_difference"] == "0.01"
    assert [line["vat_unrounded"] for line in lines["lines"]] == ["24.9975", "0.025"]
    assert "25.02" in lines["explanation"] and "25.03" in lines["explanation"]
    assert (agree["net"], agree["vat"], agree["gross"], agree["rounding_difference"]) == (
        "1000.00",
        "250.00",
        "1250.00",
        "0.00",
    )


async def test_calculate_vat_including_vat_mixed_rates_and_discounts(tools):
    async with tools() as call:
        incl = await call.ok("calculate_vat", {"amount": "1250", "tax_mode": "incl"})
        mixed = await call.ok(
            "calculate_vat",
            {
                "lines": [
                    {"quantity": 2, "unit_price": "100.00", "discount_percent": "10"},
                    {"unit_price": "50.00", "vat_percent": "0"},
                ],
            },
        )
    assert (incl["net"], incl["vat"], incl["gross"]) == ("1000.00", "250.00", "1250.00")
    assert [line["net"] for line in mixed["lines"]] == ["180.00", "50.00"]
    assert (mixed["vat"], mixed["gross"]) == ("45.00", "275.00")
    assert [line["vat_percent"] for line in mixed["lines"]] == ["25", "0"]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({}, ("(arguments)", "value_error")),
        ({"amount": "1", "lines": [{"unit_price": "1"}]}, ("(arguments)", "value_error")),
        ({"amount": 0.1 + 0.2}, ("amount", "decimal_max_places")),
        ({"amount": "1", "vat_percent": "125"}, ("vat_percent", "less_than_equal")),
        ({"amount": "1", "tax_mode": "inclusive"}, ("tax_mode", "literal_error")),
        ({"lines": [{"unit_price": "1", "quantity": "0"}]}, ("lines.0.quantity", "greater_than")),
    ],
)
async def test_calculate_vat_refuses_bad_arguments(tools, arguments, problem):
    async with tools() as call:
        refused = await call.error("calculate_vat", arguments)
    assert refused["code"] == "invalid_argument" and problem in error_fields(refused)


async def test_cvr_ean_and_kroner(tools):
    async with tools() as call:
        good = await call.ok("validate_cvr", {"cvr": "DK 13 74 81 36"})
        bad = await call.ok("validate_cvr", {"cvr": "35254119"})
        ean = await call.ok("validate_ean", {"ean": "5798000880016"})
        bad_ean = await call.ok("validate_ean", {"ean": "5798000880017"})
        kroner = await call.ok("format_dkk", {"amount": "1234.56"})
        negative = await call.ok("format_dkk", {"amount": "-1234567.891", "symbol": False})
    assert good == {**good, "valid": True, "number": "13748136"}
    assert bad["valid"] is False and "mod 11" in bad["reason"]
    assert ean["valid"] is True and "public" in ean["note"]
    assert bad_ean["valid"] is False and "GS1" in bad_ean["reason"]
    assert kroner == {"formatted": "1.234,56 kr.", "amount": "1234.56"}
    assert negative == {"formatted": "-1.234.567,89", "amount": "-1234567.89"}


async def test_helpers_are_closed_world_and_never_call_billy(tools, catalogue_kernel, catalogue_sandbox):
    helpers = {"calculate_vat", "validate_cvr", "validate_ean", "format_dkk"}
    async with tools() as call:
        listed = {tool.name: tool for tool in (await call.client.list_tools()).tools}
        before = sandbox_requests(catalogue_sandbox)
        for name, arguments in [
            ("calculate_vat", {"amount": "10"}),
            ("validate_cvr", {"cvr": "13748136"}),
            ("validate_ean", {"ean": "5798000880016"}),
            ("format_dkk", {"amount": "10"}),
        ]:
            await call.ok(name, arguments)
    assert sandbox_requests(catalogue_sandbox) == before
    for name in helpers:
        annotations = listed[name].annotations
        assert annotations.open_world_hint is False and annotations.read_only_hint is True
        assert annotations.idempotent_hint is True


async def test_connection_reports_latency_auth_and_organization(tools):
    async with tools() as call:
        status = await call.ok("test_connection")
    assert status["ok"] is True and status["reachable"] is True and status["authenticated"] is True
    assert status["organization_name"] == "Fjordlys Kaffeteknik ApS"
    assert 0 < status["latency_ms"] < 5000


async def test_connection_tells_a_refused_token_from_an_unreachable_billy(make_kernel, catalogue_sandbox):
    refused_kernel = make_kernel(api_url=catalogue_sandbox.api_url, access_token="wrong-token", sandbox=True)
    async with mcp_client(refused_kernel) as client:
        refused = await Caller(client).ok("test_connection")
    unreachable_kernel = make_kernel(api_url="http://127.0.0.1:9/v2", access_token="x", read_only=True)
    async with mcp_client(unreachable_kernel) as client:
        unreachable = await Caller(client).ok("test_connection")
    assert refused["ok"] is False and refused["reachable"] is True and refused["authenticated"] is False
    assert refused["error_code"] == "forbidden"
    assert unreachable["ok"] is False and unreachable["reachable"] is False
    assert unreachable["error_code"] in ("upstream_unavailable", "circuit_open")
