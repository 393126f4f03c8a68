"""Audit stores (stevedore namespace ``billy_mcp.audit_stores``): SQLite and PostgreSQL.

Both run on the kernel's SQL layer (SQLAlchemy 2 async Core). Three tables, named with a
prefix (default ``audit_``): ``entries`` (``seq`` is the primary key, so unique),
``checkpoints`` and ``anchors``. Appends are serialized across processes:
``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL, taken before
the chain head is read, so every writer extends the head the previous one committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billy_audit.chain import ZERO_HASH, StoredEntry

ENTRY_COLUMNS = tuple(StoredEntry.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class SignedRow:
    """A checkpoint or an anchor: the chain head it vouches for and its signature."""

    seq: int
    ts: str
    hash: str
    key_id: str
    body: str
    signature: str


@dataclass(frozen=True, slots=True)
class Filters:
    tool: str | None = None
    principal: str | None = None
    correlation_id: str | None = None
    kind: str | None = None
    outcome: str | None = None
    since: str | None = None
    until: str | None = None
    before_seq: int | None = None


def _signed_table(name: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )


class SqlAuditStore:
    """What both stores share; subclasses say how a serialized append transaction starts."""

    name = "sql"

    def __init__(
        self, *, engine: AsyncEngine, table_prefix: str = "audit_", schema: str | None = None
    ) -> None:
        self.engine = engine
        self.schema = schema
        self.metadata = sa.MetaData(schema=schema)
        self.entries = sa.Table(
            f"{table_prefix}entries",
            self.metadata,
            sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("ts", sa.String(32), nullable=False, index=True),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("tool", sa.String(128), nullable=False, index=True),
            sa.Column("principal", sa.String(256), nullable=False),
            sa.Column("transport", sa.String(32), nullable=False),
            sa.Column("correlation_id", sa.String(64), nullable=False, index=True),
            sa.Column("outcome", sa.String(64), nullable=False),
            sa.Column("key_version", sa.String(32), nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
            sa.Column("hmac", sa.String(64), nullable=False),
        )
        self.checkpoints = _signed_table(f"{table_prefix}checkpoints", self.metadata)
        self.anchors = _signed_table(f"{table_prefix}anchors", self.metadata)
        qualified = f"{schema or ''}.{table_prefix}"
        self.lock_key = int.from_bytes(hashlib.sha256(qualified.encode()).digest()[:8], "big", signed=True)

    def describe(self) -> str:
        return (
            f"{self.name} ({self.engine.url.render_as_string(hide_password=True)}, {self.entries.fullname})"
        )

    # ------------------------------------------------------------------ schema and transactions

    async def create(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    def serialized(self) -> Any:
        """``async with store.serialized() as connection``: the one writer at a time."""
        raise NotImplementedError

    async def ping(self) -> None:
        async with self.serialized() as connection:
            await self.head(connection)

    # ------------------------------------------------------------------ inside a serialized transaction

    async def head(self, connection: AsyncConnection) -> tuple[int, str]:
        """The last entry's (seq, hash); else the latest anchor's; else genesis (0, zeros)."""
        for table in (self.entries, self.anchors):
            row = (
                await connection.execute(
                    sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
                )
            ).first()
            if row is not None:
                return int(row.seq), str(row.hash)
        return 0, ZERO_HASH

    async def insert_entries(self, connection: AsyncConnection, entries: Sequence[StoredEntry]) -> None:
        await connection.execute(
            self.entries.insert(), [{name: getattr(e, name) for name in ENTRY_COLUMNS} for e in entries]
        )

    async def last_signed(self, connection: AsyncConnection | None, table: sa.Table) -> SignedRow | None:
        query = sa.select(table).order_by(table.c.seq.desc()).limit(1)
        if connection is None:
            async with self.engine.connect() as own:
                row = (await own.execute(query)).first()
        else:
            row = (await connection.execute(query)).first()
        return _signed(row) if row is not None else None

    async def insert_signed(self, connection: AsyncConnection, table: sa.Table, row: SignedRow) -> None:
        await connection.execute(table.insert(), [_row_dict(row)])

    async def delete_through(self, connection: AsyncConnection, seq: int) -> int:
        result = await connection.execute(sa.delete(self.entries).where(self.entries.c.seq <= seq))
        return int(result.rowcount or 0)

    # ------------------------------------------------------------------ reads

    async def entries_after(
        self,
        after_seq: int,
        limit: int,
        *,
        since: str | None = None,
        until: str | None = None,
        through_seq: int | None = None,
    ) -> list[StoredEntry]:
        """Entries with seq > ``after_seq`` in seq order (keyset pages for verify and export)."""
        table = self.entries
        query = sa.select(table).where(table.c.seq > after_seq)
        if through_seq is not None:
            query = query.where(table.c.seq <= through_seq)
        if since is not None:
            query = query.where(table.c.ts >= since)
        if until is not None:
            query = query.where(table.c.ts < until)
        query = query.order_by(table.c.seq).limit(limit)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_entry(row) for row in rows]

    async def count(self, *, since: str | None = None, until: str | None = None) -> int:
        table = self.entries
        query = sa.select(sa.func.count()).select_from(table)
        if since is not None:
            query = query.where(table.c.ts >= since)
        if until is not None:
            query = query.where(table.c.ts < until)
        async with self.engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def recent(self, filters: Filters, limit: int) -> list[StoredEntry]:
        """Newest first, filtered."""
        table = self.entries
        query = sa.select(table)
        for name in ("tool", "principal", "correlation_id", "kind", "outcome"):
            value = getattr(filters, name)
            if value is not None:
                query = query.where(table.c[name] == value)
        if filters.since is not None:
            query = query.where(table.c.ts >= filters.since)
        if filters.until is not None:
            query = query.where(table.c.ts < filters.until)
        if filters.before_seq is not None:
            query = query.where(table.c.seq < filters.before_seq)
        query = query.order_by(table.c.seq.desc()).limit(limit)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_entry(row) for row in rows]

    async def with_prev_hash(self, prev_hash: str) -> list[StoredEntry]:
        """Every entry that claims to follow ``prev_hash`` (used only to explain a broken link)."""
        query = (
            sa.select(self.entries).where(self.entries.c.prev_hash == prev_hash).order_by(self.entries.c.seq)
        )
        async with self.engine.connect() as connection:
            return [_entry(row) for row in (await connection.execute(query)).all()]

    async def signed_rows(self, table: sa.Table) -> list[SignedRow]:
        async with self.engine.connect() as connection:
            rows = (await connection.execute(sa.select(table).order_by(table.c.seq))).all()
        return [_signed(row) for row in rows]

    async def drop(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.drop_all)


class SqliteAuditStore(SqlAuditStore):
    """SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before the head is read."""

    name = "sqlite"

    def __init__(self, *, wal: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.wal = wal

    async def create(self) -> None:
        if self.wal:
            async with self.engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        await super().create()

    @asynccontextmanager
    async def serialized(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                await connection.exec_driver_sql("ROLLBACK")
                raise
            await connection.exec_driver_sql("COMMIT")


class PostgresAuditStore(SqlAuditStore):
    """PostgreSQL: ``pg_advisory_xact_lock`` serializes appends of every process on one chain."""

    name = "postgresql"

    async def create(self) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
            if self.schema:
                await connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await connection.run_sync(self.metadata.create_all)

    @asynccontextmanager
    async def serialized(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as connection:
            await connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
            yield connection

    async def drop(self) -> None:
        await super().drop()
        if self.schema:
            async with self.engine.begin() as connection:
                await connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))


def _entry(row: Any) -> StoredEntry:
    values = row._mapping
    return StoredEntry(**{name: values[name] for name in ENTRY_COLUMNS})


def _signed(row: Any) -> SignedRow:
    values = row._mapping
    return SignedRow(**{name: values[name] for name in SignedRow.__dataclass_fields__})


def _row_dict(row: SignedRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in SignedRow.__dataclass_fields__}
