"""Pieces every Billy tool shares: Billy paging, dates, money and text helpers (the list
conventions themselves are the kernel's: :mod:`billy_core.listing`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from billy_core.billy.client import MAX_PAGE_SIZE, BillyClient
from billy_core.money import money

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def today() -> date:
    """Today in Denmark (Billy's dates are Danish calendar dates)."""
    return datetime.now(COPENHAGEN).date()


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
