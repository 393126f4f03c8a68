"""Retention: keep entries 5 years after the end of their financial year; purge only older ones.

An entry belongs to the financial year of the Danish day it was written on; it may go once
:func:`billy_core.fiscal.retention_until` of that day has passed (the same function the
compliance tools use). A purge removes a *prefix* of the chain (the chain must stay whole
from some point), and in the same transaction writes a signed anchor holding the seq and
hash of the last removed entry; verification then starts from the anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from billy_audit.log import AuditLog
from billy_audit.periods import local_day
from billy_audit.store import SignedRow
from billy_core.fiscal import retention_until

BATCH = 5000


@dataclass(frozen=True, slots=True)
class PurgePlan:
    before: date
    fiscal_year_end_month: int
    today: date
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    count: int = 0
    stopped_at: int | None = None
    stopped_because: str | None = None

    def describe(self) -> str:
        if not self.count:
            reason = f" ({self.stopped_because})" if self.stopped_because else ""
            return f"nothing to purge before {self.before}{reason}"
        return f"{self.count} entries, seq {self.first_seq}..{self.last_seq}, may be purged"


def eligible(ts: str, before: date, fiscal_year_end_month: int, today: date) -> str | None:
    """Why an entry must stay (None: it may go)."""
    day = local_day(ts)
    if day >= before:
        return f"entry written {day}, not before {before}"
    kept_until = retention_until(day, fiscal_year_end_month)
    if kept_until >= today:
        return f"entry written {day} must be kept through {kept_until}"
    return None


async def plan(log: AuditLog, before: date, fiscal_year_end_month: int, today: date) -> PurgePlan:
    """The longest prefix of the chain whose every entry may be removed."""
    store = await log.ready()
    anchor = await store.latest(store.anchors)
    after = anchor.seq if anchor else 0
    first = last = None
    last_hash = None
    count = 0
    while True:
        batch = await store.entries_after(after, BATCH)
        if not batch:
            return PurgePlan(before, fiscal_year_end_month, today, first, last, last_hash, count)
        for entry in batch:
            reason = eligible(entry.ts, before, fiscal_year_end_month, today)
            if reason is not None:
                return PurgePlan(
                    before, fiscal_year_end_month, today, first, last, last_hash, count, entry.seq, reason
                )
            first = entry.seq if first is None else first
            last, last_hash = entry.seq, entry.hash
            count += 1
        after = batch[-1].seq


async def purge(log: AuditLog, planned: PurgePlan) -> SignedRow | None:
    """Remove the planned prefix and write its anchor, in one serialized transaction."""
    if not planned.count or planned.last_seq is None or planned.last_hash is None:
        return None
    store = await log.ready()
    anchor = log.signed(
        "anchor",
        planned.last_seq,
        planned.last_hash,
        removed_from_seq=planned.first_seq,
        removed_count=planned.count,
        before=planned.before.isoformat(),
        fiscal_year_end_month=planned.fiscal_year_end_month,
    )
    last_seq, count = planned.last_seq, planned.count

    def work(connection: sa.Connection) -> None:
        removed = store.delete_through(connection, last_seq)
        if removed != count:
            raise RuntimeError(f"expected to remove {count} entries, found {removed}; nothing was purged")
        store.insert_signed(connection, store.anchors, anchor)

    await store.transact(work)
    return anchor
