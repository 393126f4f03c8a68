"""Dates and the audit trail: entries belong to the Danish calendar day they were written on."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from billy_audit.chain import parse_timestamp, utc_timestamp

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def local_day(ts: str) -> date:
    """The Danish calendar day of an entry's UTC timestamp."""
    return parse_timestamp(ts).astimezone(COPENHAGEN).date()


def day_start(day: date) -> str:
    """The entry timestamp (UTC text) at which the Danish day ``day`` begins."""
    return utc_timestamp(datetime.combine(day, time.min, tzinfo=COPENHAGEN))


def day_after(day: date) -> str:
    return day_start(day + timedelta(days=1))


def today() -> date:
    return datetime.now(COPENHAGEN).date()


def bound(value: date | datetime | None, *, end: bool = False) -> str | None:
    """A filter bound: a date means its whole Danish day (inclusive), a datetime that instant."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=COPENHAGEN)
        return utc_timestamp(value)
    return day_after(value) if end else day_start(value)
