"""Rules shared by the documents that move from draft to approved: invoices, bills, daybook transactions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from billy_sandbox.errors import invalid
from billy_sandbox.schema import Record
from billy_sandbox.store import Tx

STATES = ("draft", "approved", "voided")


def check_document_update(
    label: str,
    old: Record,
    changes: Mapping[str, Any],
    children: bool,
    editable_when_approved: Iterable[str] = (),
) -> None:
    """Only draft -> approved is a valid state change; approved or voided documents are locked."""
    new_state = changes.get("state", old["state"])
    if new_state != old["state"] and not (old["state"] == "draft" and new_state == "approved"):
        raise invalid(
            f"The state of a {label} can only change from draft to approved "
            f"(not from {old['state']} to {new_state}).",
            {"state": "invalid state change"},
            label,
        )
    if old["state"] == "draft":
        return
    locked = [
        name for name in changes if name not in editable_when_approved and changes[name] != old.get(name)
    ]
    if children:
        locked.append("lines")
    if locked:
        raise invalid(
            f"An {old['state']} {label} cannot be changed.",
            dict.fromkeys(locked, f"cannot be changed on an {old['state']} {label}"),
            label,
        )


def check_document_delete(label: str, record: Record) -> None:
    if record["state"] != "draft":
        raise invalid(
            f"An {record['state']} {label} cannot be deleted. Only drafts can be deleted.",
            {"state": "only drafts can be deleted"},
            label,
        )


def parent_of(tx: Tx, parent_name: str, record: Record, fk: str) -> Record:
    parent = tx.get(parent_name, record[fk])
    if parent is None:
        raise invalid(f"No {parent_name} with id `{record[fk]}`.", {fk: "does not exist"}, parent_name)
    return parent


def check_parent_draft(tx: Tx, parent_name: str, record: Record, fk: str, label: str) -> Record:
    parent = parent_of(tx, parent_name, record, fk)
    if parent["state"] != "draft":
        raise invalid(
            f"Lines of an {parent['state']} {label} cannot be changed.",
            {fk: f"the {label} is {parent['state']}"},
            label,
        )
    return parent
