"""The tool reference as Markdown, generated from the registry (docs/tools.md, a resource)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from billy_core.tools import Tool


def render_tool_reference(tools: Iterable[Tool], *, heading: str = "# Tool reference") -> str:
    lines = [heading, ""]
    for tool in tools:
        lines.extend(_tool_section(tool))
    return "\n".join(lines).rstrip() + "\n"


def _tool_section(tool: Tool) -> list[str]:
    hints = ", ".join(
        name
        for name, on in (
            ("read-only", tool.read_only),
            ("destructive", tool.destructive),
            ("idempotent", tool.idempotent),
        )
        if on
    )
    lines = [
        f"## `{tool.name}`",
        "",
        f"*{tool.title or tool.name}* ({hints or 'write'}; plugin `{tool.plugin}`)",
        "",
    ]
    lines += [tool.description, ""]
    properties: dict[str, Any] = tool.input_schema.get("properties", {})
    if properties:
        required = set(tool.input_schema.get("required", []))
        lines += ["| argument | type | required | description |", "| --- | --- | --- | --- |"]
        for name, schema in properties.items():
            description = str(schema.get("description", "")).replace("|", "\\|").replace("\n", " ")
            lines.append(
                f"| `{name}` | {_type_of(schema)} | {'yes' if name in required else 'no'} | {description} |"
            )
        lines.append("")
    return lines


def _type_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_type_of(option) for option in schema["anyOf"] if option.get("type") != "null")
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return str(kind or "any")
