"""Several server processes appending to one store at once leave one chain that verifies."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import pytest
from billy_audit.store import Filters
from billy_audit.verify import Verifier

from tests.audit.helpers import make_log

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
PER_PROCESS = 60


def run_writers(url: str, schema: str, folder: Path) -> None:
    """Start the writers, wait until each has opened the store, then let them all go at once."""
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.audit.writer", url, schema, f"p{n}", str(PER_PROCESS), str(folder)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    while len(list(folder.glob("ready-*"))) < PROCESSES:
        for writer in writers:
            if writer.poll() is not None:
                raise AssertionError(f"a writer died before it was ready: {writer.communicate()[1]}")
        time.sleep(0.01)
    (folder / "go").touch()
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr


async def assert_one_chain(log) -> None:
    report = await Verifier(await log.ready(), log.keys).run()
    assert report.status == "intact", report.problem
    assert (report.first_seq, report.last_seq) == (1, PROCESSES * PER_PROCESS)
    rows = await log.store.recent(Filters(), PROCESSES * PER_PROCESS)
    tags = [row.correlation_id.split("-")[0] for row in rows]
    assert set(tags) == {f"p{n}" for n in range(PROCESSES)}
    switches = sum(1 for a, b in itertools.pairwise(tags) if a != b)
    assert switches >= 2 * (PROCESSES - 1)  # the writers took turns (guaranteed by their rendezvous)
    assert report.last_checkpoint_seq == PROCESSES * PER_PROCESS


async def test_processes_share_one_postgresql_chain(postgres_url, pg_schema, tmp_path):
    log = make_log(postgres_url, db_schema=pg_schema)
    await log.ready()  # the writers also create the tables; under the advisory lock either way
    try:
        run_writers(postgres_url, pg_schema, tmp_path)
        await assert_one_chain(log)
    finally:
        await log.store.drop()
        await log.aclose()


async def test_processes_share_one_sqlite_chain(sqlite_url, tmp_path):
    run_writers(sqlite_url, "", tmp_path)
    log = make_log(sqlite_url)
    try:
        await assert_one_chain(log)
    finally:
        await log.aclose()
