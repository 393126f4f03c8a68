"""L3: the kernel's SQL store (SQLite or PostgreSQL): the last known good answer, kept long.

It answers fresh only while the tag versions still match (with Redis, across restarts);
its main job is stale-if-error: when Billy is down, a read that was ever answered is
answered again, marked stale. Writes to it happen in the background.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from sqlalchemy import Column, Float, LargeBinary, MetaData, String, Table, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite

from billy_cache.entry import CacheEntry, CacheKey
from billy_cache.settings import CacheSettings
from billy_cache.tiers import CacheTier
from billy_core.health import HealthState, HealthStatus

metadata = MetaData()
entries = Table(
    "billy_cache_entries",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("organization_id", String(200), nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    Column("payload", LargeBinary, nullable=False),
)


class SqlTier(CacheTier):
    name = "sql"
    shared = True
    background_writes = True

    def __init__(self, *, kernel: Any, settings: CacheSettings, **_: Any) -> None:
        self.kernel = kernel
        self.settings = settings
        self._ready = False
        self._lock = anyio.Lock()

    @property
    def engine(self) -> Any:
        return self.kernel.sql_engine()

    def keep_seconds(self, ttl: float) -> float:
        return ttl + self.settings.stale_while_revalidate_seconds + self.settings.sql_keep_seconds

    async def start(self) -> None:
        await self._ensure_table()

    async def _ensure_table(self) -> None:
        if self._ready:
            return
        async with self._lock:
            if self._ready:
                return
            try:
                async with self.engine.begin() as connection:
                    await connection.run_sync(metadata.create_all)
            except Exception:
                # Another instance may have created it at the same moment; check once more.
                async with self.engine.begin() as connection:
                    await connection.run_sync(metadata.create_all)
            self._ready = True

    async def get(self, key: CacheKey) -> CacheEntry | None:
        await self._ensure_table()
        query = select(entries.c.payload).where(entries.c.key == key.text, entries.c.expires_at > time.time())
        async with self.engine.connect() as connection:
            payload = (await connection.execute(query)).scalar_one_or_none()
        return None if payload is None else CacheEntry.from_wire(bytes(payload))

    async def put(self, key: CacheKey, entry: CacheEntry, keep_seconds: float) -> None:
        await self._ensure_table()
        row = {
            "key": key.text,
            "organization_id": key.organization_id,
            "expires_at": entry.stored_at + keep_seconds,
            "payload": entry.wire(),
        }
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(entries).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[entries.c.key],
            set_={"expires_at": row["expires_at"], "payload": row["payload"]},
            where=entries.c.expires_at <= row["expires_at"],
        )
        async with self.engine.begin() as connection:
            await connection.execute(statement)

    async def sweep(self) -> int:
        await self._ensure_table()
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(entries).where(entries.c.expires_at <= time.time()))
        return int(result.rowcount or 0)

    async def clear(self) -> int:
        await self._ensure_table()
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(entries))
        return int(result.rowcount or 0)

    async def check(self) -> HealthStatus:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return HealthStatus(HealthState.OK, "SQL store answers")
