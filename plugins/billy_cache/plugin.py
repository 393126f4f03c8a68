"""The ``cache`` plugin: Billy's GET answers cached on the upstream chain, for every tool.

Registered through the ``billy_mcp.plugins`` entry point like any third-party plugin. It
puts :class:`~billy_cache.middleware.ReadThroughCache` outermost on the upstream chain
(``ORDER_CACHE``), so every read any tool makes goes through it and every write
invalidates what it touches. Tiers are named backends in ``billy_mcp.cache_backends``.
"""

from __future__ import annotations

from typing import Any

import anyio
import click

from billy_cache.runtime import PLUGIN, CacheRuntime
from billy_cache.settings import CacheSettings
from billy_core.health import HealthCheck
from billy_core.hookspecs import hookimpl
from billy_core.upstream import ORDER_CACHE


def runtime(kernel: Any) -> CacheRuntime:
    """The kernel's one cache, made on first use by whichever hook asks first."""
    made: CacheRuntime = kernel.service("billy_cache.runtime", lambda: CacheRuntime.build(kernel))
    return made


@hookimpl
def register_settings(register: Any) -> None:
    register(PLUGIN, CacheSettings)


@hookimpl
def register_upstream_middleware(register: Any, kernel: Any) -> None:
    register(runtime(kernel).cache, order=ORDER_CACHE, name="cache")


@hookimpl
def register_metrics(register: Any, kernel: Any) -> None:
    register(runtime(kernel).gauges())


@hookimpl
def register_health_checks(register: Any, kernel: Any) -> None:
    register(HealthCheck("cache", runtime(kernel).check, local=True))


@hookimpl
def register_startup(register: Any, kernel: Any) -> None:
    register(runtime(kernel).start)


@hookimpl
def register_shutdown(register: Any, kernel: Any) -> None:
    register(runtime(kernel).stop)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(cache)


@click.group()
def cache() -> None:
    """The cache of Billy's answers."""


@cache.command()
def clear() -> None:
    """Drop every cached answer in the shared tiers (Redis, SQL) this configuration names.

    Running instances then trust nothing they cached before (their tag versions are gone)."""
    from billy_core.cli import build_kernel

    for tier, dropped in anyio.run(clear_all, build_kernel()).items():
        click.echo(f"{tier}: {dropped} entries dropped")


async def clear_all(kernel: Any) -> dict[str, int]:
    """Start ``kernel``, drop every tier's entries, stop it: how many per tier."""
    async with kernel:
        dropped: dict[str, int] = await runtime(kernel).clear()
    return dropped
