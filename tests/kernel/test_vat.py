"""Billy's invoice totals: line amounts rounded, line VAT unrounded, invoice VAT rounded once.

Every expected figure below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billy_core.money import NotMoneyError
from billy_core.vat import InvoiceLine, calculate_invoice

D = Decimal


def test_excl_300_gives_75_vat_and_375_gross():
    totals = calculate_invoice([InvoiceLine(D("1"), D("300"))], "excl")
    assert (totals.net, totals.tax, totals.gross) == (D("300.00"), D("75.00"), D("375.00"))


def test_incl_123_contains_24_60_vat():
    # 123 × 0.25 / 1.25 = 24.6; net 123 - 24.60 = 98.40
    totals = calculate_invoice([InvoiceLine(D("1"), D("123"))], "incl")
    assert (totals.net, totals.tax, totals.gross) == (D("98.40"), D("24.60"), D("123.00"))
    assert totals.lines[0].amount == D("123.00")


def test_incl_capture_from_billy_468_gross():
    # Billy's own capture: a draft incl-mode invoice of 468 has amount 374.4 and tax 93.6 (468 / 5)
    totals = calculate_invoice([InvoiceLine(D("2"), D("234"))], "incl")
    assert (totals.net, totals.tax, totals.gross) == (D("374.40"), D("93.60"), D("468.00"))


def test_three_lines_of_ten_oere_round_differently_per_line_and_per_invoice():
    # each line: 0.10 × 0.25 = 0.025 VAT. Per line round2(0.025) = 0.03, three of them 0.09.
    # Billy: round2(0.025 + 0.025 + 0.025) = round2(0.075) = 0.08. Gross 0.30 + 0.08 = 0.38.
    totals = calculate_invoice([InvoiceLine(D("1"), D("0.10"))] * 3, "excl")
    assert [line.tax for line in totals.lines] == [D("0.025")] * 3
    assert [line.tax_display for line in totals.lines] == [D("0.03")] * 3
    assert totals.tax == D("0.08")
    assert totals.tax_rounded_per_line == D("0.09")
    assert totals.rounding_difference == D("0.01")
    assert (totals.net, totals.gross) == (D("0.30"), D("0.38"))


def test_incl_lines_where_rounding_differs():
    # each line 0.03 incl: 0.03 × 0.25 / 1.25 = 0.006 VAT. Per line 0.01 × 3 = 0.03;
    # Billy round2(0.018) = 0.02. Net 0.09 - 0.02 = 0.07.
    totals = calculate_invoice([InvoiceLine(D("1"), D("0.03"))] * 3, "incl")
    assert (totals.net, totals.tax, totals.gross) == (D("0.07"), D("0.02"), D("0.09"))
    assert totals.tax_rounded_per_line == D("0.03")


def test_percentage_discount():
    # 3 × 19.99 = 59.97; less 10 %: 59.97 × 0.9 = 53.973 -> 53.97. VAT 53.97 × 0.25 = 13.4925 -> 13.49.
    line = InvoiceLine(D("3"), D("19.99"), discount_mode="percent", discount_value=D("10"))
    totals = calculate_invoice([line], "excl")
    assert totals.lines[0].amount == D("53.97")
    assert totals.lines[0].tax == D("13.4925")
    assert (totals.net, totals.tax, totals.gross) == (D("53.97"), D("13.49"), D("67.46"))


def test_cash_discount():
    # 2 × 250 = 500, less 50 = 450; VAT 112.50; gross 562.50
    line = InvoiceLine(D("2"), D("250"), discount_mode="cash", discount_value=D("50"))
    totals = calculate_invoice([line], "excl")
    assert (totals.net, totals.tax, totals.gross) == (D("450.00"), D("112.50"), D("562.50"))


def test_line_amount_rounds_half_up_not_half_even():
    # 3 × 0.335 = 1.005 -> 1.01 (half-even would give 1.00). VAT 1.01 × 0.25 = 0.2525 -> 0.25.
    totals = calculate_invoice([InvoiceLine(D("3"), D("0.335"))], "excl")
    assert totals.lines[0].amount == D("1.01")
    assert (totals.tax, totals.gross) == (D("0.25"), D("1.26"))


def test_zero_rated_line_beside_a_standard_line():
    # 100 at 25 % gives 25.00; 100 at 0 % (e.g. an EU supply) gives nothing
    lines = [InvoiceLine(D("1"), D("100")), InvoiceLine(D("1"), D("100"), rate=D("0"))]
    totals = calculate_invoice(lines, "excl")
    assert (totals.net, totals.tax, totals.gross) == (D("200.00"), D("25.00"), D("225.00"))
    assert [line.rate for line in totals.lines] == [D("0.25"), D("0")]


def test_default_rate_applies_to_lines_without_their_own():
    # 80 at a default of 0 %: no VAT
    totals = calculate_invoice([InvoiceLine(D("1"), D("80"))], "excl", default_rate=D("0"))
    assert (totals.tax, totals.gross) == (D("0.00"), D("80.00"))


def test_credit_note_lines_round_symmetrically():
    # -0.10 × 3 lines: each -0.025 VAT; Billy round2(-0.075) = -0.08 (half away from zero)
    totals = calculate_invoice([InvoiceLine(D("-1"), D("0.10"))] * 3, "excl")
    assert (totals.net, totals.tax, totals.gross) == (D("-0.30"), D("-0.08"), D("-0.38"))


def test_values_given_as_text_are_read_exactly_and_floats_refused():
    assert InvoiceLine("2", "19.99").unit_price == D("19.99")  # type: ignore[arg-type]
    with pytest.raises(NotMoneyError):
        InvoiceLine(D("1"), 19.99)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [D("25"), D("-0.25")])
def test_rate_must_be_a_fraction(rate):
    with pytest.raises(ValueError, match="a VAT rate is a fraction between 0 and 1"):
        InvoiceLine(D("1"), D("100"), rate=rate)


def test_invoice_needs_lines_and_a_known_tax_mode():
    with pytest.raises(ValueError, match="an invoice has at least one line"):
        calculate_invoice([], "excl")
    with pytest.raises(ValueError, match="tax mode is 'excl' or 'incl'"):
        calculate_invoice([InvoiceLine(D("1"), D("1"))], "gross")  # type: ignore[arg-type]


amounts = st.decimals(
    min_value=D("-10000"), max_value=D("10000"), places=2, allow_nan=False, allow_infinity=False
)
quantities = st.decimals(
    min_value=D("0"), max_value=D("100"), places=3, allow_nan=False, allow_infinity=False
)
rates = st.sampled_from([D("0"), D("0.25"), D("0.06"), D("0.125")])
lines_strategy = st.lists(st.builds(InvoiceLine, quantities, amounts, rates), min_size=1, max_size=30)


@given(lines_strategy, st.sampled_from(["excl", "incl"]))
def test_per_invoice_vat_is_within_half_an_oere_per_line_of_per_line_rounding(lines, tax_mode):
    totals = calculate_invoice(lines, tax_mode)
    assert abs(totals.rounding_difference) <= D("0.005") * len(lines)


@given(lines_strategy, st.sampled_from(["excl", "incl"]))
def test_totals_add_up(lines, tax_mode):
    totals = calculate_invoice(lines, tax_mode)
    assert totals.gross == totals.net + totals.tax
    assert totals.tax == totals.tax.quantize(D("0.01"))
    line_sum = sum((line.amount for line in totals.lines), D(0))
    assert (totals.gross if tax_mode == "incl" else totals.net) == line_sum
