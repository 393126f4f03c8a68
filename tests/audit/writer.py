"""One audit-writing process for the concurrency tests: ``python -m tests.audit.writer URL SCHEMA TAG N DIR``.

It opens its own audit log on the shared store, says it is ready (``DIR/ready-TAG``), waits for
``DIR/go``, appends one entry and waits until every writer has, then appends the rest of its
``N`` entries from several concurrent tasks, one entry per append (as tool calls do).
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

from tests.audit.helpers import draft, make_log

TASKS = 4


def files(folder: Path, pattern: str) -> int:
    return len(list(folder.glob(pattern)))


async def wait_for(folder: Path, name: str) -> None:
    while not (folder / name).exists():  # noqa: ASYNC110  (another process makes the file)
        await anyio.sleep(0.005)


async def main(url: str, schema: str, tag: str, count: int, folder: Path) -> None:
    log = make_log(url, db_schema=schema or None, checkpoint_every=50)
    await log.ready()
    (folder / f"ready-{tag}").touch()
    await wait_for(folder, "go")
    # Rendezvous after one entry each, so the writers certainly share the chain's stretch.
    await log.append(draft(-1, correlation_id=f"{tag}-first"))
    (folder / f"first-{tag}").touch()
    writers = files(folder, "ready-*")
    while files(folder, "first-*") < writers:  # noqa: ASYNC110  (files of other processes)
        await anyio.sleep(0.005)

    async def task(number: int) -> None:
        for index in range(number + 1, count, TASKS):
            await log.append(draft(index, correlation_id=f"{tag}-{index}"))

    async with anyio.create_task_group() as group:
        for number in range(TASKS):
            group.start_soon(task, number)
    await log.checkpoint()
    await log.aclose()


if __name__ == "__main__":
    url, schema, tag, count, folder = sys.argv[1:6]
    anyio.run(main, url, schema, tag, int(count), Path(folder))
