"""The ``billy`` plugin: the Billy domain tools, resources and prompts.

It is registered through the same entry point group and hooks as any third-party plugin;
it is essential (the server is about Billy), so it cannot be disabled.
"""

from __future__ import annotations

from typing import Any

from billy_core.context import CallContext
from billy_core.domain import (
    bills,
    compliance,
    contacts,
    credit_notes,
    customers,
    helpers,
    invoices,
    ledger,
    organization,
    overdue,
    payments,
    products,
    reports,
)
from billy_core.domain.organization import fetch_organization, organization_summary
from billy_core.domain.prompts import PROMPTS
from billy_core.hookspecs import hookimpl
from billy_core.jsonutil import dumps_compact
from billy_core.kernel import Kernel
from billy_core.surface import Resource

# Each module offers ``tools(kernel) -> list[Tool]``; list a module here to add its tools.
TOOL_MODULES = (
    organization,
    customers,
    contacts,
    products,
    ledger,
    helpers,
    invoices,
    credit_notes,
    payments,
    overdue,
    bills,
    reports,
    compliance,
)


@hookimpl
def register_tools(register: Any, kernel: Kernel) -> None:
    for module in TOOL_MODULES:
        for tool in module.tools(kernel):
            register(tool)


@hookimpl
def register_resources(register: Any) -> None:
    async def organization(context: CallContext) -> str:
        return dumps_compact(organization_summary(await fetch_organization(context)))

    register(
        Resource(
            uri="billy://organization",
            name="organization",
            title="The Billy organization",
            description="The company this server works for: name, CVR, currency, fiscal year, VAT period.",
            read=organization,
        )
    )


@hookimpl
def register_prompts(register: Any) -> None:
    for prompt in PROMPTS:
        register(prompt)
