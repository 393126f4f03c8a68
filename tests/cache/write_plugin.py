"""A write tool for the cache tests (the catalogue's write tools may not exist yet).

Registered in-process through ``billy_plugins`` and, for server subprocesses, installed as a
distribution whose entry point names this module.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from billy_core import hookimpl
from billy_core.tools import Tool, ToolInput


class RenameInput(ToolInput):
    contact_id: str = Field(description="The contact to rename")
    name: str = Field(description="Its new name")
    invalidates: list[str] = Field(default_factory=list, description="Extra resource types to invalidate")


async def rename_contact(args: RenameInput, ctx: Any) -> dict[str, str]:
    await ctx.billy.update("contacts", args.contact_id, {"name": args.name}, invalidates=args.invalidates)
    return {"id": args.contact_id, "name": args.name}


@hookimpl
def register_tools(register: Any) -> None:
    register(
        Tool(
            name="rename_contact",
            description="Rename a contact (cache tests)",
            input_model=RenameInput,
            handler=rename_contact,
            read_only=False,
        )
    )
