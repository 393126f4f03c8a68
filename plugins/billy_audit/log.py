"""The audit log of one process: appends (group-committed), checkpoints, keys, the store.

Concurrent calls in one process queue their drafts; whoever holds the in-process lock writes
every queued draft in one serialized store transaction (one commit for many entries), and
the store's own lock (``BEGIN IMMEDIATE``, an advisory lock) orders the writers of all
processes. A draft's entry is committed when :meth:`AuditLog.append` returns.

A batch whose transaction fails after its entries went out (a timeout or a broken connection
while the COMMIT may be on its way) is not called failed until the store has been asked whether
its first entry is there: a committed batch is never written a second time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import sqlalchemy as sa
from loguru import logger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from billy_audit.chain import StoredEntry, canonical, parse_timestamp, seal, utc_timestamp
from billy_audit.keys import AuditKeys, default_key_file, load_keys
from billy_audit.settings import AuditSettings
from billy_audit.store import SignedRow, SqlAuditStore
from billy_core.backends import AUDIT_STORES, load_backend
from billy_core.errors import StartupError

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The audit store could not take or give entries (down, read-only, too slow)."""


class CommitUnknown(StoreUnavailable):
    """A batch's COMMIT may have taken effect, and the store could not say whether it did."""


class StaleHead(Exception):
    """The remembered chain head is no longer the head: another writer appended."""


@dataclass(eq=False, slots=True)
class _Pending:
    draft: dict[str, Any]
    seq: int | None = None
    failure: str | None = None  # why the batch it was in failed (every entry of that batch fails)


@dataclass(slots=True)
class _Sent:
    """What a batch's transaction sent: set in the transaction, once its entries are sealed."""

    entries: list[StoredEntry] = field(default_factory=list)
    checkpoint: SignedRow | None = None


def store_name(settings: AuditSettings, url: str) -> str:
    if settings.store:
        return settings.store
    return "postgresql" if url.startswith("postgres") else "sqlite"


class AuditLog:
    """Everything the middleware, the tool, the CLI and the health check share."""

    def __init__(
        self,
        settings: AuditSettings,
        *,
        database_url: str,
        engine: Callable[[], AsyncEngine],
        owns_engine: bool = False,
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self._engine_factory = engine
        self._owns_engine = owns_engine
        self._store: SqlAuditStore | None = None
        self._keys: AuditKeys | None = None
        self._created = False
        self._lock = anyio.Lock()
        self._queue: list[_Pending] = []
        self._checkpoint_cache: tuple[int, float] | None = None  # (seq, wall-clock seconds)
        self._ticker: asyncio.Task[None] | None = None
        self.appended = 0
        self.last_failure: str | None = None  # why the last append failed; None once one succeeds
        self._head: tuple[int, str] | None = None  # (seq, hash) of the last entry this process wrote
        self.clock: Callable[[], str] = utc_timestamp  # entry timestamps (tests set the past)

    # ------------------------------------------------------------------ parts, made on first use

    @property
    def store(self) -> SqlAuditStore:
        if self._store is None:
            name = store_name(self.settings, self.database_url)
            options: dict[str, Any] = {
                "engine": self._engine_factory(),
                "table_prefix": self.settings.table_prefix,
                "schema": self.settings.db_schema,
            }
            if name == "sqlite":
                options["wal"] = self.settings.sqlite_wal
            self._store = load_backend(AUDIT_STORES, name, **options)
        return self._store

    @property
    def keys(self) -> AuditKeys:
        if self._keys is None:
            settings = self.settings
            self._keys = load_keys(
                hmac_keys=settings.hmac_keys.get_secret_value() if settings.hmac_keys else None,
                signing_key=settings.signing_key.get_secret_value() if settings.signing_key else None,
                signing_key_file=settings.signing_key_file,
                public_keys=settings.public_keys,
                key_file=settings.key_file or default_key_file(self.database_url),
            )
        return self._keys

    async def ready(self) -> SqlAuditStore:
        """The store, its tables created (once per process)."""
        store = self.store
        if not self._created:
            await store.create()
            self._created = True
        return store

    # ------------------------------------------------------------------ appending

    async def append(self, draft: dict[str, Any]) -> int:
        """Commit one entry; its seq. Raises :class:`StoreUnavailable`."""
        pending = _Pending(draft)
        self._queue.append(pending)
        try:
            async with self._lock:
                if pending.seq is None and pending.failure is None:
                    await self._flush(pending)
        except BaseException:
            if pending in self._queue:
                self._queue.remove(pending)
            raise
        if pending.failure is not None:
            raise StoreUnavailable(pending.failure)  # another caller's flush carried it, and failed
        assert pending.seq is not None
        return pending.seq

    async def append_all(self, drafts: list[dict[str, Any]]) -> list[int]:
        """Commit many entries in one transaction (queued reads, imports, benchmarks); their seqs."""
        items = [_Pending(draft) for draft in drafts]
        async with self._lock:
            await self._commit(items)
        return [item.seq for item in items if item.seq is not None]

    async def _flush(self, leader: _Pending) -> None:
        batch, self._queue = self._queue, []
        try:
            await self._commit(batch)
        except StoreUnavailable as exc:
            # Every caller of the batch learns now: none of them retries alone behind a new leader.
            for item in batch:
                item.failure = str(exc)
            raise
        except BaseException:
            self._queue[:0] = [item for item in batch if item is not leader]
            raise

    async def _store_call(self, step: Callable[[], Awaitable[T]]) -> T:
        """Run ``step`` to its end even if the caller is cancelled (a store call may be running in
        a worker thread), bounded by ``store_timeout_seconds``. A failure becomes
        :class:`StoreUnavailable`; a :class:`StartupError` (a bad key) stays what it is."""
        try:
            with anyio.CancelScope(shield=True), anyio.fail_after(self.settings.store_timeout_seconds):
                result = await step()
        except StartupError:
            raise
        except Exception as exc:
            self.last_failure = describe(exc)
            raise StoreUnavailable(self.last_failure) from exc
        return result

    async def _commit(self, batch: list[_Pending]) -> None:
        """Write ``batch`` in one transaction, or raise :class:`StoreUnavailable` if it was not
        committed (:class:`CommitUnknown` if the store cannot say; never re-send such a batch)."""
        sent = _Sent()
        try:
            await self._store_call(lambda: self._write(batch, sent))
        except StoreUnavailable as exc:
            if not sent.entries:
                raise  # it failed before the COMMIT: nothing was committed
            # The COMMIT may have reached the store before the timeout or the broken connection.
            first = sent.entries[0]
            try:
                stored = await self._store_call(lambda: self._holds(first.seq, first.hash))
            except StoreUnavailable:
                raise CommitUnknown(
                    f"{exc}; whether entries {first.seq}..{sent.entries[-1].seq} were committed is unknown"
                ) from exc
            if not stored:
                raise
            logger.warning("audit: a batch reported as failed ({}) was committed after all", exc)
            self._committed(batch, sent.entries, sent.checkpoint)

    async def _holds(self, seq: int, entry_hash: str) -> bool:
        """Under the write lock (so after any transaction still ending): is this entry stored?"""
        store = await self.ready()
        return await store.transact(
            lambda connection: store.holds(connection, seq, entry_hash), durable=False
        )

    async def _write(self, batch: list[_Pending], sent: _Sent) -> None:
        store = await self.ready()
        # A write's intent is on disk before the write goes out; other entries ride on the next flush.
        durable = self.settings.flush_every_entry or any(item.draft.get("kind") == "intent" for item in batch)
        try:
            entries, written = await self._write_once(store, batch, durable, self._head, sent)
        except StaleHead:
            # Another process appended since our last entry: read the head under the lock.
            entries, written = await self._write_once(store, batch, durable, None, sent)
        except BaseException:
            self._head = None
            raise
        self._committed(batch, entries, written)

    def _committed(
        self, batch: list[_Pending], entries: list[StoredEntry], written: SignedRow | None
    ) -> None:
        for item, entry in zip(batch, entries, strict=True):
            item.seq = entry.seq
        self.appended += len(entries)
        self.last_failure = None
        if written is not None:
            self._mirror(written)

    async def _write_once(
        self,
        store: SqlAuditStore,
        batch: list[_Pending],
        durable: bool,
        head: tuple[int, str] | None,
        sent: _Sent,
    ) -> tuple[list[StoredEntry], SignedRow | None]:
        """One serialized transaction. With a remembered ``head`` it skips reading the head: if
        another process appended meanwhile, ``seq`` (the primary key) is taken and the insert fails
        with :class:`StaleHead`, before anything is committed."""
        key = self.keys.hmac.current
        self._head = None

        def work(connection: sa.Connection) -> tuple[list[StoredEntry], SignedRow | None]:
            seq, prev = head if head is not None else store.head(connection)
            entries = []
            for item in batch:
                seq += 1
                entry = seal(
                    item.draft,
                    seq=seq,
                    ts=self.clock(),
                    prev_hash=prev,
                    key_version=key.version,
                    key=key.secret,
                )
                entries.append(entry)
                prev = entry.hash
            store.insert_entries(connection, entries)
            written = self._checkpoint_if_due(connection, seq, prev)
            sent.entries, sent.checkpoint = entries, written  # from here on the COMMIT may go out
            return entries, written

        try:
            entries, written = await store.transact(work, durable=durable)
        except IntegrityError as exc:
            if head is None:
                raise
            raise StaleHead from exc
        self._head = (entries[-1].seq, entries[-1].hash)
        return entries, written

    # ------------------------------------------------------------------ checkpoints

    def _due(self, head_seq: int, now: float) -> bool:
        cache = self._checkpoint_cache
        if cache is None:
            return True
        seq, at = cache
        return head_seq - seq >= self.settings.checkpoint_every or (
            head_seq > seq and now - at >= self.settings.checkpoint_seconds
        )

    def _checkpoint_if_due(
        self, connection: sa.Connection, head_seq: int, head_hash: str, *, force: bool = False
    ) -> SignedRow | None:
        """Inside a write transaction: sign the head if 1,000 entries or 60 s have passed."""
        now = time.time()
        if not force and not self._due(head_seq, now):
            return None
        store = self.store
        last = store.last_signed(connection, store.checkpoints)
        if last is not None:
            last_seq, last_at = last.seq, parse_timestamp(last.ts).timestamp()
        else:  # no checkpoint yet: the clock runs from the first look, not from each look
            cache = self._checkpoint_cache
            last_seq, last_at = 0, cache[1] if cache is not None else now
        self._checkpoint_cache = (last_seq, last_at)
        if head_seq <= last_seq:
            return None
        if not force and not self._due(head_seq, now):
            return None
        row = self.signed("checkpoint", head_seq, head_hash)
        store.insert_signed(connection, store.checkpoints, row)
        self._checkpoint_cache = (head_seq, now)
        return row

    def signed(self, kind: str, seq: int, head_hash: str, **extra: Any) -> SignedRow:
        """A checkpoint or anchor over (seq, hash), signed with the Ed25519 key."""
        signer = self.keys.signer
        ts = utc_timestamp()
        body = canonical(
            {**extra, "type": kind, "seq": seq, "hash": head_hash, "ts": ts, "key_id": signer.key_id}
        )
        return SignedRow(
            seq=seq, ts=ts, hash=head_hash, key_id=signer.key_id, body=body, signature=signer.sign(body)
        )

    async def checkpoint(self, *, force: bool = True) -> SignedRow | None:
        """Sign the current head now (if it is not signed yet)."""

        async def sign() -> SignedRow | None:
            store = await self.ready()

            def work(connection: sa.Connection) -> SignedRow | None:
                seq, head = store.head(connection)
                return self._checkpoint_if_due(connection, seq, head, force=force)

            return await store.transact(work)

        async with self._lock:
            try:
                written = await self._store_call(sign)
            except StoreUnavailable:
                self._checkpoint_cache = None  # it may name a checkpoint that was not committed
                raise
        if written is not None:
            self._mirror(written)
        return written

    def _mirror(self, row: SignedRow) -> None:
        path = self.settings.checkpoint_file
        if path is None:
            return
        line = json.dumps({name: getattr(row, name) for name in SignedRow.__dataclass_fields__})
        try:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            logger.error("audit: cannot append checkpoint {} to {}: {}", row.seq, path, exc)

    def mirrored_checkpoints(self) -> list[SignedRow]:
        path = self.settings.checkpoint_file
        if path is None or not Path(path).exists():
            return []
        rows = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(SignedRow(**json.loads(line)))
        return rows

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """At server start: make the tables (a failure only warns) and start the checkpoint timer."""
        try:
            with anyio.fail_after(self.settings.store_timeout_seconds):
                await self.ready()
        except StartupError:
            raise
        except Exception as exc:
            self.last_failure = describe(exc)
            logger.warning("audit: the audit store is not available at start-up: {}", self.last_failure)
        self.keys  # noqa: B018  (load keys now: a bad key stops start-up, and the warning shows early)
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="billy-audit-checkpoints")

    async def _tick(self) -> None:
        while True:
            await anyio.sleep(self.settings.checkpoint_seconds)
            if self._head_signed():
                continue  # nothing appended since the last checkpoint: no write transaction
            try:
                await self.checkpoint(force=False)
            except StoreUnavailable as exc:
                logger.warning("audit: periodic checkpoint failed: {}", exc)

    def _head_signed(self) -> bool:
        """Whether a checkpoint covers the last entry this process appended (unknown: False)."""
        head, cache = self._head, self._checkpoint_cache
        return head is not None and cache is not None and head[0] <= cache[0]

    async def stop(self) -> None:
        """At shutdown (after in-flight calls drained): stop the timer, sign the head."""
        if self._ticker is not None:
            # Cancel it between checkpoints: a store call in a worker thread must not outlive us.
            async with self._lock:
                self._ticker.cancel()
            self._ticker = None
        try:
            await self.checkpoint(force=True)
        except StoreUnavailable as exc:
            logger.error("audit: no checkpoint at shutdown: {}", exc)

    async def aclose(self) -> None:
        """Give back the store's connections (again is harmless: the plugin's shutdown and the
        kernel's clean-up of its services both call this)."""
        if self._store is not None:
            await self._store.dispose()
            if self._owns_engine:
                await self._store.engine.dispose()


def describe(exc: BaseException) -> str:
    """One line naming the failure, without SQL parameters (which could hold entry data)."""
    if isinstance(exc, TimeoutError):
        return "the audit store did not answer in time"
    original = getattr(exc, "orig", None)
    detail = str(original if original is not None else exc).splitlines()[0:1]
    return f"{type(original or exc).__name__}: {detail[0] if detail else ''}".strip()
