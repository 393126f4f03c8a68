"""L3 on both SQL stores the kernel supports: SQLite and PostgreSQL (one code path)."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from billy_cache.entry import CacheEntry, CacheKey
from billy_cache.settings import CacheSettings
from billy_cache.sql_tier import SqlTier, entries
from sqlalchemy import delete

from billy_core.sql import create_engine

pytestmark = pytest.mark.anyio


class EngineOnly:
    """The part of the kernel the SQL tier uses."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def sql_engine(self) -> Any:
        return self.engine


@pytest.fixture(params=["sqlite", "postgresql"])
async def tier(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'l3.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    kernel = EngineOnly(url)
    made = SqlTier(kernel=kernel, settings=CacheSettings())
    await made.start()
    organization = f"test-{uuid.uuid4().hex[:8]}"
    yield made, organization
    async with kernel.engine.begin() as connection:
        await connection.execute(delete(entries).where(entries.c.organization_id == organization))
    await kernel.engine.dispose()


def key(organization: str, name: str) -> CacheKey:
    return CacheKey(organization, "tok:x", "invoices", name, f"billy:cache:{{{organization}}}:e:{name}")


async def test_the_sql_tier_keeps_the_newest_answer_and_sweeps_expired_ones(tier):
    store, organization = tier
    now = time.time()
    older = CacheEntry({"amount": Decimal("10.50")}, now - 10, ("v1",))
    newer = CacheEntry({"amount": Decimal("11.00")}, now, ("v2",))
    await store.put(key(organization, "a"), newer, 3600)
    await store.put(key(organization, "a"), older, 3600)  # a slower, older fetch arrives late
    found = await store.get(key(organization, "a"))
    assert found is not None and found.body == {"amount": Decimal("11.00")} and found.versions == ("v2",)

    await store.put(key(organization, "gone"), CacheEntry({"n": 1}, now - 100, ("v1",)), 50)
    assert await store.get(key(organization, "gone")) is None
    assert await store.sweep() >= 1
    assert (await store.check()).state == "ok"
