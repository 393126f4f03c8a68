"""One Redis client per kernel (plain Redis or Redis Cluster), shared by every plugin."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from billy_core.errors import StartupError


def make_redis(url: str) -> Any:
    """``redis://host:6379/0``; ``?cluster=true`` or ``redis+cluster://`` selects Redis Cluster."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    cluster = parts.scheme.endswith("+cluster") or query.pop("cluster", ["false"])[0].lower() in ("1", "true")
    scheme = parts.scheme.replace("+cluster", "")
    if scheme not in ("redis", "rediss"):
        raise StartupError("BILLY_REDIS_URL: must start with redis:// or rediss://")
    remaining = "&".join(f"{key}={value[0]}" for key, value in query.items())
    clean = urlunsplit((scheme, parts.netloc, parts.path, remaining, ""))
    if cluster:
        return RedisCluster.from_url(clean)
    return Redis.from_url(clean)


def redis_client(kernel: Any) -> Any:
    """The kernel's Redis client; raises StartupError when BILLY_REDIS_URL is not set."""
    url = kernel.settings.redis_url
    if url is None:
        raise StartupError("BILLY_REDIS_URL is not set")
    return kernel.service("redis", lambda: make_redis(url.get_secret_value()))
