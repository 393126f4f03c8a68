"""One cache per kernel: its tiers, the middleware, background work, warming, health."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
from loguru import logger

from billy_cache.background import Background
from billy_cache.memory import LocalTagStore, MemoryTier
from billy_cache.metrics import CacheMetrics, MemoryGauges
from billy_cache.middleware import WARM_TRANSPORT, ReadThroughCache
from billy_cache.settings import CacheSettings
from billy_cache.tiers import CacheTier, FetchLock, TagStore
from billy_core.auth import AuthRequest
from billy_core.backends import CACHE_BACKENDS, load_backend
from billy_core.health import HealthState, HealthStatus

PLUGIN = "cache"
# How often invalidations that did not reach the tag store are sent again.
RETRY_INVALIDATIONS_SECONDS = 1.0


class CacheRuntime:
    def __init__(self, kernel: Any, settings: CacheSettings, tiers: list[CacheTier]) -> None:
        self.kernel = kernel
        self.settings = settings
        self.tiers = tiers
        self.memory = next((tier for tier in tiers if isinstance(tier, MemoryTier)), None)
        self.metrics = CacheMetrics(kernel.metrics.registry)
        self.background = Background()
        tags: TagStore = (
            next((store for tier in tiers if (store := tier.tag_store())), None) or LocalTagStore()
        )
        lock_tier = next((tier for tier in tiers if tier.fetch_lock() is not None), None)
        lock: FetchLock | None = lock_tier.fetch_lock() if lock_tier is not None else None
        self.cache = ReadThroughCache(
            settings,
            tiers,
            tags,
            metrics=self.metrics,
            background=self.background,
            lock=lock,
            lock_tier=lock_tier,
            upstream_timeout=kernel.settings.upstream_timeout_seconds,
        )

    @classmethod
    def build(cls, kernel: Any) -> CacheRuntime:
        settings: CacheSettings = kernel.plugin_settings(PLUGIN)
        tiers: list[CacheTier] = []
        for name in settings.tiers:
            tier = load_backend(CACHE_BACKENDS, name, kernel=kernel, settings=settings)
            if getattr(tier, "configured", True):
                tiers.append(tier)
            else:
                logger.debug("cache: tier {} is not configured here; skipped", name)
        return cls(kernel, settings, tiers)

    def gauges(self) -> MemoryGauges:
        memory = self.memory

        def size() -> tuple[int, int, int]:
            if memory is None:
                return 0, 0, 0
            return len(memory), memory.bytes, memory.evictions

        return MemoryGauges(size)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        for tier in self.tiers:
            try:
                await tier.start()
            except Exception as exc:
                logger.warning("cache: tier {} did not start ({}); it will retry on use", tier.name, exc)
        await self.background.start()
        settings = self.settings
        if settings.warm_tools or settings.warm_paths:
            self._daemon("warming", self.warm, settings.warm_interval_seconds, at_start=True)
        self._daemon("sweeping", self.sweep, settings.sweep_interval_seconds)
        self._daemon("retrying invalidations", self.cache.retry_pending, RETRY_INVALIDATIONS_SECONDS)

    async def stop(self) -> None:
        await self.background.stop()
        for tier in self.tiers:
            await tier.stop()

    async def check(self) -> HealthStatus:
        """Shared tiers: a failing Redis fails readiness; a failing SQL store only degrades it
        (the cache still answers, it just cannot keep last-known-good answers)."""
        details: dict[str, Any] = {"tiers": [tier.name for tier in self.tiers]}
        state, problems = HealthState.OK, []
        for tier in self.tiers:
            if not tier.shared:
                continue
            try:
                await tier.check()
            except Exception as exc:
                problems.append(f"{tier.name}: {type(exc).__name__}: {exc}")
                if tier.tag_store() is not None:
                    state = HealthState.FAILING
                elif state is HealthState.OK:
                    state = HealthState.DEGRADED
        if self.memory is not None:
            details["memory_entries"] = len(self.memory)
            details["memory_bytes"] = self.memory.bytes
        message = "; ".join(problems) or "cache tiers answer"
        return HealthStatus(state, message, details)

    # ------------------------------------------------------------------ warming and sweeping

    def _daemon(
        self, what: str, work: Callable[[], Awaitable[Any]], every: float, *, at_start: bool = False
    ) -> None:
        """Run ``work`` every ``every`` seconds (``0``: only at start) until shutdown, in a loop
        of its own; a failure is logged and the loop goes on."""

        async def loop() -> None:
            if at_start:
                await once()
            while every > 0:
                await anyio.sleep(every)
                await once()

        async def once() -> None:
            try:
                await work()
            except Exception:
                logger.opt(exception=True).warning("cache: {} failed", what)

        self.background.spawn(what, loop, what=what, daemon=True)

    async def warm(self) -> int:
        """Fetch the configured tools' and paths' answers afresh; return how many succeeded."""
        principal = (await self.kernel.authenticate(AuthRequest(transport="stdio"))).principal
        done = 0
        for name in self.settings.warm_tools:
            tool = self.kernel.tools.get(name)
            if tool is None or not tool.read_only:
                logger.warning("cache: cannot warm {!r}: no such read tool", name)
                continue
            result = await self.kernel.call_tool(name, {}, principal=principal, transport=WARM_TRANSPORT)
            if result.is_error:
                logger.warning("cache: warming {} failed: {}", name, result.structured.get("message"))
            else:
                done += 1
        for spec in self.settings.warm_paths:
            path, _, query = spec.partition("?")
            context = self.kernel.new_context("cache.warm", principal=principal, transport=WARM_TRANSPORT)
            try:
                await context.billy.request("GET", path, query=parse_qsl(query), bypass_cache=True)
            except Exception as exc:
                logger.warning("cache: warming {} failed: {}", spec, exc)
            else:
                done += 1
        return done

    async def clear(self) -> dict[str, int]:
        """Drop every tier's entries (and, in Redis, the tag versions): how many per tier."""
        return {tier.name: await tier.clear() for tier in self.tiers}

    async def sweep(self) -> None:
        for tier in self.tiers:
            try:
                removed = await tier.sweep()
            except Exception as exc:
                logger.warning("cache: sweeping {} failed: {}", tier.name, exc)
            else:
                if removed:
                    logger.debug("cache: swept {} expired entries from {}", removed, tier.name)
