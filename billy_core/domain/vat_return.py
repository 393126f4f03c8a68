"""The momsangivelse (Danish VAT return) computed from Billy's approved invoices and bills.

Pure arithmetic, no I/O: the ``vat_return`` tool in :mod:`billy_core.domain.compliance` reads
Billy and hands the documents and tax rates to :func:`compute_vat_return`.

Where each box comes from (docs/compliance.md has the full table):

- a line's **net** amount goes to the box its tax rate names in ``netAmountMetaField``
  (``rubrikAGoods``, ``rubrikAServices``, ``rubrikBGoods``, ``rubrikBServices``, ``rubrikC``);
- an invoice's ``tax`` (Billy rounds it once per invoice) is **salgsmoms**;
- a bill's ``tax`` is **købsmoms**; a reverse-charge bill line's ``tax`` (``isReverseCharge``) is
  self-assessed VAT, which goes to *moms af varekøb i udlandet* (goods, rubrik A varer) or *moms
  af ydelseskøb i udlandet* (everything else) **and**, being deductible, to købsmoms as well;
- credit notes count negatively; foreign-currency amounts become DKK at the document's
  ``exchangeRate``, rounded to øre per document and box, as a posting would be.

Each box is then cut to whole kroner (øre dropped, not rounded: ``whole_kroner``), and the amount
payable (*afgiftstilsvar*) is computed from the whole-kroner boxes, as the return form does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billy_core.money import round2, to_decimal, whole_kroner
from billy_core.vat import line_tax

ZERO = Decimal(0)


@dataclass(frozen=True)
class Box:
    """One field of the momsangivelse: its key in tool results and its Danish name on the form."""

    key: str
    name: str


SALES_VAT = Box("sales_vat", "Salgsmoms")
PURCHASE_VAT = Box("purchase_vat", "Købsmoms")
VAT_GOODS_ABROAD = Box(
    "vat_on_goods_bought_abroad", "Moms af varekøb i udlandet (både EU og lande uden for EU)"
)
VAT_SERVICES_ABROAD = Box(
    "vat_on_services_bought_abroad", "Moms af ydelseskøb i udlandet med omvendt betalingspligt"
)
RUBRIK_A_GOODS = Box("rubrik_a_goods", "Rubrik A - varer: køb af varer i andre EU-lande (EU-erhvervelser)")
RUBRIK_A_SERVICES = Box("rubrik_a_services", "Rubrik A - ydelser: køb af ydelser i andre EU-lande")
RUBRIK_B_GOODS = Box(
    "rubrik_b_goods_eu_sales_list",
    "Rubrik B - varer: salg af varer til andre EU-lande, indberettes til EU-salg uden moms",
)
RUBRIK_B_GOODS_NOT_LISTED = Box(
    "rubrik_b_goods_not_on_eu_sales_list",
    "Rubrik B - varer: visse varesalg til andre EU-lande, indberettes ikke til EU-salg uden moms",
)
RUBRIK_B_SERVICES = Box(
    "rubrik_b_services",
    "Rubrik B - ydelser: salg af ydelser til andre EU-lande, indberettes til EU-salg uden moms",
)
RUBRIK_C = Box("rubrik_c", "Rubrik C: andre varer og ydelser leveret uden afgift (fx eksport)")
PAYABLE = Box("payable", "Afgiftstilsvar")

# The order of the form in TastSelv Erhverv.
BOXES = (
    SALES_VAT,
    PURCHASE_VAT,
    VAT_GOODS_ABROAD,
    VAT_SERVICES_ABROAD,
    RUBRIK_A_GOODS,
    RUBRIK_A_SERVICES,
    RUBRIK_B_GOODS,
    RUBRIK_B_GOODS_NOT_LISTED,
    RUBRIK_B_SERVICES,
    RUBRIK_C,
)

# netAmountMetaField -> the box a line's net amount belongs to, per side of the trade.
SALES_NET_BOXES = {
    "rubrikBGoods": RUBRIK_B_GOODS,
    "rubrikBServices": RUBRIK_B_SERVICES,
    "rubrikC": RUBRIK_C,
}
PURCHASE_NET_BOXES = {"rubrikAGoods": RUBRIK_A_GOODS, "rubrikAServices": RUBRIK_A_SERVICES}
GOODS_META_FIELD = "rubrikAGoods"
COUNTERS = {
    ("invoice", False): "invoices",
    ("invoice", True): "credit_notes",
    ("bill", False): "bills",
    ("bill", True): "bill_credit_notes",
}
# A bill's own tax (ordinary deductible VAT), kept apart until the document's boxes are converted.
_DOMESTIC_PURCHASE_VAT = "_domestic_purchase_vat"


@dataclass
class VatReturnFigures:
    """The exact (øre) sum of each box, the documents counted, and what could not be placed."""

    exact: dict[str, Decimal] = field(default_factory=lambda: {box.key: ZERO for box in BOXES})
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS.values(), 0))
    warnings: list[str] = field(default_factory=list)

    def whole(self, box: Box) -> Decimal:
        """The box as filed: whole kroner, øre cut off."""
        if box is PAYABLE:
            return self.payable
        return to_decimal(whole_kroner(self.exact[box.key]))

    @property
    def payable(self) -> Decimal:
        """Afgiftstilsvar = salgsmoms + moms af køb i udlandet - købsmoms, from the whole-kroner boxes.

        Positive: the company pays; negative: it gets the amount back."""
        owed = self.whole(SALES_VAT) + self.whole(VAT_GOODS_ABROAD) + self.whole(VAT_SERVICES_ABROAD)
        return owed - self.whole(PURCHASE_VAT)

    @property
    def exact_payable(self) -> Decimal:
        owed = (
            self.exact[SALES_VAT.key] + self.exact[VAT_GOODS_ABROAD.key] + self.exact[VAT_SERVICES_ABROAD.key]
        )
        return owed - self.exact[PURCHASE_VAT.key]


def _label(document: Mapping[str, Any], kind: str) -> str:
    number = document.get("invoiceNo") or document.get("suppliersInvoiceNo") or document.get("id")
    return f"{kind} {number} of {document.get('entryDate')}"


def net_of_line(line: Mapping[str, Any], rate: Mapping[str, Any] | None, tax_mode: str) -> Decimal:
    """A line's amount without VAT: in ``incl`` mode Billy's line amount contains the (unrounded) VAT.

    A reverse-charge line's amount is always net (its VAT is self-assessed, not in the price)."""
    amount = to_decimal(line.get("amount") or 0)
    if tax_mode != "incl" or rate is None or rate.get("isReverseCharge"):
        return amount
    return amount - line_tax(amount, to_decimal(rate.get("rate") or 0), "incl")


def _add(parts: dict[str, Decimal], key: str, value: Decimal) -> None:
    parts[key] = parts.get(key, ZERO) + value


def _rate_of(
    line: Mapping[str, Any], rates: Mapping[str, Mapping[str, Any]], where: str, warnings: list[str]
) -> Mapping[str, Any] | None:
    rate_id = line.get("taxRateId")
    rate = rates.get(str(rate_id)) if rate_id else None
    if rate is None and to_decimal(line.get("amount") or 0) != 0:
        warnings.append(f"{where}: a line has no known VAT rate ({rate_id!r}); it is in no box")
    return rate


def _invoice_parts(
    invoice: Mapping[str, Any], rates: Mapping[str, Mapping[str, Any]], warnings: list[str]
) -> dict[str, Decimal]:
    where = _label(invoice, "invoice")
    parts = {SALES_VAT.key: to_decimal(invoice.get("tax") or 0)}
    for line in invoice.get("lines") or ():
        rate = _rate_of(line, rates, where, warnings)
        meta = rate.get("netAmountMetaField") if rate else None
        if rate is None or not meta:
            continue
        box = SALES_NET_BOXES.get(str(meta))
        if box is None:
            warnings.append(f"{where}: VAT rate {rate.get('name')!r} reports to {meta!r}, not a sales box")
            continue
        _add(parts, box.key, net_of_line(line, rate, str(invoice.get("taxMode") or "excl")))
    return parts


def _bill_parts(
    bill: Mapping[str, Any], rates: Mapping[str, Mapping[str, Any]], warnings: list[str]
) -> dict[str, Decimal]:
    where = _label(bill, "bill")
    # A bill's tax leaves reverse-charge VAT out: nothing of it is owed to the supplier.
    parts = {_DOMESTIC_PURCHASE_VAT: to_decimal(bill.get("tax") or 0)}
    for line in bill.get("lines") or ():
        rate = _rate_of(line, rates, where, warnings)
        if rate is None:
            continue
        meta = str(rate.get("netAmountMetaField") or "")
        if rate.get("isReverseCharge"):
            vat_box = VAT_GOODS_ABROAD if meta == GOODS_META_FIELD else VAT_SERVICES_ABROAD
            _add(parts, vat_box.key, to_decimal(line.get("tax") or 0))
        if not meta:
            continue
        box = PURCHASE_NET_BOXES.get(meta)
        if box is None:
            warnings.append(f"{where}: VAT rate {rate.get('name')!r} reports to {meta!r}, not a purchase box")
            continue
        _add(parts, box.key, net_of_line(line, rate, str(bill.get("taxMode") or "excl")))
    return parts


def _in_base_currency(document: Mapping[str, Any], parts: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Each part in DKK at the document's exchange rate, rounded to øre like a posting."""
    rate = to_decimal(document.get("exchangeRate") or 1)
    return {key: round2(value * rate) for key, value in parts.items()}


def _count(
    figures: VatReturnFigures, document: Mapping[str, Any], kind: str, parts: Mapping[str, Decimal]
) -> None:
    credit = document.get("type") == "credit_note"
    sign = -1 if credit else 1
    base = _in_base_currency(document, parts)
    if kind == "bill":
        # Self-assessed VAT is deductible in full, so it is købsmoms as well as VAT on foreign purchases.
        base[PURCHASE_VAT.key] = sum(
            (
                base.get(key, ZERO)
                for key in (_DOMESTIC_PURCHASE_VAT, VAT_GOODS_ABROAD.key, VAT_SERVICES_ABROAD.key)
            ),
            ZERO,
        )
        base.pop(_DOMESTIC_PURCHASE_VAT)
    for key, value in base.items():
        figures.exact[key] += sign * value
    figures.counts[COUNTERS[kind, credit]] += 1


def compute_vat_return(
    invoices: Iterable[Mapping[str, Any]],
    bills: Iterable[Mapping[str, Any]],
    tax_rates: Iterable[Mapping[str, Any]],
) -> VatReturnFigures:
    """The momsangivelse of approved invoices (and credit notes) and bills (and bill credit notes).

    The caller chooses the documents (approved, entry date in the period); their ``lines`` must be
    embedded. Amounts are Decimal; nothing here rounds except per document and box to øre.
    """
    rates = {str(rate["id"]): rate for rate in tax_rates}
    figures = VatReturnFigures()
    for invoice in invoices:
        _count(figures, invoice, "invoice", _invoice_parts(invoice, rates, figures.warnings))
    for bill in bills:
        _count(figures, bill, "bill", _bill_parts(bill, rates, figures.warnings))
    return figures
