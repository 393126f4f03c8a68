"""How long ``audit verify`` takes over a long chain (default 100,000 entries).

Builds a chain of realistic entries (a read's arguments, records touched, upstream calls) in a
fresh store, through the real append path in batches (so hashes, HMACs and checkpoints are the
plugin's own), then times a full verification: every entry's columns against its hashed body,
its hash, its HMAC, its link, and the signed checkpoints.

    .venv/bin/python benchmarks/audit_verify.py [--entries 100000] [--database-url URL]

Without ``--database-url`` the store is a SQLite file in a temporary folder; with a
PostgreSQL URL it uses a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import sys
import tempfile
import time

import anyio
from billy_audit.log import AuditLog
from billy_audit.settings import AuditSettings
from billy_audit.verify import Verifier
from pydantic import SecretStr

from billy_core.sql import create_engine

BATCH = 2000


def draft(number: int) -> dict[str, object]:
    return {
        "kind": "read" if number % 5 else "outcome",
        "tool": "list_invoices",
        "read_only": number % 5 != 0,
        "transport": "http",
        "principal": f"user-{number % 17}",
        "principal_kind": "oauth",
        "organization_id": "Soj1zPR-TFATyPYiIpzR7w",
        "correlation_id": secrets.token_hex(16),
        "arguments": {
            "limit": 50,
            "state": "approved",
            "customer_id": f"c{number % 300}",
            "amount": "1234.50",
        },
        "outcome": "ok",
        "duration_ms": "12.345",
        "records": [f"invoice:inv{number}", f"contact:c{number % 300}"],
        "upstream_calls": 2,
        "upstream": [{"method": "GET", "path": "/invoices", "status": 200}],
    }


async def run(entries: int, url: str, schema: str | None) -> None:
    settings = AuditSettings(
        hmac_keys=SecretStr("v1:" + base64.b64encode(secrets.token_bytes(32)).decode()),
        signing_key=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode()),
        db_schema=schema,
    )
    log = AuditLog(settings, database_url=url, engine=lambda: create_engine(url), owns_engine=True)
    try:
        await log.ready()
        started = time.perf_counter()
        for first in range(0, entries, BATCH):
            await log.append_all([draft(n) for n in range(first, min(first + BATCH, entries))])
        written = time.perf_counter() - started
        report = await Verifier(log.store, log.keys).run()
        assert report.status == "intact" and report.entries_checked == entries, report
        size = len((await log.store.entries_after(0, 1))[0].body)
        print(
            f"store={log.store.name} entries={entries} (~{size} bytes of canonical JSON each) python={sys.version.split()[0]}"
        )
        print(f"write (batches of {BATCH}): {written:.2f}s ({entries / written:,.0f} entries/s)")
        print(
            f"verify: {report.seconds:.2f}s ({entries / report.seconds:,.0f} entries/s), "
            f"{report.checkpoints_checked} checkpoints"
        )
    finally:
        if schema:
            await log.store.drop()
        await log.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    url = options.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='billy-audit-verify-')}/audit.sqlite3"
    schema = f"audit_bench_{secrets.token_hex(4)}" if url.startswith("postgres") else None
    anyio.run(run, options.entries, url, schema)


if __name__ == "__main__":
    main()
