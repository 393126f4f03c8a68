"""The MCP tool ``list_audit_logs``: recent audit entries, filtered (admin scope)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Literal

import anyio
from pydantic import Field

from billy_audit.log import AuditLog, describe
from billy_audit.periods import bound
from billy_audit.store import Filters
from billy_audit.views import summary
from billy_core.context import CallContext
from billy_core.errors import AuditUnavailable, Forbidden
from billy_core.listing import ListInput, ListOutput, envelope
from billy_core.tools import Tool


class ListAuditLogsInput(ListInput):
    limit: int = Field(50, ge=1, le=500, description="How many entries, newest first", examples=[50])
    fields: list[str] | None = Field(
        None,
        description="Only return these fields of each entry (seq is always included)",
        examples=[["seq", "ts", "tool", "outcome"]],
    )
    tool: str | None = Field(
        None, max_length=128, description="Only calls of this tool", examples=["approve_invoice"]
    )
    principal: str | None = Field(
        None, max_length=256, description="Only this caller's entries", examples=["local"]
    )
    correlation_id: str | None = Field(
        None,
        max_length=64,
        description="Only entries of this call",
        examples=["3f2c9a1e7b5d4c0a9e8f1b2c3d4e5f60"],
    )
    kind: Literal["intent", "outcome", "read"] | None = Field(
        None, description="intent (before a write), outcome (after it) or read", examples=["intent"]
    )
    outcome: str | None = Field(
        None, max_length=64, description="ok, preview, pending or an error code", examples=["ok"]
    )
    since: date | datetime | None = Field(
        None, description="From this day (Danish time) or instant", examples=["2026-11-01"]
    )
    until: date | datetime | None = Field(
        None, description="Through this day (Danish time), or before this instant", examples=["2026-11-30"]
    )
    before_seq: int | None = Field(
        None,
        ge=1,
        description="Only entries older than this seq: pages that new entries do not shift (use "
        "next_before_seq), instead of offset",
        examples=[1000],
    )


class ListAuditLogsOutput(ListOutput):
    items: list[dict[str, Any]] = Field(description="Entries, newest first; personal data is redacted")
    next_before_seq: int | None = Field(
        None, description="Pass as before_seq for the next page (stable while entries are added)"
    )


SETTLE_SECONDS = 2.0


def list_audit_logs_tool(log: AuditLog, settled: Callable[[], Awaitable[None]]) -> Tool:
    async def list_audit_logs(args: ListAuditLogsInput, ctx: CallContext) -> dict[str, Any]:
        if not ctx.principal.has_scope("admin"):
            raise Forbidden("reading the audit trail needs the admin scope")
        with anyio.move_on_after(SETTLE_SECONDS):
            await settled()  # the caller's own recent reads are queued; show them too
        filters = Filters(
            tool=args.tool,
            principal=Filters.for_principal(args.principal),
            correlation_id=args.correlation_id,
            kind=args.kind,
            outcome=args.outcome,
            since=bound(args.since),
            until=bound(args.until, end=True),
            before_seq=args.before_seq,
        )
        try:
            store = await log.ready()
            rows = await store.recent(filters, args.limit, args.offset)
            total = await store.count(filters)
        except Exception as exc:
            raise AuditUnavailable(f"the audit store cannot be read: {describe(exc)}") from None
        fields = None if args.fields is None else ["seq", *args.fields]
        page = envelope([summary(row) for row in rows], total=total, offset=args.offset, fields=fields)
        page["next_before_seq"] = rows[-1].seq if page["has_more"] and rows else None
        return page

    return Tool(
        name="list_audit_logs",
        title="List audit log entries",
        description=(
            "Recent entries of the tamper-evident audit trail, newest first: who called which tool, "
            "when, with which (redacted) arguments, the outcome and the Billy records touched. Filter by "
            "tool, principal, correlation_id, kind, outcome or date; page with offset, or with "
            "before_seq for pages that new entries do not shift."
        ),
        input_model=ListAuditLogsInput,
        output_model=ListAuditLogsOutput,
        handler=list_audit_logs,
        idempotent=True,
        open_world=False,
        tags=frozenset({"audit"}),
    )
