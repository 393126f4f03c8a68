"""The tool-call chain: async ``(call, call_next)`` middleware composed once at start-up.

Order keys say where a middleware sits, smaller is further out. The intended order is
auth -> audit -> metrics -> read-only guard -> argument validation -> write safety
(preview -> confirm, idempotency) -> handler. Per call the
kernel only awaits the composed closure: no pluggy on the hot path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from billy_core.context import CallContext, Principal
from billy_core.tools import Tool

ORDER_AUTH = 100
ORDER_AUTHORIZATION = 150
ORDER_AUDIT = 200
ORDER_METRICS = 300
ORDER_READ_ONLY = 350
ORDER_VALIDATION = 400
ORDER_WRITE_SAFETY = 500


@dataclass(slots=True)
class ToolCall:
    """One invocation travelling down the tool-call chain."""

    tool: Tool
    arguments: dict[str, Any]
    context: CallContext
    params: BaseModel | None = None

    @property
    def principal(self) -> Principal:
        return self.context.principal

    @property
    def correlation_id(self) -> str:
        return self.context.correlation_id

    @property
    def transport(self) -> str:
        return self.context.transport


@dataclass(slots=True)
class ToolResult:
    """What a tool call produced: a structured object, or an error body when ``is_error``."""

    structured: dict[str, Any]
    is_error: bool = False
    extra_content: list[Any] = field(default_factory=list)


CallNext = Callable[[ToolCall], Awaitable[ToolResult]]


class ToolMiddleware(Protocol):
    """``async def middleware(call, call_next) -> ToolResult``.

    Raise a :class:`billy_core.errors.ToolError` to refuse; call ``call_next(call)`` to go on.
    """

    async def __call__(self, call: ToolCall, call_next: CallNext) -> ToolResult: ...


In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True, slots=True)
class Ordered(Generic[In, Out]):
    """A middleware with its order key and the plugin that registered it."""

    order: int
    name: str
    plugin: str
    middleware: Callable[[In, Callable[[In], Awaitable[Out]]], Awaitable[Out]]


def compose(
    layers: Sequence[Ordered[In, Out]], innermost: Callable[[In], Awaitable[Out]]
) -> Callable[[In], Awaitable[Out]]:
    """Nest ``layers`` (sorted by order, smallest outermost) around ``innermost``, once."""
    handler = innermost
    for layer in sorted(layers, key=lambda item: (item.order, item.name), reverse=True):
        handler = _bind(layer.middleware, handler)
    return handler


def _bind(
    middleware: Callable[[In, Callable[[In], Awaitable[Out]]], Awaitable[Out]],
    call_next: Callable[[In], Awaitable[Out]],
) -> Callable[[In], Awaitable[Out]]:
    async def layer(item: In) -> Out:
        return await middleware(item, call_next)

    return layer
