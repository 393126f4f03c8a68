"""The read-through cache on the upstream chain (order ``ORDER_CACHE``, outermost).

Reads (GET):

1. Read the tag versions of the request's resource types (Redis when configured: every
   instance sees every write) *before* anything else.
2. Ask the tiers nearest first. An entry counts only if its versions equal the current
   ones; fresh (younger than the TTL) answers at once; within the stale-while-revalidate
   window it answers *marked stale* while one background refresh runs.
3. Otherwise fetch: concurrent identical misses share one request (in process), and a
   short Redis lease lets one instance fetch while the others wait for its entry.
4. Store a 2xx answer under the versions read *before* the fetch (a write meanwhile makes
   them old, so the entry never validates), unless an invalidation of this instance has not
   reached the tag store yet; errors are never stored.
5. If Billy fails (no answer, 5xx, 429, an open breaker, a spent deadline), answer from
   the newest entry any tier still holds, marked ``stale`` with the age and the reason;
   with none, the error goes on unchanged. 4xx answers are Billy's real answer: never
   replaced.

Writes (anything else) go straight through, then bump the versions of the resource, its
related types and ``request.invalidates``, whatever the outcome (an ambiguous failure may
have committed).
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio
from loguru import logger

from billy_cache.background import Background, SingleFlight
from billy_cache.entry import CacheEntry, CacheKey, KeyMaker, TagRules
from billy_cache.metrics import CacheMetrics
from billy_cache.settings import CacheSettings
from billy_cache.tiers import CacheTier, FetchLock, TagStore
from billy_core.context import Freshness
from billy_core.errors import ToolError
from billy_core.frozen import freeze
from billy_core.upstream import UpstreamNext, UpstreamRequest, UpstreamResponse, UpstreamTransportError

WARM_TRANSPORT = "cache-warm"
LOG_EVERY_SECONDS = 30.0
MAX_BACKGROUND_WRITES = 200
REVALIDATING = "revalidating"


@dataclass(slots=True)
class Answer:
    response: UpstreamResponse
    freshness: Freshness | None = None


@dataclass(slots=True)
class Read:
    """One GET on its way through the cache."""

    request: UpstreamRequest
    call_next: UpstreamNext
    key: CacheKey
    tags: tuple[str, ...]
    ttl: float
    versions: tuple[str, ...] | None = None
    refresh: bool = False
    looked_up: bool = False
    fallback: CacheEntry | None = None
    fallback_valid: bool | None = None

    def offer_fallback(self, entry: CacheEntry, valid: bool | None) -> None:
        """Keep the best answer for stale-if-error: current versions first, then the newest."""
        current = self.fallback
        if current is None or (bool(valid), entry.stored_at) > (bool(self.fallback_valid), current.stored_at):
            self.fallback, self.fallback_valid = entry, valid


def cached_response(entry: CacheEntry) -> UpstreamResponse:
    return UpstreamResponse(status=entry.status, body=entry.body, from_cache=True)


class ReadThroughCache:
    def __init__(
        self,
        settings: CacheSettings,
        tiers: Sequence[CacheTier],
        tags: TagStore,
        *,
        metrics: CacheMetrics,
        background: Background,
        lock: FetchLock | None = None,
        lock_tier: CacheTier | None = None,
        upstream_timeout: float = 15.0,
    ) -> None:
        self.settings = settings
        self.tiers = list(tiers)
        self.tags = tags
        self.lock = lock
        self.lock_tier = lock_tier
        self.metrics = metrics
        self.background = background
        self.upstream_timeout = upstream_timeout
        self.keys = KeyMaker(settings.key_prefix)
        self.rules = TagRules(settings.related)
        self.flights: SingleFlight[Answer] = SingleFlight()
        # Invalidations not yet in the tag store: organization -> tag -> the number of the
        # latest invalidation asking for it. A tag stays until a bump that included it succeeds.
        self._pending: dict[str, dict[str, int]] = {}
        self._invalidations = itertools.count(1)
        self._logged: dict[tuple[str, str], float] = {}
        self._lock_name = lock_tier.name if lock_tier is not None else "lock"

    # ------------------------------------------------------------------ the middleware

    async def __call__(self, request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse:
        if request.method != "GET":
            if request.is_read:
                return await call_next(request)
            return await self._write(request, call_next)
        ttl = self.settings.ttl_for(request.resource)
        if ttl <= 0:
            self.metrics.fetched("uncached")
            return await call_next(request)
        read = Read(request, call_next, self.keys.for_request(request), self.rules.for_read(request), ttl)
        read.refresh = request.bypass_cache or (
            request.call is not None and request.call.transport == WARM_TRANSPORT
        )
        answer = await self._read(read)
        if answer.freshness is not None and request.call is not None:
            request.call.note_freshness(answer.freshness)
        return answer.response

    # ------------------------------------------------------------------ reads

    async def _read(self, read: Read) -> Answer:
        read.versions = await self._versions(read.key.organization_id, read.tags)
        if read.refresh:
            return await self._fetch_shared(read)
        if self.tiers and not self.tiers[0].shared:
            # The nearest (in-process) tier answers hits without joining a flight.
            entry, revalidate = await self._lookup(read, self.tiers[:1], quiet=True)
            if entry is not None and not revalidate:
                self.metrics.save("hit")
                return Answer(cached_response(entry))
        if not self.settings.coalesce:
            return await self._resolve(read)
        # Concurrent identical misses share one lookup of the tiers and one upstream request.
        # Bodies are read-only (billy_core.frozen): the callers of one flight share its answer.
        answer, shared = await self.flights.run((read.key.text, read.versions), lambda: self._resolve(read))
        if shared:
            self.metrics.save("coalesced")
        return answer

    async def _resolve(self, read: Read) -> Answer:
        entry, revalidate = await self._lookup(read, self.tiers)
        if entry is not None and not revalidate:
            self.metrics.save("hit")
            return Answer(cached_response(entry))
        if entry is not None and self.background.spawn(
            ("revalidate", read.key.text), lambda: self._revalidate(read), what="revalidation"
        ):
            self.metrics.save(REVALIDATING)
            return self._stale(entry, REVALIDATING, valid=True)
        return await self._fetch_shared(read)

    async def _lookup(
        self, read: Read, tiers: Sequence[CacheTier], *, quiet: bool = False
    ) -> tuple[CacheEntry | None, bool]:
        """The first fresh entry (and whether it needs revalidating); fills the fallback.
        ``quiet`` counts only hits (the same tiers are asked again inside the flight)."""
        read.looked_up = True
        now = time.time()
        window = read.ttl + self.settings.stale_while_revalidate_seconds
        revalidatable: CacheEntry | None = None

        def fresh(stored_at: float, versions: tuple[str, ...]) -> bool:
            current = read.versions
            return (
                current is not None
                and bool(self.tags.verdict(versions, current))
                and max(0.0, now - stored_at) < read.ttl
            )

        for index, tier in enumerate(tiers):
            started = time.perf_counter()
            try:
                entry = await (tier.get_if(read.key, fresh) if quiet else tier.get(read.key))
            except Exception as exc:
                self._tier_failed(tier.name, "get", exc)
                continue
            elapsed = time.perf_counter() - started
            valid = (
                None
                if entry is None or read.versions is None
                else self.tags.verdict(entry.versions, read.versions)
            )
            if entry is not None and valid and entry.age(now) < read.ttl:
                self.metrics.lookup(tier.name, "hit", elapsed)
                read.offer_fallback(entry, valid)
                await self._promote(read, entry, tiers[:index])
                return entry, False
            if quiet:
                continue
            if entry is None:
                self.metrics.lookup(tier.name, "miss", elapsed)
                continue
            read.offer_fallback(entry, valid)
            if valid and entry.age(now) < window:
                self.metrics.lookup(tier.name, "stale", elapsed)
                if revalidatable is None or entry.stored_at > revalidatable.stored_at:
                    revalidatable = entry
            else:
                self.metrics.lookup(tier.name, "invalid" if valid is False else "expired", elapsed)
        return revalidatable, revalidatable is not None

    async def _promote(self, read: Read, entry: CacheEntry, tiers: Sequence[CacheTier]) -> None:
        for tier in tiers:
            await self._put(tier, read.key, entry, read.ttl)

    async def _revalidate(self, stale: Read) -> None:
        """Refresh one entry in the background (stale-while-revalidate)."""
        request = replace(
            stale.request,
            call=None,
            bypass_cache=True,
            deadline=time.monotonic() + self.upstream_timeout,
        )
        read = Read(request, stale.call_next, stale.key, stale.tags, stale.ttl, looked_up=True)
        read.versions = await self._versions(read.key.organization_id, read.tags)
        try:
            await self.flights.run((read.key.text, read.versions), lambda: self._fetch_shared(read))
        except (ToolError, UpstreamTransportError) as exc:
            logger.debug("cache: revalidating {} failed: {}", request.path, exc)

    async def _fetch_shared(self, read: Read) -> Answer:
        """Fetch under the cross-instance lease; wait for a peer's entry when it holds it.

        The lease is for efficiency only: when Redis fails, or the peer is too slow, this
        instance fetches by itself, and a wrongly held lease costs one extra request.
        """
        handle: Any = None
        try:
            if self.lock is not None and read.versions is not None:
                try:
                    handle = await self.lock.acquire(read.key, self.settings.lock_seconds)
                except Exception as exc:
                    self._tier_failed(self._lock_name, "lock", exc)
                else:
                    if not read.refresh:
                        # Held elsewhere: a peer is fetching it. Ours: a peer may have just stored it.
                        entry = await (self._await_peer(read) if handle is None else self._peer_entry(read))
                        if entry is not None:
                            self.metrics.save("peer")
                            return Answer(cached_response(entry))
            return await self._fetch(read)
        finally:
            await self._release(handle)

    async def _release(self, handle: Any) -> None:
        if handle is None or self.lock is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await self.lock.release(handle)
            except Exception as exc:
                self._tier_failed(self._lock_name, "lock", exc)

    async def _peer_entry(self, read: Read) -> CacheEntry | None:
        """A fresh entry for this read in the shared tier that holds the lease, if any."""
        tier = self.lock_tier
        if tier is None:
            return None
        try:
            entry = await tier.get(read.key)
        except Exception as exc:
            self._tier_failed(tier.name, "get", exc)
            return None
        if entry is None or entry.versions != read.versions or entry.age() >= read.ttl:
            return None
        await self._promote(read, entry, self.tiers[: self.tiers.index(tier)])
        return entry

    async def _await_peer(self, read: Read) -> CacheEntry | None:
        """Poll while another instance's lease is held (bounded by the lease and half this
        request's remaining time). ``None``: fetch it ourselves."""
        lock = self.lock
        if lock is None:
            return None
        limit = self.settings.lock_seconds
        if read.request.deadline is not None:
            limit = min(limit, (read.request.deadline - time.monotonic()) / 2)
        give_up = time.monotonic() + limit
        delay = 0.005
        try:
            while time.monotonic() < give_up:
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.05)
                entry = await self._peer_entry(read)
                if entry is not None:
                    return entry
                if not await lock.held(read.key):
                    return await self._peer_entry(read)
        except Exception as exc:
            self._tier_failed(self._lock_name, "lock", exc)
        return None

    async def _fetch(self, read: Read) -> Answer:
        started = time.time()
        try:
            response = await read.call_next(read.request)
        except UpstreamTransportError:
            stale = await self._stale_if_error(read, "upstream_unavailable")
            if stale is None:
                self.metrics.fetched("error")
                raise
            return stale
        except ToolError as exc:
            stale = await self._stale_if_error(read, exc.code.value) if exc.retryable else None
            if stale is None:
                self.metrics.fetched("error")
                raise
            return stale
        if response.status >= 500 or response.status == 429:
            reason = "rate_limited" if response.status == 429 else "upstream_unavailable"
            stale = await self._stale_if_error(read, reason)
            if stale is not None:
                return stale
        if not response.ok:
            self.metrics.fetched("error")
            return Answer(response)
        # The client's GET answers are frozen already (this is then a type check); an answer a
        # middleware made up is frozen here, as coalesced callers and L1 share it.
        response = replace(response, body=freeze(response.body))
        await self._store(read, response, started)
        return Answer(response)

    async def _store(self, read: Read, response: UpstreamResponse, started: float) -> None:
        if read.versions is None or self._pending.get(read.key.organization_id):
            # No versions, or a write of ours is not in the tag store yet: other instances
            # would still take read.versions as current, and the answer may predate that write.
            # (A write that did reach it made read.versions old: such an entry never validates.)
            self.metrics.fetched("not_stored")
            return
        entry = CacheEntry(response.body, started, read.versions, response.status)
        shareable = (
            any(tier.shared for tier in self.tiers) and len(entry.wire()) <= self.settings.max_entry_bytes
        )
        for tier in self.tiers:
            if tier.shared and not shareable:
                continue
            if tier.background_writes and len(self.background) < MAX_BACKGROUND_WRITES:
                if self.background.spawn(
                    object(), functools.partial(self._put, tier, read.key, entry, read.ttl), what="write"
                ):
                    continue
            await self._put(tier, read.key, entry, read.ttl)
        self.metrics.fetched("stored")

    async def _put(self, tier: CacheTier, key: CacheKey, entry: CacheEntry, ttl: float) -> None:
        started = time.perf_counter()
        try:
            await tier.put(key, entry, tier.keep_seconds(ttl))
        except Exception as exc:
            self._tier_failed(tier.name, "put", exc)
            return
        self.metrics.stored(tier.name, time.perf_counter() - started)

    # ------------------------------------------------------------------ stale answers

    async def _stale_if_error(self, read: Read, reason: str) -> Answer | None:
        if not read.looked_up:
            await self._lookup(read, self.tiers)
        entry = read.fallback
        if entry is None:
            return None
        if read.fallback_valid is False and not self.settings.serve_superseded_on_error:
            return None
        if entry.age() > read.ttl + self.settings.stale_if_error_seconds:
            return None
        return self._stale(entry, reason, valid=read.fallback_valid)

    def _stale(self, entry: CacheEntry, reason: str, *, valid: bool | None) -> Answer:
        self.metrics.served_stale(reason)
        text = reason
        if valid is False:
            text += "; a later write has changed this data"
        elif valid is None:
            text += "; not checked against later writes"
        return Answer(cached_response(entry), Freshness(stale=True, age_seconds=entry.age(), reason=text))

    # ------------------------------------------------------------------ writes and versions

    async def _write(self, request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse:
        tags = self.rules.for_write(request)
        try:
            return await call_next(request)
        finally:
            with anyio.CancelScope(shield=True):
                await self.invalidate(request.organization_id, tags, resource=request.resource)

    async def invalidate(self, organization_id: str, tags: Sequence[str], *, resource: str = "") -> None:
        """Make every instance's cached reads of ``tags`` stale. The tags stay pending until a
        bump including them succeeds: it is retried (with anything pending since) by the
        maintenance loop and before this instance trusts any cached answer of that organization."""
        pending = self._pending.setdefault(organization_id, {})
        pending.update(dict.fromkeys(tags, next(self._invalidations)))
        sent = dict(pending)
        try:
            with anyio.fail_after(self.settings.redis_timeout_seconds * 2):
                await self.tags.bump(organization_id, sorted(sent))
        except Exception as exc:
            sent = {}
            self.metrics.invalidated(resource or "-", "failed")
            self._tier_failed("tags", "bump", exc)
        else:
            self.metrics.invalidated(resource or "-", "ok")
        # Forget only what this bump sent: a tag asked for again meanwhile has a newer number.
        pending = self._pending.get(organization_id, {})
        for tag, number in sent.items():
            if pending.get(tag) == number:
                del pending[tag]
        if not pending:
            self._pending.pop(organization_id, None)

    async def retry_pending(self) -> None:
        """Send the invalidations that failed, so other instances stop trusting what those
        writes changed without waiting for this one to read that organization again."""
        for organization_id in list(self._pending):
            await self.invalidate(organization_id, ())

    async def _versions(self, organization_id: str, tags: tuple[str, ...]) -> tuple[str, ...] | None:
        """Current versions, or None when they cannot be known (nothing cached is trusted)."""
        if self._pending.get(organization_id):
            await self.invalidate(organization_id, ())
            if self._pending.get(organization_id):
                return None
        try:
            return await self.tags.versions(organization_id, tags)
        except Exception as exc:
            self._tier_failed("tags", "get", exc)
            return None

    def _tier_failed(self, tier: str, operation: str, exc: BaseException) -> None:
        self.metrics.tier_error(tier, operation)
        now = time.monotonic()
        if now - self._logged.get((tier, operation), -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS:
            self._logged[(tier, operation)] = now
            logger.warning(
                "cache: {} {} failed ({}: {}); answering from Billy",
                tier,
                operation,
                type(exc).__name__,
                exc,
            )
