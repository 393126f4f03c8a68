"""Prometheus metrics for ``/metrics``: one registry per kernel, never the global one."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The kernel's own series plus whatever plugins register."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.tool_calls = Counter(
            "billy_mcp_tool_calls",
            "Tool calls by tool, transport and outcome (ok or the error code)",
            ["tool", "transport", "outcome"],
            registry=self.registry,
        )
        self.tool_duration = Histogram(
            "billy_mcp_tool_call_duration_seconds",
            "Tool call latency by tool",
            ["tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_requests = Counter(
            "billy_mcp_upstream_requests",
            "HTTP requests sent to Billy by method, resource and status (or transport error kind)",
            ["method", "resource", "status"],
            registry=self.registry,
        )
        self.upstream_duration = Histogram(
            "billy_mcp_upstream_request_duration_seconds",
            "Latency of HTTP requests to Billy by resource",
            ["resource"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

        self._bound: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe_call(self, tool: str, transport: str, outcome: str, seconds: float) -> None:
        """Count and time one tool call (label children are bound once per combination)."""
        key = (tool, transport, outcome)
        bound = self._bound.get(key)
        if bound is None:
            bound = (self.tool_calls.labels(tool, transport, outcome), self.tool_duration.labels(tool))
            self._bound[key] = bound
        bound[0].inc()
        bound[1].observe(seconds)

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)
