"""The contract of a cache tier backend (namespace ``billy_mcp.cache_backends``).

A backend is built as ``Backend(kernel=kernel, settings=cache_settings)`` by
:func:`billy_core.backends.load_backend`. Tiers are asked nearest first (L1 memory, L2
Redis, L3 SQL); a tier that cannot answer returns ``None`` or raises, and the cache treats
either as a miss. A shared tier (one every instance sees) may also offer the organization
tag versions and the cross-instance fetch lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from billy_cache.entry import CacheEntry, CacheKey
from billy_core.health import HealthState, HealthStatus


class TagStore(Protocol):
    """Tag versions per organization: opaque tokens that change on every invalidation."""

    async def versions(self, organization_id: str, tags: tuple[str, ...]) -> tuple[str, ...]: ...

    async def bump(self, organization_id: str, tags: Iterable[str]) -> None: ...

    def verdict(self, stored: tuple[str, ...], current: tuple[str, ...]) -> bool | None:
        """True: still current. False: a write superseded it. None: cannot tell."""


class FetchLock(Protocol):
    """A short lease so one instance fetches a missing key while the others wait for it."""

    async def acquire(self, key: CacheKey, seconds: float) -> Any | None:
        """A handle when acquired, ``None`` when another instance holds it (errors raise)."""

    async def release(self, handle: Any) -> None: ...

    async def held(self, key: CacheKey) -> bool: ...


class CacheTier:
    """Base class of a tier. ``configured`` False means "not set up here": the tier is skipped."""

    name = "tier"
    shared = False
    configured = True
    background_writes = False

    def __bool__(self) -> bool:
        # stevedore hands back the class instead of a falsy instance (an empty L1 is falsy by len)
        return True

    async def get(self, key: CacheKey) -> CacheEntry | None:
        raise NotImplementedError

    async def get_if(
        self, key: CacheKey, accept: Callable[[float, tuple[str, ...]], bool]
    ) -> CacheEntry | None:
        """``get``, but ``None`` unless ``accept(stored_at, versions)``. A tier that can look at
        an entry's metadata first overrides it, to decode only an entry the caller takes."""
        entry = await self.get(key)
        return entry if entry is not None and accept(entry.stored_at, entry.versions) else None

    async def put(self, key: CacheKey, entry: CacheEntry, keep_seconds: float) -> None:
        raise NotImplementedError

    def keep_seconds(self, ttl: float) -> float:
        """How long this tier keeps an answer whose freshness lasts ``ttl`` seconds."""
        return ttl

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def sweep(self) -> int:
        """Drop expired entries the store does not expire by itself; return how many."""
        return 0

    async def clear(self) -> int:
        """Drop everything this tier holds (``billy-mcp cache clear``); return how many."""
        return 0

    async def check(self) -> HealthStatus:
        return HealthStatus(HealthState.OK, f"{self.name} ok")

    def tag_store(self) -> TagStore | None:
        return None

    def fetch_lock(self) -> FetchLock | None:
        return None
