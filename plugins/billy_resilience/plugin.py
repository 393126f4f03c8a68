"""The ``resilience`` plugin: retries, circuit breaker, upstream rate limit and bulkhead.

Registered through the ``billy_mcp.plugins`` entry point like any third-party plugin. Wrappers
on the upstream chain, outside in: the breaker's outcome recorder (just outside the retries, so
a request counts once, however many attempts it took), :class:`~billy_resilience.retry.RetryLayer`
(``ORDER_RETRY``), :class:`~billy_resilience.layers.BreakerLayer`'s gate
(``ORDER_CIRCUIT_BREAKER``) and :class:`~billy_resilience.layers.LimitLayer` (``ORDER_RATE_LIMIT``),
so every attempt passes the breaker's gate and the limiter. See docs/resilience.md.
"""

from __future__ import annotations

from typing import Any

from billy_core.health import HealthCheck
from billy_core.hookspecs import hookimpl
from billy_core.upstream import ORDER_CIRCUIT_BREAKER, ORDER_RATE_LIMIT, ORDER_RETRY
from billy_resilience.runtime import Resilience
from billy_resilience.settings import PLUGIN, ResilienceSettings


def runtime(kernel: Any) -> Resilience:
    """The kernel's one set of layers, made on first use by whichever hook asks first."""
    made: Resilience = kernel.service("billy_resilience.runtime", lambda: Resilience.build(kernel))
    return made


@hookimpl
def register_settings(register: Any) -> None:
    register(PLUGIN, ResilienceSettings)


@hookimpl
def register_upstream_middleware(register: Any, kernel: Any) -> None:
    layers = runtime(kernel)
    register(layers.retry, order=ORDER_RETRY, name="retry")
    if layers.settings.breaker_enabled:
        # outside the retries: one outcome per request; inside: every attempt is admitted
        register(layers.breaker.outcome, order=ORDER_RETRY - 1, name="circuit_breaker_outcome")
        register(layers.breaker, order=ORDER_CIRCUIT_BREAKER, name="circuit_breaker")
    register(layers.limit, order=ORDER_RATE_LIMIT, name="rate_limit")


@hookimpl
def register_metrics(register: Any, kernel: Any) -> None:
    register(runtime(kernel).gauge())


@hookimpl
def register_health_checks(register: Any, kernel: Any) -> None:
    register(HealthCheck("circuit_breakers", runtime(kernel).check, local=False))
