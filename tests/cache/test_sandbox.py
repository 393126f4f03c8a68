"""The cache on the path of every read, against the sandbox (L1 memory + L3 SQL, no Redis).

Upstream requests are counted by the sandbox's ``/_sandbox/stats``, never by the plugin.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from billy_cache.plugin import runtime

from billy_core import hookimpl
from billy_core.context import LOCAL_PRINCIPAL
from billy_core.errors import CircuitOpen
from billy_core.testing import mcp_client
from billy_core.upstream import ORDER_CIRCUIT_BREAKER, ORDER_RETRY
from tests.cache.conftest import eventually

pytestmark = pytest.mark.anyio

PAST_FRESHNESS = 60 + 30 + 1  # invoices: default TTL plus the stale-while-revalidate window


@pytest.fixture
def kernel_on(make_kernel: Any) -> Any:
    def build(sandbox: Any, **settings: Any) -> Any:
        return make_kernel(api_url=sandbox.api_url, access_token=sandbox.token, sandbox=True, **settings)

    return build


async def call(client: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.structured_content
    return dict(result.structured_content)


async def test_repeating_read_tools_makes_no_further_upstream_gets(kernel_on, fresh_sandbox):
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        invoices = await call(client, "list_invoices", {"limit": 5})
        invoice_id = invoices["items"][0]["id"]
        first = {
            "list_invoices": invoices,
            "get_invoice": await call(client, "get_invoice", {"invoice_id": invoice_id}),
            "list_customers": await call(client, "list_customers", {"limit": 5}),
            "get_organization": await call(client, "get_organization", {}),
        }
        after_first = fresh_sandbox.stats()
        for _ in range(3):
            assert await call(client, "list_invoices", {"limit": 5}) == first["list_invoices"]
            assert await call(client, "get_invoice", {"invoice_id": invoice_id}) == first["get_invoice"]
            assert await call(client, "list_customers", {"limit": 5}) == first["list_customers"]
            assert await call(client, "get_organization", {}) == first["get_organization"]
    assert fresh_sandbox.stats() == after_first
    assert "freshness" not in first["list_invoices"]


@pytest.mark.parametrize(
    ("tool", "cold_one", "cold_twenty"),
    [
        ("list_invoices", {"limit": 7}, {"limit": 8}),
        ("list_customers", {"limit": 7}, {"limit": 8, "include_archived": True}),
    ],
)
async def test_twenty_concurrent_cold_reads_make_as_many_gets_as_one(
    kernel_on, fresh_sandbox, tool, cold_one, cold_twenty
):
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        await call(client, tool, cold_one)
    one = fresh_sandbox.gets()
    fresh_sandbox.reset_stats()

    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        results: list[dict[str, Any]] = []

        async def read() -> None:
            results.append(await call(client, tool, cold_twenty))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(read)
    assert fresh_sandbox.gets() == one
    assert len(results) == 20 and all(result == results[0] for result in results)


async def test_a_write_then_a_read_shows_the_write(kernel_on, fresh_sandbox, write_plugin):
    contact_id = fresh_sandbox.customer_ids(1)[0]
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        invoices = await call(client, "list_invoices", {"customer_id": contact_id, "limit": 1})
        before = await call(client, "list_customers", {"limit": 500})
        assert await call(client, "list_customers", {"limit": 500}) == before
        gets_before_write = fresh_sandbox.gets()

        renamed = f"Omdøbt ApS {fresh_sandbox.gets()}"
        await call(client, "rename_contact", {"contact_id": contact_id, "name": renamed})

        after = await call(client, "list_customers", {"limit": 500})
        names = {item["id"]: item["name"] for item in after["items"]}
        assert names[contact_id] == renamed
        assert fresh_sandbox.gets() > gets_before_write
        if invoices["items"]:  # the invoice's sideloaded contact is a contacts read too
            invoice = await call(client, "get_invoice", {"invoice_id": invoices["items"][0]["id"]})
            assert invoice["customer_name"] == renamed
            listed = await call(client, "list_invoices", {"customer_id": contact_id, "limit": 1})
            assert listed["items"][0]["customer_name"] == renamed


async def test_a_write_invalidates_the_types_it_names(kernel_on, fresh_sandbox, write_plugin):
    contact_id = fresh_sandbox.customer_ids(1)[0]
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        await call(client, "get_organization", {})
        await call(client, "get_organization", {})
        cached = fresh_sandbox.stats().get("GET /v2/organization", 0)
        await call(
            client,
            "rename_contact",
            {"contact_id": contact_id, "name": "Navngivet ApS", "invalidates": ["organization"]},
        )
        await call(client, "get_organization", {})
    assert fresh_sandbox.stats()["GET /v2/organization"] == cached + 1


async def test_billy_down_serves_what_was_cached_marked_stale(kernel_on, fresh_sandbox, clock):
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        cached = await call(client, "list_invoices", {"limit": 3})
        clock.advance(PAST_FRESHNESS)
        fresh_sandbox.fail_everything()
        try:
            stale = await call(client, "list_invoices", {"limit": 3})
            never_cached = await client.call_tool("list_invoices", {"limit": 4})
        finally:
            fresh_sandbox.heal()
    freshness = stale.pop("freshness")
    assert stale == cached
    assert freshness["stale"] is True
    assert freshness["age_seconds"] >= PAST_FRESHNESS
    assert freshness["reason"].startswith("upstream_unavailable")
    assert never_cached.is_error
    assert never_cached.structured_content["code"] == "upstream_unavailable"
    assert never_cached.structured_content["retryable"] is True


async def test_a_restarted_server_serves_its_last_known_good_answer_from_sql(kernel_on, fresh_sandbox):
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        cached = await call(client, "list_invoices", {"limit": 2, "state": "approved"})
    fresh_sandbox.fail_everything()
    try:
        # A new kernel: empty L1, new process-local tag versions, the same SQL store (which
        # also answers the organization lookup the new kernel makes first).
        async with mcp_client(kernel_on(fresh_sandbox)) as client:
            stale = await call(client, "list_invoices", {"limit": 2, "state": "approved"})
    finally:
        fresh_sandbox.heal()
    freshness = stale.pop("freshness")
    assert stale == cached
    assert freshness["stale"] is True
    assert "not checked against later writes" in freshness["reason"]


class OpenBreaker:
    """Stands in for the resilience plugin's breaker: refuses every request while open."""

    def __init__(self) -> None:
        self.open = False

    async def __call__(self, request: Any, call_next: Any) -> Any:
        if self.open:
            raise CircuitOpen("Billy's circuit is open", retry_after=30)
        return await call_next(request)

    @hookimpl
    def register_upstream_middleware(self, register: Any) -> None:
        register(self, order=ORDER_CIRCUIT_BREAKER, name="test_breaker")


async def test_an_open_breaker_gives_stale_answers_or_circuit_open(
    kernel_on, fresh_sandbox, billy_plugins, clock
):
    breaker = OpenBreaker()
    billy_plugins.append(("test_breaker", breaker))
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        await call(client, "list_invoices", {"limit": 3})
        clock.advance(PAST_FRESHNESS)
        breaker.open = True
        stale = await call(client, "list_invoices", {"limit": 3})
        refused = await client.call_tool("list_invoices", {"limit": 9})
    assert stale["freshness"]["stale"] is True and stale["freshness"]["reason"] == "circuit_open"
    assert refused.is_error
    assert refused.structured_content["code"] == "circuit_open"
    assert refused.structured_content["retryable"] is True


async def test_errors_are_never_cached(kernel_on, fresh_sandbox):
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        await call(client, "get_organization", {})
        for _ in range(2):
            missing = await client.call_tool("get_invoice", {"invoice_id": "no-such-invoice"})
            assert missing.is_error and missing.structured_content["code"] == "not_found"
    assert fresh_sandbox.stats()["GET /v2/invoices/{id}"] == 2


async def test_stale_while_revalidate_answers_marked_and_refreshes_once(kernel_on, fresh_sandbox, clock):
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        first = await call(client, "list_invoices", {"limit": 3})
        clock.advance(61)  # past the TTL, inside the 30 s window
        stale = await call(client, "list_invoices", {"limit": 3})
        freshness = stale.pop("freshness")
        assert stale == first
        assert freshness["stale"] is True and freshness["reason"] == "revalidating"
        await eventually(
            lambda: fresh_sandbox.stats().get("GET /v2/invoices", 0) == 2, "the background refresh"
        )
        again = await call(client, "list_invoices", {"limit": 3})
    assert "freshness" not in again
    assert fresh_sandbox.stats()["GET /v2/invoices"] == 2


async def test_bypass_cache_skips_the_read_but_stores_the_answer(kernel_on, fresh_sandbox):
    kernel = kernel_on(fresh_sandbox)
    async with kernel:
        context = kernel.new_context("test", principal=LOCAL_PRINCIPAL, transport="memory")
        await context.billy.request("GET", "/taxRates")
        await context.billy.request("GET", "/taxRates", bypass_cache=True)
        await context.billy.request("GET", "/taxRates")
    assert fresh_sandbox.stats()["GET /v2/taxRates"] == 2


class InvalidateDuringFetch:
    """Inside the chain: a write elsewhere invalidates contacts while this GET is in flight."""

    def __init__(self) -> None:
        self.kernel: Any = None
        self.armed = False

    async def __call__(self, request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        if self.armed and request.resource == "contacts":
            self.armed = False
            await runtime(self.kernel).cache.invalidate(request.organization_id, ["contacts"])
        return response

    @hookimpl
    def register_upstream_middleware(self, register: Any, kernel: Any) -> None:
        self.kernel = kernel
        register(self, order=ORDER_RETRY, name="test_invalidator")


async def test_an_answer_fetched_during_an_invalidation_is_never_served_as_fresh(
    kernel_on, fresh_sandbox, billy_plugins
):
    invalidator = InvalidateDuringFetch()
    billy_plugins.append(("test_invalidator", invalidator))
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        await call(client, "get_organization", {})
        invalidator.armed = True
        await call(client, "list_customers", {"limit": 3})
        await call(client, "list_customers", {"limit": 3})
        await call(client, "list_customers", {"limit": 3})
    # The first contacts answer carries the versions from before the invalidation, so it never
    # validates; the second was fetched afresh and answered the third call.
    assert fresh_sandbox.stats()["GET /v2/contacts"] == 2


class SecondTenant:
    """A credential resolver giving principal "other" the same token under another scope."""

    @hookimpl
    def register_credential_resolvers(self, register: Any, kernel: Any) -> None:
        from billy_core.auth import BillyCredential

        class Resolver:
            async def resolve(self, principal: Any, organization_id: Any) -> Any:
                token = kernel.settings.access_token.get_secret_value()
                scope = "tok:other" if principal.id == "other" else "tok:local"
                return BillyCredential(organization_id, token, scope)

        register(Resolver())


async def test_cached_answers_are_partitioned_by_credential_scope(kernel_on, fresh_sandbox, billy_plugins):
    from billy_core.context import Principal

    billy_plugins.append(("test_tenants", SecondTenant()))
    kernel = kernel_on(fresh_sandbox)
    other = Principal(id="other", kind="test")
    async with kernel:
        for principal in (LOCAL_PRINCIPAL, other, LOCAL_PRINCIPAL, other):
            result = await kernel.call_tool(
                "list_invoices", {"limit": 2}, principal=principal, transport="memory"
            )
            assert not result.is_error, result.structured
    assert fresh_sandbox.stats()["GET /v2/invoices"] == 2


async def test_warming_fetches_configured_tools_and_paths_at_start_up(kernel_on, fresh_sandbox, monkeypatch):
    monkeypatch.setenv("BILLY_CACHE__WARM_TOOLS", "list_customers,get_organization")
    monkeypatch.setenv("BILLY_CACHE__WARM_PATHS", "/taxRates,/accounts?isArchived=false")
    async with mcp_client(kernel_on(fresh_sandbox)) as client:
        await eventually(lambda: "GET /v2/accounts" in fresh_sandbox.stats(), "warming")
        warmed = fresh_sandbox.stats()
        await call(client, "list_customers", {})
        await call(client, "get_organization", {})
    assert fresh_sandbox.stats() == warmed
    assert {"GET /v2/contacts", "GET /v2/contactPersons", "GET /v2/taxRates"} <= set(warmed)


async def test_warming_repeats_on_its_schedule(kernel_on, fresh_sandbox, monkeypatch):
    monkeypatch.setenv("BILLY_CACHE__WARM_PATHS", "/taxRates")
    monkeypatch.setenv("BILLY_CACHE__WARM_INTERVAL_SECONDS", "0.05")
    async with kernel_on(fresh_sandbox):
        await eventually(lambda: fresh_sandbox.stats().get("GET /v2/taxRates", 0) >= 3, "three warmings")


async def test_metrics_and_health_report_the_cache(kernel_on, fresh_sandbox):
    kernel = kernel_on(fresh_sandbox)
    async with mcp_client(kernel) as client:
        await call(client, "list_invoices", {"limit": 2})
        await call(client, "list_invoices", {"limit": 2})
        readiness = await kernel.readiness()
        metrics = kernel.metrics.render().decode()
    assert readiness.ready and readiness.checks["cache"]["state"] == "ok"
    assert 'billy_mcp_cache_lookups_total{outcome="hit",tier="memory"} 1.0' in metrics
    assert 'billy_mcp_cache_lookups_total{outcome="miss",tier="sql"}' in metrics
    assert 'billy_mcp_cache_upstream_requests_saved_total{how="hit"} 1.0' in metrics
    assert 'billy_mcp_cache_tier_duration_seconds_count{operation="get",tier="memory"}' in metrics
    assert "billy_mcp_cache_memory_entries 2.0" in metrics  # /organization and the invoices page


async def test_with_the_cache_disabled_every_read_goes_to_billy(kernel_on, fresh_sandbox):
    async with mcp_client(kernel_on(fresh_sandbox, plugins_disabled=["cache"])) as client:
        await call(client, "list_invoices", {"limit": 2})
        await call(client, "list_invoices", {"limit": 2})
    assert fresh_sandbox.stats()["GET /v2/invoices"] == 2
