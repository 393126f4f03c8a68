"""The list and get conventions every tool follows, whichever plugin makes it: ``limit`` /
``offset`` / ``fields`` arguments, the ``{items, total, has_more, next_offset}`` envelope and
the ``fields`` projection. Third-party plugins use them too, so every list looks alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from billy_core.tools import ToolInput, ToolOutput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class ListInput(ToolInput):
    limit: int = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many items to return", examples=[20]
    )
    offset: int = Field(
        0, ge=0, description="How many items to skip (use next_offset from the previous page)", examples=[50]
    )
    fields: list[str] | None = Field(
        None,
        description="Only return these fields of each item (id is always included), to keep answers small",
        examples=[["id", "invoice_no", "balance"]],
    )


class GetInput(ToolInput):
    fields: list[str] | None = Field(
        None, description="Only return these fields (id is always included)", examples=[["name", "balance"]]
    )


class ListOutput(ToolOutput):
    items: list[dict[str, Any]] = Field(description="The items on this page")
    total: int = Field(description="How many items match in all")
    has_more: bool = Field(description="Whether more items follow this page")
    next_offset: int | None = Field(None, description="The offset of the next page, when there is one")


def project(item: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    if not fields:
        return item
    wanted = {"id", *fields}
    return {key: value for key, value in item.items() if key in wanted}


def envelope(
    items: Sequence[dict[str, Any]], *, total: int, offset: int, fields: Sequence[str] | None
) -> dict[str, Any]:
    has_more = offset + len(items) < total
    return {
        "items": [project(item, fields) for item in items],
        "total": total,
        "has_more": has_more,
        "next_offset": offset + len(items) if has_more else None,
    }


def window(items: Sequence[dict[str, Any]], args: ListInput) -> dict[str, Any]:
    """Page a fully fetched (and filtered) list with limit/offset."""
    chosen = list(items[args.offset : args.offset + args.limit])
    return envelope(chosen, total=len(items), offset=args.offset, fields=args.fields)
