"""The tool-call chain: order, structured errors, validation, deadlines, read-only."""

from __future__ import annotations

import json

import anyio
import pytest
from pydantic import Field

from billy_core import hookimpl
from billy_core.context import LOCAL_PRINCIPAL
from billy_core.errors import Conflict
from billy_core.pipeline import ORDER_AUDIT, ORDER_AUTH
from billy_core.testing import mcp_client
from billy_core.tools import Tool, ToolInput


class AddArgs(ToolInput):
    a: int = Field(description="first")
    b: int = Field(description="second")


async def add(args, ctx):
    return {"sum": args.a + args.b}


async def explode(args, ctx):
    raise RuntimeError("secret internal detail")


async def refuse(args, ctx):
    raise Conflict("the invoice is approved", hint="create a credit note instead")


async def dawdle(args, ctx):
    await anyio.sleep(5)


class Empty(ToolInput):
    pass


class ToyPlugin:
    def __init__(self):
        self.seen = []

    @hookimpl
    def register_tools(self, register):
        register(Tool(name="add", description="Add", input_model=AddArgs, handler=add))
        register(Tool(name="explode", description="Fail", input_model=Empty, handler=explode))
        register(Tool(name="refuse", description="Refuse", input_model=Empty, handler=refuse))
        register(Tool(name="dawdle", description="Slow", input_model=Empty, handler=dawdle))
        register(
            Tool(name="write_thing", description="A write", input_model=Empty, handler=add, read_only=False)
        )

    @hookimpl
    def register_tool_middleware(self, register):
        async def audit(call, call_next):
            self.seen.append(("audit", call.tool.name))
            return await call_next(call)

        async def auth(call, call_next):
            self.seen.append(("auth", call.tool.name))
            return await call_next(call)

        register(audit, order=ORDER_AUDIT, name="toy-audit")
        register(auth, order=ORDER_AUTH, name="toy-auth")


@pytest.fixture
def toy(billy_plugins):
    plugin = ToyPlugin()
    billy_plugins.append(("toy", plugin))
    return plugin


async def call(kernel, name, arguments, transport="memory"):
    return await kernel.call_tool(name, arguments, principal=LOCAL_PRINCIPAL, transport=transport)


@pytest.mark.anyio
async def test_middleware_runs_in_order_key_order(make_kernel, toy):
    kernel = make_kernel()
    result = await call(kernel, "add", {"a": 2, "b": 3})
    assert result.structured == {"sum": 5} and not result.is_error
    assert toy.seen == [("auth", "add"), ("audit", "add")]


@pytest.mark.anyio
async def test_invalid_arguments_name_the_field_and_rule(make_kernel, toy):
    result = await call(make_kernel(), "add", {"a": "two", "c": 1})
    body = result.structured
    assert result.is_error and body["code"] == "invalid_argument" and body["retryable"] is False
    rules = {(e["field"], e["rule"]) for e in body["details"]["errors"]}
    assert rules == {("a", "int_parsing"), ("b", "missing"), ("c", "extra_forbidden")}
    assert body["correlation_id"]


@pytest.mark.anyio
async def test_arguments_must_be_an_object(make_kernel, toy):
    result = await call(make_kernel(), "add", ["a"])
    assert result.structured["code"] == "invalid_argument"


@pytest.mark.anyio
async def test_unexpected_exception_becomes_internal_error_without_details(make_kernel, toy):
    result = await call(make_kernel(), "explode", {})
    body = result.structured
    assert body["code"] == "internal_error"
    assert "secret internal detail" not in json.dumps(body)
    assert body["correlation_id"] in body["hint"]


@pytest.mark.anyio
async def test_tool_error_keeps_code_and_hint(make_kernel, toy):
    body = (await call(make_kernel(), "refuse", {})).structured
    assert body["code"] == "conflict" and body["hint"] == "create a credit note instead"


@pytest.mark.anyio
async def test_unknown_tool_is_not_found(make_kernel, toy):
    body = (await call(make_kernel(), "nope", {})).structured
    assert body["code"] == "not_found" and "nope" in body["message"]


@pytest.mark.anyio
async def test_deadline_bounds_the_call(make_kernel, toy):
    kernel = make_kernel(tool_timeout_seconds=0.2)
    body = (await call(kernel, "dawdle", {})).structured
    assert body["code"] == "upstream_unavailable" and body["retryable"] is True


@pytest.mark.anyio
async def test_read_only_mode_refuses_writes_and_hides_them(make_kernel, toy):
    kernel = make_kernel(read_only=True)
    body = (await call(kernel, "write_thing", {"a": 1})).structured
    assert body["code"] == "read_only"
    names = [tool.name for tool in kernel.tools.visible(read_only_mode=True)]
    assert "write_thing" not in names and "add" in names


@pytest.mark.anyio
async def test_metrics_count_calls_by_outcome(make_kernel, toy):
    kernel = make_kernel()
    await call(kernel, "add", {"a": 1, "b": 1})
    await call(kernel, "refuse", {})
    text = kernel.metrics.render().decode()
    assert 'billy_mcp_tool_calls_total{outcome="ok",tool="add",transport="memory"} 1.0' in text
    assert 'billy_mcp_tool_calls_total{outcome="conflict",tool="refuse",transport="memory"} 1.0' in text


@pytest.mark.anyio
async def test_event_sinks_hear_every_call_and_a_failing_sink_is_isolated(make_kernel, billy_plugins, toy):
    heard = []

    class Sinks:
        @hookimpl
        def register_event_sinks(self, register):
            async def broken(event):
                raise RuntimeError("sink down")

            async def listener(event):
                heard.append((event.kind, event.data["tool"], event.data["outcome"]))

            register(broken, name="broken")
            register(listener, name="listener")

    billy_plugins.append(("sinks", Sinks()))
    result = await call(make_kernel(), "add", {"a": 1, "b": 2})
    assert result.structured == {"sum": 3}
    assert heard == [("tool.finished", "add", "ok")]


@pytest.mark.anyio
async def test_mcp_error_result_has_structured_content_and_one_text_item(make_kernel, toy):
    async with mcp_client(make_kernel()) as client:
        result = await client.call_tool("refuse", {})
    assert result.is_error is True
    assert result.structured_content["code"] == "conflict"
    assert len(result.content) == 1
    assert json.loads(result.content[0].text) == result.structured_content


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_mcp_lists_tools_with_schemas_and_annotations_in_both_protocol_eras(make_kernel, toy, mode):
    async with mcp_client(make_kernel(), mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        result = await client.call_tool("add", {"a": 20, "b": 22})
    assert result.structured_content == {"sum": 42}
    add_tool = tools["add"]
    assert add_tool.input_schema["type"] == "object"
    assert add_tool.input_schema["properties"]["a"]["description"] == "first"
    assert add_tool.annotations.read_only_hint is True
    billy_tool = tools["list_invoices"]
    assert billy_tool.output_schema["properties"]["freshness"]["type"] == "object"
    assert billy_tool.annotations.idempotent_hint is True


@pytest.mark.anyio
async def test_mcp_resources_and_prompts_are_listed_with_descriptions(make_kernel, toy):
    async with mcp_client(make_kernel()) as client:
        resources = (await client.list_resources()).resources
        prompts = (await client.list_prompts()).prompts
        reference = await client.read_resource("billy://docs/tools")
        prompt = await client.get_prompt("monthly_overview", {"month": "2026-05"})
    assert {r.uri for r in resources} >= {"billy://server/info", "billy://docs/tools", "billy://organization"}
    assert all(r.description for r in resources) and all(p.description for p in prompts)
    assert "## `list_invoices`" in reference.contents[0].text
    assert "2026-05" in prompt.messages[0].content.text


@pytest.mark.anyio
async def test_mcp_logging_set_level_is_accepted(make_kernel, toy):
    async with mcp_client(make_kernel(), mode="legacy") as client:
        await client.set_logging_level("warning")


@pytest.mark.anyio
async def test_authorization_policies_are_asked_and_the_first_denial_wins(make_kernel, billy_plugins, toy):
    from billy_core.auth import Decision

    asked = []

    class NoAddOnFridays:
        async def authorize(self, call):
            asked.append(call.tool.name)
            return Decision(False, "adding is closed") if call.tool.name == "add" else None

    class Policies:
        @hookimpl
        def register_authorization_policies(self, register):
            register(NoAddOnFridays())

    billy_plugins.append(("policies", Policies()))
    kernel = make_kernel()
    denied = (await call(kernel, "add", {"a": 1, "b": 2})).structured
    allowed = (await call(kernel, "refuse", {})).structured
    assert denied["code"] == "forbidden" and "adding is closed" in denied["message"]
    assert allowed["code"] == "conflict"  # the policy abstained; the tool ran
    assert asked == ["add", "refuse"]


@pytest.mark.anyio
async def test_a_refused_credential_is_a_structured_error_on_every_transport(make_kernel, billy_plugins, toy):
    from billy_core.auth import AuthRequest
    from billy_core.errors import Forbidden

    class Strict:
        name = "strict"

        async def authenticate(self, request):
            raise Forbidden("that API key was revoked")

    class AuthPlugin:
        @hookimpl
        def register_authenticators(self, register):
            register(Strict())

    billy_plugins.append(("strict", AuthPlugin()))
    kernel = make_kernel()
    result = await kernel.call_tool(
        "add", {"a": 1, "b": 2}, auth=AuthRequest(transport="rest"), transport="rest"
    )
    assert result.is_error and result.structured["code"] == "forbidden"
    assert result.structured["message"] == "that API key was revoked" and result.structured["correlation_id"]
