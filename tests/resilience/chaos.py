"""Shared pieces of the chaos tests: create tools, fault phases and the bookkeeping of creates."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import Field

from billy_core import hookimpl
from billy_core.tools import Tool, ToolInput

CVR = "12345674"


class ProductArgs(ToolInput):
    name: str = Field(description="Product name")


class ContactArgs(ToolInput):
    name: str = Field(description="Company name")
    cvr: str = Field(description="CVR number")


class CreateTools:
    """Two create tools in the catalogue's style: the kernel's write safety gives each call an
    idempotency key; products keep it in externalId, contacts are found by name + CVR."""

    @hookimpl
    def register_tools(self, register: Any) -> None:
        async def create_product(args: ProductArgs, ctx: Any) -> dict[str, Any]:
            body = await ctx.billy.create("products", {"name": args.name, "externalId": ctx.idempotency_key})
            return {"id": body["products"][0]["id"], "read_back": body.get("meta") == {}}

        async def create_contact(args: ContactArgs, ctx: Any) -> dict[str, Any]:
            record = {"name": args.name, "countryId": "DK", "registrationNo": args.cvr}
            body = await ctx.billy.create("contacts", record)
            return {"id": body["contacts"][0]["id"], "read_back": body.get("meta") == {}}

        for name, model, handler, creates in (
            ("chaos_create_product", ProductArgs, create_product, "products"),
            ("chaos_create_contact", ContactArgs, create_contact, "contacts"),
        ):
            register(
                Tool(
                    name=name,
                    description=f"Create one of {creates} (test tool)",
                    input_model=model,
                    handler=handler,
                    read_only=False,
                    creates=creates,
                )
            )


def kernel_with_create_tools(
    make_kernel: Any,
    billy_plugins: list[tuple[str, object]],
    sandbox: Any,
    monkeypatch: Any,
    env: dict[str, str],
    *,
    tool_timeout_seconds: float,
    upstream_timeout_seconds: float,
) -> Any:
    """A kernel on ``sandbox`` with writes allowed, the create tools, and ``env`` set."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    billy_plugins.append(("chaos", CreateTools()))
    return make_kernel(
        api_url=sandbox.api_url,
        access_token=sandbox.token,
        sandbox=True,
        read_only=False,
        tool_timeout_seconds=tool_timeout_seconds,
        upstream_timeout_seconds=upstream_timeout_seconds,
    )


@dataclass
class Create:
    key: str
    tool: str
    arguments: dict[str, Any]
    acknowledged_id: str | None = None
    first_error: str | None = None
    read_back: bool = False

    @property
    def plural(self) -> str:
        return "products" if self.tool == "chaos_create_product" else "contacts"


@dataclass
class Ledger:
    """Every create the test attempted and what the server answered."""

    run: str
    creates: list[Create] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def new_create(self, rng: random.Random) -> Create:
        index = len(self.creates)
        key = f"chaos-{self.run}-{index:04d}"
        if rng.random() < 0.5:
            create = Create(key, "chaos_create_product", {"name": f"Chaos {self.run} vare {index}"})
        else:
            create = Create(
                key, "chaos_create_contact", {"name": f"Chaos {self.run} ApS {index}", "cvr": CVR}
            )
        self.creates.append(create)
        return create

    @property
    def acknowledged(self) -> list[Create]:
        return [c for c in self.creates if c.acknowledged_id is not None]

    def records_by_create(self, sandbox: Any) -> dict[str, list[str]]:
        """The sandbox's records for each create's key, listed directly over HTTP: products by
        the externalId that holds the key, contacts by their (unique) name."""
        found: dict[str, list[str]] = {}
        for create in self.creates:
            if create.plural == "products":
                records = sandbox.list("products", externalId=create.key)
            else:
                records = sandbox.list("contacts", name=create.arguments["name"])
            found[create.key] = sorted(record["id"] for record in records)
        return found


async def call(kernel: Any, tool: str, arguments: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    from billy_core.context import LOCAL_PRINCIPAL

    result = await kernel.call_tool(tool, arguments, principal=LOCAL_PRINCIPAL, transport="memory")
    return not result.is_error, result.structured


async def run_mix(
    kernel: Any,
    ledger: Ledger,
    rng: random.Random,
    *,
    calls: int,
    create_share: float,
    reads: list[tuple[str, dict[str, Any]]],
    concurrency: int = 8,
) -> None:
    """``calls`` mixed tool calls, ``create_share`` of them creates, ``concurrency`` at a time."""
    limiter = anyio.CapacityLimiter(concurrency)

    async def one_create(create: Create) -> None:
        async with limiter:
            ok, body = await call(kernel, create.tool, {**create.arguments, "idempotency_key": create.key})
        if ok:
            create.acknowledged_id = body["id"]
            create.read_back = body.get("read_back", False)
        else:
            create.first_error = body.get("code")
            ledger.errors[body.get("code", "?")] += 1

    async def one_read(tool: str, arguments: dict[str, Any]) -> None:
        async with limiter:
            ok, body = await call(kernel, tool, arguments)
        if not ok:
            ledger.errors[f"read:{body.get('code')}"] += 1

    async with anyio.create_task_group() as group:
        for _ in range(calls):
            if rng.random() < create_share:
                group.start_soon(one_create, ledger.new_create(rng))
            else:
                tool, arguments = rng.choice(reads)
                group.start_soon(one_read, tool, arguments)
