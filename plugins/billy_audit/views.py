"""How entries are shown: ``audit list``, ``list_audit_logs`` and the exports."""

from __future__ import annotations

import json
from typing import Any

from billy_audit.chain import StoredEntry

CSV_COLUMNS = (
    "seq",
    "ts",
    "kind",
    "tool",
    "outcome",
    "principal",
    "principal_kind",
    "transport",
    "organization_id",
    "correlation_id",
    "intent_seq",
    "duration_ms",
    "upstream_calls",
    "records",
    "arguments",
    "result",
    "error",
    "upstream",
    "key_version",
    "prev_hash",
    "hash",
    "hmac",
)


def summary(entry: StoredEntry) -> dict[str, Any]:
    """The entry's body with its hash: what a reader of the trail needs."""
    body = entry.parsed()
    body["hash"] = entry.hash
    return body


def csv_row(entry: StoredEntry) -> list[str]:
    data = entry.as_export()
    row = []
    for column in CSV_COLUMNS:
        value = data.get(column)
        if value is None:
            row.append("")
        elif column == "records":
            row.append(" ".join(value))
        elif isinstance(value, dict | list):
            row.append(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
        else:
            row.append(str(value))
    return row


def line(entry: StoredEntry) -> str:
    """One line of ``audit list``."""
    return (
        f"{entry.seq:>8}  {entry.ts[:19]}Z  {entry.kind:<7} {entry.tool:<28} {entry.outcome:<20} "
        f"{entry.principal:<16} {entry.correlation_id}"
    )
