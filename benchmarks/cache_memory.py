"""Memory the L1 cache really holds at its configured bound, measured with tracemalloc.

L1 is filled with real Billy answers from the sandbox (invoice and contact pages of many
sizes, single invoices with their lines) under distinct keys until it has evicted well past
its bound; then the bytes Python holds for it are compared with the configured
``memory_max_bytes`` and with the tier's own accounting.

    .venv/bin/python benchmarks/cache_memory.py [--max-bytes 67108864] [--max-entries 4096]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from typing import Any

import anyio
import httpx
from billy_cache.entry import CacheEntry, CacheKey
from billy_cache.memory import ENTRY_OVERHEAD_BYTES, MemoryTier
from billy_cache.settings import CacheSettings

from billy_core.frozen import freeze
from billy_core.jsonutil import loads_exact


def answers(sandbox: Any) -> list[bytes]:
    """A spread of real answers, small to large, as Billy sends them."""
    headers = {"X-Access-Token": sandbox.token}
    found = []
    with httpx.Client(base_url=sandbox.api_url + "/", headers=headers) as client:
        for size in (1, 5, 10, 20, 50, 100):
            for page in (1, 2, 3):
                params = {"pageSize": size, "page": page, "include": "invoice.contact:sideload"}
                found.append(client.get("invoices", params=params).content)
                found.append(client.get("contacts", params={"pageSize": size, "page": page}).content)
        for invoice in loads_exact(client.get("invoices", params={"pageSize": 40}).content)["invoices"]:
            query = {"include": "invoice.lines:embed,invoice.contact:sideload"}
            found.append(client.get(f"invoices/{invoice['id']}", params=query).content)
    return found


async def fill(tier: MemoryTier, bodies: list[bytes], limit: int) -> int:
    """Put distinct keys until L1 has evicted twice what it holds (or ``limit`` puts). Each
    put parses its answer, as the client does for every request, so entries share nothing."""
    index = 0
    while index < limit and (tier.evictions == 0 or tier.evictions < 2 * len(tier)):
        text = f"billy:cache:{{org}}:e:invoices:tok:abcdef0123456789:{index:032x}"
        key = CacheKey("org", "tok:abcdef0123456789", "invoices", f"{index:032x}", text)
        body = freeze(loads_exact(bodies[index % len(bodies)]))
        await tier.put(key, CacheEntry(body, time.time(), ("a1b2c3d4.1",)), 3600)
        index += 1
    return index


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-bytes", type=int, default=CacheSettings().memory_max_bytes)
    parser.add_argument("--max-entries", type=int, default=CacheSettings().memory_max_entries)
    options = parser.parse_args()

    from billy_sandbox.runner import SandboxServer

    with SandboxServer(host="127.0.0.1", port=0) as sandbox:
        bodies = answers(sandbox)
    settings = CacheSettings(memory_max_bytes=options.max_bytes, memory_max_entries=options.max_entries)
    tier = MemoryTier(settings=settings)
    sizes = sorted(len(body) for body in bodies)
    anyio.run(fill, MemoryTier(settings=settings), bodies, 10)  # imports and one-off allocations first
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    puts = anyio.run(fill, tier, bodies, options.max_entries * 3)
    gc.collect()
    after = tracemalloc.take_snapshot()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(
        f"answers: {len(bodies)} distinct, JSON {sizes[0]} to {sizes[-1]} bytes (median {sizes[len(sizes) // 2]})"
    )
    print(f"bound: {options.max_bytes / 2**20:.1f} MiB and {options.max_entries} entries")
    print(f"after {puts} puts: {len(tier)} entries held, {tier.evictions} evicted")
    print(
        f"accounted by L1 (bodies as held + keys + {ENTRY_OVERHEAD_BYTES} B per entry): {tier.bytes / 2**20:.2f} MiB"
    )
    print(
        f"held according to tracemalloc: {held / 2**20:.2f} MiB (peak while filling {peak / 2**20:.2f} MiB)"
    )
    print(f"held / bound: {held / options.max_bytes:.3f}; held / accounted: {held / tier.bytes:.3f}")


if __name__ == "__main__":
    main()
