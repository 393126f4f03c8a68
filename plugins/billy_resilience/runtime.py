"""Builds the plugin's layers once per kernel, on Redis when configured and in process otherwise."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from loguru import logger

from billy_core.health import HealthState, HealthStatus
from billy_core.redis import redis_client
from billy_resilience.breaker import State
from billy_resilience.layers import BreakerLayer, LimitLayer
from billy_resilience.metrics import BreakerGauge, ResilienceMetrics
from billy_resilience.retry import RetryLayer
from billy_resilience.settings import PLUGIN, ResilienceSettings
from billy_resilience.stores import (
    LocalAmbiguity,
    LocalBreakers,
    LocalRates,
    RedisAmbiguity,
    RedisBreakers,
    RedisRates,
)

LOG_EVERY_SECONDS = 30.0


class Fallback:
    """A shared store that falls back to the local one while Redis fails (logged, counted).

    Each method of the shared store is tried first; any exception sends that one operation to
    the local store. Instances then decide alone until Redis answers again.
    """

    def __init__(self, shared: Any, local: Any, component: str, metrics: ResilienceMetrics) -> None:
        self.shared = shared
        self.local = local
        self.component = component
        self.metrics = metrics
        self._logged = 0.0

    def __getattr__(self, name: str) -> Any:
        shared_method = getattr(self.shared, name)
        local_method = getattr(self.local, name)

        async def call(*args: Any) -> Any:
            try:
                return await shared_method(*args)
            except Exception as exc:
                self.metrics.shared_state_errors.labels(self.component).inc()
                now = time.monotonic()
                if now - self._logged > LOG_EVERY_SECONDS:
                    self._logged = now
                    logger.warning(
                        "resilience: Redis failed for {} ({}); deciding locally", self.component, exc
                    )
                return await local_method(*args)

        setattr(self, name, call)  # made once per method
        return call


@dataclass
class Resilience:
    settings: ResilienceSettings
    metrics: ResilienceMetrics
    retry: RetryLayer
    breaker: BreakerLayer
    limit: LimitLayer
    shared: bool

    @classmethod
    def build(cls, kernel: Any) -> Resilience:
        settings: ResilienceSettings = kernel.plugin_settings(PLUGIN)
        metrics = ResilienceMetrics(kernel.metrics.registry)
        prefix = settings.key_prefix
        breakers: Any = LocalBreakers()
        rates: Any = LocalRates()
        ambiguity: Any = LocalAmbiguity()
        shared = settings.shared and kernel.settings.redis_url is not None
        if shared:
            redis = redis_client(kernel)
            ttl = max(86400.0, settings.breaker_open_seconds * 4)
            breakers = Fallback(RedisBreakers(redis, ttl_seconds=ttl), breakers, "breaker", metrics)
            rates = Fallback(RedisRates(redis), rates, "rate_limit", metrics)
            ambiguity = Fallback(RedisAmbiguity(redis), ambiguity, "ambiguous_creates", metrics)
        return cls(
            settings=settings,
            metrics=metrics,
            retry=RetryLayer(settings, metrics, ambiguity, prefix=prefix),
            breaker=BreakerLayer(settings, breakers, metrics, prefix=prefix, shared=shared),
            limit=LimitLayer(settings, rates, metrics, prefix=prefix),
            shared=shared,
        )

    def gauge(self) -> BreakerGauge:
        return BreakerGauge(lambda: dict(self.breaker.seen))

    async def check(self) -> HealthStatus:
        """Breaker states for ``/health/ready``: degraded while any circuit is not closed, never failing."""
        try:
            states = await self.breaker.snapshot()
        except Exception as exc:
            return HealthStatus(HealthState.DEGRADED, f"breaker state unavailable: {exc}")
        breakers = {
            f"{organization}/{group}": {"state": state.value, "retry_after": round(retry_after, 3)}
            for (organization, group), (state, retry_after) in sorted(states.items())
        }
        details: dict[str, Any] = {"shared": self.shared, "breakers": breakers}
        troubled = sorted(name for name, found in breakers.items() if found["state"] != State.CLOSED)
        if troubled:
            return HealthStatus(HealthState.DEGRADED, "circuit not closed: " + ", ".join(troubled), details)
        return HealthStatus(HealthState.OK, f"{len(breakers)} circuits closed", details)
