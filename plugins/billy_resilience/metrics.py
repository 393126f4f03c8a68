"""The resilience plugin's series in ``/metrics``.

* ``billy_mcp_resilience_retries_total{resource,reason}``: attempts sent again (reason: the status,
  or the transport error kind);
* ``billy_mcp_resilience_rejections_total{reason}``: requests refused before reaching Billy
  (``circuit_open``, ``rate_limited``, ``bulkhead_full``) or given up (``deadline``, ``attempts``);
* ``billy_mcp_resilience_rate_limit_waits_total`` and ``..._rate_limit_wait_seconds``: requests
  that waited for their rate-limit slot, and how long;
* ``billy_mcp_resilience_breaker_transitions_total{group,to}``;
* ``billy_mcp_resilience_breaker_state{organization,group}``: 0 closed, 1 half-open, 2 open, as
  this instance last saw it;
* ``billy_mcp_resilience_reconciliations_total{resource,outcome}``: read-backs after ambiguous
  creates (``found``, ``absent``, ``failed``);
* ``billy_mcp_resilience_shared_state_errors_total{component}``: Redis failures (the local
  fallback answered).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from billy_core.metrics import LATENCY_BUCKETS
from billy_resilience.breaker import STATE_LEVEL, State


class ResilienceMetrics:
    def __init__(self, registry: Any) -> None:
        self.retries = Counter(
            "billy_mcp_resilience_retries",
            "Upstream attempts sent again, by resource and reason",
            ["resource", "reason"],
            registry=registry,
        )
        self.rejections = Counter(
            "billy_mcp_resilience_rejections",
            "Upstream requests refused or given up by the resilience layers, by reason",
            ["reason"],
            registry=registry,
        )
        self.rate_limit_waits = Counter(
            "billy_mcp_resilience_rate_limit_waits",
            "Upstream requests that waited for their rate-limit slot",
            registry=registry,
        )
        self.rate_limit_wait_seconds = Histogram(
            "billy_mcp_resilience_rate_limit_wait_seconds",
            "How long requests waited for their rate-limit slot",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.transitions = Counter(
            "billy_mcp_resilience_breaker_transitions",
            "Circuit breaker state changes seen by this instance, by endpoint group and new state",
            ["group", "to"],
            registry=registry,
        )
        self.reconciliations = Counter(
            "billy_mcp_resilience_reconciliations",
            "Read-backs of creates with an ambiguous outcome, by resource and outcome",
            ["resource", "outcome"],
            registry=registry,
        )
        self.shared_state_errors = Counter(
            "billy_mcp_resilience_shared_state_errors",
            "Redis operations that failed (the local fallback answered), by component",
            ["component"],
            registry=registry,
        )


class BreakerGauge:
    """A collector reporting each known breaker's last seen state."""

    def __init__(self, states: Callable[[], dict[tuple[str, str], State]]) -> None:
        self.states = states

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "billy_mcp_resilience_breaker_state",
            "Circuit breaker state per organization and endpoint group (0 closed, 1 half-open, 2 open)",
            labels=["organization", "group"],
        )
        for (organization, group), state in sorted(self.states().items()):
            family.add_metric([organization, group], STATE_LEVEL[state])
        yield family
