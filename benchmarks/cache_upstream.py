"""Upstream requests saved by the cache on a realistic read mix replayed twice, in one run.

The same mix of read tool calls (an accountant's morning with an assistant: what is
overdue, each overdue invoice with its customer, revenue, VAT, customers, bills, reference
data; see ``read_mix``) runs twice through a kernel with the cache and twice through one with
the cache disabled, both on the sandbox. Upstream GETs are counted by the sandbox's
``/_sandbox/stats``, not by the plugin.

    .venv/bin/python benchmarks/cache_upstream.py [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
from billy_cache.plugin import clear_all

from billy_core.context import LOCAL_PRINCIPAL
from billy_core.kernel import Kernel
from billy_core.settings import KernelSettings

Call = tuple[str, dict[str, Any]]


def read_mix(overdue: list[tuple[str, str]], today: date) -> list[Call]:
    """An accountant's morning with an assistant: what is overdue, each overdue invoice with
    its customer and that customer's other invoices, the overview again, then revenue, VAT,
    customers, bills and reference data. ``overdue`` is (invoice id, customer id) pairs in
    due-date order, as Billy has them: customers repeat when they owe several invoices."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter = quarter_start - timedelta(days=1)
    mix: list[Call] = [("get_organization", {}), ("list_overdue_invoices", {})]
    for invoice_id, customer_id in overdue:
        mix += [
            ("get_invoice", {"invoice_id": invoice_id}),
            ("get_customer", {"customer_id": customer_id}),
            ("list_invoices", {"customer_id": customer_id, "limit": 10}),
        ]
    mix += [
        ("list_overdue_invoices", {}),
        ("get_revenue", {"start_date": str(quarter_start), "end_date": str(today)}),
        ("vat_return", {"period": f"{last_quarter.year}-Q{(last_quarter.month - 1) // 3 + 1}"}),
        ("get_fiscal_periods", {}),
        ("list_customers", {"limit": 20}),
        ("list_customers", {"search": "ApS"}),
        ("list_bills", {"payment_status": "unpaid", "limit": 20}),
        ("list_bank_payments", {"limit": 20}),
        ("list_products", {}),
        ("list_tax_rates", {}),
        ("list_accounts", {}),
        ("list_overdue_invoices", {}),
    ]
    return mix


def overdue_invoices(sandbox: Any, today: date, count: int) -> list[tuple[str, str]]:
    response = httpx.get(
        f"{sandbox.api_url}/invoices",
        params={
            "state": "approved",
            "isPaid": "false",
            "maxDueDate": str(today - timedelta(days=1)),
            "sortProperty": "dueDate",
            "pageSize": count,
        },
        headers={"X-Access-Token": sandbox.token},
    )
    return [(invoice["id"], invoice["contactId"]) for invoice in response.json()["invoices"]]


def sandbox_gets(base_url: str) -> Counter[str]:
    routes = httpx.get(f"{base_url}/_sandbox/stats").json()["by_route"]
    return Counter({route: count for route, count in routes.items() if route.startswith("GET ")})


def reset(base_url: str) -> None:
    httpx.post(f"{base_url}/_sandbox/stats/reset").raise_for_status()


async def replay(kernel: Kernel, mix: list[Call], passes: int, base_url: str) -> tuple[list[int], list[str]]:
    """Run the mix ``passes`` times; return the GETs Billy saw in each pass, and failures."""
    failed, per_pass = [], []
    async with kernel:
        for _ in range(passes):
            before = sum(sandbox_gets(base_url).values())
            for tool, arguments in mix:
                result = await kernel.call_tool(tool, arguments, principal=LOCAL_PRINCIPAL, transport="bench")
                if result.is_error:
                    failed.append(f"{tool} {arguments}: {result.structured.get('code')}")
            per_pass.append(sum(sandbox_gets(base_url).values()) - before)
    return per_pass, failed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis", default=None, help="BILLY_REDIS_URL (L2 on Redis)")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--overdue", type=int, default=8, help="overdue invoices looked at")
    options = parser.parse_args()

    from billy_sandbox.runner import SandboxServer

    folder = Path(tempfile.mkdtemp(prefix="billy-cache-mix-"))
    os.environ["BILLY_CONFIG"] = str(folder / "none.toml")
    (folder / "none.toml").write_text("", encoding="utf-8")
    if options.redis:
        os.environ["BILLY_CACHE__KEY_PREFIX"] = f"billy:cache:bench-{os.getpid()}"
    with SandboxServer(host="127.0.0.1", port=0) as sandbox:
        today = datetime.now(ZoneInfo("Europe/Copenhagen")).date()
        wanted = read_mix(overdue_invoices(sandbox, today, options.overdue), today)
        probe = Kernel.build(KernelSettings(api_url=sandbox.api_url, access_token=sandbox.token))
        mix = [(tool, args) for tool, args in wanted if probe.tools.get(tool)]
        skipped = sorted({tool for tool, _ in wanted} - {tool for tool, _ in mix})

        counts: dict[str, Counter[str]] = {}
        passes: dict[str, list[int]] = {}
        failures: dict[str, list[str]] = {}
        for label, disabled in (("cache", []), ("no cache", ["cache"])):
            settings = KernelSettings(
                api_url=sandbox.api_url,
                access_token=sandbox.token,
                database_url=f"sqlite:///{folder / (label.replace(' ', '-') + '.sqlite3')}",
                redis_url=options.redis,
                plugins_disabled=disabled,
            )
            reset(sandbox.base_url)
            passes[label], failures[label] = anyio.run(
                replay, Kernel.build(settings), mix, options.passes, sandbox.base_url
            )
            counts[label] = sandbox_gets(sandbox.base_url)
            if options.redis and not disabled:
                anyio.run(clear_all, Kernel.build(settings))

    with_cache, without = sum(counts["cache"].values()), sum(counts["no cache"].values())
    print(f"read mix: {len(mix)} tool calls ({len({t for t, _ in mix})} tools), replayed {options.passes}x")
    if skipped:
        print(f"tools not installed here, left out of the mix: {', '.join(skipped)}")
    for label, failed in failures.items():
        for line in sorted(set(failed)):
            print(f"  failed ({label}): {line}")
    print(f"L2 Redis: {'yes' if options.redis else 'no'}\n")
    print(f"{'route':<42} {'no cache':>9} {'cache':>7}")
    for route in sorted(set(counts["cache"]) | set(counts["no cache"])):
        print(f"{route:<42} {counts['no cache'][route]:>9} {counts['cache'][route]:>7}")
    print(f"{'all GETs':<42} {without:>9} {with_cache:>7}")
    print()
    for index, (ours, theirs) in enumerate(zip(passes["cache"], passes["no cache"], strict=True), 1):
        print(f"pass {index}: {theirs} GETs without the cache, {ours} with it: {1 - ours / theirs:.1%} saved")
    saved = 1 - with_cache / without
    print(f"all passes: {saved:.1%} saved (cache/no cache = {with_cache / without:.3f}; target >= 80% saved)")


if __name__ == "__main__":
    main()
