"""The ``billy`` plugin: the Billy domain tools, resources and prompts.

It is registered through the same entry point group and hooks as any third-party plugin;
it is essential (the server is about Billy), so it cannot be disabled.
"""

from __future__ import annotations

from typing import Any

from billy_core.context import CallContext
from billy_core.domain.customers import LIST_CUSTOMERS
from billy_core.domain.invoices import GET_INVOICE, LIST_INVOICES
from billy_core.domain.organization import (
    GET_ORGANIZATION,
    auth_status_tool,
    fetch_organization,
    organization_summary,
)
from billy_core.domain.prompts import PROMPTS
from billy_core.hookspecs import hookimpl
from billy_core.jsonutil import dumps_compact
from billy_core.kernel import Kernel
from billy_core.surface import Resource


@hookimpl
def register_tools(register: Any, kernel: Kernel) -> None:
    for tool in (
        GET_ORGANIZATION,
        auth_status_tool(kernel.read_only),
        LIST_INVOICES,
        GET_INVOICE,
        LIST_CUSTOMERS,
    ):
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
