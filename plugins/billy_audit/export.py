"""``audit export``: the entries of a date range as JSON lines or CSV, for an accountant or SKAT.

Each JSON line is the entry's hashed body plus ``prev_hash``, ``hash`` and ``hmac``: anyone
can recompute ``hash = SHA-256(prev_hash || canonical(body))`` over consecutive lines, and
check the chain head against a signed checkpoint with the public key (``audit public-key``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import TextIO

from billy_audit.store import SqlAuditStore
from billy_audit.views import CSV_COLUMNS, csv_row

BATCH = 5000


async def export(
    store: SqlAuditStore,
    out: TextIO,
    *,
    fmt: str,
    since: str | None,
    until: str | None,
    progress: Callable[[int], None] | None = None,
) -> int:
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    after, written = 0, 0
    while True:
        batch = await store.entries_after(after, BATCH, since=since, until=until)
        if not batch:
            return written
        for entry in batch:
            if writer is not None:
                writer.writerow(csv_row(entry))
            else:
                out.write(json.dumps(entry.as_export(), ensure_ascii=False, sort_keys=True) + "\n")
        written += len(batch)
        after = batch[-1].seq
        if progress is not None:
            progress(len(batch))
