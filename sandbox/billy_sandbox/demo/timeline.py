"""Dated events (invoices, credit notes, voids, payments, bills) run in date order through the same write
pipeline the API uses, so numbering, totals and balances in the demo follow the emulator's own rules."""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from billy_sandbox import writes
from billy_sandbox.schema import Record
from billy_sandbox.store import Store, Tx

Action = Callable[[Tx], None]


class Timeline:
    def __init__(self, store: Store, org_id: str, rng: random.Random, today: dt.date) -> None:
        self.store = store
        self.org_id = org_id
        self.rng = rng
        self.today = today
        self._events: list[tuple[dt.date, int, Action]] = []
        self._seq = 0

    def at(self, day: dt.date, action: Action) -> None:
        """Schedule an action; anything after `today` has not happened yet and is dropped."""
        if day <= self.today:
            self._seq += 1
            heapq.heappush(self._events, (day, self._seq, action))

    def run(self, progress: Callable[[], None] | None = None) -> None:
        now = dt.datetime.min
        while self._events:
            day, _, action = heapq.heappop(self._events)
            # time moves forward through the working day, so approval times follow invoice numbers
            start = dt.datetime.combine(day, dt.time(8))
            now = max(start, now + dt.timedelta(seconds=self.rng.randint(20, 400)))
            now = min(now, dt.datetime.combine(day, dt.time(23, 59, 59)))
            tx = Tx(self.store, now, self.org_id)
            action(tx)
            tx.commit()
            if progress is not None:
                progress()

    def create(self, tx: Tx, name: str, body: dict[str, Any]) -> Record:
        return writes.create(tx, name, body)


def pay(tx: Tx, kind: str, document_id: str, account_id: str, amount: Decimal | None = None) -> None:
    """Pay (part of) a document's current balance, if anything is still open."""
    document = tx.get(kind, document_id)
    if document is None or document["state"] != "approved" or document["balance"] <= 0:
        return
    cash = min(amount, document["balance"]) if amount is not None else document["balance"]
    incoming = (kind == "invoice") != (document["type"] == "credit_note")
    writes.create(
        tx,
        "bankPayment",
        {
            "entryDate": tx.now.date().isoformat(),
            "cashAmount": cash,
            "cashSide": "debit" if incoming else "credit",
            "cashAccountId": account_id,
            "associations": [{"subjectReference": f"{kind}:{document_id}"}],
        },
    )


def void_invoice(tx: Tx, invoice_id: str) -> None:
    """What the web app does and the API cannot (see docs/sandbox.md): an approved invoice becomes voided."""
    invoice = tx.get("invoice", invoice_id)
    if invoice is not None and invoice["state"] == "approved" and not invoice["isPaid"]:
        tx.put("invoice", {**invoice, "state": "voided", "dueDate": None, "isPaid": False})
