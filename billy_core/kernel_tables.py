"""The kernel's own SQL tables (tickets, idempotency keys), created on first use."""

from __future__ import annotations

from typing import Any

import anyio
import sqlalchemy as sa

METADATA = sa.MetaData()


class TableKeeper:
    """Hands out the kernel's engine once its tables exist (created once per process)."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self._created = False
        self._lock = anyio.Lock()

    async def ready(self) -> Any:
        engine = self.kernel.sql_engine()
        if not self._created:
            async with self._lock:
                if not self._created:
                    async with engine.begin() as connection:
                        await connection.run_sync(METADATA.create_all)
                    self._created = True
        return engine
