"""Builders for the documented list filters beyond plain equality (min/max dates, periods, q)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from billy_sandbox.errors import bad_parameter
from billy_sandbox.periods import PeriodError, parse_period
from billy_sandbox.schema import Record
from billy_sandbox.store import Tx

Predicate = Callable[[Record], bool]
FilterFn = Callable[[str, Tx], Predicate]


def _date_text(name: str, value: str, length: int = 10) -> str:
    import datetime as dt

    try:
        if length == 10:
            dt.date.fromisoformat(value)
        else:
            dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise bad_parameter(
            f"`{name}` must be a date (YYYY-MM-DD{'' if length == 10 else ' HH:MM:SS'})."
        ) from exc
    return value.replace(" ", "T")


@dataclass(frozen=True)
class Range:
    """A date or datetime range; the listing answers it from the field's sort order (an index)."""

    field: str
    low: str | None
    high: str | None  # inclusive: also matches datetimes that start with it

    def high_key(self) -> str | None:
        return None if self.high is None else self.high + "\uffff"

    def __call__(self, record: Record) -> bool:
        value = record.get(self.field)
        if value is None:
            return self.low is None and self.high is None
        high = self.high_key()
        return (self.low is None or value >= self.low) and (high is None or value <= high)


def min_date(field: str) -> FilterFn:
    return lambda value, tx: Range(field, _date_text(field, value), None)


def max_date(field: str) -> FilterFn:
    return lambda value, tx: Range(field, None, _date_text(field, value))


def min_time(field: str) -> FilterFn:
    return lambda value, tx: Range(field, _date_text(field, value, 19), None)


def max_time(field: str) -> FilterFn:
    return lambda value, tx: Range(field, None, _date_text(field, value, 19))


def period(field: str) -> FilterFn:
    """`entryDatePeriod=quarter:2025-2` etc.; compares the date part of date or datetime fields."""

    def build(value: str, tx: Tx) -> Predicate:
        try:
            start, end = parse_period(value, tx.org()["fiscalYearEndMonth"])
        except PeriodError as exc:
            raise bad_parameter(str(exc)) from exc
        return Range(field, start.isoformat() if start else None, end.isoformat() if end else None)

    return build


def has_owned(resource: str, owner_type: str) -> FilterFn:
    """`hasAttachments=true` on bills: whether any attachment is owned by the record."""

    def build(value: str, tx: Tx) -> Predicate:
        wanted = value in ("true", "1")
        table = tx.store.table(resource)
        return lambda r: bool(table.bucket("ownerReference", f"{owner_type}:{r['id']}")) == wanted

    return build


def search_text(record: Record, tx: Tx, fields: tuple[str, ...]) -> str:
    parts: list[str] = []
    for name in fields:
        if name == "contact.name":
            contact = tx.get("contact", record.get("contactId") or "")
            parts.append(contact["name"] if contact else "")
        elif name == "grossAmount" and "grossAmount" not in record:
            parts.append(str(record["amount"] + record["tax"]))
        else:
            value = record.get(name)
            parts.append("" if value is None else str(value))
    return "\n".join(parts).lower()


def search(fields: tuple[str, ...]) -> FilterFn:
    """Free-text `q`: a case-insensitive substring of any searched field (amounts match as numbers too)."""

    def build(value: str, tx: Tx) -> Predicate:
        needle = value.lower().strip()
        try:
            number: Decimal | None = Decimal(needle.replace(",", "."))
        except (InvalidOperation, ValueError):
            number = None
        amount_fields = [f for f in fields if f in ("amount", "grossAmount", "balance", "tax")]

        def match(record: Record) -> bool:
            if number is not None and any(record.get(f) == number for f in amount_fields):
                return True
            return needle in search_text(record, tx, fields)

        return match

    return build
