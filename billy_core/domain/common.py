"""Pieces every Billy tool shares: paging arguments, the list envelope, projections, dates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from billy_core.billy.client import MAX_PAGE_SIZE, BillyClient
from billy_core.money import money
from billy_core.tools import ToolInput, ToolOutput

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def today() -> date:
    """Today in Denmark (Billy's dates are Danish calendar dates)."""
    return datetime.now(COPENHAGEN).date()


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


async def billy_window(
    billy: BillyClient,
    plural: str,
    query: Sequence[tuple[str, str]],
    *,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """Fetch records [offset, offset+limit) with Billy's page/pageSize; return them, the total
    and the sideloaded records of the pages read (e.g. ``contacts``)."""
    if offset + limit <= MAX_PAGE_SIZE:
        pages, page_size = [1], offset + limit
    else:
        first = offset // limit + 1
        pages, page_size = [first, first + 1], limit
    records: list[dict[str, Any]] = []
    sideloads: dict[str, Any] = {}
    total = 0
    for number, page in enumerate(pages):
        params = (*query, ("page", str(page)), ("pageSize", str(page_size)))
        body = await billy.request("GET", f"/{plural}", query=params)
        records.extend(body.get(plural, []))
        total = int(body.get("meta", {}).get("paging", {}).get("total", len(records)))
        for key, value in body.items():
            if key not in (plural, "meta") and isinstance(value, list):
                sideloads.setdefault(key, []).extend(value)
        if number == 0 and (page * page_size) >= total:
            break
    start = offset - (pages[0] - 1) * page_size
    return records[start : start + limit], total, sideloads


def by_id(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(record["id"]): record for record in records}


def money_or_none(value: Any) -> str | None:
    return None if value is None else money(value)


def text_or_none(value: Any) -> str | None:
    return value or None
