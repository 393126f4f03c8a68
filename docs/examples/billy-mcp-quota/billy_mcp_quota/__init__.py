"""An example third-party billy-mcp plugin.

It adds one tool (``count_invoices``: how many invoices Billy has in each state) and one
tool-call middleware (a per-caller quota of calls per minute), and takes its settings from
``BILLY_QUOTA__CALLS_PER_MINUTE`` or ``[plugins.quota]`` in billy-mcp.toml.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Any

from pydantic import BaseModel, Field

from billy_core import hookimpl
from billy_core.context import CallContext
from billy_core.errors import RateLimited
from billy_core.pipeline import ORDER_AUTH, CallNext, ToolCall, ToolResult
from billy_core.tools import Tool, ToolInput, ToolOutput


class QuotaSettings(BaseModel):
    calls_per_minute: int = Field(60, ge=1, description="Tool calls one caller may make per minute")


class CountInvoicesInput(ToolInput):
    customer_id: str | None = Field(None, description="Only count this customer's invoices")


class InvoiceCounts(ToolOutput):
    draft: int
    approved: int
    voided: int


async def count_invoices(args: CountInvoicesInput, ctx: CallContext) -> dict[str, int]:
    """Ask Billy for one record per state and read the totals from the paging metadata."""
    counts = {}
    for state in ("draft", "approved", "voided"):
        query = [("state", state)] + ([("contactId", args.customer_id)] if args.customer_id else [])
        _, paging = await ctx.billy.list_page("invoices", query, page_size=1)
        counts[state] = int(paging.get("total", 0))
    return counts


class CallQuota:
    """Refuse a caller's calls beyond ``calls_per_minute`` in any sliding minute."""

    def __init__(self, calls_per_minute: int) -> None:
        self.limit = calls_per_minute
        self.calls: dict[str, deque[float]] = defaultdict(deque)

    async def __call__(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        now = time.monotonic()
        recent = self.calls[call.principal.id]
        while recent and now - recent[0] > 60:
            recent.popleft()
        if len(recent) >= self.limit:
            raise RateLimited(
                f"{call.principal.id} made {self.limit} calls in the last minute",
                retry_after=60 - (now - recent[0]),
                hint="Wait a little, or raise BILLY_QUOTA__CALLS_PER_MINUTE.",
            )
        recent.append(now)
        return await call_next(call)


@hookimpl
def register_settings(register: Any) -> None:
    register("quota", QuotaSettings)


@hookimpl
def register_tools(register: Any) -> None:
    register(
        Tool(
            name="count_invoices",
            title="Count invoices by state",
            description="How many draft, approved and voided invoices Billy holds (optionally for one customer).",
            input_model=CountInvoicesInput,
            output_model=InvoiceCounts,
            handler=count_invoices,
            idempotent=True,
        )
    )


@hookimpl
def register_tool_middleware(register: Any, kernel: Any) -> None:
    settings = kernel.plugin_settings("quota")
    # Right after authentication, so the quota is per authenticated caller.
    register(CallQuota(settings.calls_per_minute), order=ORDER_AUTH + 10, name="quota")
