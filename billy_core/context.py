"""Who is calling and what a single tool call has seen so far.

A :class:`CallContext` lives for one tool invocation. Middleware and upstream wrappers
write to it (freshness of cached data, upstream calls, Billy records touched); the kernel
reads it back when it builds the result, the audit entry and the metrics.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from billy_core.billy.client import BillyClient

ProgressReporter = Callable[[float, float | None, str | None], Awaitable[None]]
LogSender = Callable[[str, Any], Awaitable[None]]


def new_correlation_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``organization_ids`` empty means "the deployment's default organization". ``scopes`` are
    ``read``, ``write`` and ``admin``; the local stdio user has all three.
    """

    id: str
    kind: str = "local"
    organization_ids: tuple[str, ...] = ()
    scopes: frozenset[str] = frozenset({"read", "write", "admin"})
    display_name: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


LOCAL_PRINCIPAL = Principal(id="local", kind="local", display_name="local user")


@dataclass(slots=True)
class Freshness:
    """How old the data behind an answer was. ``stale`` answers are always marked."""

    stale: bool
    age_seconds: float
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"stale": self.stale, "age_seconds": round(self.age_seconds, 3), "reason": self.reason}


async def _no_progress(progress: float, total: float | None, message: str | None) -> None:
    return None


async def _no_log(level: str, data: Any) -> None:
    return None


@dataclass(slots=True)
class CallContext:
    """Mutable per-call state shared by the tool-call chain, the handler and the upstream chain."""

    correlation_id: str
    principal: Principal
    transport: str
    tool_name: str
    deadline: float
    organization_id: str | None = None
    upstream_calls: int = 0
    records_touched: list[str] = field(default_factory=list)
    freshness: Freshness | None = None
    report_progress: ProgressReporter = _no_progress
    send_log: LogSender = _no_log
    extras: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    confirmation_ticket: str | None = None
    confirmation_code: str | None = None
    billy_factory: Callable[[CallContext], BillyClient] | None = None
    _billy: BillyClient | None = None

    @property
    def billy(self) -> BillyClient:
        """The Billy client for this call's organization, bound to this call's context."""
        if self._billy is None:
            if self.billy_factory is None:
                raise RuntimeError("this call has no Billy client (no kernel bound it)")
            self._billy = self.billy_factory(self)
        return self._billy

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def note_freshness(self, freshness: Freshness) -> None:
        """Keep the oldest answer's freshness: one stale read makes the whole result stale."""
        current = self.freshness
        if current is None or (freshness.stale, freshness.age_seconds) > (current.stale, current.age_seconds):
            self.freshness = freshness

    def touch(self, record_ref: str) -> None:
        if record_ref not in self.records_touched:
            self.records_touched.append(record_ref)

    async def log(self, level: str, message: Any) -> None:
        """Send a log message to the MCP client (honours ``logging/setLevel``)."""
        await self.send_log(level, message)
