"""Idempotency keys -> the first result, in the SQL store every instance shares.

``claim`` inserts a pending row; the unique key makes exactly one caller the creator.
Others wait for the creator to finish and get its result; a pending claim older than
``STALE_CLAIM_SECONDS`` (its creator died) may be taken over.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from billy_core.errors import UpstreamUnavailable
from billy_core.kernel_tables import METADATA, TableKeeper

STALE_CLAIM_SECONDS = 120.0
POLL_SECONDS = 0.05

KEYS = sa.Table(
    "billy_idempotency_keys",
    METADATA,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("claimed_at", sa.Float, nullable=False),
)


class IdempotencyStore:
    def __init__(self, tables: TableKeeper) -> None:
        self.tables = tables

    async def claim(self, scope: str, key: str, *, deadline: float) -> dict[str, Any] | None:
        """None: you are the creator. A dict: the first call's result, to return as it is."""
        engine = await self.tables.ready()
        while True:
            try:
                async with engine.begin() as connection:
                    await connection.execute(
                        KEYS.insert().values(scope=scope, key=key, state="pending", claimed_at=time.time())
                    )
                return None
            except IntegrityError:
                pass
            async with engine.begin() as connection:
                row = (
                    await connection.execute(
                        sa.select(KEYS.c.state, KEYS.c.result, KEYS.c.claimed_at).where(
                            KEYS.c.scope == scope, KEYS.c.key == key
                        )
                    )
                ).first()
                if row is None:
                    continue  # released between our insert and our read: try again
                if row.state == "done":
                    result: dict[str, Any] = json.loads(row.result)
                    return result
                if time.time() - row.claimed_at > STALE_CLAIM_SECONDS:
                    await connection.execute(sa.delete(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key))
                    continue
            if time.monotonic() + POLL_SECONDS > deadline:
                raise UpstreamUnavailable(
                    "another call with this idempotency key is still running",
                    hint="Retry with the same idempotency_key; you will get that call's record.",
                )
            await anyio.sleep(POLL_SECONDS)

    async def complete(self, scope: str, key: str, result: dict[str, Any]) -> None:
        engine = await self.tables.ready()
        async with engine.begin() as connection:
            await connection.execute(
                KEYS.update()
                .where(KEYS.c.scope == scope, KEYS.c.key == key)
                .values(state="done", result=json.dumps(result, default=str))
            )

    async def release(self, scope: str, key: str) -> None:
        """Forget a claim whose call failed, so the key can be used again."""
        engine = await self.tables.ready()
        async with engine.begin() as connection:
            await connection.execute(
                sa.delete(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key, KEYS.c.state == "pending")
            )
