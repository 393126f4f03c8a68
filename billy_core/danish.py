"""Danish identifiers and date formats: CVR, EAN (GLN), EU VAT numbers, dates on documents.

python-stdnum does the normalising and the arithmetic; the explanations of a failure are ours, so a
tool can tell a person what is wrong in plain words. See danish-rules.md A4.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stdnum import ean as stdnum_ean
from stdnum import exceptions as stdnum_errors
from stdnum.dk import cvr as stdnum_cvr
from stdnum.eu import vat as stdnum_eu_vat

MONTHS_DA = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)

# Public-sector location numbers for NemHandel/OIOUBL are issued under GS1 Denmark's 579 prefix.
DANISH_PUBLIC_EAN_PREFIX = "579"


@dataclass(frozen=True)
class IdentifierCheck:
    """The verdict on one identifier: whether it is well-formed, the normalised number, and why not."""

    kind: str
    number: str
    valid: bool
    reason: str | None = None


def _passed(kind: str, number: str) -> IdentifierCheck:
    return IdentifierCheck(kind, number, valid=True)


def _failed(kind: str, number: str, reason: str) -> IdentifierCheck:
    return IdentifierCheck(kind, number, valid=False, reason=reason)


def _digits_problem(kind: str, number: str, length: int) -> str | None:
    if not number:
        return f"no {kind} number was given"
    if not number.isdigit():
        return f"{kind} numbers have only digits"
    if len(number) != length:
        return f"{kind} numbers have {length} digits; this has {len(number)}"
    return None


def validate_cvr(text: str) -> IdentifierCheck:
    """Check a CVR (or SE) number: 8 digits, not starting with 0, mod-11 with weights 2,7,6,5,4,3,2,1.

    Spaces, dashes and a ``DK`` prefix are accepted. A valid number is only well-formed: whether the
    company exists is for the CVR register or VIES to say.
    """
    number = stdnum_cvr.compact(text)
    problem = _digits_problem("CVR", number, 8)
    if problem:
        return _failed("CVR", number, problem)
    if number.startswith("0"):
        return _failed("CVR", number, "CVR numbers never start with 0")
    if stdnum_cvr.checksum(number) != 0:
        return _failed("CVR", number, "the check digit does not match (mod 11)")
    return _passed("CVR", number)


def validate_ean(text: str) -> IdentifierCheck:
    """Check an EAN/GLN location number: 13 digits whose last is the GS1 mod-10 check digit."""
    number = stdnum_ean.compact(text)
    problem = _digits_problem("EAN", number, 13)
    if problem:
        return _failed("EAN", number, problem)
    if stdnum_ean.calc_check_digit(number[:-1]) != number[-1]:
        return _failed("EAN", number, "the check digit does not match (GS1 mod 10)")
    return _passed("EAN", number)


def is_danish_public_ean(text: str) -> bool:
    """Whether this is a valid EAN of the kind Danish public authorities use (prefix 579)."""
    check = validate_ean(text)
    return check.valid and check.number.startswith(DANISH_PUBLIC_EAN_PREFIX)


def _eu_vat_reason(error: stdnum_errors.ValidationError, country: str) -> str:
    if isinstance(error, stdnum_errors.InvalidComponent):
        return "it does not start with the code of an EU country (such as DK, DE or SE)"
    if isinstance(error, stdnum_errors.InvalidLength):
        return f"it has the wrong number of characters for a {country} VAT number"
    if isinstance(error, stdnum_errors.InvalidChecksum):
        return f"the check digit does not match ({country} rule)"
    return f"it is not in the format of a {country} VAT number"


def validate_eu_vat(text: str) -> IdentifierCheck:
    """Check an EU VAT number (country prefix + national number) by that country's own rule.

    Only the form is checked, offline; VIES says whether the number is registered.
    """
    number = "".join(text.split()).upper()
    if not number:
        return _failed("EU VAT", number, "no EU VAT number was given")
    country = number[:2]
    try:
        return _passed("EU VAT", stdnum_eu_vat.validate(number))
    except stdnum_errors.ValidationError as error:
        return _failed("EU VAT", number, _eu_vat_reason(error, country))


def format_date_da(day: date) -> str:
    """The numeric date on Danish documents: ``27.11.2026``."""
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def format_date_da_long(day: date) -> str:
    """The written-out Danish date: ``27. november 2026``."""
    return f"{day.day}. {MONTHS_DA[day.month - 1]} {day.year}"
