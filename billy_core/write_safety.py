"""Write safety for every write tool, a third-party plugin's included.

* Destructive tools (approve, pay, credit, send, void) answer a call without
  ``confirmation_ticket`` with a preview and a single-use ticket bound to the tool, its
  canonical arguments, the principal and the organization; the same arguments plus the
  ticket, within 300 seconds, execute it. Step-up verifiers (TOTP, SMS) run at that point.
* Create tools (``Tool.creates``) take an ``idempotency_key`` (generated when absent): the
  first call with a key creates, every later call with it returns that first record, and
  concurrent calls with one key make one record.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from billy_core.errors import ConfirmationRequired
from billy_core.idempotency import IdempotencyStore
from billy_core.pipeline import CallNext, ToolCall, ToolResult
from billy_core.tickets import TicketStore

TICKET_SECONDS = 300.0


def new_idempotency_key() -> str:
    return "idem-" + secrets.token_hex(12)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Binding:
    """What a ticket is good for: this tool, these arguments, this principal, this organization."""

    digest: str

    @classmethod
    def of(cls, call: ToolCall, organization_id: str) -> Binding:
        arguments = call.params.model_dump(mode="json") if call.params is not None else call.arguments
        material = {
            "tool": call.tool.name,
            "arguments": arguments,
            "principal": call.principal.id,
            "organization": organization_id,
        }
        return cls(hashlib.sha256(canonical_json(material).encode()).hexdigest())


class WriteSafety:
    """The kernel middleware at ORDER_WRITE_SAFETY (after validation, before the handler)."""

    def __init__(self, tickets: TicketStore, idempotency: IdempotencyStore, step_up: list[Any]) -> None:
        self.tickets = tickets
        self.idempotency = idempotency
        self.step_up = step_up

    async def __call__(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        tool = call.tool
        if tool.read_only:
            return await call_next(call)
        organization_id = await call.context.billy.organization_id()
        if tool.destructive:
            if call.context.confirmation_ticket is None:
                return await self.preview(call, organization_id)
            await self.redeem(call, organization_id)
        if tool.creates:
            return await self.create_once(call, call_next, organization_id)
        return await call_next(call)

    async def preview(self, call: ToolCall, organization_id: str) -> ToolResult:
        context = call.context
        if call.tool.creates and context.idempotency_key is None:
            context.idempotency_key = new_idempotency_key()
        ticket = "ct_" + secrets.token_urlsafe(24)
        expires = time.time() + TICKET_SECONDS
        await self.tickets.issue(
            ticket, Binding.of(call, organization_id).digest, context.idempotency_key, expires
        )
        if call.tool.preview is not None:
            described = await call.tool.preview(call.params, context)
        else:
            described = {
                "tool": call.tool.name,
                "arguments": call.params.model_dump(mode="json") if call.params else {},
            }
        body: dict[str, Any] = {
            "preview": described,
            "confirmation_ticket": ticket,
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds"),
            "hint": "Nothing has changed. Call again with the same arguments plus confirmation_ticket to execute.",
        }
        if context.idempotency_key:
            body["idempotency_key"] = context.idempotency_key
        return ToolResult(body)

    async def redeem(self, call: ToolCall, organization_id: str) -> None:
        context = call.context
        ticket = context.confirmation_ticket or ""
        redeemed = await self.tickets.redeem(ticket, Binding.of(call, organization_id).digest, time.time())
        if redeemed is None:
            raise ConfirmationRequired(
                "the confirmation ticket is unknown, already used, expired, or was issued for other arguments",
                hint="Call the tool again without confirmation_ticket to get a fresh preview and ticket.",
            )
        if redeemed.idempotency_key:
            context.idempotency_key = redeemed.idempotency_key
        for verifier in self.step_up:
            await verifier.verify(call, call.arguments)

    async def create_once(self, call: ToolCall, call_next: CallNext, organization_id: str) -> ToolResult:
        context = call.context
        key = context.idempotency_key or new_idempotency_key()
        context.idempotency_key = key
        scope = f"{organization_id}:{call.tool.name}"
        replay = await self.idempotency.claim(scope, key, deadline=context.deadline)
        if replay is not None:
            return ToolResult({**replay, "idempotency_key": key, "replayed": True})
        try:
            result = await call_next(call)
        except BaseException:
            await self.idempotency.release(scope, key)
            raise
        if result.is_error:
            await self.idempotency.release(scope, key)
            return result
        result.structured["idempotency_key"] = key
        await self.idempotency.complete(scope, key, result.structured)
        return result
