"""Idempotency keys -> the first result, in the SQL store every instance shares.

``claim`` inserts a pending row; the unique key makes exactly one caller the creator. A key
is bound to the call it was first used for (tool, arguments, principal, organization): the
same key with another call is a conflict, never a silent replay. Others wait for the creator
to finish and get its result. A claim whose outcome is unknown (the create may have reached
Billy before it failed) or whose creator died is taken over with a compare-and-set, and the
new creator is told to read Billy back before it creates anything.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from billy_core.errors import Conflict, UpstreamUnavailable
from billy_core.kernel_tables import METADATA, TableKeeper

POLL_SECONDS = 0.05
PENDING, DONE, UNKNOWN = "pending", "done", "unknown"

KEYS = sa.Table(
    "billy_idempotency",
    METADATA,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("binding", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("first_claimed_at", sa.Float, nullable=False),
    sa.Column("claimed_at", sa.Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Claim:
    """``replay``: the first call's result to return as it is. Otherwise this caller creates;
    ``read_back_since`` (epoch seconds) is set when an earlier attempt may have reached Billy."""

    replay: dict[str, Any] | None = None
    read_back_since: float | None = None


class IdempotencyStore:
    def __init__(self, tables: TableKeeper, *, stale_after: float) -> None:
        self.tables = tables
        self.stale_after = stale_after

    def _where(self, scope: str, key: str) -> Any:
        return sa.and_(KEYS.c.scope == scope, KEYS.c.key == key)

    async def claim(self, scope: str, key: str, binding: str, *, deadline: float) -> Claim:
        engine = await self.tables.ready()
        while True:
            now = time.time()
            try:
                async with engine.begin() as connection:
                    await connection.execute(
                        KEYS.insert().values(
                            scope=scope,
                            key=key,
                            binding=binding,
                            state=PENDING,
                            first_claimed_at=now,
                            claimed_at=now,
                        )
                    )
                return Claim()
            except IntegrityError:
                pass
            async with engine.begin() as connection:
                row = (await connection.execute(sa.select(KEYS).where(self._where(scope, key)))).first()
                if row is None:
                    continue  # released between our insert and our read: try again
                if row.binding != binding:
                    raise Conflict(
                        "this idempotency_key was already used for a different call",
                        hint="Use a new idempotency_key for a different record; reuse a key only to repeat a call.",
                    )
                if row.state == DONE:
                    result: dict[str, Any] = json.loads(row.result)
                    return Claim(replay=result)
                if row.state == UNKNOWN or now - row.claimed_at > self.stale_after:
                    taken = await connection.execute(
                        KEYS.update()
                        .where(
                            self._where(scope, key),
                            KEYS.c.state == row.state,
                            KEYS.c.claimed_at == row.claimed_at,
                        )
                        .values(state=PENDING, claimed_at=now)
                    )
                    if taken.rowcount == 1:
                        return Claim(read_back_since=row.first_claimed_at)
                    continue
            if time.monotonic() + POLL_SECONDS > deadline:
                raise UpstreamUnavailable(
                    "another call with this idempotency key is still running",
                    hint="Retry with the same idempotency_key; you will get that call's record.",
                )
            await anyio.sleep(POLL_SECONDS)

    async def complete(self, scope: str, key: str, result: dict[str, Any]) -> None:
        await self._set(scope, key, state=DONE, result=json.dumps(result, default=str))

    async def mark_unknown(self, scope: str, key: str) -> None:
        """The create may have reached Billy: whoever uses the key next reads back first."""
        await self._set(scope, key, state=UNKNOWN)

    async def release(self, scope: str, key: str) -> None:
        """Forget a claim whose call certainly changed nothing, so the key can be used again."""
        engine = await self.tables.ready()
        async with engine.begin() as connection:
            await connection.execute(sa.delete(KEYS).where(self._where(scope, key), KEYS.c.state == PENDING))

    async def _set(self, scope: str, key: str, **values: Any) -> None:
        engine = await self.tables.ready()
        async with engine.begin() as connection:
            await connection.execute(
                KEYS.update().where(self._where(scope, key), KEYS.c.state == PENDING).values(**values)
            )
