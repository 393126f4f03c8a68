"""L2: the kernel's shared Redis (plain or Cluster), plus tag versions and the fetch lock.

Keys (all of one organization in one Cluster slot through the ``{<org>}`` hash tag):

* ``billy:cache:{<org>}:e:<resource>:<scope>:<digest>``: an entry (JSON, expires by PX);
* ``billy:cache:{<org>}:tags``: a hash of tag -> version token, one random token per write;
* ``billy:cache:{<org>}:lock:<resource>:<scope>:<digest>``: the short fetch lease.

Every operation is bounded by ``redis_timeout_seconds``; a slow or failing Redis makes the
cache go to Billy (and readiness fail), never answer wrongly.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import anyio
from redis.exceptions import LockError

from billy_cache.entry import CacheEntry, CacheKey, KeyMaker
from billy_cache.settings import CacheSettings
from billy_cache.tiers import CacheTier
from billy_core.health import HealthState, HealthStatus
from billy_core.redis import redis_client


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisTier(CacheTier):
    name = "redis"
    label = "L2"
    shared = True

    def __init__(self, *, kernel: Any, settings: CacheSettings, **_: Any) -> None:
        self.kernel = kernel
        self.settings = settings
        self.keys = KeyMaker(settings.key_prefix)
        self.timeout = settings.redis_timeout_seconds
        self.configured = kernel is not None and kernel.settings.redis_url is not None
        self._tags = RedisTagStore(self)
        self._lock = RedisFetchLock(self)

    @property
    def client(self) -> Any:
        return redis_client(self.kernel)

    def keep_seconds(self, ttl: float) -> float:
        return ttl + self.settings.stale_while_revalidate_seconds + self.settings.redis_keep_seconds

    async def get(self, key: CacheKey) -> CacheEntry | None:
        with anyio.fail_after(self.timeout):
            data = await self.client.get(key.text)
        return None if data is None else CacheEntry.from_wire(data)

    async def put(self, key: CacheKey, entry: CacheEntry, keep_seconds: float) -> None:
        milliseconds = max(1, int(keep_seconds * 1000))
        with anyio.fail_after(self.timeout):
            await self.client.set(key.text, entry.wire(), px=milliseconds)

    async def check(self) -> HealthStatus:
        with anyio.fail_after(self.timeout):
            await self.client.ping()
        return HealthStatus(HealthState.OK, "Redis answers")

    def tag_store(self) -> RedisTagStore:
        return self._tags

    def fetch_lock(self) -> RedisFetchLock:
        return self._lock


class RedisTagStore:
    """Versions in one hash per organization, so every instance sees every invalidation.

    A missing field gets a random token (HSETNX) before use; after a Redis flush the new
    tokens match no stored entry, so nothing cached before the flush is trusted again.
    """

    shared = True

    def __init__(self, tier: RedisTier) -> None:
        self.tier = tier
        self.keep_ms = int((tier.settings.sql_keep_seconds + 86400) * 1000)

    async def versions(self, organization_id: str, tags: tuple[str, ...]) -> tuple[str, ...]:
        name = self.tier.keys.tags_hash(organization_id)
        client = self.tier.client
        with anyio.fail_after(self.tier.timeout):
            values = await client.hmget(name, list(tags))
            if all(value is not None for value in values):
                return tuple(_text(value) or "" for value in values)
            pipe = client.pipeline(transaction=False)
            for tag, value in zip(tags, values, strict=True):
                if value is None:
                    pipe.hsetnx(name, tag, secrets.token_hex(6))
            pipe.pexpire(name, self.keep_ms)
            pipe.hmget(name, list(tags))
            results = await pipe.execute()
        return tuple(_text(value) or "" for value in results[-1])

    def verdict(self, stored: tuple[str, ...], current: tuple[str, ...]) -> bool | None:
        return stored == current

    async def bump(self, organization_id: str, tags: Iterable[str]) -> None:
        name = self.tier.keys.tags_hash(organization_id)
        mapping = {tag: secrets.token_hex(6) for tag in tags}
        if not mapping:
            return
        pipe = self.tier.client.pipeline(transaction=False)
        pipe.hset(name, mapping=mapping)
        pipe.pexpire(name, self.keep_ms)
        with anyio.fail_after(self.tier.timeout):
            await pipe.execute()


class RedisFetchLock:
    """redis-py's lease lock (random token, Lua release): efficiency only, never correctness."""

    def __init__(self, tier: RedisTier) -> None:
        self.tier = tier

    async def acquire(self, key: CacheKey, seconds: float) -> Any | None:
        lock = self.tier.client.lock(key.lock_name, timeout=seconds, blocking=False)
        with anyio.fail_after(self.tier.timeout):
            acquired = await lock.acquire()
        return lock if acquired else None

    async def release(self, handle: Any) -> None:
        try:
            with anyio.fail_after(self.tier.timeout):
                await handle.release()
        except LockError:
            pass  # the lease ran out first; another instance may hold it now

    async def held(self, key: CacheKey) -> bool:
        with anyio.fail_after(self.tier.timeout):
            return bool(await self.tier.client.exists(key.lock_name))
