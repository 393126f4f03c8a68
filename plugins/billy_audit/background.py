"""Read entries recorded off the call path.

A read's answer does not wait for its audit entry: the entry is queued here and one task
appends queued entries in batches (one transaction each), gathering them for a moment first
so a busy server pays for one commit per batch rather than per read. When the store fails, the batch
stays queued and is retried, so an outage loses nothing until the queue is full; the
middleware warns callers while the store is known to be failing. Writes never come here:
their intent is committed before they run.

What is lost is counted in ``billy_mcp_audit_unrecorded_total{kind="read"}`` and logged: the
oldest entry when the queue is full, an entry whose draft cannot be built, a batch whose commit
was cut off and which the store could not confirm (sending it again could record it twice),
what is still queued when :meth:`ReadRecorder.drain` gives up, and a read that ends after it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from loguru import logger

from billy_audit.log import AuditLog, CommitUnknown, StoreUnavailable, describe

Draft = dict[str, Any]
BATCH = 500


@dataclass(frozen=True, slots=True)
class _Later:
    """A draft to build off the call path, and what names it if that fails."""

    make: Callable[[], Draft]
    tool: str
    correlation_id: str


class ReadRecorder:
    def __init__(
        self,
        log: AuditLog,
        on_recorded: Callable[[int], None],
        on_dropped: Callable[[int], None],
        *,
        limit: int,
        retry_seconds: float,
        gather_seconds: float,
    ) -> None:
        self.log = log
        self.on_recorded = on_recorded
        self.on_dropped = on_dropped
        self.limit = limit
        self.retry_seconds = retry_seconds
        self.gather_seconds = gather_seconds
        self.failure: str | None = None
        self._queue: deque[_Later | Draft] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        # Held while a batch is written: the task is only ever cancelled between batches, so a
        # store call running in a worker thread never outlives the engine it uses.
        self._writing = asyncio.Lock()
        self._closed = False  # set by drain(): the store is being closed, nothing more is written

    def submit(self, make_draft: Callable[[], Draft], *, tool: str, correlation_id: str) -> None:
        """Queue an entry (built later, off the call path)."""
        if self._closed:
            self.on_dropped(1)
            logger.error(
                "audit: read {} [correlation_id={}] ended after shutdown; its entry was not recorded",
                tool,
                correlation_id,
            )
            return
        if len(self._queue) >= self.limit:
            self._queue.popleft()
            self.on_dropped(1)
            logger.error("audit: the read queue is full ({}); the oldest read entry was dropped", self.limit)
        self._queue.append(_Later(make_draft, tool, correlation_id))
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="billy-audit-reads")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Let entries gather, so one transaction carries many of them.
            await anyio.sleep(self.gather_seconds)
            if self._queue and not await self._flush_batch():
                await anyio.sleep(self.retry_seconds)
            if self._queue:
                self._wake.set()
            else:
                self._idle.set()

    async def _flush_batch(self) -> bool:
        async with self._writing:
            return await self._write_batch()

    async def _write_batch(self) -> bool:
        count = min(len(self._queue), BATCH)
        if count == 0:
            return True
        taken = [self._queue.popleft() for _ in range(count)]
        drafts = [draft for draft in map(self._built, taken) if draft is not None]
        if not drafts:
            return True
        try:
            await self.log.append_all(drafts)
        except CommitUnknown as exc:
            self.on_dropped(len(drafts))
            logger.error("audit: {} read entries may not have been recorded ({})", len(drafts), exc)
            self.failure = str(exc)
            return False
        except StoreUnavailable as exc:
            self._queue.extendleft(reversed(drafts))
            if self.failure is None:
                logger.warning("audit: {} read entries wait for the audit store ({})", len(self._queue), exc)
            self.failure = str(exc)
            return False
        except Exception as exc:
            # Not the store's outage (a bug, a bad key): keep the entries and the task, say so once.
            self._queue.extendleft(reversed(drafts))
            if self.failure != describe(exc):
                logger.opt(exception=exc).error(
                    "audit: {} read entries could not be written and stay queued", len(self._queue)
                )
            self.failure = describe(exc)
            return False
        if self.failure is not None:
            logger.info("audit: the audit store is back; queued read entries are recorded")
        self.failure = None
        self.on_recorded(len(drafts))
        return True

    def _built(self, item: _Later | Draft) -> Draft | None:
        if isinstance(item, dict):
            return item
        try:
            return item.make()
        except Exception:
            self.on_dropped(1)
            logger.opt(exception=True).error(
                "audit: the entry of read {} [correlation_id={}] could not be built and was not recorded",
                item.tool,
                item.correlation_id,
            )
            return None

    async def drain(self, seconds: float) -> None:
        """At shutdown: record what is queued, or say how many entries are lost."""
        with anyio.move_on_after(seconds):
            while self._queue and await self._flush_batch():
                pass
        async with self._writing:
            self._closed = True  # a read that ends from now on is counted, not written
            if self._task is not None:
                self._task.cancel()
                self._task = None
        if self._queue:
            self.on_dropped(len(self._queue))
            logger.error("audit: {} read entries could not be recorded before shutdown", len(self._queue))
            self._queue.clear()
        self._idle.set()

    async def settled(self) -> None:
        """Wait until everything queued so far has been recorded (tests, exports)."""
        await self._idle.wait()
