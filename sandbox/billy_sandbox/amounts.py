"""Billy's invoice arithmetic (billysbilling/invoice-total.js): Decimal, half-up, tax rounded once."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(
    quantity: Decimal, unit_price: Decimal, discount_mode: str | None, discount_value: Decimal | None
) -> Decimal:
    """round2(qty x unitPrice), then the discount (a percentage such as 25, or a cash amount)."""
    amount = round2(quantity * unit_price)
    if discount_mode == "percentage_discount" and discount_value:
        return round2(amount * (1 - discount_value / HUNDRED))
    if discount_mode == "cash_discount" and discount_value:
        return round2(amount - discount_value)
    return amount


def line_tax(amount: Decimal, rate: Decimal, tax_mode: str) -> Decimal:
    """Unrounded: `amount*rate` when amounts exclude VAT, `amount*rate/(1+rate)` when they include it."""
    if tax_mode == "incl":
        return amount * rate / (1 + rate)
    return amount * rate


@dataclass(frozen=True)
class Totals:
    amount: Decimal  # net
    tax: Decimal
    gross: Decimal


def totals(lines: Iterable[tuple[Decimal, Decimal]], tax_mode: str) -> Totals:
    """Document totals from (line amount, unrounded line tax) pairs; the tax is rounded once."""
    amount_sum = ZERO
    tax_sum = ZERO
    for amount, tax in lines:
        amount_sum += amount
        tax_sum += tax
    tax = round2(tax_sum)
    net = amount_sum - tax if tax_mode == "incl" else amount_sum
    net = round2(net)
    return Totals(net, tax, net + tax)


def end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def due_date(entry_date: str, mode: str | None, days: int | None, explicit: str | None) -> str | None:
    """net: entry + N days; netEndOfMonth: end of the entry month + N; date: the given due date."""
    if mode == "date":
        return explicit
    start = dt.date.fromisoformat(entry_date)
    if mode == "netEndOfMonth":
        start = end_of_month(start)
    return (start + dt.timedelta(days=days or 0)).isoformat()
