"""Danish identifier check digits: CVR (mod 11), EAN/GLN (GS1 mod 10), Luhn, IBAN (mod 97)."""

from __future__ import annotations

CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def cvr_valid(number: str) -> bool:
    if len(number) != 8 or not number.isdigit() or number[0] == "0":
        return False
    return sum(int(d) * w for d, w in zip(number, CVR_WEIGHTS, strict=True)) % 11 == 0


def cvr_check_digit(first_seven: str) -> int | None:
    """The eighth digit for seven leading digits, or None when no valid CVR starts with them."""
    remainder = sum(int(d) * w for d, w in zip(first_seven, CVR_WEIGHTS[:7], strict=True)) % 11
    if remainder == 0:
        return 0
    return None if remainder == 1 else 11 - remainder


def gs1_check_digit(data: str) -> int:
    """Weights 3,1,3,1,... from the rightmost data digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(data)))
    return (10 - total % 10) % 10


def ean_valid(number: str) -> bool:
    return len(number) == 13 and number.isdigit() and gs1_check_digit(number[:-1]) == int(number[-1])


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2 == 1:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return len(digits) >= 12 and total % 10 == 0


def luhn_check_digit(partial: str) -> int:
    for digit in range(10):
        if luhn_valid(partial + str(digit)):
            return digit
    raise AssertionError("unreachable")


def _iban_number(iban: str) -> int:
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged))


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    return len(compact) >= 15 and compact[:2].isalpha() and _iban_number(compact) % 97 == 1


def iban_for(country: str, bban: str) -> str:
    """A grouped IBAN ("DK50 0040 0440 1162 43") for a country and its basic bank account number."""
    check = 98 - _iban_number(f"{country}00{bban}") % 97
    compact = f"{country}{check:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
