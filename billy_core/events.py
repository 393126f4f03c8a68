"""Events for audit and analytics sinks, fanned out with failures isolated per sink."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loguru import logger


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, e.g. ``tool.finished`` with its outcome and duration."""

    kind: str
    correlation_id: str
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


EventSink = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NamedSink:
    name: str
    plugin: str
    sink: EventSink


class EventBus:
    """Awaits every sink in registration order; a failing sink is logged, never fatal."""

    def __init__(self, sinks: Sequence[NamedSink] = ()) -> None:
        self._sinks = tuple(sinks)

    def __bool__(self) -> bool:
        return bool(self._sinks)

    async def emit(self, event: Event) -> None:
        for named in self._sinks:
            try:
                await named.sink(event)
            except Exception:
                logger.opt(exception=True).warning(
                    "event sink {} of plugin {} failed on {}", named.name, named.plugin, event.kind
                )
