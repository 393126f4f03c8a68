"""Confirmation tickets: single-use across instances (Redis when configured, else SQL)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from billy_core.kernel_tables import METADATA, TableKeeper

TICKETS = sa.Table(
    "billy_confirmation_tickets",
    METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("binding", sa.String(64), nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=True),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("used_at", sa.Float, nullable=True),
)

# Compare-and-delete in one step, so exactly one of several concurrent redeemers wins.
REDEEM_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if not value then return nil end
if string.sub(value, 1, 64) ~= ARGV[1] then return nil end
redis.call('DEL', KEYS[1])
return value
"""


@dataclass(frozen=True, slots=True)
class Redeemed:
    idempotency_key: str | None


class TicketStore(Protocol):
    async def issue(
        self, ticket: str, binding: str, idempotency_key: str | None, expires_at: float
    ) -> None: ...

    async def redeem(self, ticket: str, binding: str, now: float) -> Redeemed | None: ...


class SqlTicketStore:
    def __init__(self, tables: TableKeeper) -> None:
        self.tables = tables

    async def issue(self, ticket: str, binding: str, idempotency_key: str | None, expires_at: float) -> None:
        engine = await self.tables.ready()
        async with engine.begin() as connection:
            await connection.execute(
                TICKETS.insert().values(
                    id=ticket, binding=binding, idempotency_key=idempotency_key, expires_at=expires_at
                )
            )

    async def redeem(self, ticket: str, binding: str, now: float) -> Redeemed | None:
        engine = await self.tables.ready()
        async with engine.begin() as connection:
            spent = await connection.execute(
                TICKETS.update()
                .where(
                    TICKETS.c.id == ticket,
                    TICKETS.c.binding == binding,
                    TICKETS.c.used_at.is_(None),
                    TICKETS.c.expires_at > now,
                )
                .values(used_at=now)
            )
            if spent.rowcount != 1:
                return None
            key = (
                await connection.execute(sa.select(TICKETS.c.idempotency_key).where(TICKETS.c.id == ticket))
            ).scalar()
        return Redeemed(key)


class RedisTicketStore:
    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._redeem = redis.register_script(REDEEM_SCRIPT)

    @staticmethod
    def _key(ticket: str) -> str:
        return f"billy:ticket:{{{ticket}}}"

    async def issue(self, ticket: str, binding: str, idempotency_key: str | None, expires_at: float) -> None:
        ttl_ms = max(1, int((expires_at - time.time()) * 1000))
        await self.redis.set(self._key(ticket), f"{binding}{idempotency_key or ''}", px=ttl_ms)

    async def redeem(self, ticket: str, binding: str, now: float) -> Redeemed | None:
        value = await self._redeem(keys=[self._key(ticket)], args=[binding])
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else str(value)
        return Redeemed(text[64:] or None)
