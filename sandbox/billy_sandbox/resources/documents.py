"""What invoices and bills share: currency, exchange rate and tax mode defaults, line ordering."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from billy_sandbox.resources.common import check_parent_draft
from billy_sandbox.schema import Hooks, Record
from billy_sandbox.store import Tx

ONE = Decimal(1)


def fill_money_defaults(tx: Tx, record: Record) -> None:
    org = tx.org()
    record["currencyId"] = record.get("currencyId") or org["baseCurrencyId"]
    record["taxMode"] = record.get("taxMode") or org["defaultTaxMode"]
    if record["currencyId"] == org["baseCurrencyId"]:
        record["exchangeRate"] = ONE
    elif record.get("exchangeRate") is None:
        currency = tx.get("currency", record["currencyId"])
        record["exchangeRate"] = currency["exchangeRate"] if currency else None


def ordered_lines(tx: Tx, line_resource: str, fk: str, parent_id: str) -> list[Record]:
    return sorted(tx.find(line_resource, fk, parent_id), key=lambda line: line["priority"] or 0)


def embedding(tx: Tx) -> bool:
    """True while a parent's embedded children are being saved; the parent recomputes once after."""
    return bool(tx.extra.get("embedding"))


class LineHooks(Hooks):
    """Lines of a draft document: any change recomputes the parent (once, when saved embedded)."""

    def __init__(self, parent: str, fk: str, recompute: Callable[[Tx, Record], Record]) -> None:
        self.parent = parent
        self.fk = fk
        self.recompute = recompute

    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        check_parent_draft(tx, self.parent, record, self.fk, self.parent)

    def after_write(self, tx: Tx, record: Record, old: Record | None) -> None:
        parent = tx.get(self.parent, record[self.fk])
        if parent is not None and not embedding(tx):
            self.recompute(tx, parent)

    def check_delete(self, tx: Tx, record: Record) -> None:
        check_parent_draft(tx, self.parent, record, self.fk, self.parent)

    def after_delete(self, tx: Tx, record: Record) -> None:
        parent = tx.get(self.parent, record[self.fk])
        if parent is not None:
            self.recompute(tx, parent)
