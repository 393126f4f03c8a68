"""Retention: only entries 5 years past the end of their financial year go; an anchor keeps the chain."""

from __future__ import annotations

from datetime import date

import pytest
from billy_audit.retention import eligible, plan, purge
from billy_audit.verify import Verifier

from tests.audit.helpers import Tamper, fill

pytestmark = pytest.mark.anyio

TODAY = date(2026, 6, 1)
# (Danish day written, how many entries): retention with a calendar fiscal year ends 5 years
# after the year's end: 2018 -> 2023-12-31, 2019 -> 2024-12-31, 2021 -> 2026-12-31 (still kept).
WRITTEN = [("2018-03-01", 3), ("2019-06-01", 4), ("2021-02-01", 2), ("2026-05-30", 3)]


async def write_history(log):
    for day, count in WRITTEN:
        log.clock = lambda day=day: f"{day}T10:00:00.000000Z"
        await fill(log, count, start=1000 * int(day[:4]))
    log.clock = lambda: "2026-05-31T10:00:00.000000Z"


@pytest.mark.parametrize(
    ("ts", "month", "kept"),
    [
        ("2018-03-01T10:00:00.000000Z", 12, False),
        ("2021-02-01T10:00:00.000000Z", 12, True),  # kept through 2026-12-31
        ("2021-02-01T10:00:00.000000Z", 6, True),  # fiscal year 2020/21: kept through 2026-06-30
        ("2021-02-01T10:00:00.000000Z", 1, True),  # fiscal year ends 2022-01-31: through 2027-01-31
        ("2021-01-15T10:00:00.000000Z", 1, False),  # fiscal year ended 2021-01-31: through 2026-01-31
        ("2020-12-31T23:30:00.000000Z", 12, True),  # 00:30 on 1 January 2021 in Denmark
    ],
)
def test_an_entry_belongs_to_the_fiscal_year_of_its_danish_day(ts, month, kept):
    assert (eligible(ts, date(2099, 1, 1), month, TODAY) is not None) is kept


async def test_purge_removes_only_expired_entries_and_anchors_the_rest(store_log):
    await write_history(store_log)
    planned = await plan(store_log, date(2030, 1, 1), 12, TODAY)
    assert (planned.first_seq, planned.last_seq, planned.count) == (1, 7, 7)
    assert planned.stopped_at == 8 and "kept through 2026-12-31" in planned.stopped_because

    anchor = await purge(store_log, planned)
    assert anchor is not None and anchor.seq == 7
    report = await Verifier(store_log.store, store_log.keys).run()
    assert report.status == "intact", report.problem
    assert (report.anchor_seq, report.first_seq, report.last_seq) == (7, 8, 12)

    await store_log.append({"kind": "read", "tool": "after_purge", "outcome": "ok"})
    assert (await Verifier(store_log.store, store_log.keys).run()).last_seq == 13


async def test_before_limits_the_purge(store_log):
    await write_history(store_log)
    planned = await plan(store_log, date(2019, 1, 1), 12, TODAY)
    assert planned.count == 3 and "not before 2019-01-01" in planned.stopped_because


async def test_nothing_is_purged_while_retention_runs(store_log):
    await write_history(store_log)
    planned = await plan(store_log, date(2030, 1, 1), 12, date(2023, 12, 31))
    assert planned.count == 0 and await purge(store_log, planned) is None
    assert "kept through 2023-12-31" in planned.stopped_because


async def test_a_second_purge_continues_from_the_anchor(store_log):
    await write_history(store_log)
    await purge(store_log, await plan(store_log, date(2019, 1, 1), 12, TODAY))
    second = await plan(store_log, date(2030, 1, 1), 12, TODAY)
    assert (second.first_seq, second.last_seq) == (4, 7)
    await purge(store_log, second)
    report = await Verifier(store_log.store, store_log.keys).run()
    assert report.status == "intact" and report.anchor_seq == 7


async def test_a_tampered_anchor_or_a_gap_after_it_is_caught(store_log):
    await write_history(store_log)
    await purge(store_log, await plan(store_log, date(2030, 1, 1), 12, TODAY))
    tamper = Tamper(store_log)
    await tamper.sql(f"DELETE FROM {tamper.entries} WHERE seq = 8")
    report = await Verifier(store_log.store, store_log.keys).run()
    assert (report.problem.kind, report.problem.first_bad_seq) == ("deleted", 8)

    await tamper.sql(
        f"UPDATE {tamper.anchors} SET seq = 8, body = replace(body, :old, :new)", old='"seq":7', new='"seq":8'
    )
    report = await Verifier(store_log.store, store_log.keys).run()
    assert report.status == "tampered" and report.problem.kind == "anchor"
