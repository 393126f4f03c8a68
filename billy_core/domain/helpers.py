"""Danish helpers that never leave the process: VAT arithmetic, CVR and EAN checks, kroner formatting.

``calculate_vat`` uses Billy's own algorithm (:mod:`billy_core.vat`): line amounts rounded to øre,
each line's VAT kept exact, the invoice VAT rounded once. It also shows what rounding each line's
VAT on its own would give, because that is where a hand calculation and Billy's total can differ.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from billy_core.context import CallContext
from billy_core.danish import IdentifierCheck, validate_cvr, validate_ean
from billy_core.domain.references import MAX_AMOUNT
from billy_core.money import format_dkk, money
from billy_core.tools import Tool, ToolInput, ToolOutput
from billy_core.vat import InvoiceLine, calculate_invoice

HUNDRED = Decimal(100)
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)]


class VatLine(ToolInput):
    unit_price: Decimal = Field(
        gt=-MAX_AMOUNT, lt=MAX_AMOUNT, decimal_places=4, description="Unit price", examples=["199.95"]
    )
    quantity: Decimal = Field(
        Decimal(1),
        gt=0,
        lt=Decimal(10**9),
        decimal_places=4,
        description="Quantity (default 1)",
        examples=["3"],
    )
    vat_percent: Percent | None = Field(
        None, description="This line's VAT rate in percent (default: vat_percent)", examples=["0"]
    )
    discount_percent: Percent | None = Field(
        None, description="Discount on the line in percent", examples=["10"]
    )


class CalculateVatInput(ToolInput):
    amount: Decimal | None = Field(
        None,
        gt=-MAX_AMOUNT,
        lt=MAX_AMOUNT,
        decimal_places=4,
        description="One amount to calculate VAT for (instead of lines)",
        examples=["1000.00"],
    )
    lines: list[VatLine] | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Invoice lines, to see the invoice totals the way Billy computes them",
        examples=[[{"quantity": "3", "unit_price": "33.33"}, {"unit_price": "0.10"}]],
    )
    tax_mode: Literal["excl", "incl"] = Field(
        "excl",
        description="excl: prices are before VAT (VAT is added); incl: prices already include VAT",
        examples=["excl"],
    )
    vat_percent: Percent = Field(
        Decimal(25), description="VAT rate in percent (Danish moms: 25)", examples=["25"]
    )

    @model_validator(mode="after")
    def _amount_or_lines(self) -> CalculateVatInput:
        if (self.amount is None) == (self.lines is None):
            raise ValueError("give either amount or lines, not both and not neither")
        return self


class VatLineOutput(ToolOutput):
    net: str
    vat: str = Field(description="The line's VAT rounded on its own (what the line shows)")
    vat_unrounded: str = Field(description="The line's exact VAT, which Billy adds up before rounding")
    gross: str
    vat_percent: str


class VatOutput(ToolOutput):
    tax_mode: str
    net: str = Field(description="Total before VAT, as Billy computes it")
    vat: str = Field(description="Total VAT: the exact line VATs added up, rounded once (Billy's figure)")
    gross: str = Field(description="Total including VAT")
    vat_rounded_per_line: str = Field(description="Total VAT if each line's VAT were rounded on its own")
    rounding_difference: str = Field(description="vat_rounded_per_line minus vat; 0.00 when they agree")
    explanation: str
    lines: list[VatLineOutput]


def _fraction(percent: Decimal | None) -> Decimal | None:
    return None if percent is None else percent / HUNDRED


def _line(args: VatLine) -> InvoiceLine:
    return InvoiceLine(
        quantity=args.quantity,
        unit_price=args.unit_price,
        rate=_fraction(args.vat_percent),
        discount_mode="percent" if args.discount_percent is not None else None,
        discount_value=args.discount_percent or Decimal(0),
    )


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


async def calculate_vat(args: CalculateVatInput, ctx: CallContext) -> dict[str, Any]:
    if args.lines:
        lines = [_line(line) for line in args.lines]
    else:
        lines = [InvoiceLine(quantity=Decimal(1), unit_price=args.amount or Decimal(0))]
    totals = calculate_invoice(lines, args.tax_mode, args.vat_percent / HUNDRED)
    rows = []
    for result in totals.lines:
        net = result.amount - result.tax_display if args.tax_mode == "incl" else result.amount
        rows.append(
            {
                "net": money(net),
                "vat": money(result.tax_display),
                "vat_unrounded": _text(result.tax),
                "gross": money(net + result.tax_display),
                "vat_percent": _text(result.rate * HUNDRED),
            }
        )
    difference = totals.rounding_difference
    if difference:
        explanation = (
            f"Billy rounds the VAT once for the whole invoice ({money(totals.tax)}); rounding each line's "
            f"VAT first would give {money(totals.tax_rounded_per_line)}, {money(difference)} more."
        )
    else:
        explanation = "Rounding per line and per invoice give the same VAT here."
    return {
        "tax_mode": args.tax_mode,
        "net": money(totals.net),
        "vat": money(totals.tax),
        "gross": money(totals.gross),
        "vat_rounded_per_line": money(totals.tax_rounded_per_line),
        "rounding_difference": money(difference),
        "explanation": explanation,
        "lines": rows,
    }


class CvrInput(ToolInput):
    cvr: str = Field(
        min_length=1,
        max_length=40,
        description="The CVR (or SE) number; spaces, dashes and a DK prefix are allowed",
        examples=["13748136", "DK 13 74 81 36"],
    )


class EanInput(ToolInput):
    ean: str = Field(
        min_length=1,
        max_length=40,
        description="The EAN/GLN location number (13 digits)",
        examples=["5798000880016"],
    )


class IdentifierOutput(ToolOutput):
    valid: bool = Field(description="Well-formed with a matching check digit")
    number: str = Field(description="The number with spaces, dashes and prefixes removed")
    reason: str | None = Field(None, description="Why it is not valid")
    note: str


def identifier_answer(check: IdentifierCheck, note: str) -> dict[str, Any]:
    return {"valid": check.valid, "number": check.number, "reason": check.reason, "note": note}


async def check_cvr(args: CvrInput, ctx: CallContext) -> dict[str, Any]:
    return identifier_answer(
        validate_cvr(args.cvr),
        "Mod-11 check only: whether the company exists and is active is for the CVR register to say.",
    )


async def check_ean(args: EanInput, ctx: CallContext) -> dict[str, Any]:
    check = validate_ean(args.ean)
    public = check.valid and check.number.startswith("579")
    note = "Danish public-sector EAN (579 prefix)." if public else "GS1 mod-10 check digit only."
    return identifier_answer(check, note)


class FormatDkkInput(ToolInput):
    amount: Decimal = Field(
        gt=-MAX_AMOUNT, lt=MAX_AMOUNT, description="The amount, as a number or a string", examples=["1234.56"]
    )
    symbol: bool = Field(True, description="Append ' kr.' (default true)", examples=[True])


class FormatDkkOutput(ToolOutput):
    formatted: str = Field(description='Danish format, such as "1.234,56 kr."')
    amount: str = Field(description="The amount rounded to øre, as a two-decimal string")


async def format_kroner(args: FormatDkkInput, ctx: CallContext) -> dict[str, Any]:
    return {"formatted": format_dkk(args.amount, symbol=args.symbol), "amount": money(args.amount)}


def _helper(name: str, title: str, description: str, model: Any, output: Any, handler: Any) -> Tool:
    return Tool(
        name=name,
        title=title,
        description=description,
        input_model=model,
        output_model=output,
        handler=handler,
        idempotent=True,
        open_world=False,
        tags=frozenset({"helper"}),
    )


HELPERS = [
    _helper(
        "calculate_vat",
        "Calculate Danish VAT (moms)",
        (
            "VAT for an amount or for invoice lines, excluding or including VAT, rounded exactly as Billy "
            "does (VAT per invoice, rounded once), with the per-line rounding alongside so a difference "
            "of an øre can be explained. No call to Billy."
        ),
        CalculateVatInput,
        VatOutput,
        calculate_vat,
    ),
    _helper(
        "validate_cvr",
        "Check a CVR number",
        "Check that a Danish CVR number is well-formed (8 digits, mod-11 check digit). No call to Billy.",
        CvrInput,
        IdentifierOutput,
        check_cvr,
    ),
    _helper(
        "validate_ean",
        "Check an EAN number",
        (
            "Check an EAN/GLN location number (13 digits, GS1 mod-10) as used to e-invoice Danish public "
            "customers. No call to Billy."
        ),
        EanInput,
        IdentifierOutput,
        check_ean,
    ),
    _helper(
        "format_dkk",
        "Format an amount in Danish kroner",
        'Format an amount the Danish way: 1234.56 -> "1.234,56 kr.". No call to Billy.',
        FormatDkkInput,
        FormatDkkOutput,
        format_kroner,
    ),
]


def tools(kernel: Any) -> list[Tool]:
    return list(HELPERS)
