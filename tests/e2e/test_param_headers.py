"""``Mcp-Param-*`` headers: the SDK checks them only for tools whose schema declares one."""

from __future__ import annotations

from mcp.shared.inbound import HEADER_MISMATCH, validate_mcp_param_headers
from pydantic import Field

from billy_core import hookimpl
from billy_core.server.mcp_server import McpBinding
from billy_core.tools import Tool, ToolInput


class RegionInput(ToolInput):
    region: str = Field(description="Where", examples=["dk"], json_schema_extra={"x-mcp-header": "Region"})


async def echo_region(args, ctx):
    return {"region": args.region}


class RegionPlugin:
    @hookimpl
    def register_tools(self, register):
        register(Tool(name="echo_region", description="Echo", input_model=RegionInput, handler=echo_region))


def test_only_tools_declaring_a_param_header_are_checked(make_kernel, billy_plugins):
    billy_plugins.append(("region", RegionPlugin()))
    binding = McpBinding(make_kernel(), "http")

    assert binding.tool_input_schema("list_invoices") is None  # nothing to check: the SDK skips the walk
    schema = binding.tool_input_schema("echo_region")
    assert schema is not None
    mismatch = validate_mcp_param_headers(schema, {"region": "dk"}, {"mcp-param-region": "se"})
    assert mismatch is not None and mismatch.code == HEADER_MISMATCH
    assert validate_mcp_param_headers(schema, {"region": "dk"}, {"mcp-param-region": "dk"}) is None
