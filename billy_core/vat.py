"""Billy's invoice-total algorithm (billy-api-v2.md §2.5 "Amounts and VAT", source ITOTAL).

Each line amount is rounded to øre, each line's VAT is kept unrounded, and the invoice VAT is rounded
once. Rounding each line's VAT instead can give a different total; ``InvoiceTotals`` carries both so a
tool can show where Billy's figure comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from billy_core.money import round2, to_decimal

TaxMode = Literal["excl", "incl"]
# Billy's wire values are percentage_discount / cash_discount; the percentage is in percent (25 = 25 %).
DiscountMode = Literal["percent", "cash"]

STANDARD_RATE = Decimal("0.25")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class InvoiceLine:
    """One invoice line. ``rate`` is a fraction (0.25 for 25 %); None takes the invoice's default."""

    quantity: Decimal
    unit_price: Decimal
    rate: Decimal | None = None
    discount_mode: DiscountMode | None = None
    discount_value: Decimal = ZERO

    def __post_init__(self) -> None:
        # Accept str/int/Decimal from callers, refuse floats (to_decimal raises NotMoneyError).
        for name in ("quantity", "unit_price", "discount_value"):
            object.__setattr__(self, name, to_decimal(getattr(self, name)))
        if self.rate is not None:
            object.__setattr__(self, "rate", _checked_rate(to_decimal(self.rate)))


@dataclass(frozen=True)
class LineTotals:
    amount: Decimal
    rate: Decimal
    tax: Decimal
    """Unrounded, as Billy keeps it."""
    tax_display: Decimal
    """round2(tax): what the line shows, not what the invoice adds up."""


@dataclass(frozen=True)
class InvoiceTotals:
    tax_mode: TaxMode
    lines: tuple[LineTotals, ...]
    net: Decimal
    tax: Decimal
    gross: Decimal
    tax_rounded_per_line: Decimal
    """Σ round2(line tax): the VAT had each line been rounded on its own (not Billy's figure)."""

    @property
    def rounding_difference(self) -> Decimal:
        """How much per-line rounding would change the VAT (per-line minus Billy's per-invoice)."""
        return self.tax_rounded_per_line - self.tax


def _checked_rate(rate: Decimal) -> Decimal:
    if not ZERO <= rate <= 1:
        raise ValueError(f"a VAT rate is a fraction between 0 and 1 (0.25 for 25 %), not {rate}")
    return rate


def line_amount(line: InvoiceLine) -> Decimal:
    """round2(quantity × unit price), then the discount, rounded again."""
    amount = round2(line.quantity * line.unit_price)
    if line.discount_mode == "percent":
        return round2(amount * (1 - line.discount_value / HUNDRED))
    if line.discount_mode == "cash":
        return round2(amount - line.discount_value)
    return amount


def line_tax(amount: Decimal, rate: Decimal, tax_mode: TaxMode) -> Decimal:
    """A line's VAT, unrounded: on top of the amount (excl) or contained in it (incl)."""
    if tax_mode == "incl":
        return amount * rate / (1 + rate)
    return amount * rate


def _line_totals(line: InvoiceLine, tax_mode: TaxMode, default_rate: Decimal) -> LineTotals:
    rate = default_rate if line.rate is None else line.rate
    amount = line_amount(line)
    tax = line_tax(amount, rate, tax_mode)
    return LineTotals(amount=amount, rate=rate, tax=tax, tax_display=round2(tax))


def calculate_invoice(
    lines: Iterable[InvoiceLine], tax_mode: TaxMode, default_rate: Decimal = STANDARD_RATE
) -> InvoiceTotals:
    """An invoice's net, VAT and gross exactly as Billy computes them.

    In ``excl`` mode line amounts are net; in ``incl`` mode they include VAT and the net is what is
    left after taking the (once-rounded) VAT out.
    """
    if tax_mode not in ("excl", "incl"):
        raise ValueError(f"tax mode is 'excl' or 'incl', not {tax_mode!r}")
    rate = _checked_rate(to_decimal(default_rate))
    results = tuple(_line_totals(line, tax_mode, rate) for line in lines)
    if not results:
        raise ValueError("an invoice has at least one line")
    amounts = sum((result.amount for result in results), ZERO)
    tax = round2(sum((result.tax for result in results), ZERO))
    net = amounts - tax if tax_mode == "incl" else amounts
    return InvoiceTotals(
        tax_mode=tax_mode,
        lines=results,
        net=net,
        tax=tax,
        gross=net + tax,
        tax_rounded_per_line=sum((result.tax_display for result in results), ZERO),
    )
