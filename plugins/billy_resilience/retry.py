"""Retries (``ORDER_RETRY``, outside the breaker and the rate limit) and exactly-once creates.

What is sent again:

* reads (GET, HEAD), PUT (Billy's PUT sets the given fields: repeating it sets the same state)
  and DELETE (Billy answers 200 for a record already deleted): after no answer, 5xx and 429;
* creates (POST) that carry an idempotency key and a read-back (``request.reconcile``, made
  by :mod:`billy_core.reconcile`): after 429 and failures that never reached Billy at once;
  after an *ambiguous* failure (timeout, dropped connection, 5xx after sending) only once the
  read-back has found nothing (after a timeout it first waits ``retry_read_back_delay_seconds``:
  Billy may still be working on the request). When it finds the record, that is the answer;
* any other write: only after 429 or a failure that never reached Billy.

Waits are full-jitter exponential backoff, ``uniform(0, min(cap, base·2^(n-1)))``; a 429 or 503
with ``Retry-After`` (seconds or HTTP-date, clamped) waits that long instead. Nothing waits past
the call's deadline less a small reserve, which is left for the cache to answer with stale data.
Refusals by the inner layers (an open circuit, the rate limit, a full bulkhead) are not retried:
they are answered at once.

A create whose outcome is still unknown when the retries give up is remembered by its
idempotency key (in Redis when configured): the next create with that key reads back first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from enum import StrEnum

import anyio

from billy_core.billy.errors import parse_retry_after
from billy_core.errors import ToolError, UpstreamUnavailable
from billy_core.reconcile import ReadBack
from billy_core.upstream import UpstreamNext, UpstreamRequest, UpstreamResponse, UpstreamTransportError
from billy_resilience.layers import organization_of
from billy_resilience.metrics import ResilienceMetrics
from billy_resilience.settings import ResilienceSettings
from billy_resilience.stores import AmbiguityStore

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_RETRYABLE_5XX = frozenset({501, 505})
SHIELD_SECONDS = 2.0


class Kind(StrEnum):
    IDEMPOTENT = "idempotent"
    CREATE = "create"
    ONCE = "once"


def classify(request: UpstreamRequest) -> Kind:
    if request.method in IDEMPOTENT_METHODS:
        return Kind.IDEMPOTENT
    if request.method == "POST" and request.idempotency_key and request.reconcile is not None:
        return Kind.CREATE
    return Kind.ONCE


async def send(
    request: UpstreamRequest, call_next: UpstreamNext, attempt: int, limit: float | None
) -> UpstreamResponse:
    """One attempt: the inner layers see its number and the deadline less the reserve; the
    request's own deadline is put back afterwards (outer layers keep using it)."""
    deadline = request.deadline
    request.attempt, request.deadline = attempt, limit
    try:
        return await call_next(request)
    finally:
        request.deadline = deadline


def retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in NOT_RETRYABLE_5XX)


class RetryLayer:
    def __init__(
        self,
        settings: ResilienceSettings,
        metrics: ResilienceMetrics,
        ambiguity: AmbiguityStore,
        *,
        prefix: str,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.ambiguity = ambiguity
        self.prefix = prefix
        self.uniform = uniform

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """The wait before attempt ``attempt`` (1 = the first retry)."""
        base = self.settings.retry_base_seconds
        if retry_after is not None:
            return retry_after + self.uniform(0.0, base)
        return self.uniform(0.0, min(self.settings.retry_cap_seconds, base * 2 ** (attempt - 1)))

    def _limit(self, deadline: float | None) -> float | None:
        """When attempts must be over: the deadline less the reserve (at most a quarter of the time left)."""
        if deadline is None:
            return None
        remaining = deadline - time.monotonic()
        return deadline - min(self.settings.retry_deadline_reserve_seconds, max(0.0, remaining) / 4)

    def _marker(self, request: UpstreamRequest) -> str:
        return f"{self.prefix}:ambiguous:{{{organization_of(request)}}}:{request.resource}:{request.idempotency_key}"

    async def __call__(self, request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse:
        kind = classify(request)
        if kind is not Kind.CREATE:
            return await self._retry(request, call_next, kind)
        return await Create(self, request, call_next).run()

    async def _retry(self, request: UpstreamRequest, call_next: UpstreamNext, kind: Kind) -> UpstreamResponse:
        """Reads, PUT, DELETE and once-only writes."""
        limit = self._limit(request.deadline)
        attempt = 0
        while True:
            retry_after = None
            try:
                response = await send(request, call_next, attempt, limit)
            except UpstreamTransportError as exc:
                if exc.kind == "deadline" or (exc.maybe_sent and kind is Kind.ONCE):
                    raise
                outcome: UpstreamResponse | UpstreamTransportError = exc
                reason = exc.kind
            else:
                if not retryable_status(response.status) or (kind is Kind.ONCE and response.status != 429):
                    return response
                outcome, reason = response, str(response.status)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            attempt += 1
            if not await self._wait(request, attempt, retry_after, limit, reason):
                if isinstance(outcome, UpstreamResponse):
                    return outcome
                raise outcome

    async def _wait(
        self,
        request: UpstreamRequest,
        attempt: int,
        retry_after: float | None,
        limit: float | None,
        reason: str,
        at_least: float = 0.0,
    ) -> bool:
        """Sleep before attempt ``attempt``; False when there is no attempt left or no time for it."""
        if attempt >= self.settings.retry_max_attempts:
            self.metrics.rejections.labels("attempts").inc()
            return False
        delay = max(at_least, self.backoff(attempt, retry_after))
        if limit is not None and time.monotonic() + delay >= limit:
            self.metrics.rejections.labels("deadline").inc()
            return False
        self.metrics.retries.labels(request.resource, reason).inc()
        await anyio.sleep(delay)
        return True


class Create:
    """One create's attempts: read back before sending again after anything ambiguous."""

    def __init__(self, layer: RetryLayer, request: UpstreamRequest, call_next: UpstreamNext) -> None:
        self.layer = layer
        self.request = request
        self.call_next = call_next
        self.marker = layer._marker(request)
        self.limit = layer._limit(request.deadline)
        self.ambiguous_since: float | None = None  # when the outcome first became unknown
        self.pending = False  # a read-back is due before anything is sent again
        self.was_marked = False

    async def run(self) -> UpstreamResponse:
        earlier = await self.layer.ambiguity.get(self.marker)
        if earlier is not None:
            self.was_marked, self.pending, self.ambiguous_since = True, True, earlier
            if isinstance(self.request.reconcile, ReadBack):
                self.request.reconcile.widen(earlier)
        try:
            answer = await self._attempts()
        except BaseException:
            if self.pending:
                await self._remember()
            raise
        if self.was_marked:
            await self.layer.ambiguity.clear(self.marker)
        return answer

    async def _attempts(self) -> UpstreamResponse:
        layer, request = self.layer, self.request
        attempt = 0
        last: UpstreamResponse | BaseException | None = None
        while True:
            retry_after = None
            reason = "reconcile"
            at_least = 0.0
            if self.pending:
                try:
                    found = await self._read_back()
                except (ToolError, UpstreamTransportError) as exc:
                    last, reason = exc, str(getattr(exc, "kind", None) or getattr(exc, "code", "error"))
                else:
                    if found is not None:
                        return found
                    self.pending = False
            if not self.pending:
                try:
                    response = await send(request, self.call_next, attempt, self.limit)
                except UpstreamTransportError as exc:
                    if exc.kind == "deadline":
                        raise
                    last, reason = exc, exc.kind
                    if exc.maybe_sent:
                        self._ambiguous()
                    if exc.kind == "timeout":  # Billy may still be working on it: let it finish
                        at_least = layer.settings.retry_read_back_delay_seconds
                else:
                    if not retryable_status(response.status):
                        return response
                    last, reason = response, str(response.status)
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    if response.status != 429:  # a 5xx after sending: Billy may have committed it
                        self._ambiguous()
            attempt += 1
            if not await layer._wait(request, attempt, retry_after, self.limit, str(reason), at_least):
                break
        if self.pending:
            raise self._unknown(last)
        if isinstance(last, UpstreamResponse):
            return last
        assert last is not None
        raise last

    def _ambiguous(self) -> None:
        self.pending = True
        if self.ambiguous_since is None:
            self.ambiguous_since = time.time()

    async def _read_back(self) -> UpstreamResponse | None:
        assert self.request.reconcile is not None
        metrics = self.layer.metrics.reconciliations
        try:
            found = await self.request.reconcile()
        except BaseException:
            metrics.labels(self.request.resource, "failed").inc()
            raise
        metrics.labels(self.request.resource, "absent" if found is None else "found").inc()
        return found

    async def _remember(self) -> None:
        since = self.ambiguous_since if self.ambiguous_since is not None else time.time()
        with anyio.CancelScope(shield=True), anyio.move_on_after(SHIELD_SECONDS):
            await self.layer.ambiguity.mark(self.marker, since, self.layer.settings.ambiguous_ttl_seconds)

    def _unknown(self, last: UpstreamResponse | BaseException | None) -> UpstreamUnavailable:
        cause = f"HTTP {last.status}" if isinstance(last, UpstreamResponse) else str(last or "no answer")
        return UpstreamUnavailable(
            f"Billy did not confirm whether the {self.request.resource} record was created ({cause})",
            details={"outcome": "unknown", "resource": self.request.resource, "maybe_sent": True},
            hint="Retry with the same idempotency_key: the record is looked up before anything is sent again.",
        )
