"""CVR, EAN and EU VAT checks, and Danish date and amount formatting (danish-rules.md A4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billy_core.danish import (
    format_date_da,
    format_date_da_long,
    is_danish_public_ean,
    validate_cvr,
    validate_ean,
    validate_eu_vat,
)
from billy_core.money import NotMoneyError, format_dkk, money, round2

# Erhvervsstyrelsen's worked example. Weights 2,7,6,5,4,3,2,1 over 1 3 7 4 8 1 3 6:
# 2 + 21 + 42 + 20 + 32 + 3 + 6 + 6 = 132 = 12 × 11, so the sum is 0 mod 11.
VALID_CVR = "13748136"


@pytest.mark.parametrize("text", ["13748136", "DK13748136", "dk 13 74 81 36", " 1374-8136 "])
def test_valid_cvr_in_any_common_spelling_normalises_to_eight_digits(text):
    check = validate_cvr(text)
    assert check.valid and check.reason is None
    assert check.number == VALID_CVR


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # 6 + 35 + 12 + 25 + 16 + 3 + 2 + 9 = 108, and 108 mod 11 = 9 (a third-party site calls it valid)
        ("35254119", "the check digit does not match (mod 11)"),
        ("13748137", "the check digit does not match (mod 11)"),
        # 0×2 + 1×7 + 4×1 = 11 passes mod 11, but no CVR number starts with 0
        ("01000004", "CVR numbers never start with 0"),
        ("1374813", "CVR numbers have 8 digits; this has 7"),
        ("137481360", "CVR numbers have 8 digits; this has 9"),
        ("1374813X", "CVR numbers have only digits"),
        ("", "no CVR number was given"),
    ],
)
def test_invalid_cvr_says_why(text, reason):
    check = validate_cvr(text)
    assert not check.valid
    assert check.reason == reason


def test_another_hand_computed_cvr_is_valid():
    # 1×2 = 2, so the check digit must bring the sum to 11: 2 + 9 = 11.
    assert validate_cvr("10000009").valid


# Danish public-sector EANs. 5798000880016: from the right, data digits 1,0,0,8,8,0,0,0,8,9,7,5
# weighted 3,1,3,1,...: 3+0+0+8+24+0+0+0+24+9+21+5 = 94, check (10 - 4) mod 10 = 6.
# 5798000554504: 0+5+12+5+15+0+0+0+24+9+21+5 = 96, check 4.
@pytest.mark.parametrize("text", ["5798000880016", "5798000554504", "5798 0008 8001 6"])
def test_valid_ean(text):
    check = validate_ean(text)
    assert check.valid
    assert check.number == text.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("5798000880017", "the check digit does not match (GS1 mod 10)"),
        ("579800088001", "EAN numbers have 13 digits; this has 12"),
        ("57980008800A6", "EAN numbers have only digits"),
    ],
)
def test_invalid_ean_says_why(text, reason):
    check = validate_ean(text)
    assert not check.valid and check.reason == reason


def test_danish_public_ean_needs_the_579_prefix_and_a_valid_check_digit():
    assert is_danish_public_ean("5798000880016")
    assert not is_danish_public_ean("5798000880017")
    # 4006381333931 is a valid EAN-13, but German, not a Danish authority
    assert validate_ean("4006381333931").valid
    assert not is_danish_public_ean("4006381333931")


def test_valid_eu_vat_numbers_are_normalised_with_their_country_prefix():
    assert validate_eu_vat("dk 13 74 81 36").number == "DK13748136"
    assert validate_eu_vat("DK13748136").valid
    # Finland: weights 7,9,10,5,8,4,2 over 1234567 give 153; 153 mod 11 = 10, check 11 - 10 = 1
    assert validate_eu_vat("FI12345671").valid


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("DK13748137", "the check digit does not match (DK rule)"),
        ("FI12345672", "the check digit does not match (FI rule)"),
        ("DK1374813", "it has the wrong number of characters for a DK VAT number"),
        ("XX13748136", "it does not start with the code of an EU country (such as DK, DE or SE)"),
        ("13748136", "it does not start with the code of an EU country (such as DK, DE or SE)"),
        ("  ", "no EU VAT number was given"),
    ],
)
def test_invalid_eu_vat_says_why(text, reason):
    check = validate_eu_vat(text)
    assert not check.valid and check.reason == reason


def test_dates_on_danish_documents():
    assert format_date_da(date(2026, 11, 27)) == "27.11.2026"
    assert format_date_da(date(2026, 3, 5)) == "05.03.2026"
    assert format_date_da_long(date(2026, 11, 27)) == "27. november 2026"
    assert format_date_da_long(date(2026, 3, 5)) == "5. marts 2026"
    assert format_date_da_long(date(2025, 5, 1)) == "1. maj 2025"


def _read_danish_amount(text: str) -> Decimal:
    return Decimal(text.removesuffix(" kr.").replace(".", "").replace(",", "."))


@given(st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=4))
def test_danish_amount_formatting_reads_back_as_the_rounded_amount(amount):
    text = format_dkk(amount)
    assert text.endswith(" kr.")
    assert _read_danish_amount(text) == round2(amount)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("375"), "375.00"),
        (Decimal("2.675"), "2.68"),  # half up, as Billy rounds
        (Decimal("-0.005"), "-0.01"),
        (Decimal("-0.004"), "0.00"),  # no negative zero
        (Decimal("-0"), "0.00"),
        (Decimal("1E+3"), "1000.00"),
        (1234, "1234.00"),
        ("12.5", "12.50"),
    ],
)
def test_money_is_a_two_decimal_string_rounded_half_up(value, expected):
    assert money(value) == expected


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9))
def test_money_from_a_decimal_equals_money_from_its_text(amount):
    assert money(amount) == money(str(amount))


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), 1.5, True, "abc"])
def test_money_refuses_what_is_not_an_exact_finite_amount(value):
    with pytest.raises(NotMoneyError):
        money(value)
