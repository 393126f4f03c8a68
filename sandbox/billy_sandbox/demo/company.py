"""`generate`: the demo company's customers, products and 36 months of trade before `today`."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from billy_sandbox.amounts import round2
from billy_sandbox.config import SandboxConfig
from billy_sandbox.demo import catalogue as cat
from billy_sandbox.demo import parties
from billy_sandbox.demo.personal import PersonalData
from billy_sandbox.demo.timeline import Timeline, pay, void_invoice
from billy_sandbox.schema import Record
from billy_sandbox.store import Store, Tx

MONTHS = 36
DEFAULT_PER_MONTH = 25.0
GROWTH = 1.025


def _month_starts(today: dt.date) -> list[dt.date]:
    index = today.year * 12 + today.month - 1 - (MONTHS - 1)
    return [dt.date((index + i) // 12, (index + i) % 12 + 1, 1) for i in range(MONTHS)]


def _weights(months: list[dt.date]) -> list[float]:
    return [GROWTH**i * cat.SEASON[m.month] for i, m in enumerate(months)]


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of `total` in proportion to `weights`."""
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _workday(rng: random.Random, month: dt.date, today: dt.date) -> dt.date:
    last = min(calendar.monthrange(month.year, month.month)[1], (today - month).days + 1)
    for _ in range(20):
        day = month.replace(day=rng.randint(1, last))
        if day.weekday() < 5:
            return day
    return month.replace(day=rng.randint(1, last))


class DemoCompany:
    def __init__(self, store: Store, org_id: str, config: SandboxConfig) -> None:
        self.store = store
        self.org_id = org_id
        self.today = config.today
        self.config = config
        self.rng = random.Random(config.seed)
        self.personal = PersonalData(self.rng)
        self.months = _month_starts(config.today)
        self.timeline = Timeline(store, org_id, self.rng, config.today)
        self.accounts = {a["accountNo"]: a for a in store.all("account")}
        self.rates = {r["predefinedTag"]: r for r in store.all("taxRate")}
        rulesets = {r["abbreviation"]: r for r in store.all("salesTaxRuleset")}
        maker = parties.PartyMaker(store, org_id, self.rng, self.personal, self.months[0])
        self.customers = [
            *parties.dk_companies(maker, 34),
            *parties.dk_persons(maker, 12),
            *parties.public_bodies(maker),
            *parties.eu_businesses(maker),
            *parties.export_customers(maker),
        ]
        self.suppliers = parties.suppliers(maker)
        self.products = parties.products(maker, self.accounts, rulesets)
        self.messages = self._messages()

    def _messages(self) -> list[Callable[[], str]]:
        """Invoice messages carrying personal data; made (and recorded) only when placed on an invoice."""
        p = self.personal
        return [
            lambda: (
                f"Ved spørgsmål kan Mette kontaktes på {p.phone(grouped=True)} eller {p.email('mette.bogholderi', 'example.dk')}."
            ),
            lambda: f"Beløbet bedes indbetalt til IBAN {p.iban()} senest på forfaldsdagen.",
            lambda: f"Betalt med kort {p.card()} – kvittering sendt til kunden.",
            lambda: f"Kunden har oplyst CPR-nr. {p.cpr()} til brug for finansieringsaftalen.",
            lambda: f"Levering aftalt med Jens, ring {p.phone(grouped=False)} når I er ved porten.",
        ]

    # invoices -------------------------------------------------------------------------------
    def plan_invoices(self) -> int:
        forced = self._forced_plans()
        wanted = self.config.invoices
        random_total = (
            (wanted - len(forced)) if wanted else round(sum(_weights(self.months)) * DEFAULT_PER_MONTH)
        )
        weights = [p.weight for p in self.customers]
        for month, count in zip(
            self.months, _allocate(max(random_total, 0), _weights(self.months)), strict=True
        ):
            for customer in self.rng.choices(self.customers, weights=weights, k=count):
                self._schedule_invoice(_workday(self.rng, month, self.today), customer, None)
        for day, customer, product_no in forced[: wanted or None]:
            self._schedule_invoice(day, customer, product_no, personal=True)
        return max(random_total, 0) + len(forced[: wanted or None])

    def _forced_plans(self) -> list[tuple[dt.date, parties.Party, str | None]]:
        """Each quarter: EU goods, EU services and an export, so every VAT box has data."""
        eu = [c for c in self.customers if c.segment == "eu"]
        export = [c for c in self.customers if c.segment == "export"]
        plans: list[tuple[dt.date, parties.Party, str | None]] = []
        for month in self.months[1::3]:
            day = _workday(self.rng, month, self.today)
            plans += [
                (day, self.rng.choice(eu), "EM-200"),
                (day, self.rng.choice(eu), "KO-T"),
                (day, self.rng.choice(export), "KV-30"),
            ]
        return plans

    def _lines(self, customer: parties.Party, product_no: str | None) -> list[dict[str, Any]]:
        options = cat.SEGMENT_LINES[customer.segment]
        picks = [next(o for o in options if o[0] == product_no)] if product_no else []
        count = self.rng.choices((1, 2, 3, 4), weights=(40, 30, 20, 10))[0]
        picks += self.rng.choices(options, weights=[o[3] for o in options], k=count - len(picks))
        lines = []
        for number, low, high, _ in dict.fromkeys(picks):
            product = self.products[number]
            price = self._price(product, customer.currency)
            line: dict[str, Any] = {
                "productId": product["id"],
                "quantity": self.rng.randint(low, high),
                "unitPrice": price,
            }
            if self.rng.random() < 0.08:
                line |= {"discountMode": "percentage_discount", "discountValue": self.rng.choice((5, 10, 15))}
            lines.append(line)
        return lines

    def _price(self, product: Record, currency: str) -> Decimal:
        (price,) = [
            p
            for p in self.store.table("productPrice").find("productId", product["id"])
            if p["currencyId"] == currency
        ]
        return Decimal(price["unitPrice"])

    def _schedule_invoice(
        self, day: dt.date, customer: parties.Party, product_no: str | None, personal: bool = False
    ) -> None:
        lines = self._lines(customer, product_no)
        draft = (self.today - day).days < 7 and self.rng.random() < 0.5
        self.timeline.at(day, lambda tx: self._create_invoice(tx, customer, lines, draft, personal))

    def _create_invoice(
        self, tx: Tx, customer: parties.Party, lines: list[dict[str, Any]], draft: bool, personal: bool
    ) -> None:
        body: dict[str, Any] = {
            "contactId": customer.record["id"],
            "entryDate": tx.now.date().isoformat(),
            "currencyId": customer.currency,
            "lines": lines,
            "state": "draft" if draft else "approved",
            "sentState": "unsent"
            if draft
            else self.rng.choice(("sent", "sent", "sent", "opened", "viewed", "printed")),
            "contactMessage": self.messages.pop(0)() if personal and self.messages else self._message(),
            "attContactPersonId": customer.persons[0]["id"],
        }
        if customer.segment == "public":
            body["orderNo"] = f"Rekv. {self.rng.randint(4500000000, 4599999999)}"
        invoice = self.timeline.create(tx, "invoice", body)
        if not draft:
            self._follow_up(invoice, customer)

    def _message(self) -> str:
        return self.rng.choice(
            ("", "", "Tak for handlen!", "Betalingsbetingelser: netto 8 dage.", "Husk at betale")
        )

    def _follow_up(self, invoice: Record, customer: parties.Party) -> None:
        entry = dt.date.fromisoformat(invoice["entryDate"])
        fate = self.rng.random()
        if fate < 0.012 and (self.today - entry).days > 60:
            self.timeline.at(
                entry + dt.timedelta(days=self.rng.randint(2, 15)), lambda tx: void_invoice(tx, invoice["id"])
            )
            return
        if fate < 0.045:
            day = entry + dt.timedelta(days=self.rng.randint(2, 20))
            self.timeline.at(day, lambda tx: self._credit_note(tx, invoice))
        self._schedule_payments(invoice, customer)

    def _credit_note(self, tx: Tx, invoice: Record) -> None:
        lines = sorted(tx.find("invoiceLine", "invoiceId", invoice["id"]), key=lambda r: r["priority"])
        full = self.rng.random() < 0.4
        chosen = lines if full else lines[:1]
        body = {
            "type": "credit_note", "creditedInvoiceId": invoice["id"], "contactId": invoice["contactId"],
            "entryDate": tx.now.date().isoformat(), "currencyId": invoice["currencyId"], "state": "approved",
            "contactMessage": "Kreditnota" if full else "Delvis kreditering efter reklamation",
            "lines": [{"productId": line["productId"], "quantity": line["quantity"] if full else 1, "unitPrice": line["unitPrice"],
                       "discountMode": line["discountMode"], "discountValue": line["discountValue"]} for line in chosen],
        }  # fmt: skip
        self.timeline.create(tx, "invoice", body)

    def _payer_offset(self, payer: str) -> int | None:
        (window,) = [p[2] for p in cat.PAYERS if p[0] == payer]
        return None if window is None else self.rng.randint(*window)

    def _schedule_payments(self, invoice: Record, customer: parties.Party) -> None:
        offset = self._payer_offset(customer.payer)
        if offset is None or self.rng.random() < 0.02:
            return  # never paid: overdue
        entry = dt.date.fromisoformat(invoice["entryDate"])
        due = dt.date.fromisoformat(invoice["dueDate"])
        day = max(entry + dt.timedelta(days=1), due + dt.timedelta(days=offset))
        account = self._bank(invoice["currencyId"])
        if self.rng.random() < 0.05:
            half = round2(invoice["balance"] / 2)
            self.timeline.at(day, lambda tx: pay(tx, "invoice", invoice["id"], account, half))
            day += dt.timedelta(days=self.rng.randint(10, 40))
        self.timeline.at(day, lambda tx: pay(tx, "invoice", invoice["id"], account))

    def _bank(self, currency: str) -> str:
        return str(self.accounts[5720 if currency == "EUR" else 5710]["id"])

    # bills and daybook -------------------------------------------------------------------------
    def plan_bills(self) -> None:
        for index, month in enumerate(self.months):
            for key, every, day, account, tag, text, low, high in cat.RECURRING_BILLS:
                if index % every == 0:
                    last = calendar.monthrange(month.year, month.month)[1]
                    self._schedule_bill(
                        month.replace(day=min(day, last)),
                        self.suppliers[key],
                        account,
                        tag,
                        text,
                        Decimal(low),
                        Decimal(high),
                    )

    def _schedule_bill(
        self,
        day: dt.date,
        supplier: parties.Party,
        account: int,
        tag: str,
        text: str,
        low: Decimal,
        high: Decimal,
    ) -> None:
        amount = Decimal(self.rng.randint(int(low), int(high)))
        if supplier.currency == "EUR":
            amount = round2(amount / parties.EUR_RATE)
        draft = (self.today - day).days < 5 and self.rng.random() < 0.5
        body = {
            "contactId": supplier.record["id"], "entryDate": day.isoformat(), "currencyId": supplier.currency,
            "suppliersInvoiceNo": str(self.rng.randint(10000, 99999)), "state": "draft" if draft else "approved",
            "lines": [{"accountId": self.accounts[account]["id"], "taxRateId": self.rates[tag]["id"], "description": text, "amount": amount}],
        }  # fmt: skip

        def create(tx: Tx) -> None:
            bill = self.timeline.create(tx, "bill", body)
            if not draft:
                paid = dt.date.fromisoformat(bill["dueDate"]) + dt.timedelta(days=self.rng.randint(-2, 3))
                account_id = self._bank(bill["currencyId"])
                self.timeline.at(max(paid, day), lambda tx: pay(tx, "bill", bill["id"], account_id))

        self.timeline.at(day, create)

    def plan_daybook(self) -> None:
        texts = [
            ("Hævet til kassebeholdning", ""),
            (
                "Refusion af udlæg",
                f"Udlæg til messe refunderet til medarbejderens konto {self.personal.iban()}.",
            ),
            (
                "Lønforskud",
                f"Forskud på løn til medarbejder, CPR {self.personal.cpr()}, modregnes næste måned.",
            ),
        ]
        for index, month in enumerate(self.months[::3]):
            text, extended = texts[min(index, 2)] if index < 3 else texts[0]
            amount = Decimal(self.rng.randint(5, 40) * 100)
            body = {
                "entryDate": month.replace(day=15).isoformat(), "description": text, "extendedDescription": extended,
                "state": "approved", "apiType": "demo",
                "lines": [{"accountNo": 5730, "side": "debit", "amount": amount, "text": text},
                          {"accountNo": 5710, "side": "credit", "amount": amount, "text": text}],
            }  # fmt: skip
            self.timeline.at(month.replace(day=15), self._daybook_action(body))

    def _daybook_action(self, body: dict[str, Any]) -> Callable[[Tx], None]:
        def action(tx: Tx) -> None:
            self.timeline.create(tx, "daybookTransaction", body)

        return action


def generate(store: Store, org_id: str, config: SandboxConfig) -> dict[str, list[str]]:
    company = DemoCompany(store, org_id, config)
    expected = company.plan_invoices()
    company.plan_bills()
    company.plan_daybook()
    bar = _progress_bar(config, expected)
    company.timeline.run(None if bar is None else lambda: bar.update(1))
    if bar is not None:
        bar.total = bar.n  # events are added as the trade unfolds; the first total is an estimate
        bar.close()
    return company.personal.values


def _progress_bar(config: SandboxConfig, invoices: int) -> Any:
    if not config.progress or not config.invoices:
        return None
    from tqdm import tqdm

    return tqdm(total=int(invoices * 2.2), desc="Generating demo data", unit="event", mininterval=0.5)
