"""A failed flush: every entry is written once, and every caller of the batch hears at once."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from billy_audit.background import ReadRecorder
from billy_audit.log import CommitUnknown, StoreUnavailable
from billy_audit.store import Filters
from billy_audit.verify import Verifier

from tests.audit.helpers import draft, make_log
from tests.audit.test_unavailable import closed_port

pytestmark = pytest.mark.anyio


def stall(store: Any, monkeypatch: pytest.MonkeyPatch, *, after_commit: int, before: int = 0) -> None:
    """The first ``after_commit`` transactions commit and then their caller hears nothing, as
    when the store timeout fires after the COMMIT went out; the next ``before`` never start."""
    transact = store._transact
    plan = ["after"] * after_commit + ["before"] * before

    async def stalled(work: Any, durable: bool) -> Any:
        step = plan.pop(0) if plan else None
        if step == "before":
            await anyio.sleep_forever()
        result = await transact(work, durable)
        if step == "after":
            await anyio.sleep_forever()
        return result

    monkeypatch.setattr(store, "_transact", stalled)


async def stored(log) -> list[str]:
    rows = await log.store.recent(Filters(), 100)
    return [row.correlation_id for row in reversed(rows)]


def recorder(log, counts: dict[str, int]) -> ReadRecorder:
    def count(name: str):
        return lambda n: counts.__setitem__(name, counts.get(name, 0) + n)

    return ReadRecorder(
        log,
        on_recorded=count("recorded"),
        on_dropped=count("dropped"),
        limit=100,
        retry_seconds=0.01,
        gather_seconds=0,
    )


def submit(reads: ReadRecorder, numbers: range) -> None:
    for number in numbers:
        reads.submit(lambda n=number: draft(n), tool="list_invoices", correlation_id=f"c{number:08d}")


async def test_an_append_whose_commit_outlived_the_timeout_is_committed(store_log, monkeypatch):
    store_log.settings.store_timeout_seconds = 0.3
    stall(store_log.store, monkeypatch, after_commit=1)
    assert await store_log.append(draft(1)) == 1
    assert await store_log.append(draft(2)) == 2
    assert await stored(store_log) == ["c00000001", "c00000002"]
    assert store_log.last_failure is None


async def test_read_entries_whose_commit_outlived_the_timeout_are_not_written_again(store_log, monkeypatch):
    store_log.settings.store_timeout_seconds = 0.3
    stall(store_log.store, monkeypatch, after_commit=1)
    counts: dict[str, int] = {}
    reads = recorder(store_log, counts)
    submit(reads, range(1, 4))
    with anyio.fail_after(10):
        await reads.settled()
    await reads.drain(1)
    assert await stored(store_log) == ["c00000001", "c00000002", "c00000003"]
    assert counts == {"recorded": 3}
    report = await Verifier(await store_log.ready(), store_log.keys).run()
    assert report.status == "intact" and report.entries_checked == 3


async def test_a_commit_the_store_cannot_confirm_is_counted_not_sent_again(store_log, monkeypatch):
    store_log.settings.store_timeout_seconds = 0.3
    stall(store_log.store, monkeypatch, after_commit=1, before=1)  # the check times out as well
    with pytest.raises(CommitUnknown, match=r"whether entries 1\.\.2 were committed is unknown"):
        await store_log.append_all([draft(1), draft(2)])
    stall(store_log.store, monkeypatch, after_commit=1, before=1)
    counts: dict[str, int] = {}
    reads = recorder(store_log, counts)
    submit(reads, range(3, 5))
    with anyio.fail_after(10):
        await reads.settled()
    await reads.drain(1)
    assert counts == {"dropped": 2}
    assert await stored(store_log) == ["c00000001", "c00000002", "c00000003", "c00000004"]


async def test_a_commit_refused_by_postgresql_is_reported_and_not_stored(postgres_url, pg_schema):
    log = make_log(postgres_url, db_schema=pg_schema)
    store = await log.ready()
    refuse = f'"{pg_schema}".refuse_at_commit'
    trigger = [
        f"CREATE FUNCTION {refuse}() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
        f"CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON {store.entries.fullname} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {refuse}()",
    ]
    try:
        async with store.engine.begin() as connection:
            for statement in trigger:
                await connection.exec_driver_sql(statement)
        with pytest.raises(StoreUnavailable, match="refused at commit") as failure:
            await log.append(draft(1))
        assert not isinstance(failure.value, CommitUnknown)  # the store said: not committed
        assert await stored(log) == []
        async with store.engine.begin() as connection:
            await connection.exec_driver_sql(f"DROP TRIGGER refuse ON {store.entries.fullname}")
        assert await log.append(draft(2)) == 1
    finally:
        await store.drop()
        await log.aclose()


async def test_one_failed_flush_fails_every_caller_it_carried(monkeypatch):
    log = make_log(f"postgresql://postgres@127.0.0.1:{closed_port()}/test")
    flushes = 0
    gate = anyio.Event()
    write = log._write

    async def gated(batch, sent):
        nonlocal flushes
        flushes += 1
        await gate.wait()  # until every caller has queued its entry
        return await write(batch, sent)

    monkeypatch.setattr(log, "_write", gated)
    failures: list[str] = []

    async def append(number: int) -> None:
        with pytest.raises(StoreUnavailable) as failure:
            await log.append(draft(number))
        failures.append(str(failure.value))

    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                for number in range(5):
                    group.start_soon(append, number)
                await anyio.wait_all_tasks_blocked()
                gate.set()
    finally:
        await log.aclose()
    assert flushes == 1
    assert len(failures) == 5 and len(set(failures)) == 1
