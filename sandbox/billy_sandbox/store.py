"""In-memory tables with hash indexes and cached sort orders, transactions, snapshots.

Records are never changed in place: an update stores a new dict. That makes snapshots cheap
(a shallow copy of each table) and lets a transaction stage changes without touching the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billy_sandbox.ids import IdFactory
from billy_sandbox.schema import Record, Resource

if TYPE_CHECKING:
    from billy_sandbox.persistence import SqlitePersistence

Bucket = dict[str, None]  # an ordered set of ids


class Table:
    def __init__(self, resource: Resource, index_fields: Iterable[str]) -> None:
        self.resource = resource
        self.records: dict[str, Record] = {}
        self.index_fields = tuple(index_fields)
        self.indexes: dict[str, dict[Any, Bucket]] = {name: {} for name in self.index_fields}
        self.version = 0
        self._sorted: dict[tuple[str, int], tuple[list[Any], list[str]]] = {}
        self._positions: dict[tuple[str, int], dict[str, int]] = {}

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def put(self, record: Record) -> None:
        record_id = record["id"]
        old = self.records.get(record_id)
        if old is not None:
            self._unindex(old)
        self.records[record_id] = record
        for name in self.index_fields:
            self.indexes[name].setdefault(record.get(name), {})[record_id] = None
        self.version += 1

    def delete(self, record_id: str) -> None:
        old = self.records.pop(record_id, None)
        if old is not None:
            self._unindex(old)
            self.version += 1

    def _unindex(self, record: Record) -> None:
        for name in self.index_fields:
            bucket = self.indexes[name].get(record.get(name))
            if bucket is not None:
                bucket.pop(record["id"], None)

    def bucket(self, name: str, value: Any) -> Bucket | None:
        """The ids whose `name` equals `value`, or None when `name` is not indexed."""
        index = self.indexes.get(name)
        if index is None:
            return None
        return index.get(value, {})

    def find(self, name: str, value: Any) -> list[Record]:
        bucket = self.bucket(name, value)
        if bucket is None:
            return [r for r in self.records.values() if r.get(name) == value]
        return [self.records[i] for i in bucket]

    def sorted_ids(
        self, name: str, key: Callable[[Record], Any], reverse: bool = False
    ) -> tuple[list[Any], list[str]]:
        """Keys and ids ordered by `key` (ties in insertion order), cached until the next write."""
        cache_key = (f"{name}:{reverse}", self.version)
        cached = self._sorted.get(cache_key)
        if cached is None:
            pairs = sorted(
                ((key(r), i) for i, r in enumerate(self.records.values())), key=_first, reverse=reverse
            )
            ids = list(self.records)
            cached = ([k for k, _ in pairs], [ids[i] for _, i in pairs])
            self._sorted = {k: v for k, v in self._sorted.items() if k[1] == self.version}
            self._sorted[cache_key] = cached
        return cached

    def positions(self) -> dict[str, int]:
        """Each id's place in insertion order, cached until the next write."""
        cache_key = ("<positions>", self.version)
        cached = self._positions.get(cache_key)
        if cached is None:
            cached = {record_id: n for n, record_id in enumerate(self.records)}
            self._positions = {cache_key: cached}
        return cached

    def load(self, records: Iterable[Record]) -> None:
        for record in records:
            self.put(record)


def _first(pair: tuple[Any, int]) -> Any:
    return pair[0]


@dataclass
class Snapshot:
    tables: dict[str, dict[str, Record]]
    counter: int
    blobs: dict[str, bytes]


@dataclass
class Store:
    registry: dict[str, Resource]
    ids: IdFactory
    tables: dict[str, Table] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    persistence: SqlitePersistence | None = None

    def __post_init__(self) -> None:
        for name, resource in self.registry.items():
            indexed = [f.name for f in resource.fields if f.index]
            self.tables[name] = Table(resource, indexed)

    def table(self, name: str) -> Table:
        return self.tables[name]

    def get(self, name: str, record_id: str) -> Record | None:
        return self.tables[name].get(record_id)

    def all(self, name: str) -> Iterator[Record]:
        return iter(self.tables[name].records.values())

    def apply(
        self,
        puts: dict[tuple[str, str], Record],
        deletes: dict[tuple[str, str], Record],
        blobs: dict[str, bytes] | None = None,
    ) -> None:
        for (name, record_id), _ in deletes.items():
            self.tables[name].delete(record_id)
        for (name, _), record in puts.items():
            self.tables[name].put(record)
        self.blobs.update(blobs or {})
        if self.persistence is not None:
            self.persistence.write(puts, deletes, self.ids.counter, blobs)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            {name: dict(t.records) for name, t in self.tables.items()}, self.ids.counter, dict(self.blobs)
        )

    def restore(self, snapshot: Snapshot) -> None:
        for name, resource in self.registry.items():
            table = Table(resource, self.tables[name].index_fields)
            table.load(snapshot.tables[name].values())
            self.tables[name] = table
        self.ids.counter = snapshot.counter
        self.blobs = dict(snapshot.blobs)
        if self.persistence is not None:
            self.persistence.save_all(self)

    def counts(self) -> dict[str, int]:
        return {self.registry[n].plural: len(t.records) for n, t in self.tables.items()}


class Tx:
    """Staged writes. Reads see the staged state; `commit` applies everything at once."""

    def __init__(self, store: Store, now: dt.datetime, org_id: str) -> None:
        self.store = store
        self.now = now
        self.org_id = org_id
        self.puts: dict[tuple[str, str], Record] = {}
        self.deletes: dict[tuple[str, str], Record] = {}
        self.extra: dict[str, Any] = {}  # side results such as outbox mails

    def new_id(self) -> str:
        return self.store.ids.new()

    def now_text(self) -> str:
        return self.now.isoformat(timespec="seconds")

    def get(self, name: str, record_id: str) -> Record | None:
        key = (name, record_id)
        if key in self.puts:
            return self.puts[key]
        if key in self.deletes:
            return None
        return self.store.get(name, record_id)

    def org(self) -> Record:
        org = self.get("organization", self.org_id)
        assert org is not None
        return org

    def put(self, name: str, record: Record) -> Record:
        key = (name, record["id"])
        self.deletes.pop(key, None)
        self.puts[key] = record
        return record

    def delete(self, name: str, record: Record) -> None:
        key = (name, record["id"])
        self.puts.pop(key, None)
        if self.store.get(name, record["id"]) is not None:
            self.deletes[key] = record

    def find(self, name: str, field_name: str, value: Any) -> list[Record]:
        """Records whose field equals value, staged changes included, in store order then new."""
        found: dict[str, Record] = {}
        for record in self.store.table(name).find(field_name, value):
            current = self.get(name, record["id"])
            if current is not None and current.get(field_name) == value:
                found[record["id"]] = current
        for (res, record_id), record in self.puts.items():
            if res == name and record.get(field_name) == value:
                found[record_id] = record
        return list(found.values())

    def commit(self) -> None:
        self.store.apply(self.puts, self.deletes, self.extra.get("blobs"))

    def changed(self) -> dict[str, list[Record]]:
        """Every record this transaction wrote, keyed by plural name, in write order."""
        out: dict[str, list[Record]] = {}
        for (name, _), record in self.puts.items():
            out.setdefault(self.store.registry[name].plural, []).append(record)
        return out

    def deleted(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, record_id in self.deletes:
            out.setdefault(self.store.registry[name].plural, []).append(record_id)
        return out
