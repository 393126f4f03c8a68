"""MCP resources and prompts contributed by plugins (tools live in :mod:`billy_core.tools`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from billy_core.context import CallContext


@dataclass(frozen=True, slots=True)
class Resource:
    """A readable resource. ``read`` returns text (JSON or Markdown, per ``mime_type``)."""

    uri: str
    name: str
    description: str
    read: Callable[[CallContext], Awaitable[str]]
    mime_type: str = "application/json"
    title: str | None = None
    plugin: str = ""


@dataclass(frozen=True, slots=True)
class PromptArgument:
    name: str
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class PromptMessage:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """A reusable prompt; ``render`` turns its arguments into messages."""

    name: str
    description: str
    render: Callable[[dict[str, str]], Awaitable[list[PromptMessage]]]
    arguments: tuple[PromptArgument, ...] = ()
    title: str | None = None
    plugin: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
