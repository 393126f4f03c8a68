"""Chaos against the sandbox's fault injection, on one instance (no Redis needed).

A few hundred mixed calls under 30% 5xx, latency spikes, commit-then-timeout on creates (abort
and hang), 429 with Retry-After, then a full outage and recovery. Afterwards the sandbox's
records equal the creates the server acknowledged: none lost, none doubled.
"""

from __future__ import annotations

import random
import secrets

import anyio
import pytest

from tests.resilience.chaos import Ledger, call, kernel_with_create_tools, run_mix

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

READS = [("list_invoices", {"limit": 5}), ("list_customers", {"limit": 5})]
OPEN_SECONDS = 1.0
CACHE_TTL_SECONDS = 1.0

RESILIENCE_ENV = {
    "RETRY_MAX_ATTEMPTS": "8",
    "RETRY_BASE_SECONDS": "0.02",
    "RETRY_CAP_SECONDS": "0.3",
    "BREAKER_WINDOW_SIZE": "40",
    "BREAKER_MINIMUM_CALLS": "20",
    "BREAKER_OPEN_SECONDS": str(OPEN_SECONDS),
    "BREAKER_HALF_OPEN_PROBES": "2",
    "RATE_LIMIT_REQUESTS": "0",  # the 429 phase wants the sandbox's own limit to bite
    "BULKHEAD_MAX_CONCURRENT": "8",
    "RETRY_READ_BACK_DELAY_SECONDS": "0.25",
}
CACHE_ENV = {
    "DEFAULT_TTL_SECONDS": str(CACHE_TTL_SECONDS),
    "TTL_SECONDS": '{"contacts": 1, "products": 1}',
    "STALE_WHILE_REVALIDATE_SECONDS": "0",
}


@pytest.fixture
def chaos_kernel(make_kernel, billy_plugins, sandbox, monkeypatch):
    env = {f"BILLY_RESILIENCE__{key}": value for key, value in RESILIENCE_ENV.items()}
    env |= {f"BILLY_CACHE__{key}": value for key, value in CACHE_ENV.items()}
    return kernel_with_create_tools(
        make_kernel,
        billy_plugins,
        sandbox,
        monkeypatch,
        env,
        tool_timeout_seconds=3.0,
        upstream_timeout_seconds=0.5,
    )


async def breakers(kernel) -> dict:
    readiness = await kernel.readiness()
    return readiness.checks["circuit_breakers"]


async def test_chaos_loses_and_doubles_nothing_and_recovers(chaos_kernel, sandbox):
    kernel = chaos_kernel
    cache_enabled = "cache" in kernel.plugins.enabled_names()
    rng = random.Random(20260930)
    ledger = Ledger(run=secrets.token_hex(3))
    async with kernel:
        for tool, arguments in READS:  # the organization is discovered before any fault
            assert (await call(kernel, tool, arguments))[0]
        sandbox.reset_stats()

        # 1. 30% 5xx, latency jitter, commit-then-timeout (abort: the answer is cut off)
        sandbox.faults(
            error_rate=0.3,
            error_status=503,
            latency_ms=10,
            latency_jitter_ms=10,
            commit_then_timeout_rate=0.3,
            commit_then_timeout_mode="abort",
            seed=1,
        )
        await run_mix(kernel, ledger, rng, calls=120, create_share=0.7, reads=READS)
        aborted = sandbox.stats()["faults_injected"]["commit_then_timeout"]

        # 2. latency spikes and commit-then-timeout that hangs past the HTTP timeout
        sandbox.faults(
            error_rate=0.3,
            error_status=502,
            latency_ms=150,
            latency_jitter_ms=150,
            commit_then_timeout_rate=0.3,
            commit_then_timeout_mode="hang",
            hang_s=2,
            seed=2,
        )
        await run_mix(kernel, ledger, rng, calls=90, create_share=0.7, reads=READS)
        hung = sandbox.stats()["faults_injected"]["commit_then_timeout"] - aborted

        # 3. Billy rate limits: 429 with Retry-After
        sandbox.faults(rate_limit={"requests": 12, "window_s": 1}, seed=3)
        await run_mix(kernel, ledger, rng, calls=40, create_share=0.5, reads=READS, concurrency=6)
        sandbox.clear_faults()
        first_pass = list(ledger.creates)
        acknowledged_first = len(ledger.acknowledged)

        # 4. A full outage: cached reads come back stale-marked; the breaker opens
        for tool, arguments in READS:
            assert (await call(kernel, tool, arguments))[0]
        await anyio.sleep(CACHE_TTL_SECONDS + 0.1)  # the cached answers are past their TTL
        sandbox.faults(error_rate=1.0, error_status=503)
        stale_reads = []
        for _ in range(4):
            for tool, arguments in READS:
                ok, body = await call(kernel, tool, arguments)
                stale_reads.append((ok, body.get("freshness") if ok else body.get("code")))
        await run_mix(kernel, ledger, rng, calls=6, create_share=1.0, reads=READS)
        during_outage = await breakers(kernel)
        refused = await call(kernel, "list_invoices", {"limit": 1})

        # 5. Recovery: the circuits half-open, the probes succeed, they close
        sandbox.clear_faults()
        await anyio.sleep(OPEN_SECONDS + 0.1)
        closed_again = False
        for _ in range(20):
            await run_mix(kernel, ledger, rng, calls=6, create_share=0.5, reads=READS, concurrency=2)
            if (await breakers(kernel))["state"] == "ok":
                closed_again = True
                break
            await anyio.sleep(0.2)

        # What the sandbox holds now, before anything is retried by the client
        stats = sandbox.stats()
        records = ledger.records_by_create(sandbox)
        acknowledged = {c.key: c.acknowledged_id for c in ledger.creates if c.acknowledged_id}

        # 6. The client retries what was not acknowledged, with the same idempotency keys
        settled = 0
        unsettled: list[tuple[str, dict]] = []
        for create in ledger.creates:
            if create.acknowledged_id is not None:
                continue
            for _ in range(3):
                ok, body = await call(
                    kernel, create.tool, {**create.arguments, "idempotency_key": create.key}
                )
                if ok:
                    create.acknowledged_id = body["id"]
                    settled += 1
                    break
            else:
                unsettled.append((create.key, body))
        final = ledger.records_by_create(sandbox)

    injected = stats["faults_injected"]
    orphans = [key for key, ids in records.items() if ids and key not in acknowledged]
    share = acknowledged_first / len(first_pass)
    print(
        f"\nchaos: {len(first_pass)} creates under faults, {acknowledged_first} acknowledged ({share:.0%});"
        f" injected {injected} (commit-then-timeout: {aborted} abort, {hung} hang); errors {dict(ledger.errors)};"
        f" with the outage and recovery {len(acknowledged)} of {len(records)} creates acknowledged;"
        f" {sum(c.read_back for c in first_pass)} acknowledged from a read-back;"
        f" committed but unacknowledged {len(orphans)}; settled later {settled};"
        f" metrics retries={_metric(kernel, 'billy_mcp_resilience_retries_total')}"
        f" reconciled={_metric(kernel, 'billy_mcp_resilience_reconciliations_total', outcome='found')}"
    )

    # none doubled, ever; every acknowledged create is in Billy, as the record the client was given
    assert all(len(ids) <= 1 for ids in records.values()), {k: v for k, v in records.items() if len(v) > 1}
    lost = {key: (given, records[key]) for key, given in acknowledged.items() if records[key] != [given]}
    assert not lost, lost
    # after the client's retries with the same keys: the records equal the acknowledged creates
    assert all(c.acknowledged_id is not None for c in ledger.creates), unsettled
    assert final == {c.key: [c.acknowledged_id] for c in ledger.creates}

    assert share >= 0.7
    assert injected["commit_then_timeout"] >= 20 and aborted >= 5 and hung >= 5
    assert injected["error"] >= 50 and injected["rate_limited"] >= 1

    # the outage: reads the cache held came back marked stale; the rest was refused at once
    if cache_enabled:
        assert stale_reads and all(ok and fresh and fresh["stale"] for ok, fresh in stale_reads), stale_reads
    assert during_outage["state"] == "degraded" and during_outage["local"] is False
    assert "open" in {b["state"] for b in during_outage["details"]["breakers"].values()}
    ok, body = refused
    if not ok:
        assert body["code"] == "circuit_open" and body["retryable"] is True and body["retry_after"] > 0
    assert closed_again, await breakers(kernel)


def _metric(kernel, name: str, **labels: str) -> float:
    total = 0.0
    for family in kernel.metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
