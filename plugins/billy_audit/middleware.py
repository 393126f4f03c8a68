"""The audit middleware (tool-call chain, ORDER_AUDIT) and its upstream helper.

* A write (``tool.read_only`` is False) commits an ``intent`` entry before anything further
  down the chain runs; if that fails the call is refused with ``audit_unavailable`` and nothing
  reaches Billy. After the call an ``outcome`` entry names the result (``ok``, ``preview`` or
  the error code) and points back at the intent with ``intent_seq``.
* A read leaves one ``read`` entry after it ran. By default the entry is recorded in the
  background (:mod:`billy_audit.background`), so a read does not wait for the store; while the
  store is known to be failing the answer carries a warning (server log and MCP log message).
  With ``BILLY_AUDIT__ON_READ_FAILURE=refuse`` the entry is written before the answer goes out,
  and a read that cannot be recorded is refused.

Arguments, results and error messages pass through the kernel's PII redactor first.
"""

from __future__ import annotations

import hashlib
import time
from decimal import Decimal
from typing import Any

import anyio
from loguru import logger
from prometheus_client import CollectorRegistry, Counter

from billy_audit.background import ReadRecorder
from billy_audit.chain import canonical, plain
from billy_audit.log import AuditLog, StoreUnavailable
from billy_core.billy.client import singular
from billy_core.errors import AuditUnavailable, ToolError
from billy_core.pii import get_redactor
from billy_core.pipeline import CallNext, ToolCall, ToolResult
from billy_core.upstream import UpstreamNext, UpstreamRequest, UpstreamResponse

UPSTREAM_KEY = "audit.upstream"
ORGANIZATION_KEY = "audit.organization"
MAX_UPSTREAM_RECORDED = 50


KINDS = ("intent", "outcome", "read")


class AuditMetrics:
    """``billy_mcp_audit_entries_total{kind}`` and ``billy_mcp_audit_unrecorded_total{kind}``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        entries = Counter(
            "billy_mcp_audit_entries", "Audit entries committed, by kind", ["kind"], registry=registry
        )
        unrecorded = Counter(
            "billy_mcp_audit_unrecorded",
            "Entries the audit store could not take, by kind (an intent: the write was refused)",
            ["kind"],
            registry=registry,
        )
        self.entries = {kind: entries.labels(kind) for kind in KINDS}
        self.unrecorded = {kind: unrecorded.labels(kind) for kind in KINDS}


class AuditMiddleware:
    def __init__(self, log: AuditLog, metrics: AuditMetrics | None = None) -> None:
        self.log = log
        self.metrics = metrics or AuditMetrics()
        self.refuse_unrecorded_reads = log.settings.on_read_failure == "refuse"
        self.max_result_bytes = log.settings.max_result_bytes
        self.reads = ReadRecorder(
            log,
            on_recorded=self.metrics.entries["read"].inc,
            on_dropped=self.metrics.unrecorded["read"].inc,
            limit=log.settings.read_queue_limit,
            retry_seconds=log.settings.read_retry_seconds,
            gather_seconds=log.settings.read_gather_seconds,
        )

    async def __call__(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        if call.tool.read_only:
            return await self._read(call, call_next)
        return await self._write(call, call_next)

    async def _write(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        started = time.monotonic()
        try:
            intent_seq = await self.log.append(self.draft(call, "intent"))
            self.metrics.entries["intent"].inc()
        except StoreUnavailable as exc:
            self.metrics.unrecorded["intent"].inc()
            logger.error(
                "audit: refused write {} [correlation_id={}]: the audit store is unavailable ({})",
                call.tool.name,
                call.correlation_id,
                exc,
            )
            raise AuditUnavailable(
                "the audit trail cannot record this write, so it was not sent to Billy",
                hint="The audit store is unavailable; retry later or ask the operator to check it.",
            ) from None
        logger.debug(
            "audit: intent seq {} for {} [correlation_id={}]", intent_seq, call.tool.name, call.correlation_id
        )
        result: ToolResult | None = None
        failure: BaseException | None = None
        try:
            result = await call_next(call)
            return result
        except BaseException as exc:
            failure = exc
            raise
        finally:
            draft = self.draft(call, "outcome", started=started, result=result, failure=failure)
            draft["intent_seq"] = intent_seq
            await self._record(call, draft, what="the outcome of write")

    async def _read(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        if not self.refuse_unrecorded_reads:
            return await self._read_in_background(call, call_next)
        started = time.monotonic()
        try:
            result = await call_next(call)
        except BaseException as exc:
            await self._record(call, self.draft(call, "read", started=started, failure=exc), what="read")
            raise
        recorded = await self._record(
            call, self.draft(call, "read", started=started, result=result), what="read"
        )
        if not recorded:
            raise AuditUnavailable(
                "the audit trail cannot record this read, and this server refuses unrecorded reads",
                hint="Retry later or ask the operator to check the audit store.",
            )
        return result

    async def _read_in_background(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        started = time.monotonic()
        result: ToolResult | None = None
        failure: BaseException | None = None
        try:
            result = await call_next(call)
            return result
        except BaseException as exc:
            failure = exc
            raise
        finally:
            finished = time.monotonic()
            self.reads.submit(
                lambda: self.draft(
                    call, "read", started=started, finished=finished, result=result, failure=failure
                ),
                tool=call.tool.name,
                correlation_id=call.correlation_id,
            )
            if self.log.last_failure is not None:
                with anyio.CancelScope(shield=True):
                    await self._warn(call, "read", StoreUnavailable(self.log.last_failure))

    async def _record(self, call: ToolCall, draft: dict[str, Any], *, what: str) -> bool:
        """Append ``draft`` even if the call is being cancelled; False (and a warning) on failure."""
        with anyio.CancelScope(shield=True):
            try:
                await self.log.append(draft)
                self.metrics.entries[draft["kind"]].inc()
                return True
            except StoreUnavailable as exc:
                self.metrics.unrecorded[draft["kind"]].inc()
                await self._warn(call, what, exc)
        return False

    @staticmethod
    async def _warn(call: ToolCall, what: str, exc: StoreUnavailable) -> None:
        logger.warning(
            "audit: {} {} was not recorded [correlation_id={}]: the audit store is unavailable ({})",
            what,
            call.tool.name,
            call.correlation_id,
            exc,
        )
        try:
            await call.context.log("warning", f"audit: this {what} was not recorded in the audit trail")
        except Exception:
            pass

    # ------------------------------------------------------------------ entries

    def draft(
        self,
        call: ToolCall,
        kind: str,
        *,
        started: float | None = None,
        finished: float | None = None,
        result: ToolResult | None = None,
        failure: BaseException | None = None,
    ) -> dict[str, Any]:
        """An entry without its place in the chain (seq, ts, key version come at append)."""
        redactor = get_redactor()
        context = call.context
        principal = call.principal
        draft: dict[str, Any] = {
            "kind": kind,
            "tool": call.tool.name,
            "read_only": call.tool.read_only,
            "transport": call.transport,
            "principal": redactor.redact_text(principal.id),
            "principal_kind": principal.kind,
            "organization_id": context.extras.get(ORGANIZATION_KEY) or context.organization_id,
            "correlation_id": call.correlation_id,
            "arguments": plain(redactor.redact_value(call.arguments)),
        }
        if kind == "intent":
            draft["outcome"] = "pending"
            return draft
        draft["outcome"] = outcome_of(result, failure)
        elapsed = (finished or time.monotonic()) - (started or 0.0)
        draft["duration_ms"] = str(Decimal(int(elapsed * 1e6)) / 1000)
        draft["records"] = list(context.records_touched)
        draft["upstream_calls"] = context.upstream_calls
        draft["upstream"] = list(context.extras.get(UPSTREAM_KEY, ()))
        if failure is not None:
            draft["error"] = plain(redactor.redact_value(error_body(call, failure)))
        elif result is not None and result.is_error:
            draft["error"] = plain(redactor.redact_value(result.structured))
        elif result is not None and kind == "outcome":
            draft["result"] = self._bounded(plain(redactor.redact_value(result.structured)))
        return draft

    def _bounded(self, value: Any) -> Any:
        text = canonical(value)
        size = len(text.encode())
        if size <= self.max_result_bytes:
            return value
        return {"omitted": True, "bytes": size, "sha256": hashlib.sha256(text.encode()).hexdigest()}


def outcome_of(result: ToolResult | None, failure: BaseException | None) -> str:
    if isinstance(failure, ToolError):
        return failure.code.value
    if failure is not None:
        return "internal_error" if isinstance(failure, Exception) else "cancelled"
    if result is None:
        return "internal_error"
    if result.is_error:
        return str(result.structured.get("code", "error"))
    if "confirmation_ticket" in result.structured and "preview" in result.structured:
        return "preview"
    return "ok"


def error_body(call: ToolCall, failure: BaseException) -> dict[str, Any]:
    if isinstance(failure, ToolError):
        return failure.to_body(call.correlation_id)
    return {"code": outcome_of(None, failure), "message": type(failure).__name__}


async def record_upstream(request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse:
    """Upstream middleware: note each request (method, path, status) and the records it touched."""
    context = request.call
    if context is None:
        return await call_next(request)
    if request.organization_id:
        context.extras.setdefault(ORGANIZATION_KEY, request.organization_id)
    try:
        response = await call_next(request)
    except BaseException:
        note_request(context, request, "error", cached=False)
        raise
    note_request(context, request, response.status, cached=response.from_cache)
    if response.ok:  # a read names the one record it fetched; a write, all Billy returned
        touch_records(context, request, None if request.is_read else response.body)
    return response


def note_request(context: Any, request: UpstreamRequest, status: int | str, *, cached: bool) -> None:
    seen = context.extras.setdefault(UPSTREAM_KEY, [])
    if len(seen) < MAX_UPSTREAM_RECORDED:
        note: dict[str, Any] = {"method": request.method, "path": request.path, "status": status}
        if cached:
            note["cached"] = True
        seen.append(note)


def touch_records(context: Any, request: UpstreamRequest, body: Any) -> None:
    """``invoice:<id>`` for the record a request names in its path, and for each record in
    ``body`` (what Billy returned to a write)."""
    parts = [part for part in request.path.split("/") if part]
    if len(parts) >= 2:
        context.touch(f"{singular(parts[0])}:{parts[1]}")
    if isinstance(body, dict):
        for plural, records in body.items():
            if plural == "meta" or not isinstance(records, list):
                continue
            for record in records:
                if isinstance(record, dict) and record.get("id"):
                    context.touch(f"{singular(plural)}:{record['id']}")
