"""The generic write pipeline: validate a body against its resource, stage it in a Tx, run hooks."""

from __future__ import annotations

from typing import Any

from billy_sandbox.errors import BillyError, invalid, not_found
from billy_sandbox.registry import REGISTRY
from billy_sandbox.schema import FieldError, Kind, Record, Resource, coerce
from billy_sandbox.store import Tx

CLIENT_ID = "_clientId"


def resource(name: str) -> Resource:
    return REGISTRY[name]


def require_op(res: Resource, op: str) -> None:
    if op not in res.ops:
        raise BillyError(405, "METHOD_NOT_ALLOWED", f"`{res.plural}` does not support {op}.")


def _error_key(body: dict[str, Any], path: str) -> str:
    client_id = body.get(CLIENT_ID)
    return client_id if isinstance(client_id, str) and client_id else path


def _raise(errors: dict[str, str], res: Resource, key: str) -> None:
    if errors:
        name, problem = next(iter(errors.items()))
        raise invalid(f"The {res.name} field `{name}` {problem}.", errors, key)


def _equal(spec_value: Any, old_value: Any) -> bool:
    return bool(spec_value == old_value)


def clean(
    res: Resource, body: Any, old: Record | None, path: str, parent_fk: str | None = None
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Validate a record body. Returns (changed field values, embedded child bodies)."""
    if not isinstance(body, dict):
        raise invalid(f"A {res.name} must be a JSON object.", key=path)
    key = _error_key(body, path)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    children: dict[str, list[Any]] = {}
    for name, raw in body.items():
        if name in (CLIENT_ID, "id"):
            continue
        child = res.child_by_name.get(name)
        if child is not None and child.writable:
            if not isinstance(raw, list):
                errors[name] = "must be a list"
            else:
                children[name] = raw
            continue
        spec = res.by_name.get(name)
        if spec is None:
            errors[name] = "is an unknown field"
            continue
        try:
            value = coerce(spec, raw)
        except FieldError as exc:
            errors[name] = str(exc)
            continue
        if spec.readonly and (old is None or not _equal(value, old.get(name))):
            errors[name] = "is read-only"
            continue
        if spec.immutable and old is not None and not _equal(value, old.get(name)):
            errors[name] = "cannot be changed once the record is created"
            continue
        values[name] = value
    if old is None:
        for spec in res.fields:
            if spec.required and spec.name not in values and spec.name != parent_fk:
                errors.setdefault(spec.name, "is required")
    _raise(errors, res, key)
    return values, children


def check_references(tx: Tx, res: Resource, record: Record, fields: Any, path: str) -> None:
    errors: dict[str, str] = {}
    for name in fields:
        spec = res.by_name.get(name)
        value = record.get(name)
        if spec is None or spec.kind is not Kind.ID or value is None:
            continue
        if name == "organizationId" and value != tx.org_id:
            errors[name] = "does not match the organization of the access token"
        elif spec.target is not None and tx.get(spec.target, value) is None:
            errors[name] = f"refers to a {spec.target} that does not exist (`{value}`)"
    _raise(errors, res, path)


def _stamp(tx: Tx, res: Resource, record: Record) -> None:
    if "organizationId" in res.by_name:
        record["organizationId"] = record.get("organizationId") or tx.org_id
    if "createdTime" in res.by_name:
        record["createdTime"] = tx.now_text()


def create(
    tx: Tx, name: str, body: Any, path: str | None = None, parent: tuple[str, str] | None = None
) -> Record:
    """Create one record (and its embedded children). `parent` = (fk field, value) for children.

    A document created in a later state than draft is created as a draft with its children first
    and then moved on, so the approval rules run exactly as for `PUT {"state": "approved"}`.
    """
    res = resource(name)
    path = path or res.name
    fk = parent[0] if parent else None
    values, children = clean(res, body, None, path, fk)
    record = res.blank()
    record.update(values)
    record["id"] = tx.new_id()
    if parent:
        fk_name, fk_value = parent
        if values.get(fk_name) not in (None, fk_value):
            raise invalid(
                f"`{fk_name}` must match the parent record.", {fk_name: "must match the parent"}, path
            )
        record[fk_name] = fk_value
    target_state = record.get("state")
    if "state" in res.by_name and target_state != res.by_name["state"].default:
        record["state"] = res.by_name["state"].default
    _stamp(tx, res, record)
    res.hooks.prepare(tx, record, None)
    check_references(tx, res, record, res.by_name, path)
    _remember_client_id(tx, body, record)
    tx.put(name, record)
    _save_children(tx, res, record, children, path)
    res.hooks.after_write(tx, _current(tx, name, record), None)
    if record.get("state") != target_state:
        return _apply_update(tx, res, _current(tx, name, record), {"state": target_state}, {}, path)
    return _current(tx, name, record)


def update(tx: Tx, name: str, record_id: str, body: Any, path: str | None = None) -> Record:
    res = resource(name)
    path = path or res.name
    old = tx.get(name, record_id)
    if old is None:
        raise not_found(res.name, record_id)
    if isinstance(body, dict) and "id" in body and body["id"] != record_id:
        raise invalid("The id in the body must match the id in the URL.", {"id": "must match the URL"}, path)
    values, children = clean(res, body, old, path)
    _remember_client_id(tx, body, old)
    return _apply_update(tx, res, old, values, children, path)


def _apply_update(
    tx: Tx, res: Resource, old: Record, values: dict[str, Any], children: dict[str, list[Any]], path: str
) -> Record:
    res.hooks.check_update(tx, old, values, bool(children))
    record = {**old, **values}
    res.hooks.prepare(tx, record, old)
    check_references(tx, res, record, values, path)
    tx.put(res.name, record)
    if children:
        for child_name in children:
            child = res.child_by_name[child_name]
            for existing in tx.find(child.resource, child.fk, child.prefix + record["id"]):
                tx.delete(child.resource, existing)
        _save_children(tx, res, record, children, path)
    res.hooks.after_write(tx, _current(tx, res.name, record), old)
    return _current(tx, res.name, record)


def delete(tx: Tx, name: str, record_id: str) -> None:
    """Idempotent: a missing record is not an error."""
    res = resource(name)
    record = tx.get(name, record_id)
    if record is None:
        return
    res.hooks.check_delete(tx, record)
    for child in res.children:
        if child.writable:
            for existing in tx.find(child.resource, child.fk, child.prefix + record_id):
                tx.delete(child.resource, existing)
    tx.delete(name, record)
    res.hooks.after_delete(tx, record)


def _current(tx: Tx, name: str, record: Record) -> Record:
    current = tx.get(name, record["id"])
    assert current is not None
    return current


def _save_children(tx: Tx, res: Resource, record: Record, children: dict[str, list[Any]], path: str) -> None:
    tx.extra["embedding"] = tx.extra.get("embedding", 0) + 1
    try:
        _save_each_child(tx, res, record, children, path)
    finally:
        tx.extra["embedding"] -= 1


def _save_each_child(
    tx: Tx, res: Resource, record: Record, children: dict[str, list[Any]], path: str
) -> None:
    for child_name, bodies in children.items():
        child = res.child_by_name[child_name]
        for index, child_body in enumerate(bodies):
            create(
                tx,
                child.resource,
                child_body,
                f"{path}.{child_name}[{index}]",
                (child.fk, child.prefix + record["id"]),
            )


def _remember_client_id(tx: Tx, body: Any, record: Record) -> None:
    if isinstance(body, dict) and isinstance(body.get(CLIENT_ID), str):
        tx.extra.setdefault("client_ids", {})[record["id"]] = body[CLIENT_ID]
