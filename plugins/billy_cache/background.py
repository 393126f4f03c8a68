"""Two small concurrency tools: in-process single flight, and fire-and-forget background work.

:class:`SingleFlight` lets concurrent identical misses share one upstream request. If the
leader is cancelled (its caller left, its deadline passed), the waiters do not inherit the
cancellation: one of them becomes the new leader.

:class:`Background` is a task group opened at start-up and closed at shutdown (same task,
as the kernel's lifecycle guarantees). Before start-up, or after shutdown, ``spawn`` says
no and callers do the work inline or skip it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

import anyio
from anyio.abc import TaskGroup
from loguru import logger

T = TypeVar("T")


class _Flight(Generic[T]):
    __slots__ = ("done", "error", "leader_cancelled", "result")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.leader_cancelled = False


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """``(result, shared)``: ``shared`` is True when another caller's request answered."""
        while (flight := self._flights.get(key)) is not None:
            await flight.done.wait()
            if flight.leader_cancelled:
                continue
            if flight.error is not None:
                raise flight.error
            return flight.result, True  # type: ignore[return-value]
        flight = self._flights[key] = _Flight()
        try:
            flight.result = await work()
            return flight.result, False
        except anyio.get_cancelled_exc_class():
            flight.leader_cancelled = True
            raise
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.done.set()


class Background:
    """Background work of one cache: answers being stored in slow tiers, revalidations, and
    ``daemon`` loops (warming, sweeping). ``stop`` cancels the loops, lets in-flight work
    finish for up to ``grace`` seconds (so no store operation is cut off mid-transaction),
    then cancels whatever is left."""

    def __init__(self, grace: float = 5.0) -> None:
        self.grace = grace
        self._group: TaskGroup | None = None
        self._running: set[Hashable] = set()
        self._daemons: list[anyio.CancelScope] = []
        self._idle: anyio.Event | None = None

    def __len__(self) -> int:
        return len(self._running)

    async def start(self) -> None:
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group

    async def stop(self) -> None:
        group, self._group = self._group, None
        if group is None:
            return
        # A cancelled shutdown must still close the group. The group's own scope is shielded:
        # it was entered at start-up and is this task's innermost scope until it is exited.
        group.cancel_scope.shield = True
        for scope in self._daemons:
            scope.cancel()
        if self._running:
            self._idle = anyio.Event()
            with anyio.move_on_after(self.grace):
                await self._idle.wait()
        group.cancel_scope.cancel()
        await group.__aexit__(None, None, None)

    def spawn(
        self, key: Hashable, work: Callable[[], Awaitable[Any]], *, what: str, daemon: bool = False
    ) -> bool:
        """Run ``work`` once per ``key`` at a time; False when no task group is running."""
        if self._group is None:
            return False
        if daemon:
            scope = anyio.CancelScope()
            self._daemons.append(scope)

            async def loop() -> None:
                with scope:
                    await self._guarded(work, what)

            self._group.start_soon(loop)
            return True
        if key in self._running:
            return True
        self._running.add(key)

        async def run() -> None:
            try:
                await self._guarded(work, what)
            finally:
                self._running.discard(key)
                if not self._running and self._idle is not None:
                    self._idle.set()

        self._group.start_soon(run)
        return True

    @staticmethod
    async def _guarded(work: Callable[[], Awaitable[Any]], what: str) -> None:
        try:
            await work()
        except Exception:
            logger.opt(exception=True).warning("cache: background {} failed", what)
