"""L1: an in-process LRU bounded by entries and by bytes, and process-local tag versions.

Bodies are kept as the read-only trees the client hands out (``billy_core.frozen``): a hit
gives every caller the same body without copying it, and a handler that tries to change it
fails instead of corrupting the cache. The byte bound counts what Python holds for each body
(measured once, when it is stored). The shared tiers store JSON.
"""

from __future__ import annotations

import itertools
import secrets
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from billy_cache.entry import CacheEntry, CacheKey
from billy_cache.settings import CacheSettings
from billy_cache.tiers import CacheTier
from billy_core.frozen import freeze

# Per-entry bookkeeping beyond the body (key string, slot object, dict and list slots),
# measured with tracemalloc in benchmarks/cache_memory.py and rounded up.
ENTRY_OVERHEAD_BYTES = 400


@dataclass(slots=True)
class _Slot:
    entry: CacheEntry
    expires_at: float
    size: int


def held_bytes(body: Any) -> int:
    """What Python holds for a JSON tree: every container, string and number, each object
    once (the parser shares repeated keys)."""
    seen: set[int] = set()
    total = 0
    stack = [body]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


class MemoryTier(CacheTier):
    """L1. ``get``/``put`` never await anything: the hot path stays in this process."""

    name = "memory"

    def __init__(self, *, settings: CacheSettings, kernel: Any = None, **_: Any) -> None:
        self.settings = settings
        self.max_entries = settings.memory_max_entries
        self.max_bytes = settings.memory_max_bytes
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self.bytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._slots)

    def keep_seconds(self, ttl: float) -> float:
        return ttl + self.settings.stale_while_revalidate_seconds + self.settings.memory_keep_seconds

    async def get(self, key: CacheKey) -> CacheEntry | None:
        return self.get_now(key.text)

    async def get_if(
        self, key: CacheKey, accept: Callable[[float, tuple[str, ...]], bool]
    ) -> CacheEntry | None:
        return self.get_now(key.text, accept)

    def get_now(
        self, text: str, accept: Callable[[float, tuple[str, ...]], bool] | None = None
    ) -> CacheEntry | None:
        """The entry under ``text``; with ``accept``, ``None`` unless ``accept(stored_at, versions)``."""
        slot = self._slots.get(text)
        if slot is None:
            return None
        if slot.expires_at <= time.time():
            self._drop(text)
            return None
        self._slots.move_to_end(text)
        entry = slot.entry
        if accept is not None and not accept(entry.stored_at, entry.versions):
            return None
        return entry

    async def put(self, key: CacheKey, entry: CacheEntry, keep_seconds: float) -> None:
        self.put_now(key.text, entry, keep_seconds)

    def put_now(self, text: str, entry: CacheEntry, keep_seconds: float) -> None:
        entry = CacheEntry(freeze(entry.body), entry.stored_at, entry.versions, entry.status)
        size = held_bytes(entry.body) + len(text) + ENTRY_OVERHEAD_BYTES
        self._drop(text)
        if size > min(self.max_bytes, self.settings.max_entry_bytes):
            return
        self._slots[text] = _Slot(entry, entry.stored_at + keep_seconds, size)
        self.bytes += size
        while len(self._slots) > self.max_entries or self.bytes > self.max_bytes:
            oldest = next(iter(self._slots))
            self._drop(oldest)
            self.evictions += 1

    def _drop(self, text: str) -> None:
        slot = self._slots.pop(text, None)
        if slot is not None:
            self.bytes -= slot.size

    async def sweep(self) -> int:
        now = time.time()
        expired = [text for text, slot in self._slots.items() if slot.expires_at <= now]
        for text in expired:
            self._drop(text)
        return len(expired)

    async def clear(self) -> int:
        dropped = len(self._slots)
        self._slots.clear()
        self.bytes = 0
        return dropped


class LocalTagStore:
    """Tag versions when no shared tier offers them: one process sees its own writes.

    Tokens are ``<process epoch>.<n>``: answers stored by another process (in the SQL tier)
    never validate against this one's versions. They can still serve stale-if-error, marked
    as not checked against later writes; never as fresh.
    """

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(4)
        self._versions: dict[tuple[str, str], str] = {}
        self._counter = itertools.count(1)

    async def versions(self, organization_id: str, tags: tuple[str, ...]) -> tuple[str, ...]:
        found = self._versions
        return tuple(found.get((organization_id, tag)) or self._new(organization_id, tag) for tag in tags)

    def _new(self, organization_id: str, tag: str) -> str:
        token = self._versions[(organization_id, tag)] = f"{self.epoch}.{next(self._counter)}"
        return token

    async def bump(self, organization_id: str, tags: Iterable[str]) -> None:
        for tag in tags:
            self._new(organization_id, tag)

    def verdict(self, stored: tuple[str, ...], current: tuple[str, ...]) -> bool | None:
        if stored == current:
            return True
        mine = self.epoch + "."
        return False if all(token.startswith(mine) for token in stored) else None
