"""`GET /v2/<plural>`: equality and documented filters, `q`, sorting and paging over the store."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from billy_sandbox import filters
from billy_sandbox.errors import bad_parameter, invalid
from billy_sandbox.schema import FieldError, Record, Resource, parse_query_value
from billy_sandbox.store import Tx

MAX_PAGE_SIZE = 1000
PRESORTED_ABOVE = 500
RESERVED = frozenset({"page", "pageSize", "sortProperty", "sortDirection", "include", "q", "organizationId"})
Query = list[tuple[str, str]]


@dataclass
class Listing:
    records: list[Record]
    paging: dict[str, Any]


def _int_param(query: dict[str, str], name: str, default: int, high: int | None = None) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1 or (high is not None and int(text) > high):
        limit = f" and at most {high}" if high else ""
        raise bad_parameter(f"`{name}` must be a whole number of at least 1{limit}.")
    return int(text)


def check_organization(tx: Tx, query: dict[str, str]) -> None:
    org_id = query.get("organizationId")
    if org_id is not None and org_id != tx.org_id:
        raise invalid(
            "organizationId does not match the organization of the access token.",
            {"organizationId": "does not match the access token"},
            "organizationId",
        )


def _equality(res: Resource, name: str, texts: list[str]) -> set[Any]:
    spec = res.by_name[name]
    try:
        return {parse_query_value(spec, text) for text in texts}
    except FieldError as exc:
        raise bad_parameter(f"Filter `{name}` {exc}.") from exc


def _sort_key(res: Resource, tx: Tx, prop: str) -> Callable[[Record], Any]:
    custom = res.sort_keys.get(prop)

    def key(record: Record) -> Any:
        value = custom(record, tx) if custom else record.get(prop)
        return (value is not None, value if value is not None else 0)

    return key


def _check_sort(res: Resource, prop: str) -> None:
    allowed = res.sortable if res.sortable is not None else tuple(f.name for f in res.fields)
    if prop not in allowed:
        raise bad_parameter(f"`{res.plural}` cannot be sorted by `{prop}`; sortable: {', '.join(allowed)}.")


def list_records(tx: Tx, res: Resource, items: Query, url: str) -> Listing:
    query = dict(items)
    check_organization(tx, query)
    page = _int_param(query, "page", 1)
    size = _int_param(query, "pageSize", MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    direction = query.get("sortDirection", "ASC").upper()
    if direction not in ("ASC", "DESC"):
        raise bad_parameter("`sortDirection` must be ASC or DESC.")
    prop = query.get("sortProperty")
    if prop is not None:
        _check_sort(res, prop)
    equal, predicates = _filters(tx, res, items, query)
    table = tx.store.table(res.name)
    narrowed, source = _narrow(table, equal)
    ranged = _range_ids(table, predicates)
    if ranged is not None and (source is None or len(ranged) < len(source)):
        narrowed, source = None, ranged
    checks = [_equal_predicate(n, v) for n, v in equal.items() if n != narrowed] + predicates
    start = (page - 1) * size
    desc = direction == "DESC"
    if checks:
        matched = _matching(tx, res, table, source, checks, prop, desc)
        total, records = len(matched), matched[start : start + size]
    else:
        total, records = _page_of(tx, res, table, source, prop, desc, slice(start, start + size))
    return Listing(records, _paging(page, size, total, items, url))


def _page_of(
    tx: Tx, res: Resource, table: Any, source: list[str] | None, prop: str | None, desc: bool, part: slice
) -> tuple[int, list[Record]]:
    """One page when only an index narrows the records: the total is the bucket's size."""
    if source is None:
        if prop is None:
            return len(table.records), list(islice(table.records.values(), part.start, part.stop))
        ids = table.sorted_ids(prop, _sort_key(res, tx, prop), desc)[1]
        return len(ids), [table.records[i] for i in ids[part]]
    if prop is None:
        return len(source), [table.records[i] for i in source[part]]
    if len(source) <= PRESORTED_ABOVE:
        rows = sorted((table.records[i] for i in source), key=_sort_key(res, tx, prop), reverse=desc)
        return len(source), rows[part]
    allowed = set(source)
    ordered = (i for i in table.sorted_ids(prop, _sort_key(res, tx, prop), desc)[1] if i in allowed)
    return len(source), [table.records[i] for i in islice(ordered, part.start, part.stop)]


def _matching(
    tx: Tx,
    res: Resource,
    table: Any,
    source: list[str] | None,
    checks: list[Any],
    prop: str | None,
    desc: bool,
) -> list[Record]:
    if prop is not None and (source is None or len(source) > PRESORTED_ABOVE):
        # walk the cached sort order rather than sorting a large match on every request
        _, ids = table.sorted_ids(prop, _sort_key(res, tx, prop), desc)
        allowed = None if source is None else set(source)
        rows: Iterable[Record] = (table.records[i] for i in ids if allowed is None or i in allowed)
        return [r for r in rows if all(check(r) for check in checks)]
    rows = table.records.values() if source is None else (table.records[i] for i in source)
    matched = [r for r in rows if all(check(r) for check in checks)]
    if prop is not None:
        matched.sort(key=_sort_key(res, tx, prop), reverse=desc)
    return matched


def _filters(
    tx: Tx, res: Resource, items: Query, query: dict[str, str]
) -> tuple[dict[str, set[Any]], list[filters.Predicate]]:
    equal: dict[str, set[Any]] = {}
    predicates: list[filters.Predicate] = []
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        grouped.setdefault(key[:-2] if key.endswith("[]") else key, []).append(value)
    for name, texts in grouped.items():
        if name in RESERVED:
            continue
        if name in res.filters:
            predicates.append(res.filters[name](texts[-1], tx))
        elif name in res.by_name:
            equal[name] = _equality(res, name, texts)
        else:
            raise bad_parameter(f"Unknown filter `{name}` for {res.plural}.")
    if "q" in query:
        fields = res.search or (("name",) if "name" in res.by_name else ())
        if not fields:
            raise bad_parameter(f"`{res.plural}` does not support `q`.")
        predicates.append(filters.search(fields)(query["q"], tx))
    return equal, predicates


def _range_ids(table: Any, predicates: list[filters.Predicate]) -> list[str] | None:
    """Ids inside the first date range, found by bisecting the field's cached sort order."""
    ranges = [p for p in predicates if isinstance(p, filters.Range) and (p.low or p.high)]
    if not ranges or len(table.records) <= PRESORTED_ABOVE:
        return None
    span = ranges[0]
    keys, ids = table.sorted_ids(f"range:{span.field}", lambda record: record.get(span.field) or "")
    low = bisect_left(keys, span.low) if span.low else 0
    high_key = span.high_key()
    high = bisect_right(keys, high_key) if high_key else len(keys)
    positions = table.positions()
    return sorted(ids[low:high], key=positions.__getitem__)


def _narrow(table: Any, equal: dict[str, set[Any]]) -> tuple[str | None, list[str] | None]:
    """The field and ids of the smallest index bucket among indexed equality filters (None: scan all)."""
    best: tuple[str | None, list[str] | None] = (None, None)
    for name, values in equal.items():
        if name not in table.indexes:
            continue
        ids: list[str] = []
        for value in values:
            ids.extend(table.bucket(name, value) or ())
        if len(values) > 1:
            ids.sort(key=table.positions().__getitem__)
        if best[1] is None or len(ids) < len(best[1]):
            best = (name, ids)
    return best


def _equal_predicate(name: str, values: set[Any]) -> filters.Predicate:
    return lambda record: record.get(name) in values


def _paging(page: int, size: int, total: int, items: Query, url: str) -> dict[str, Any]:
    count = max(1, math.ceil(total / size))
    paging: dict[str, Any] = {"page": page, "pageCount": count, "pageSize": size, "total": total}
    if count > 1:
        rest = [(k, v) for k, v in items if k != "page"]

        def link(number: int) -> str:
            return f"{url}?{urlencode([*rest, ('page', str(number))])}"

        paging["firstUrl"] = link(1)
        if page > 1:
            paging["previousUrl"] = link(min(page - 1, count))
        if page < count:
            paging["nextUrl"] = link(page + 1)
        paging["lastUrl"] = link(count)
    return paging
