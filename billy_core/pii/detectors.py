"""Detectors of personal values in free text.

Each detector yields :class:`Finding` spans with a normalised value (the value that is
hashed, so ``Jens@Example.dk`` and ``jens@example.dk`` correlate). :func:`detect` runs them
all and keeps non-overlapping spans: earliest first, then longest, then by detector order.
Markers this package wrote (``[email:3f9a1c2b7d]``) are protected, so redaction is idempotent.

Shapes (``_L``/``_R`` forbid a word character or a decimal point next to the number):

- ``email``: ``local@domain.tld``.
- ``iban``: a country code, two check digits and the BBAN, with or without spaces in groups
  of four; valid only if ``stdnum.iban`` accepts it (mod 97 and the country's structure).
- ``bank``: a Danish reg. no (4 digits) and account (6 to 10 digits): ``1234-1234567890``,
  ``reg. 1234 konto 12345678``, ``reg.nr. 1234 / 0012345678``, or ``kontonr. 12345678`` alone.
- ``card``: 13 to 19 digits, contiguous or in groups split by single spaces or dashes, that
  pass Luhn (``stdnum.luhn``) and do not start with 0; not after ``EAN``/``GLN`` or after an
  IBAN's country code and check digits (an invalid IBAN stays readable).
- ``cpr``: ``DDMMYY-XXXX`` or ``DDMMYYXXXX`` whose date part is a real date
  (``stdnum.dk.cpr.get_birth_date``); no mod-11 check, which CPR numbers since 2007 may fail.
- ``phone``: a Danish number (first digit 2-9) only in a phone shape: after ``+45``/``0045``;
  as four pairs with one separator (``20 12 34 56``, ``20-12-34-56``) unless a CVR/SE/VAT/moms
  word or a ``DK`` prefix comes just before; or, any 8-digit shape (``20123456``,
  ``2012 3456``), right after tel/tlf/telefon/phone/mobil/mob/ring/sms/fax with no digits and no
  CVR word between. A bare 8-digit number is never a phone: it is most often a CVR number.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from typing import NamedTuple

from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.dk import cpr as _cpr
from stdnum.exceptions import ValidationError

KINDS = ("email", "phone", "cpr", "iban", "bank", "card", "name", "address", "secret")
"""Marker kinds: the detectors' and those of personal fields (see ``fields``)."""

HASH_CHARS = 10
MARKER = re.compile(rf"\[(?:{'|'.join(KINDS)}):[0-9a-f]{{{HASH_CHARS}}}\]")


class Finding(NamedTuple):
    kind: str
    start: int
    end: int
    value: str
    """The normalised value; what is hashed."""


_L = r"(?<!\w)(?<!\d[.,])"
_R = r"(?!\w)(?![.,]\d)"

_EMAIL = re.compile(r"[\w.%+-]{1,64}@(?:[\w-]{1,63}\.){1,8}[^\W\d_]{2,63}(?![\w-])")
_IBAN = re.compile(r"(?<!\w)[A-Z]{2}\d\d(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{1,4}){3,8})(?!\w)", re.I)
_ACCOUNT = rf"(?<!\w)(?P<acct>\d{{6,10}}){_R}"
_BANK_BARE = re.compile(rf"{_L}(?P<reg>\d{{4}})-{_ACCOUNT}")
_BANK_REG = re.compile(
    r"(?i)\breg(?:istrerings)?\.?\s?(?:nr|nummer)?\.?(?![a-zæøå])\s?:?\s{0,3}(?P<reg>\d{4})(?:\s{0,3}[/,-]\s{0,3}|\s{1,3})"
    rf"(?:(?:konto|kto|account)(?:nummer|nr|no)?\.?\s?:?\s{{0,3}})?{_ACCOUNT}"
)
_BANK_ACCOUNT = re.compile(rf"(?i)\b(?:konto|kto)(?:nummer|nr)?\.?\s?:?\s{{0,3}}{_ACCOUNT}")
_DIGIT_RUN = re.compile(rf"{_L}\d+(?:[ -]\d+)*{_R}")
_DIGITS = re.compile(r"\d+")
_CPR = re.compile(rf"{_L}(\d{{6}})-?(\d{{4}}){_R}")
_PHONE_NUMBER = r"[2-9]\d{7}|[2-9]\d(?:[ .-]\d\d){3}|[2-9]\d{3}[ .-]\d{4}"
_PHONE_PREFIXED = re.compile(rf"(?<![\w+])(?:\+|00)45[ .-]?(?:\(0\)\s?)?(?:{_PHONE_NUMBER}){_R}")
_PHONE_PAIRS = re.compile(rf"{_L}[2-9]\d([ .-])\d\d\1\d\d\1\d\d{_R}")
_PHONE_WORD = re.compile(
    r"(?i)\b(?:tlf|tel|telefon\w*|phone|mobil\w*|mob|ring(?:e|er)?|sms|fax)\b(?P<gap>[^\d\n+]{0,20}?)"
    rf"(?P<num>{_PHONE_NUMBER}){_R}"
)
_CVR_WORD = re.compile(r"(?i)\b(?:cvr|se-?nr|vat|moms)")
_DK_PREFIX = re.compile(r"\bDK[ -]?$")
_NOT_A_CARD = re.compile(r"(?i)\b(?:ean|gln)\b\W*$|(?<!\w)[A-Z]{2}\d\d[ -]?$")
_NOT_DIGITS = re.compile(r"\D+")


def _digits(text: str) -> str:
    return _NOT_DIGITS.sub("", text)


def _text_before(text: str, start: int) -> str:
    """What precedes ``start`` back to the previous digit (at most 24 characters)."""
    before = text[max(0, start - 24) : start]
    return _DIGITS.split(before)[-1]


def _emails(text: str) -> Iterator[Finding]:
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield Finding("email", m.start(), m.end(), m.group().lower())


_IBAN_LETTERS = {ord(letter): str(value) for value, letter in enumerate(string.ascii_uppercase, 10)}


def _mod97(candidate: str) -> bool:
    """The IBAN checksum alone: a cheap test before ``stdnum.iban`` checks the structure."""
    number = (candidate[4:] + candidate[:4]).translate(_IBAN_LETTERS)
    return number.isdecimal() and number.isascii() and int(number) % 97 == 1


def _ibans(text: str) -> Iterator[Finding]:
    position = 0
    while m := _IBAN.search(text, position):
        position = m.start() + 1
        parts = m.group().split(" ")
        for count in range(len(parts), 0, -1):  # the match may run on into the next words
            candidate = "".join(parts[:count]).upper()
            if len(candidate) >= 15 and _mod97(candidate) and _iban.is_valid(candidate):
                position = m.start() + len(" ".join(parts[:count]))
                yield Finding("iban", m.start(), position, candidate)
                break


def _banks(text: str) -> Iterator[Finding]:
    for pattern in (_BANK_BARE, _BANK_REG, _BANK_ACCOUNT):
        for m in pattern.finditer(text):
            reg = m.groupdict().get("reg") or ""
            start = m.start("reg") if reg else m.start("acct")
            yield Finding("bank", start, m.end(), f"{reg}-{m['acct']:0>10}")


def _cards(text: str) -> Iterator[Finding]:
    for run in _DIGIT_RUN.finditer(text):
        if len(run.group()) < 13:
            continue
        groups = list(_DIGITS.finditer(run.group()))
        first = 0
        while first < len(groups):
            best: tuple[int, str] | None = None
            digits = ""
            for last in range(first, len(groups)):
                digits += groups[last].group()
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _luhn.is_valid(digits):
                    best = (last, digits)
            start = run.start() + groups[first].start()
            if best is None or text[start] == "0" or _NOT_A_CARD.search(text[max(0, start - 24) : start]):
                first += 1
                continue
            last, digits = best
            yield Finding("card", start, run.start() + groups[last].end(), digits)
            first = last + 1


def _cprs(text: str) -> Iterator[Finding]:
    for m in _CPR.finditer(text):
        number = m.group(1) + m.group(2)
        try:
            _cpr.get_birth_date(number)
        except ValidationError:
            continue
        yield Finding("cpr", m.start(), m.end(), number)


def _phone(m: re.Match[str], group: int | str = 0) -> Finding:
    return Finding("phone", m.start(group), m.end(group), _digits(m.group(group))[-8:])


def _phones(text: str) -> Iterator[Finding]:
    for m in _PHONE_PREFIXED.finditer(text):
        yield _phone(m)
    for m in _PHONE_PAIRS.finditer(text):
        before = _text_before(text, m.start())
        if not (_CVR_WORD.search(before) or _DK_PREFIX.search(before)):
            yield _phone(m)
    for m in _PHONE_WORD.finditer(text):
        if not _CVR_WORD.search(m["gap"]):
            yield _phone(m, "num")


def _markers(text: str) -> Iterator[Finding]:
    if "[" in text:
        for m in MARKER.finditer(text):
            yield Finding("", m.start(), m.end(), "")


_NUMBER_DETECTORS: tuple[Callable[[str], Iterator[Finding]], ...] = (_banks, _cards, _cprs, _phones)
_PRIORITY = {kind: rank for rank, kind in enumerate(("", "email", "iban", "bank", "card", "cpr", "phone"))}
_NUMBER = re.compile(r"(?<!\w)\d(?:[ .-]?\d){5}")
"""Each number detector but the IBAN's needs this: 6 digits, single separators, not after a letter."""
_IBAN_START = re.compile(r"(?<!\w)[A-Z]{2}\d\d", re.I)
_TRIGGER = re.compile(r"[\d@]")


def detect(text: str) -> list[Finding]:
    """The personal values in ``text``, in order and not overlapping (markers excluded)."""
    if not _TRIGGER.search(text):
        return []
    numbers = _NUMBER.search(text) is not None
    ibans = _IBAN_START.search(text) is not None
    if not (numbers or ibans or "@" in text):
        return []
    found = [*_markers(text), *_emails(text)]
    if ibans:
        found.extend(_ibans(text))
    if numbers:
        for detector in _NUMBER_DETECTORS:
            found.extend(detector(text))
    found.sort(key=lambda f: (f.start, f.start - f.end, _PRIORITY[f.kind]))
    kept: list[Finding] = []
    end = 0
    for finding in found:
        if finding.start >= end:
            kept.append(finding)
            end = finding.end
    return [finding for finding in kept if finding.kind]
