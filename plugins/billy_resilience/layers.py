"""The circuit breaker (its gate at ``ORDER_CIRCUIT_BREAKER``, its outcome recorder just outside
the retries) and the rate limit with the bulkhead (``ORDER_RATE_LIMIT``) on the upstream chain.
The retry layer sits outside the gate and the limit, so every attempt asks the breaker and takes
a rate-limit slot, and a request's outcome is counted once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from loguru import logger

from billy_core.errors import CircuitOpen, RateLimited, ToolError, UpstreamUnavailable
from billy_core.upstream import UpstreamNext, UpstreamRequest, UpstreamResponse, UpstreamTransportError
from billy_resilience.breaker import OK, Admission, BreakerConfig, State, is_failed, outcome_code
from billy_resilience.metrics import ResilienceMetrics
from billy_resilience.settings import ResilienceSettings
from billy_resilience.stores import BreakerStore, RateStore

CLOSED_ADMISSION = Admission(True, False, State.CLOSED)
OK_BATCH = 16
SHIELD_SECONDS = 2.0


def organization_of(request: UpstreamRequest) -> str:
    return request.organization_id or request.credential_scope


def is_failure(status: int) -> bool:
    """5xx and 429 are failures; other answers, 4xx included, are Billy working as meant."""
    return status >= 500 or status == 429


@dataclass(slots=True)
class _Tracked:
    """One request's attempts as the breaker saw them (set by the gate, read by the outcome)."""

    key: str | None = None
    organization: str = ""
    group: str = ""
    last: str | None = None  # the outcome code of the last attempt Billy answered
    failures: str = ""  # the outcome codes of every failed attempt

    async def answered(self, code: str) -> None:
        self.last = code
        if is_failed(code):
            self.failures += code


class BreakerLayer:
    """Refuses calls at once while an endpoint group's circuit is open, and records outcomes.

    Two parts on the chain: :meth:`__call__` is the gate inside the retry layer (every attempt
    asks it, so retries stop as soon as a circuit opens); :meth:`outcome`, outside the retry
    layer, records each request's final outcome once. A failure a retry then made good is not a
    failure of the request: counting every attempt would open the circuit on noise that retries
    absorb (30% of answers failing, two attempts each, is a ~50% attempt failure rate), while a
    Billy that is really down fails every request. A half-open probe is still one attempt, so
    its first answer decides at once; and without :meth:`outcome` on the chain (a chain built
    by hand) the gate records every attempt itself.
    """

    def __init__(
        self,
        settings: ResilienceSettings,
        store: BreakerStore,
        metrics: ResilienceMetrics,
        *,
        prefix: str,
        shared: bool,
    ) -> None:
        self.config = BreakerConfig(
            window_size=settings.breaker_window_size,
            minimum_calls=settings.breaker_minimum_calls,
            failure_rate=settings.breaker_failure_rate,
            slow_call_rate=settings.breaker_slow_call_rate,
            open_ms=settings.breaker_open_seconds * 1000.0,
            probes=settings.breaker_half_open_probes,
        )
        self.slow_seconds = settings.breaker_slow_call_seconds
        self.sync_seconds = settings.breaker_sync_seconds if shared else 0.0
        self.store = store
        self.metrics = metrics
        self.prefix = prefix
        self.seen: dict[tuple[str, str], State] = {}
        self._keys: dict[tuple[str, str], str] = {}
        self._trusted_until: dict[str, float] = {}
        self._unsent_ok: dict[str, int] = {}
        self._sent_at: dict[str, float] = {}
        self._tracked: dict[int, _Tracked] = {}  # id(request) -> its attempts, while it runs

    def key(self, organization: str, group: str) -> str:
        known = self._keys.get((organization, group))
        if known is None:
            known = self._keys[(organization, group)] = f"{self.prefix}:breaker:{{{organization}}}:{group}"
        return known

    async def outcome(self, request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse:
        """Outside the retries: record the outcome of the request as a whole (see _settle)."""
        tracked = self._tracked[id(request)] = _Tracked()
        try:
            return await call_next(request)
        finally:
            del self._tracked[id(request)]
            if tracked.last is not None:
                with anyio.CancelScope(shield=True), anyio.move_on_after(SHIELD_SECONDS):
                    await self._settle(tracked)

    async def _settle(self, tracked: _Tracked) -> None:
        """A request that ended well counts once, as its last attempt; one that failed counts
        every failed attempt (an outage opens the circuit as fast as counting attempts would)."""
        assert tracked.key is not None and tracked.last is not None
        code = tracked.failures if is_failed(tracked.last) else tracked.last
        await self._record(tracked.key, tracked.organization, tracked.group, code, False)

    def _code(self, failed: bool, seconds: float) -> str:
        return outcome_code(failed, seconds >= self.slow_seconds)

    async def __call__(self, request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse:
        organization, group = organization_of(request), request.resource or "other"
        key = self.key(organization, group)
        admission = await self._admit(key, organization, group)
        tracked = self._tracked.get(id(request))
        if tracked is None or admission.probe:  # a half-open probe's first answer decides
            return await self._attempt_recorded(request, call_next, key, organization, group, admission)
        tracked.key, tracked.organization, tracked.group = key, organization, group
        return await self._attempt(request, call_next, tracked.answered)

    async def _attempt_recorded(
        self,
        request: UpstreamRequest,
        call_next: UpstreamNext,
        key: str,
        organization: str,
        group: str,
        admission: Admission,
    ) -> UpstreamResponse:
        """This attempt is an outcome of its own (a probe, or the gate without the recorder)."""
        heard = False

        async def record(code: str) -> None:
            nonlocal heard
            heard = True
            await self._record(key, organization, group, code, admission.probe)

        try:
            return await self._attempt(request, call_next, record)
        finally:
            if not heard:  # nothing said about Billy: give the call's place back
                with anyio.CancelScope(shield=True), anyio.move_on_after(SHIELD_SECONDS):
                    await self.store.release(key, admission.probe)

    async def _attempt(
        self, request: UpstreamRequest, call_next: UpstreamNext, answered: Callable[[str], Awaitable[None]]
    ) -> UpstreamResponse:
        """One attempt; ``answered`` gets its outcome code when it says something about Billy."""
        started = time.monotonic()
        try:
            response = await call_next(request)
        except UpstreamTransportError as exc:
            if exc.kind != "deadline":  # a deadline error was never sent: it says nothing
                await answered(self._code(True, time.monotonic() - started))
            raise
        except ToolError:  # an inner refusal (rate limit, bulkhead): not an outcome
            raise
        except BaseException:
            # Cancelled (the call's deadline, a client gone): no outcome, unless it had already
            # run past the slow-call threshold, which says Billy is hanging.
            seconds = time.monotonic() - started
            if seconds >= self.slow_seconds:
                with anyio.CancelScope(shield=True), anyio.move_on_after(SHIELD_SECONDS):
                    await answered(self._code(True, seconds))
            raise
        # Billy's own time (the HTTP exchange), not the wait for a rate-limit slot
        seconds = response.elapsed or time.monotonic() - started
        await answered(self._code(is_failure(response.status), seconds))
        return response

    async def _admit(self, key: str, organization: str, group: str) -> Admission:
        if self.sync_seconds and self._trusted_until.get(key, 0.0) > time.monotonic():
            return CLOSED_ADMISSION
        admission = await self.store.acquire(key, self.config)
        self._saw(key, organization, group, admission.state)
        if admission.allowed:
            return admission
        self.metrics.rejections.labels("circuit_open").inc()
        raise CircuitOpen(
            f"Billy's {group} requests keep failing for this organization, so they are refused for now "
            f"(circuit {admission.state.value.replace('_', '-')})",
            retry_after=max(0.001, admission.retry_after_ms / 1000.0),
            details={"group": group, "state": admission.state.value},
            hint="Retry after retry_after seconds; reads the cache holds are still answered (marked stale).",
        )

    async def _record(self, key: str, organization: str, group: str, code: str, probe: bool) -> None:
        """Record outcome ``code`` (several codes, oldest first, for a request that failed
        more than once)."""
        now = time.monotonic()
        unsent = self._unsent_ok.pop(key, 0)
        if self.sync_seconds and not probe:
            # Shared state: plain successes go to Redis in batches (at the latest with the next
            # failure, after OK_BATCH of them, or after breaker_sync_seconds), so a healthy
            # upstream costs one Redis round trip per request (the rate limit), not two.
            if code == OK and unsent + 1 < OK_BATCH and now - self._sent_at.get(key, 0.0) < self.sync_seconds:
                self._unsent_ok[key] = unsent + 1
                return
            code = OK * unsent + code
        self._sent_at[key] = now
        recorded = await self.store.record(key, self.config, code, probe)
        if recorded.after != recorded.before:
            self.metrics.transitions.labels(group, recorded.after.value).inc()
            logger.info("circuit for {} on {} is now {}", group, organization, recorded.after.value)
        self._saw(key, organization, group, recorded.after)

    def _saw(self, key: str, organization: str, group: str, state: State) -> None:
        self.seen[(organization, group)] = state
        if state == State.CLOSED and self.sync_seconds:
            self._trusted_until[key] = time.monotonic() + self.sync_seconds
        else:
            self._trusted_until.pop(key, None)

    async def snapshot(self) -> dict[tuple[str, str], tuple[State, float]]:
        """Every breaker this instance has used, as the store sees it now."""
        found = {}
        for organization, group in list(self.seen):
            key = self.key(organization, group)
            state, retry_after_ms = await self.store.peek(key, self.config)
            self._saw(key, organization, group, state)
            found[(organization, group)] = (state, retry_after_ms / 1000.0)
        return found


class Bulkhead:
    """At most ``limit`` concurrent upstream requests per organization on this instance."""

    def __init__(self, limit: int, max_wait: float, metrics: ResilienceMetrics) -> None:
        self.limit = limit
        self.max_wait = max_wait
        self.metrics = metrics
        self._semaphores: dict[str, anyio.Semaphore] = {}

    def in_use(self, organization: str) -> int:
        semaphore = self._semaphores.get(organization)
        return 0 if semaphore is None else self.limit - semaphore.value

    @asynccontextmanager
    async def place(self, organization: str, deadline: float | None) -> AsyncIterator[None]:
        semaphore = self._semaphores.get(organization)
        if semaphore is None:
            semaphore = self._semaphores[organization] = anyio.Semaphore(self.limit)
        try:
            semaphore.acquire_nowait()
        except anyio.WouldBlock:
            wait = self.max_wait
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
            acquired = False
            with anyio.move_on_after(max(0.0, wait)):
                await semaphore.acquire()
                acquired = True
            if not acquired:
                self.metrics.rejections.labels("bulkhead_full").inc()
                raise UpstreamUnavailable(
                    f"too many requests to Billy are in flight for this organization ({self.limit})",
                    details={"reason": "bulkhead_full", "max_concurrent": self.limit},
                    hint="Retry in a moment.",
                    retry_after=self.max_wait or 0.1,
                ) from None
        try:
            yield
        finally:
            semaphore.release()


class LimitLayer:
    """One upstream rate limit per organization (GCRA, shared through Redis), then the bulkhead."""

    def __init__(
        self,
        settings: ResilienceSettings,
        rates: RateStore,
        metrics: ResilienceMetrics,
        *,
        prefix: str,
    ) -> None:
        self.rates = rates
        self.metrics = metrics
        self.prefix = prefix
        self.rate_enabled = settings.rate_limit_requests > 0
        self.interval_ms = (
            settings.rate_limit_window_seconds * 1000.0 / settings.rate_limit_requests
            if self.rate_enabled
            else 0.0
        )
        self.tolerance_ms = (settings.rate_limit_burst - 1) * self.interval_ms
        self.max_wait = settings.rate_limit_max_wait_seconds
        self.bulkhead = (
            Bulkhead(settings.bulkhead_max_concurrent, settings.bulkhead_max_wait_seconds, metrics)
            if settings.bulkhead_max_concurrent > 0
            else None
        )
        self._keys: dict[str, str] = {}

    def key(self, organization: str) -> str:
        known = self._keys.get(organization)
        if known is None:
            known = self._keys[organization] = f"{self.prefix}:rate:{{{organization}}}"
        return known

    async def __call__(self, request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse:
        organization = organization_of(request)
        if self.rate_enabled:
            await self._take_slot(organization, request.deadline)
        if self.bulkhead is None:
            return await call_next(request)
        async with self.bulkhead.place(organization, request.deadline):
            return await call_next(request)

    async def _take_slot(self, organization: str, deadline: float | None) -> None:
        max_wait = self.max_wait
        if deadline is not None:
            max_wait = max(0.0, min(max_wait, deadline - time.monotonic()))
        waited_ms = await self.rates.reserve(
            self.key(organization), self.interval_ms, self.tolerance_ms, max_wait * 1000.0
        )
        if waited_ms < 0:
            self.metrics.rejections.labels("rate_limited").inc()
            raise RateLimited(
                "the upstream rate limit for this organization is used up for now",
                retry_after=-waited_ms / 1000.0,
                details={"reason": "upstream_rate_limit"},
                hint="Retry after retry_after seconds.",
            )
        if waited_ms > 0:
            self.metrics.rate_limit_waits.inc()
            self.metrics.rate_limit_wait_seconds.observe(waited_ms / 1000.0)
            await anyio.sleep(waited_ms / 1000.0)
