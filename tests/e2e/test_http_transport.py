"""The HTTP face on a real loopback socket: the SDK's ``Client`` over Streamable HTTP in both
protocol eras, the REST bridge, the Host/Origin guard, health and metrics.

The tool called here is a small test plugin's, so nothing needs Billy; calls of the Billy
tools belong to the sandbox-based end-to-end tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families
from pydantic import Field

from billy_core import hookimpl
from billy_core.kernel import Kernel
from billy_core.tools import Tool, ToolInput
from tests.support.http_server import running_http_server

ECHO = "e2e_echo"
FOREIGN_HOST = "evil.example"


class EchoArgs(ToolInput):
    text: str = Field(description="The text to send back")


async def echo(args: EchoArgs, ctx: Any) -> dict[str, Any]:
    return {"echo": args.text}


class EchoPlugin:
    @hookimpl
    def register_tools(self, register: Callable[[Tool], None]) -> None:
        register(
            Tool(
                name=ECHO,
                description="Send the text back (answers without Billy)",
                input_model=EchoArgs,
                handler=echo,
                open_world=False,
            )
        )


@dataclass(frozen=True)
class Served:
    kernel: Kernel
    base_url: str

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


@pytest.fixture
def served(make_kernel: Callable[..., Kernel], billy_plugins: list[tuple[str, object]]) -> Iterator[Served]:
    billy_plugins.append(("e2e_echo", EchoPlugin()))
    kernel = make_kernel()
    with running_http_server(kernel) as base_url:
        yield Served(kernel, base_url)


@pytest.fixture
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=30) as client:
        yield client


# --------------------------------------------------------------------------- MCP over HTTP


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "era"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_sdk_client_lists_and_calls_over_streamable_http(served: Served, mode: str, era: str) -> None:
    async with Client(served.mcp_url, mode=mode) as client:
        assert client.protocol_version == era
        tools = await client.list_tools()
        resources = await client.list_resources()
        prompts = await client.list_prompts()
        answered = await client.call_tool(ECHO, {"text": "hej"})
        refused = await client.call_tool(ECHO, {})

    kernel = served.kernel
    visible = {tool.name for tool in kernel.tools.visible(read_only_mode=kernel.read_only)}
    assert ECHO in visible
    assert {tool.name for tool in tools.tools} == visible
    assert {str(resource.uri) for resource in resources.resources} == set(kernel.registered.resources)
    assert {prompt.name for prompt in prompts.prompts} == set(kernel.registered.prompts)

    assert answered.is_error is False, answered.structured_content
    assert answered.structured_content == {"echo": "hej"}
    [text] = answered.content
    assert isinstance(text, types.TextContent) and json.loads(text.text) == {"echo": "hej"}

    assert refused.is_error is True
    assert refused.structured_content is not None
    assert refused.structured_content["code"] == "invalid_argument"


def jsonrpc_messages(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a Streamable HTTP answer (a JSON body or an SSE stream)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return [response.json()]
    data = [line[len("data:") :].strip() for line in response.text.splitlines() if line.startswith("data:")]
    return [json.loads(item) for item in data if item]


def test_stateless_by_default_another_instance_serves_the_next_request(
    make_kernel: Callable[..., Kernel],
) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1.0"},
        },
    }
    with (
        running_http_server(make_kernel()) as first,
        running_http_server(make_kernel()) as second,
        httpx.Client(headers=headers, timeout=30) as http,
    ):
        answer = http.post(f"{first}/mcp", json=initialize)
        assert answer.status_code == 200, answer.text
        assert "mcp-session-id" not in answer.headers
        [initialized] = jsonrpc_messages(answer)
        assert initialized["result"]["protocolVersion"] == "2025-11-25"

        version = {"MCP-Protocol-Version": "2025-11-25"}
        notified = http.post(
            f"{second}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=version
        )
        assert notified.status_code == 202, notified.text
        listed = http.post(
            f"{second}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=version
        )
        assert listed.status_code == 200, listed.text
        [result] = jsonrpc_messages(listed)
        assert result["id"] == 2 and result["result"]["tools"], result


# --------------------------------------------------------------------------- REST bridge


@pytest.mark.anyio
async def test_rest_tool_list_names_the_same_tools_as_mcp_tools_list(served: Served) -> None:
    async with Client(served.mcp_url) as client:
        mcp_names = [tool.name for tool in (await client.list_tools()).tools]
    async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as http:
        response = await http.get("/api/v1/tools")
    assert response.status_code == 200, response.text
    rest_names = [tool["name"] for tool in response.json()["tools"]]
    assert sorted(rest_names) == sorted(mcp_names)
    assert ECHO in rest_names


def test_rest_call_with_a_json_body_answers_the_structured_result(http: httpx.Client) -> None:
    response = http.post(f"/api/v1/tools/{ECHO}", json={"text": "hej"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"echo": "hej"}


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_rest_call_without_json_content_type_is_400_with_our_error_body(
    http: httpx.Client, content_type: str | None
) -> None:
    headers = {"X-Correlation-Id": "e2e-correlation"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = http.post(f"/api/v1/tools/{ECHO}", content=b'{"text": "hej"}', headers=headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_argument"
    assert body["message"] == "the body must be JSON"
    assert body["retryable"] is False
    assert body["correlation_id"] == "e2e-correlation"
    assert "Content-Type: application/json" in body["hint"]


# --------------------------------------------------------------------------- Host/Origin guard

GUARDED = [
    ("POST", "/mcp"),
    ("GET", "/api/v1/tools"),
    ("POST", f"/api/v1/tools/{ECHO}"),
]


@pytest.mark.parametrize(("method", "path"), GUARDED)
@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": FOREIGN_HOST}, 421), ({"Origin": f"http://{FOREIGN_HOST}"}, 403)],
    ids=["foreign-host", "foreign-origin"],
)
def test_foreign_host_or_origin_is_refused_on_mcp_and_rest(
    http: httpx.Client, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"} if path == "/mcp" else {"text": "hej"}
    accept = {"Accept": "application/json, text/event-stream"}
    response = http.request(method, path, json=body if method == "POST" else None, headers=accept | headers)
    assert response.status_code == status, response.text


# --------------------------------------------------------------------------- operations


def test_health_live_answers_200(http: httpx.Client) -> None:
    response = http.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_metrics_are_prometheus_text_counting_the_rest_call(http: httpx.Client) -> None:
    assert http.post(f"/api/v1/tools/{ECHO}", json={"text": "hej"}).status_code == 200
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(response.text))
    assert families
    samples = [sample for family in families for sample in family.samples]
    assert any(
        sample.labels.get("tool") == ECHO and sample.labels.get("transport") == "rest" and sample.value >= 1
        for sample in samples
    ), response.text
