"""Health checks: local dependencies decide readiness; remote ones only degrade it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import anyio


class HealthState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class HealthStatus:
    state: HealthState
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """``local=True`` marks a dependency this instance cannot serve without (Redis, the audit
    store): its failure makes ``/health/ready`` answer 503. Remote ones (Billy) only degrade."""

    name: str
    check: Callable[[], Awaitable[HealthStatus]]
    local: bool = True
    plugin: str = ""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    state: HealthState
    checks: dict[str, dict[str, Any]]


async def run_checks(checks: Sequence[HealthCheck], per_check_seconds: float = 5.0) -> Readiness:
    results: dict[str, dict[str, Any]] = {}

    async def run(check: HealthCheck) -> None:
        try:
            with anyio.fail_after(per_check_seconds):
                status = await check.check()
        except TimeoutError:
            status = HealthStatus(HealthState.FAILING, f"no answer within {per_check_seconds:g}s")
        except Exception as exc:
            status = HealthStatus(HealthState.FAILING, f"{type(exc).__name__}: {exc}")
        results[check.name] = {
            "state": status.state.value,
            "local": check.local,
            "plugin": check.plugin,
            "message": status.message,
            **({"details": status.details} if status.details else {}),
        }

    async with anyio.create_task_group() as group:
        for check in checks:
            group.start_soon(run, check)
    return summarise(checks, results)


def summarise(checks: Sequence[HealthCheck], results: dict[str, dict[str, Any]]) -> Readiness:
    failing_local = any(results[c.name]["state"] == HealthState.FAILING and c.local for c in checks)
    anything_wrong = any(r["state"] != HealthState.OK for r in results.values())
    if failing_local:
        state = HealthState.FAILING
    elif anything_wrong:
        state = HealthState.DEGRADED
    else:
        state = HealthState.OK
    return Readiness(ready=not failing_local, state=state, checks=dict(sorted(results.items())))
