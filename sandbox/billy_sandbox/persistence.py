"""`--db PATH`: the sandbox's records in SQLite, written through on every commit and read back at start-up."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from typing import Any

from billy_sandbox import jsonutil
from billy_sandbox.registry import REGISTRY
from billy_sandbox.schema import Kind, Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    resource TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (resource, id)
);
CREATE INDEX IF NOT EXISTS records_seq ON records (seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL);
"""


def _restore_types(name: str, record: Record) -> Record:
    """JSON turns Decimal("1") into 1; put amounts back to Decimal."""
    for spec in REGISTRY[name].fields:
        value = record.get(spec.name)
        if spec.kind is Kind.DEC and isinstance(value, int) and not isinstance(value, bool):
            record[spec.name] = Decimal(value)
    return record


class SqlitePersistence:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" + SCHEMA)
        self.lock = threading.Lock()
        row = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()
        self.next_seq = int(row[0]) + 1

    def meta(self) -> dict[str, Any]:
        return {k: jsonutil.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def set_meta(self, values: dict[str, Any]) -> None:
        with self.lock:
            self.conn.executemany(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(k, jsonutil.dumps(v, exact=True).decode()) for k, v in values.items()],
            )

    def records(self) -> list[tuple[str, Record]]:
        rows = self.conn.execute("SELECT resource, data FROM records ORDER BY seq")
        return [(name, _restore_types(name, jsonutil.loads(data))) for name, data in rows]

    def blobs(self) -> dict[str, bytes]:
        return {i: bytes(d) for i, d in self.conn.execute("SELECT id, data FROM blobs")}

    def save_all(self, store: Any) -> None:
        rows = [
            (name, record_id, seq, jsonutil.dumps(record, exact=True).decode())
            for seq, (name, record_id, record) in enumerate(
                (name, rid, rec) for name, table in store.tables.items() for rid, rec in table.records.items()
            )
        ]
        with self.lock:
            self.conn.execute("BEGIN")
            self.conn.execute("DELETE FROM records")
            self.conn.execute("DELETE FROM blobs")
            self.conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", rows)
            self.conn.executemany("INSERT INTO blobs VALUES (?, ?)", list(store.blobs.items()))
            self.conn.execute("COMMIT")
            self.next_seq = len(rows) + 1
        self.set_meta({"id_counter": store.ids.counter})

    def write(
        self,
        puts: dict[tuple[str, str], Record],
        deletes: dict[tuple[str, str], Record],
        counter: int,
        blobs: dict[str, bytes] | None = None,
    ) -> None:
        with self.lock:
            self.conn.execute("BEGIN")
            self.conn.executemany("DELETE FROM records WHERE resource = ? AND id = ?", list(deletes))
            for (name, record_id), record in puts.items():
                self.conn.execute(
                    "INSERT INTO records VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(resource, id) DO UPDATE SET data = excluded.data",
                    (name, record_id, self.next_seq, jsonutil.dumps(record, exact=True).decode()),
                )
                self.next_seq += 1
            self.conn.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?)", list((blobs or {}).items()))
            self.conn.execute(
                "INSERT INTO meta VALUES ('id_counter', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(counter),),
            )
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
