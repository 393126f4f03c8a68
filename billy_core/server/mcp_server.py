"""The MCP face of the kernel, on the SDK's low-level ``Server``.

The low-level server gives full control of results, so a failing call reaches the client
as a tool result with ``isError`` and our structured body, never as the SDK's plain text.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import find_invalid_x_mcp_header, x_mcp_header_map

from billy_core import __version__
from billy_core.auth import AuthRequest
from billy_core.context import new_correlation_id
from billy_core.errors import ErrorCode, ToolError
from billy_core.jsonutil import dumps_compact
from billy_core.kernel import Kernel
from billy_core.pipeline import ToolResult
from billy_core.tools import Tool

LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

INSTRUCTIONS = (
    "Tools for Billy's Billing (Billy.dk), the Danish accounting system. Money in results is a "
    "two-decimal string in the organization's currency; lists are {items, total, has_more, "
    "next_offset}. Read tools may carry `freshness` when answered from cached data. Writes that "
    "approve, pay, credit or send first return a preview and a confirmation_ticket: call again "
    "with the same arguments plus the ticket to execute."
)


def mcp_tool(tool: Tool) -> types.Tool:
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.input_schema,
        output_schema=tool.output_schema,
        annotations=types.ToolAnnotations.model_validate(tool.annotations()),
    )


def declares_param_headers(input_schema: dict[str, Any]) -> bool:
    """Whether the SDK would check any ``Mcp-Param-*`` header against this schema: it checks
    only valid ``x-mcp-header`` annotations, and none at all when one is invalid."""
    return bool(x_mcp_header_map(input_schema)) and find_invalid_x_mcp_header(input_schema) is None


def call_tool_result(result: ToolResult) -> types.CallToolResult:
    """The structured body, and the same JSON as the only text item (for text-only clients)."""
    # model_construct: the parts are already valid, and validation costs ~5 µs per call.
    text = types.TextContent.model_construct(type="text", text=dumps_compact(result.structured))
    content: list[Any] = [text, *result.extra_content]
    return types.CallToolResult.model_construct(
        content=content,
        structured_content=result.structured,
        is_error=result.is_error,
        result_type="complete",
    )


class McpBinding:
    """Handlers for one transport. ``transport`` names it in metrics and audit entries."""

    def __init__(self, kernel: Kernel, transport: str) -> None:
        self.kernel = kernel
        self.transport = transport
        self._log_levels: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._tools = [mcp_tool(tool) for tool in kernel.tools.visible(read_only_mode=kernel.read_only)]
        self._header_schemas = {
            tool.name: tool.input_schema for tool in self._tools if declares_param_headers(tool.input_schema)
        }

    def auth_request(self, ctx: ServerRequestContext[Any, Any]) -> AuthRequest:
        request = ctx.request
        headers = dict(request.headers) if request is not None and hasattr(request, "headers") else {}
        client = getattr(request, "client", None)
        return AuthRequest(
            transport=self.transport, headers=headers, client_host=client.host if client else None
        )

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self._tools)

    def tool_input_schema(self, name: str) -> dict[str, Any] | None:
        """The SDK checks ``Mcp-Param-*`` headers against this; without it, it serialises the
        whole tools/list on every tools/call over Streamable HTTP (milliseconds per call).
        A schema that declares no header has nothing to check, so the SDK is not asked to
        walk it (``None`` skips the check; about 3% of a cached call's CPU)."""
        return self._header_schemas.get(name)

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        session = ctx.session

        async def progress(done: float, total: float | None, message: str | None) -> None:
            await session.report_progress(done, total, message)

        async def send_log(level: str, data: Any) -> None:
            threshold = self._log_levels.get(session)
            if threshold is not None and LOG_LEVELS.index(level) >= threshold:
                await session.send_log_message(level, data, logger="billy-mcp")  # type: ignore[arg-type]

        result = await self.kernel.call_tool(
            params.name,
            params.arguments,
            auth=self.auth_request(ctx),
            transport=self.transport,
            progress=progress,
            send_log=send_log,
        )
        return call_tool_result(result)

    async def list_resources(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        resources = [
            types.Resource(
                uri=item.uri,
                name=item.name,
                title=item.title,
                description=item.description,
                mime_type=item.mime_type,
            )
            for item in self.kernel.registered.resources.values()
        ]
        return types.ListResourcesResult(resources=resources)

    async def read_resource(
        self, ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        correlation_id = new_correlation_id()
        try:
            resource, text = await self.kernel.read_resource(
                str(params.uri), transport=self.transport, auth=self.auth_request(ctx)
            )
        except ToolError as exc:
            code = (
                types.INVALID_PARAMS
                if exc.code in (ErrorCode.NOT_FOUND, ErrorCode.INVALID_ARGUMENT)
                else types.INTERNAL_ERROR
            )
            raise MCPError(code, exc.message, data=exc.to_body(correlation_id)) from None
        contents: list[types.TextResourceContents | types.BlobResourceContents] = [
            types.TextResourceContents(uri=resource.uri, mime_type=resource.mime_type, text=text)
        ]
        return types.ReadResourceResult(contents=contents)

    async def list_prompts(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        prompts = [
            types.Prompt(
                name=prompt.name,
                title=prompt.title,
                description=prompt.description,
                arguments=[
                    types.PromptArgument(name=arg.name, description=arg.description, required=arg.required)
                    for arg in prompt.arguments
                ],
            )
            for prompt in self.kernel.registered.prompts.values()
        ]
        return types.ListPromptsResult(prompts=prompts)

    async def get_prompt(
        self, ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        prompt = self.kernel.registered.prompts.get(params.name)
        if prompt is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown prompt {params.name!r}")
        arguments = dict(params.arguments or {})
        missing = [arg.name for arg in prompt.arguments if arg.required and arg.name not in arguments]
        if missing:
            raise MCPError(
                types.INVALID_PARAMS, f"prompt {prompt.name!r} needs arguments: {', '.join(missing)}"
            )
        messages = await prompt.render(arguments)
        return types.GetPromptResult(
            description=prompt.description,
            messages=[
                types.PromptMessage(
                    role=message.role, content=types.TextContent(type="text", text=message.text)
                )
                for message in messages
            ],
        )

    async def set_logging_level(
        self, ctx: ServerRequestContext[Any, Any], params: types.SetLevelRequestParams
    ) -> types.EmptyResult:
        self._log_levels[ctx.session] = LOG_LEVELS.index(params.level)
        return types.EmptyResult()


def build_mcp_server(kernel: Kernel, *, transport: str) -> Server[Any]:
    binding = McpBinding(kernel, transport)
    with warnings.catch_warnings():
        # logging/setLevel is deprecated by the 2026-07-28 revision but 2025-11-25 clients use it.
        warnings.simplefilter("ignore")
        return Server(
            "billy-mcp",
            version=__version__,
            title="Billy's Billing",
            instructions=INSTRUCTIONS,
            on_list_tools=binding.list_tools,
            get_tool_input_schema=binding.tool_input_schema,
            on_call_tool=binding.call_tool,
            on_list_resources=binding.list_resources,
            on_read_resource=binding.read_resource,
            on_list_prompts=binding.list_prompts,
            on_get_prompt=binding.get_prompt,
            on_set_logging_level=binding.set_logging_level,
        )
