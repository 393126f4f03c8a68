"""Balances: payments and credit notes are balanceModifiers that reduce a document's outstanding gross."""

from __future__ import annotations

from decimal import Decimal

from billy_sandbox.errors import invalid
from billy_sandbox.schema import Record
from billy_sandbox.store import Tx

ZERO = Decimal(0)


def reference(name: str, record_id: str) -> str:
    return f"{name}:{record_id}"


def _live_sum(tx: Tx, field: str, ref: str) -> Decimal:
    return sum(
        (m["amount"] for m in tx.find("balanceModifier", field, ref) if not m["isVoided"]),
        ZERO,
    )


def refresh_balance(tx: Tx, name: str, document: Record) -> Record:
    """balance = grossAmount - what settled it (as subject) - what it settled (as a credit note)."""
    ref = reference(name, document["id"])
    balance = (
        document["grossAmount"]
        - _live_sum(tx, "subjectReference", ref)
        - _live_sum(tx, "modifierReference", ref)
    )
    is_paid = document["state"] == "approved" and balance == 0
    if balance != document["balance"] or is_paid != document["isPaid"]:
        document = tx.put(name, {**document, "balance": balance, "isPaid": is_paid})
    return document


def add_modifier(tx: Tx, modifier_ref: str, subject_ref: str, amount: Decimal, entry_date: str) -> Record:
    return tx.put(
        "balanceModifier",
        {
            "id": tx.new_id(),
            "organizationId": tx.org_id,
            "modifierReference": modifier_ref,
            "subjectReference": subject_ref,
            "amount": amount,
            "entryDate": entry_date,
            "realizedCurrencyDifference": ZERO,
            "isVoided": False,
        },
    )


def apply_credit_note(tx: Tx, name: str, note: Record, credited_field: str) -> None:
    """An approved credit note settles the document it credits, up to that document's balance.

    Whatever exceeds the balance (the original was already paid) stays as the credit note's own
    balance: money owed back to the customer, settled by a refund payment.
    """
    original = tx.get(name, note[credited_field])
    if original is None or original["state"] != "approved" or original["type"] == "credit_note":
        raise invalid(
            f"A credit note must credit an approved {name}.",
            {credited_field: f"is not an approved {name}"},
            name,
        )
    credited = sum(
        (
            other["grossAmount"]
            for other in tx.find(name, credited_field, original["id"])
            if other["state"] == "approved" and other["id"] != note["id"]
        ),
        ZERO,
    )
    if credited + note["grossAmount"] > original["grossAmount"]:
        raise invalid(
            f"Credit notes would exceed the credited {name}'s gross amount ({original['grossAmount']}).",
            {"lines": "credits more than the original"},
            name,
        )
    amount = min(note["grossAmount"], original["balance"])
    if amount > 0:
        add_modifier(
            tx, reference(name, note["id"]), reference(name, original["id"]), amount, note["entryDate"]
        )
    refresh_balance(tx, name, original)
    refresh_balance(tx, name, tx.get(name, note["id"]) or note)


def check_credit_target(tx: Tx, name: str, record: Record, credited_field: str) -> None:
    credited_id = record.get(credited_field)
    if credited_id is None:
        return
    if record["type"] != "credit_note":
        raise invalid(
            f"Only credit notes can credit another {name}.", {credited_field: "only for credit notes"}, name
        )
    original = tx.get(name, credited_id)
    if original is None:
        return  # the generic reference check reports it
    problems = {
        "contactId": original["contactId"] != record["contactId"],
        "currencyId": original["currencyId"] != record["currencyId"],
    }
    wrong = {k: f"must equal the credited {name}'s" for k, bad in problems.items() if bad}
    if wrong:
        raise invalid(f"A credit note must have the credited {name}'s contact and currency.", wrong, name)
