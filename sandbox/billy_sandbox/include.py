"""`include=resource.property[:mode],...`: embed or sideload belongs-to and has-many relations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billy_sandbox.errors import bad_parameter
from billy_sandbox.registry import REGISTRY
from billy_sandbox.schema import Record
from billy_sandbox.store import Tx


@dataclass(frozen=True)
class Include:
    owner: str  # singular resource name, e.g. "invoice"
    prop: str  # "lines", "contact"
    embed: bool


def parse(text: str | None) -> list[Include]:
    if not text:
        return []
    specs: list[Include] = []
    for part in text.split(","):
        path, _, mode = part.strip().partition(":")
        owner, _, prop = path.partition(".")
        if owner not in REGISTRY or not prop or mode not in ("", "embed", "sideload"):
            raise bad_parameter(f"Invalid include `{part}`: use resource.property[:embed|sideload].")
        specs.append(Include(owner, prop, mode == "embed"))
    return specs


def _singular_ids(prop: str) -> str:
    return (prop[:-1] if prop.endswith("s") else prop) + "Ids"


class Includer:
    """Applies includes to output copies of records and collects sideloaded records by plural."""

    def __init__(self, tx: Tx, specs: list[Include], primary_plural: str | None = None) -> None:
        self.tx = tx
        self.specs = specs
        self.primary = primary_plural
        self.sideloaded: dict[str, dict[str, Record]] = {}

    def expand(self, name: str, records: list[Record], specs: list[Include] | None = None) -> list[Record]:
        specs = self.specs if specs is None else specs
        out = [dict(r) for r in records]
        for spec in specs:
            if spec.owner != name:
                continue
            rest = [s for s in specs if s is not spec]
            res = REGISTRY[name]
            child = res.child_by_name.get(spec.prop)
            for record in out:
                if child is not None:
                    self._has_many(record, spec, child.resource, child.fk, child.prefix, rest)
                else:
                    self._belongs_to(record, spec, rest)
        return out

    def _has_many(
        self, record: Record, spec: Include, kind: str, fk: str, prefix: str, rest: list[Include]
    ) -> None:
        found = self.tx.find(kind, fk, prefix + record["id"])
        found.sort(key=lambda r: r.get("priority") or 0)
        related = self.expand(kind, found, rest)
        if spec.embed:
            record[spec.prop] = related
        else:
            record[_singular_ids(spec.prop)] = [r["id"] for r in related]
            self._sideload(kind, related)

    def _belongs_to(self, record: Record, spec: Include, rest: list[Include]) -> None:
        res = REGISTRY[spec.owner]
        field = res.by_name.get(spec.prop + "Id") or res.by_name.get(spec.prop + "Reference")
        if field is None:
            raise bad_parameter(f"`{spec.owner}` has no relation `{spec.prop}`.")
        value = record.get(field.name)
        kind, target_id = (field.target, value) if field.target else _split_reference(value)
        target = self.tx.get(kind, target_id) if kind in REGISTRY and target_id else None
        related = self.expand(kind, [target], rest)[0] if target is not None else None
        if spec.embed:
            record[spec.prop] = related
        elif related is not None:
            self._sideload(kind, [related])

    def _sideload(self, kind: str, records: list[Record]) -> None:
        bucket = self.sideloaded.setdefault(REGISTRY[kind].plural, {})
        for record in records:
            bucket.setdefault(record["id"], record)

    def roots(self) -> dict[str, list[Record]]:
        return {
            plural: list(recs.values()) for plural, recs in self.sideloaded.items() if plural != self.primary
        }


def _split_reference(value: Any) -> tuple[str, str | None]:
    if not isinstance(value, str) or ":" not in value:
        return "", None
    kind, _, target_id = value.partition(":")
    return kind, target_id
