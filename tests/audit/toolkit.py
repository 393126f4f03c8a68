"""A small plugin with write tools that really write to the sandbox (through ``ctx.billy``)."""

from __future__ import annotations

from typing import Any

import httpx
from billy_audit.plugin import audit_log
from billy_audit.store import Filters
from pydantic import Field

from billy_core import hookimpl
from billy_core.errors import Conflict
from billy_core.tools import Tool, ToolInput


class ContactArgs(ToolInput):
    name: str = Field(description="Company name")
    phone: str | None = None
    email: str | None = None
    registration_no: str | None = Field(None, description="CVR")
    contact_message: str | None = Field(None, description="Free text")


class UpdateArgs(ToolInput):
    contact_id: str
    phone: str | None = None
    street: str | None = None


class Empty(ToolInput):
    pass


class WriteToolkit:
    """Registers create_test_contact, update_test_contact, probe_write, refused_write, void_test."""

    @hookimpl
    def register_tools(self, register: Any, kernel: Any) -> None:
        async def create_test_contact(args: ContactArgs, ctx: Any) -> dict[str, Any]:
            organization_id = await ctx.billy.organization_id()
            record = {
                "organizationId": organization_id,
                "name": args.name,
                "countryId": "DK",
                "isCustomer": True,
                "phone": args.phone or "",
                "registrationNo": args.registration_no or "",
                "street": args.contact_message or "",
            }
            contact = (await ctx.billy.create("contacts", record))["contacts"][0]
            person = None
            if args.email:
                person_record = {"contactId": contact["id"], "name": "Jens Hansen", "email": args.email}
                person = (await ctx.billy.create("contactPersons", person_record))["contactPersons"][0]
            return {"contact": contact, "person": person}

        async def update_test_contact(args: UpdateArgs, ctx: Any) -> dict[str, Any]:
            changes = {key: value for key, value in (("phone", args.phone), ("street", args.street)) if value}
            return dict(await ctx.billy.update("contacts", args.contact_id, changes))

        async def probe_write(args: Empty, ctx: Any) -> dict[str, Any]:
            """What the audit store holds for this call while the handler runs (another connection)."""
            rows = await audit_log(kernel).store.recent(Filters(correlation_id=ctx.correlation_id), 10)
            return {"seen": [[row.kind, row.outcome] for row in rows]}

        async def refused_write(args: Empty, ctx: Any) -> dict[str, Any]:
            raise Conflict("the invoice is approved; call me at +45 20 12 34 56", hint="create a credit note")

        for name, handler, model in (
            ("create_test_contact", create_test_contact, ContactArgs),
            ("update_test_contact", update_test_contact, UpdateArgs),
            ("probe_write", probe_write, Empty),
            ("refused_write", refused_write, Empty),
        ):
            register(Tool(name=name, description=name, input_model=model, handler=handler, read_only=False))

        async def void_test(args: Empty, ctx: Any) -> dict[str, Any]:
            return {"voided": True}

        register(
            Tool(
                name="void_test",
                description="A destructive write: answered with a preview first",
                input_model=Empty,
                handler=void_test,
                read_only=False,
                destructive=True,
            )
        )


def sandbox_control(sandbox: Any, path: str, method: str = "GET") -> Any:
    base = sandbox.api_url.rsplit("/v2", 1)[0]
    return httpx.request(method, f"{base}/_sandbox/{path}", timeout=10).json()


def writes_seen(sandbox: Any) -> int:
    """Requests that would change the sandbox (anything but GET) since the last stats reset."""
    routes = sandbox_control(sandbox, "stats")["by_route"]
    return sum(count for route, count in routes.items() if not route.startswith("GET "))
