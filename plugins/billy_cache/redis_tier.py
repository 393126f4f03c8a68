"""L2: the kernel's shared Redis (plain or Cluster), plus tag versions and the fetch lock.

Keys (all of one organization in one Cluster slot through the ``{<org>}`` hash tag):

* ``billy:cache:{<org>}:e:<resource>:<scope>:<digest>``: an entry (JSON, expires by PX);
* ``billy:cache:{<org>}:tags``: a hash of tag -> version token, one random token per write;
* ``billy:cache:{<org>}:lock:<resource>:<scope>:<digest>``: the short fetch lease.

Every operation is bounded by ``redis_timeout_seconds``; a slow or failing Redis makes the
cache go to Billy (and readiness fail), never answer wrongly. After a failure Redis is not asked
again for ``redis_retry_seconds`` (calls fail at once), so a hanging Redis does not add its
timeout to every read; the health check always asks.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import Any

import anyio
from redis.exceptions import LockError

from billy_cache.entry import CacheEntry, CacheKey, KeyMaker
from billy_cache.settings import CacheSettings
from billy_cache.tiers import CacheTier
from billy_core.health import HealthState, HealthStatus
from billy_core.redis import redis_client


class RedisUnavailable(ConnectionError):
    """Redis failed within the last ``redis_retry_seconds``."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisTier(CacheTier):
    name = "redis"
    shared = True

    def __init__(self, *, kernel: Any, settings: CacheSettings, **_: Any) -> None:
        self.kernel = kernel
        self.settings = settings
        self.keys = KeyMaker(settings.key_prefix)
        self.timeout = settings.redis_timeout_seconds
        self.configured = kernel is not None and kernel.settings.redis_url is not None
        self.down_until = 0.0
        self._tags = RedisTagStore(self)
        self._lock = RedisFetchLock(self)

    @property
    def client(self) -> Any:
        return redis_client(self.kernel)

    @contextlib.contextmanager
    def io(self) -> Iterator[None]:
        """Bound one operation by the timeout; after a failure, fail fast for a while."""
        if time.monotonic() < self.down_until:
            raise RedisUnavailable("Redis failed moments ago; not asked again yet")
        try:
            with anyio.fail_after(self.timeout):
                yield
        except Exception:
            self.down_until = time.monotonic() + self.settings.redis_retry_seconds
            raise

    def keep_seconds(self, ttl: float) -> float:
        return ttl + self.settings.stale_while_revalidate_seconds + self.settings.redis_keep_seconds

    async def get(self, key: CacheKey) -> CacheEntry | None:
        with self.io():
            data = await self.client.get(key.text)
        return None if data is None else CacheEntry.from_wire(data)

    async def put(self, key: CacheKey, entry: CacheEntry, keep_seconds: float) -> None:
        milliseconds = max(1, int(keep_seconds * 1000))
        with self.io():
            await self.client.set(key.text, entry.wire(), px=milliseconds)

    async def clear(self) -> int:
        """Delete every key under the prefix, on every primary of a cluster. Instances then
        find no tag versions, make new ones, and trust nothing they cached before."""
        dropped = 0
        async for key in self.client.scan_iter(match=f"{self.settings.key_prefix}:*", count=1000):
            dropped += int(await self.client.delete(key))
        return dropped

    async def check(self) -> HealthStatus:
        with anyio.fail_after(self.timeout):
            await self.client.ping()
        self.down_until = 0.0
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

    def __init__(self, tier: RedisTier) -> None:
        self.tier = tier
        self.keep_ms = int((tier.settings.sql_keep_seconds + 86400) * 1000)

    async def versions(self, organization_id: str, tags: tuple[str, ...]) -> tuple[str, ...]:
        name = self.tier.keys.tags_hash(organization_id)
        client = self.tier.client
        with self.tier.io():
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
        with self.tier.io():
            await pipe.execute()


class RedisFetchLock:
    """redis-py's lease lock (random token, Lua release): efficiency only, never correctness."""

    def __init__(self, tier: RedisTier) -> None:
        self.tier = tier

    async def acquire(self, key: CacheKey, seconds: float) -> Any | None:
        lock = self.tier.client.lock(key.lock_name, timeout=seconds, blocking=False)
        with self.tier.io():
            acquired = await lock.acquire()
        return lock if acquired else None

    async def release(self, handle: Any) -> None:
        with self.tier.io():
            try:
                await handle.release()
            except LockError:
                pass  # the lease ran out first (another instance may hold it now): no outage

    async def held(self, key: CacheKey) -> bool:
        with self.tier.io():
            return bool(await self.tier.client.exists(key.lock_name))
