"""Write safety for every write tool, a third-party plugin's included.

* Destructive tools (approve, pay, credit, send, void) answer a call without
  ``confirmation_ticket`` with a preview and a single-use ticket bound to the tool, its
  canonical arguments, the principal and the organization; the same arguments plus the
  ticket, within 300 seconds, execute it. Step-up verifiers (TOTP, SMS) run before the
  ticket is spent, so a missing second factor does not cost the ticket.
* Create tools (``Tool.creates``) take an ``idempotency_key`` (generated when absent): the
  first call with a key creates, every later call with it returns that first record, and
  concurrent calls with one key make one record. A key belongs to the call it was first used
  for: the same key with other arguments or another caller is a conflict. When a create may
  have reached Billy before it failed, the key is kept as "unknown" and the next call with it
  reads Billy back before creating anything.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any, NoReturn

import anyio
from loguru import logger

from billy_core.errors import ConfirmationRequired, ToolError, UpstreamUnavailable
from billy_core.idempotency import IdempotencyStore
from billy_core.pipeline import CallNext, ToolCall, ToolResult
from billy_core.reconcile import READ_BACK_SINCE
from billy_core.tickets import TicketStore

TICKET_SECONDS = 300.0


def new_idempotency_key() -> str:
    return "idem-" + secrets.token_hex(12)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def call_binding(call: ToolCall, organization_id: str, arguments: dict[str, Any]) -> str:
    """The digest of what a ticket or an idempotency key is good for."""
    material = {
        "tool": call.tool.name,
        "arguments": arguments,
        "principal": call.principal.id,
        "organization": organization_id,
    }
    return hashlib.sha256(canonical_json(material).encode()).hexdigest()


def canonical_arguments(call: ToolCall) -> dict[str, Any]:
    """The validated arguments without the kernel's own (ticket, key, code)."""
    if call.params is not None:
        dumped: dict[str, Any] = call.params.model_dump(mode="json")
        return dumped
    return dict(call.arguments)


def maybe_reached_billy(failure: BaseException) -> bool:
    """Could the create have happened although the call failed? Refusals before sending cannot."""
    if isinstance(failure, UpstreamUnavailable):
        return failure.details.get("maybe_sent") is not False
    return not isinstance(failure, ToolError)


class WriteSafety:
    """The kernel middleware at ORDER_WRITE_SAFETY (after validation, before the handler)."""

    def __init__(self, tickets: TicketStore, idempotency: IdempotencyStore, step_up: list[Any]) -> None:
        self.tickets = tickets
        self.idempotency = idempotency
        self.step_up = step_up

    async def __call__(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        tool = call.tool
        if tool.read_only or not (tool.destructive or tool.creates):
            return await call_next(call)
        organization_id = await call.context.billy.organization_id()
        binding = call_binding(call, organization_id, canonical_arguments(call))
        if tool.destructive:
            if call.context.confirmation_ticket is None:
                return await self.preview(call, binding)
            await self.confirm(call, binding)
        if tool.creates:
            return await self.create_once(call, call_next, organization_id, binding)
        return await call_next(call)

    async def preview(self, call: ToolCall, binding: str) -> ToolResult:
        context = call.context
        if call.tool.creates and context.idempotency_key is None:
            context.idempotency_key = new_idempotency_key()
        if call.tool.preview is not None:
            described = await call.tool.preview(call.params, context)
        else:
            described = {"tool": call.tool.name, "arguments": canonical_arguments(call)}
        ticket = "ct_" + secrets.token_urlsafe(24)
        expires = time.time() + TICKET_SECONDS
        await self.tickets.issue(ticket, binding, context.idempotency_key, expires)
        body: dict[str, Any] = {
            "preview": described,
            "confirmation_ticket": ticket,
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds"),
            "hint": "Nothing has changed. Call again with the same arguments plus confirmation_ticket to execute.",
        }
        if context.idempotency_key:
            body["idempotency_key"] = context.idempotency_key
        return ToolResult(body)

    async def confirm(self, call: ToolCall, binding: str) -> None:
        """Check the ticket, then any second factor, and only then spend the ticket."""
        context = call.context
        ticket = context.confirmation_ticket or ""
        if not await self.tickets.valid(ticket, binding, time.time()):
            raise_unconfirmed()
        for verifier in self.step_up:
            await verifier.verify(call, call.arguments)
        redeemed = await self.tickets.redeem(ticket, binding, time.time())
        if redeemed is None:
            raise_unconfirmed()
        if redeemed.idempotency_key:
            context.idempotency_key = redeemed.idempotency_key

    async def create_once(
        self, call: ToolCall, call_next: CallNext, organization_id: str, binding: str
    ) -> ToolResult:
        context = call.context
        key = context.idempotency_key or new_idempotency_key()
        context.idempotency_key = key
        scope = f"{organization_id}:{call.tool.name}"
        claim = await self.idempotency.claim(scope, key, binding, deadline=context.deadline)
        if claim.replay is not None:
            return ToolResult({**claim.replay, "idempotency_key": key, "replayed": True})
        if claim.read_back_since is not None:
            context.extras[READ_BACK_SINCE] = claim.read_back_since
        try:
            result = await call_next(call)
        except BaseException as failure:
            with anyio.CancelScope(shield=True):
                if maybe_reached_billy(failure):
                    await self.idempotency.mark_unknown(scope, key)
                else:
                    await self.idempotency.release(scope, key)
            raise
        if result.is_error:
            with anyio.CancelScope(shield=True):
                await self.idempotency.release(scope, key)
            return result
        result.structured["idempotency_key"] = key
        try:
            with anyio.CancelScope(shield=True):
                await self.idempotency.complete(scope, key, result.structured)
        except Exception:
            # The record exists; the key stays pending and a later call reads back before creating.
            logger.opt(exception=True).error("could not store idempotency key {} of {}", key, call.tool.name)
        return result


def raise_unconfirmed() -> NoReturn:
    raise ConfirmationRequired(
        "the confirmation ticket is unknown, already used, expired, or was issued for other arguments",
        hint="Call the tool again without confirmation_ticket to get a fresh preview and ticket.",
    )
