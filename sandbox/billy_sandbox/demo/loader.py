"""Put trusted generated records straight into the store, filled out to the resource's full shape."""

from __future__ import annotations

from typing import Any

from billy_sandbox.registry import REGISTRY
from billy_sandbox.schema import Record
from billy_sandbox.store import Store


def insert(store: Store, resource_name: str, record_id: str | None = None, **values: Any) -> Record:
    res = REGISTRY[resource_name]
    record = res.blank()
    record["id"] = record_id or store.ids.new()
    unknown = set(values) - set(record)
    if unknown:
        raise KeyError(f"{resource_name} has no fields {sorted(unknown)}")
    record.update(values)
    store.table(resource_name).put(record)
    return record
