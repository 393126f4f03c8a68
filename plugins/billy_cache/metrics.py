"""The cache's series in ``/metrics``: per-tier hits, misses, errors and latency; upstream
requests saved; stale answers; invalidations; L1 size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from billy_core.metrics import LATENCY_BUCKETS

FAST_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, *LATENCY_BUCKETS)


class CacheMetrics:
    def __init__(self, registry: Any) -> None:
        self.lookups = Counter(
            "billy_mcp_cache_lookups",
            "Cache lookups by tier (memory/redis/sql) and outcome (hit, stale, miss, invalid)",
            ["tier", "outcome"],
            registry=registry,
        )
        self.tier_duration = Histogram(
            "billy_mcp_cache_tier_duration_seconds",
            "Latency of cache tier operations by tier and operation (get, put)",
            ["tier", "operation"],
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self.saved = Counter(
            "billy_mcp_cache_upstream_requests_saved",
            "GETs answered without a request to Billy, by how (hit, revalidating, coalesced, peer)",
            ["how"],
            registry=registry,
        )
        self.fetches = Counter(
            "billy_mcp_cache_upstream_fetches",
            "GETs the cache passed on to Billy, by outcome (stored, not_stored, error, uncached)",
            ["outcome"],
            registry=registry,
        )
        self.stale = Counter(
            "billy_mcp_cache_stale_answers",
            "Answers served from data older than its TTL, by reason",
            ["reason"],
            registry=registry,
        )
        self.tier_errors = Counter(
            "billy_mcp_cache_tier_errors",
            "Cache tier operations that failed or timed out, by tier and operation (get, put, tags, lock)",
            ["tier", "operation"],
            registry=registry,
        )
        self.invalidations = Counter(
            "billy_mcp_cache_invalidations",
            "Writes that invalidated cached reads, by resource type written and outcome (ok, failed)",
            ["resource", "outcome"],
            registry=registry,
        )
        self._bound: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (str(id(metric)), *labels)
        child = self._bound.get(key)
        if child is None:
            child = self._bound[key] = metric.labels(*labels)
        return child

    def lookup(self, tier: str, outcome: str, seconds: float) -> None:
        self._child(self.lookups, tier, outcome).inc()
        self._child(self.tier_duration, tier, "get").observe(seconds)

    def stored(self, tier: str, seconds: float) -> None:
        self._child(self.tier_duration, tier, "put").observe(seconds)

    def tier_error(self, tier: str, operation: str) -> None:
        self._child(self.tier_errors, tier, operation).inc()

    def save(self, how: str) -> None:
        self._child(self.saved, how).inc()

    def fetched(self, outcome: str) -> None:
        self._child(self.fetches, outcome).inc()

    def served_stale(self, reason: str) -> None:
        self._child(self.stale, reason).inc()

    def invalidated(self, resource: str, outcome: str) -> None:
        self._child(self.invalidations, resource, outcome).inc()


class MemoryGauges(Collector):
    """L1's current size, read at scrape time."""

    def __init__(self, size: Callable[[], tuple[int, int, int]]) -> None:
        self.size = size

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        entries, used, evictions = self.size()
        yield GaugeMetricFamily("billy_mcp_cache_memory_entries", "Entries in the L1 cache", value=entries)
        yield GaugeMetricFamily("billy_mcp_cache_memory_bytes", "Bytes held by the L1 cache", value=used)
        yield CounterMetricFamily(
            "billy_mcp_cache_memory_evictions", "L1 entries evicted to stay in bounds", value=evictions
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())
