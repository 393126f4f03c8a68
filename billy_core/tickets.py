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

PURGE_AFTER_SECONDS = 3600.0

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

    async def valid(self, ticket: str, binding: str, now: float) -> bool:
        """Whether the ticket would redeem now (nothing is spent)."""
        ...

    async def redeem(self, ticket: str, binding: str, now: float) -> Redeemed | None: ...


class SqlTicketStore:
    def __init__(self, tables: TableKeeper) -> None:
        self.tables = tables

    @staticmethod
    def _matching(ticket: str, binding: str, now: float) -> Any:
        return sa.and_(TICKETS.c.id == ticket, TICKETS.c.binding == binding, TICKETS.c.expires_at > now)

    async def issue(self, ticket: str, binding: str, idempotency_key: str | None, expires_at: float) -> None:
        engine = await self.tables.ready()
        async with engine.begin() as connection:
            await connection.execute(
                sa.delete(TICKETS).where(TICKETS.c.expires_at < time.time() - PURGE_AFTER_SECONDS)
            )
            await connection.execute(
                TICKETS.insert().values(
                    id=ticket, binding=binding, idempotency_key=idempotency_key, expires_at=expires_at
                )
            )

    async def valid(self, ticket: str, binding: str, now: float) -> bool:
        engine = await self.tables.ready()
        async with engine.connect() as connection:
            found = await connection.execute(
                sa.select(TICKETS.c.id).where(self._matching(ticket, binding, now))
            )
            return found.first() is not None

    async def redeem(self, ticket: str, binding: str, now: float) -> Redeemed | None:
        engine = await self.tables.ready()
        async with engine.begin() as connection:
            key = (
                await connection.execute(sa.select(TICKETS.c.idempotency_key).where(TICKETS.c.id == ticket))
            ).scalar()
            spent = await connection.execute(sa.delete(TICKETS).where(self._matching(ticket, binding, now)))
            if spent.rowcount != 1:
                return None
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

    async def valid(self, ticket: str, binding: str, now: float) -> bool:
        value = await self.redis.get(self._key(ticket))
        text = value.decode() if isinstance(value, bytes) else str(value or "")
        return text[:64] == binding

    async def redeem(self, ticket: str, binding: str, now: float) -> Redeemed | None:
        value = await self._redeem(keys=[self._key(ticket)], args=[binding])
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else str(value)
        return Redeemed(text[64:] or None)
