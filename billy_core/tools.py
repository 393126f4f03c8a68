"""The one tool registry every transport reads: names, schemas, annotations, handlers.

A tool is defined once, as a :class:`Tool`. stdio, Streamable HTTP and the REST bridge all
list and call tools through :class:`ToolRegistry`, so they cannot drift apart.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from billy_core.context import CallContext
from billy_core.errors import InvalidArgument, StartupError

TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
CONFIRMATION_TICKET = "confirmation_ticket"
CONFIRMATION_CODE = "confirmation_code"
IDEMPOTENCY_KEY = "idempotency_key"
KERNEL_ARGUMENT_SCHEMAS: dict[str, dict[str, Any]] = {
    CONFIRMATION_TICKET: {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "description": (
            "Leave out to get a preview and a ticket; send the ticket back with the same arguments "
            "within 300 seconds to execute. A wrong, used or expired ticket gets confirmation_required."
        ),
        "examples": ["ct_q3ZyK8mXc1vR7bN0aLsPw2hTf9eUoJ4d"],
    },
    CONFIRMATION_CODE: {
        "type": "string",
        "minLength": 4,
        "maxLength": 16,
        "pattern": "^[A-Za-z0-9-]+$",
        "description": (
            "A second factor (a TOTP or SMS code), sent with confirmation_ticket only when this server "
            "asks for one at the confirm step."
        ),
        "examples": ["492039"],
    },
    IDEMPOTENCY_KEY: {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "pattern": "^[A-Za-z0-9_.:-]+$",
        "description": (
            "Optional key that makes the create safe to repeat: the same key always returns the first "
            "record. Generated and returned when absent."
        ),
        "examples": ["order-2026-0042"],
    },
}
PREVIEW_SCHEMA: dict[str, Any] = {
    "preview": {"type": "object", "description": "What the call would do; nothing has changed yet"},
    CONFIRMATION_TICKET: {"type": "string", "description": "Send back with the same arguments to execute"},
    "expires_at": {"type": "string", "description": "When the ticket stops working (UTC, ISO 8601)"},
}

ToolHandler = Callable[[Any, CallContext], Awaitable[Any]]

FRESHNESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Present when the answer came from data older than its cache lifetime.",
    "properties": {
        "stale": {"type": "boolean"},
        "age_seconds": {"type": "number"},
        "reason": {"type": ["string", "null"]},
    },
    "required": ["stale", "age_seconds"],
}


class ToolInput(BaseModel):
    """Base of every tool's arguments: unknown arguments are refused, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ToolOutput(BaseModel):
    """Base of every tool's result model (used for the output schema)."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool. ``read_only`` tools never change Billy; the rest are writes.

    ``destructive`` writes (approve, pay, credit, send) need a preview -> confirm ticket;
    ``preview`` describes what such a call would do without doing it (reads only).
    ``creates`` names the Billy resource a create tool makes: the kernel then gives it an
    ``idempotency_key`` argument and answers a repeated key with the first record.
    ``idempotent`` says repeating the same call has no further effect.
    """

    name: str
    description: str
    input_model: type[BaseModel]
    handler: ToolHandler
    output_model: type[BaseModel] | None = None
    title: str | None = None
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True
    tags: frozenset[str] = frozenset()
    creates: str | None = None
    preview: ToolHandler | None = None
    plugin: str = ""
    kernel_arguments: tuple[str, ...] = field(default=(), compare=False)
    """Arguments the kernel owns (taken out before the tool's own model validates); set at registration."""
    input_schema: dict[str, Any] = field(default_factory=dict, compare=False)
    output_schema: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def is_write(self) -> bool:
        return not self.read_only

    def annotations(self) -> dict[str, Any]:
        return {
            "title": self.title or self.name,
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": self.open_world,
        }

    def parse_arguments(self, arguments: dict[str, Any] | None) -> BaseModel:
        """Validate arguments; a failure names each field and the rule it broke."""
        try:
            return self.input_model.model_validate(arguments or {})
        except ValidationError as exc:
            raise invalid_argument_from(exc) from None


def invalid_argument_from(exc: ValidationError) -> InvalidArgument:
    problems = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        problems.append({"field": location, "rule": error["type"], "message": error["msg"]})
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    return InvalidArgument(
        f"invalid arguments: {summary}",
        details={"errors": problems},
        hint="Fix the named fields and call again; see the tool's input schema.",
    )


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.setdefault("type", "object")
    schema.pop("title", None)
    return schema


def _input_schema(tool: Tool) -> dict[str, Any]:
    schema = _inline_schema(tool.input_model)
    properties = schema.setdefault("properties", {})
    for name in tool.kernel_arguments:
        properties[name] = KERNEL_ARGUMENT_SCHEMAS[name]
    return schema


def _output_schema(tool: Tool) -> dict[str, Any] | None:
    if tool.output_model is None:
        return None
    schema = copy.deepcopy(_inline_schema(tool.output_model))
    properties = schema.setdefault("properties", {})
    if tool.read_only:
        properties["freshness"] = FRESHNESS_SCHEMA
    if tool.creates:
        properties[IDEMPOTENCY_KEY] = {
            "type": "string",
            "description": "The key this record was created under",
        }
    if tool.destructive:
        # The same tool answers with a preview first, so no result field can be required.
        properties.update(PREVIEW_SCHEMA)
        schema.pop("required", None)
    return schema


class ToolRegistry:
    """Tools by name, in a deterministic (sorted) order."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(self, tool: Tool, *, plugin: str = "") -> Tool:
        if not TOOL_NAME.match(tool.name):
            raise StartupError(f"tool name {tool.name!r} from plugin {plugin!r} is not a valid MCP tool name")
        if tool.name in self._tools:
            other = self._tools[tool.name].plugin
            raise StartupError(f"tool {tool.name!r} is registered twice (plugins {other!r} and {plugin!r})")
        if tool.read_only and (tool.destructive or tool.creates):
            raise StartupError(f"tool {tool.name!r} cannot be read-only and also destructive or a create")
        clash = set(owned_arguments(tool)) & set(tool.input_model.model_fields)
        if clash:
            raise StartupError(f"tool {tool.name!r} declares kernel-owned arguments {sorted(clash)}")
        built = _with_schemas(tool, plugin or tool.plugin)
        self._tools[tool.name] = built
        return built

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __iter__(self) -> Iterator[Tool]:
        return iter(sorted(self._tools.values(), key=lambda tool: tool.name))

    def __len__(self) -> int:
        return len(self._tools)

    def visible(self, *, read_only_mode: bool) -> list[Tool]:
        """Tools a client may see: write tools are hidden in read-only mode."""
        return [tool for tool in self if tool.read_only or not read_only_mode]


def owned_arguments(tool: Tool) -> tuple[str, ...]:
    names: list[str] = []
    if tool.destructive:
        names += [CONFIRMATION_TICKET, CONFIRMATION_CODE]
    if tool.creates:
        names.append(IDEMPOTENCY_KEY)
    return tuple(names)


def _with_schemas(tool: Tool, plugin: str) -> Tool:
    placeholder = replace(tool, plugin=plugin, kernel_arguments=owned_arguments(tool))
    return replace(
        placeholder,
        input_schema=_input_schema(placeholder),
        output_schema=_output_schema(placeholder),
    )
