"""Money as Decimal: rounding, two-decimal strings and Danish formatting."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ONE = Decimal("1")


class NotMoneyError(ValueError):
    """A value that cannot be read as an amount of money."""


def to_decimal(value: object) -> Decimal:
    """Read an int, str or Decimal as Decimal; floats are refused (they are not exact)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise NotMoneyError(f"{value!r} is not a finite number")
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise NotMoneyError(f"{value!r} is not an exact amount; pass a string or Decimal")
    if isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise NotMoneyError(f"{value!r} is not a number") from exc
        if not result.is_finite():
            raise NotMoneyError(f"{value!r} is not a finite number")
        return result
    raise NotMoneyError(f"{value!r} is not a number")


def round2(value: Decimal) -> Decimal:
    """Round half-up to øre, as Billy does."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: object) -> str:
    """The two-decimal string used for money in every tool result: ``"375.00"``."""
    if type(value) is Decimal and value.is_finite():  # Billy's amounts, parsed: the common case
        cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        cents = round2(to_decimal(value))
    if cents.is_signed() and not cents:  # -0.004 rounds to -0.00: money has no negative zero
        cents = cents.copy_abs()
    return str(cents)


def whole_kroner(value: object) -> str:
    """Whole kroner with øre cut off (not rounded), as the VAT return wants: ``"12345.00"``."""
    amount = to_decimal(value).quantize(ONE, rounding=ROUND_DOWN)
    return str(amount.quantize(CENT))


def format_dkk(value: object, *, symbol: bool = True) -> str:
    """Danish formatting: ``1234.5`` -> ``"1.234,50 kr."`` (thousands '.', decimal ',')."""
    amount = round2(to_decimal(value))
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = f"{sign}{'.'.join(groups)},{cents}"
    return f"{text} kr." if symbol else text
