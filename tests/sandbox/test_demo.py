"""The demo company passes its own invariants. Check digits and totals are recomputed here, independently."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from billy_sandbox import jsonutil
from billy_sandbox.config import SandboxConfig
from billy_sandbox.state import build

EU = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
      "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}  # fmt: skip


def _all(api: httpx.Client, plural: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        body = api.get(f"/{plural}", params={"page": page, "pageSize": 1000}).json()
        records += body[plural]
        if page >= body["meta"]["paging"]["pageCount"]:
            return records
        page += 1


@pytest.fixture(scope="module")
def data(demo_server: Any) -> dict[str, list[dict[str, Any]]]:
    with httpx.Client(
        base_url=demo_server.api_url, headers={"X-Access-Token": "test-token"}, verify=False
    ) as api:
        api.post(f"{demo_server.base_url}/_sandbox/reset")
        names = ("contacts", "contactPersons", "invoices", "invoiceLines", "bills", "billLines", "taxRates",
                 "bankPayments", "balanceModifiers", "products", "daybookTransactions", "accounts")  # fmt: skip
        return {name: _all(api, name) for name in names}


def _cvr_ok(number: str) -> bool:
    weights = (2, 7, 6, 5, 4, 3, 2, 1)
    return (
        len(number) == 8
        and number.isdigit()
        and number[0] != "0"
        and sum(int(d) * w for d, w in zip(number, weights, strict=True)) % 11 == 0
    )


def _ean_ok(number: str) -> bool:
    if len(number) != 13 or not number.isdigit():
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(number[:12]))
    return (10 - total % 10) % 10 == int(number[12])


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()][::-1]
    return (
        sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)) % 10 == 0
    )


def _iban_ok(iban: str) -> bool:
    compact = iban.replace(" ", "")
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def _r2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def test_the_organization_has_a_valid_cvr(demo_api: httpx.Client) -> None:
    org = demo_api.get("/organization").json()["organization"]
    assert _cvr_ok(org["registrationNo"]) and org["name"].endswith("ApS")


def test_customers_and_suppliers(data: dict[str, list[dict[str, Any]]]) -> None:
    customers = [c for c in data["contacts"] if c["isCustomer"]]
    assert 55 <= len(customers) <= 65
    danish = [c for c in data["contacts"] if c["countryId"] == "DK" and c["type"] == "company"]
    assert danish and all(_cvr_ok(c["registrationNo"]) for c in danish)
    public = [c for c in customers if c["ean"]]
    assert len(public) >= 3 and all(_ean_ok(c["ean"]) and c["ean"].startswith("579") for c in public)
    persons = [c for c in customers if c["type"] == "person"]
    assert len(persons) >= 8
    eu_business = [c for c in customers if c["countryId"] in EU - {"DK"} and c["type"] == "company"]
    assert len(eu_business) >= 4 and all(c["registrationNo"][:2] == c["countryId"] for c in eu_business)
    assert len([c for c in customers if c["countryId"] not in EU]) >= 3
    suppliers = [c for c in data["contacts"] if c["isSupplier"]]
    assert len(suppliers) >= 8 and len([s for s in suppliers if s["countryId"] in EU - {"DK"}]) >= 3
    assert 20 <= len(data["products"]) <= 30


def _quarter(day: str) -> str:
    return f"{day[:4]}-Q{(int(day[5:7]) - 1) // 3 + 1}"


def test_every_quarter_holds_every_kind_of_trade(data: dict[str, list[dict[str, Any]]]) -> None:
    tags = {r["id"]: r["predefinedTag"] for r in data["taxRates"]}
    invoices = {i["id"]: i for i in data["invoices"] if i["state"] == "approved"}
    bills = {b["id"]: b for b in data["bills"] if b["state"] == "approved"}
    seen: dict[str, set[str]] = defaultdict(set)
    for line in data["invoiceLines"]:
        if line["invoiceId"] in invoices:
            seen[_quarter(invoices[line["invoiceId"]]["entryDate"])].add(tags[line["taxRateId"]])
    for line in data["billLines"]:
        if line["billId"] in bills:
            seen[_quarter(bills[line["billId"]]["entryDate"])].add(tags[line["taxRateId"]])
    quarters = sorted(seen)
    assert 11 <= len(quarters) <= 13
    wanted = {
        "dk_sales_25",
        "dk_purchase_25",
        "eu_sales_goods",
        "eu_sales_services",
        "export",
        "eu_purchase_goods",
        "eu_purchase_services",
    }
    for quarter in quarters:
        assert wanted <= seen[quarter], (quarter, wanted - seen[quarter])


def test_invoice_totals_match_their_lines(data: dict[str, list[dict[str, Any]]]) -> None:
    rates = {r["id"]: _dec(r["rate"]) for r in data["taxRates"]}
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in data["invoiceLines"]:
        lines[line["invoiceId"]].append(line)
    for invoice in data["invoices"]:
        amount_sum, tax_sum = Decimal(0), Decimal(0)
        for line in lines[invoice["id"]]:
            amount = _r2(_dec(line["quantity"]) * _dec(line["unitPrice"]))
            if line["discountMode"] == "percentage_discount":
                amount = _r2(amount * (1 - _dec(line["discountValue"]) / 100))
            assert _dec(line["amount"]) == amount
            tax_sum += amount * rates[line["taxRateId"]]
            amount_sum += amount
        assert invoice["taxMode"] == "excl" and lines[invoice["id"]]
        assert _dec(invoice["amount"]) == amount_sum and _dec(invoice["tax"]) == _r2(tax_sum)
        assert _dec(invoice["grossAmount"]) == amount_sum + _r2(tax_sum)


def test_balances_follow_payments_and_never_go_negative(data: dict[str, list[dict[str, Any]]]) -> None:
    settled: Counter[str] = Counter()
    for modifier in data["balanceModifiers"]:
        assert _dec(modifier["amount"]) > 0
        if not modifier["isVoided"]:
            settled[modifier["subjectReference"]] += _dec(modifier["amount"])
            if modifier["modifierReference"].startswith("invoice:"):
                settled[modifier["modifierReference"]] += _dec(modifier["amount"])
    for kind, plural in (("invoice", "invoices"), ("bill", "bills")):
        for document in data[plural]:
            balance = _dec(document["grossAmount"]) - settled[f"{kind}:{document['id']}"]
            assert _dec(document["balance"]) == balance and balance >= 0
            assert document["isPaid"] == (document["state"] == "approved" and balance == 0)
    for payment in data["bankPayments"]:
        assert _dec(payment["cashAmount"]) > 0 and payment["isVoided"] is False


def test_invoice_numbers_are_sequential_in_approval_order(data: dict[str, list[dict[str, Any]]]) -> None:
    numbered = sorted(
        (i for i in data["invoices"] if i["invoiceNo"] is not None), key=lambda i: int(i["invoiceNo"])
    )
    assert [int(i["invoiceNo"]) for i in numbered] == list(range(1, len(numbered) + 1))
    times = [i["approvedTime"] for i in numbered]
    assert times == sorted(times)
    assert all(i["state"] == "draft" for i in data["invoices"] if i["invoiceNo"] is None)


def _info(server: Any) -> dict[str, Any]:
    info: dict[str, Any] = httpx.get(f"{server.base_url}/_sandbox/info").json()
    return info


def test_the_trade_is_realistic(data: dict[str, list[dict[str, Any]]], demo_server: Any) -> None:
    today = _info(demo_server)["today"]
    invoices = [i for i in data["invoices"] if i["type"] == "invoice"]
    states = Counter(i["state"] for i in invoices)
    assert states["approved"] > 1000 and states["voided"] >= 3 and states["draft"] >= 1
    assert len([i for i in data["invoices"] if i["type"] == "credit_note"]) >= 20
    overdue = [i for i in invoices if i["state"] == "approved" and not i["isPaid"] and i["dueDate"] < today]
    assert len(overdue) >= 10
    due = {f"invoice:{i['id']}": i["dueDate"] for i in invoices}
    late = [
        m
        for m in data["balanceModifiers"]
        if m["subjectReference"] in due and m["entryDate"] > due[m["subjectReference"]]
    ]
    assert len(late) >= 100
    first, last = dt.date.fromisoformat(today).replace(day=1).replace(year=int(today[:4]) - 2), today
    recent = [i for i in invoices if i["entryDate"] > str(int(last[:4]) - 1) + last[4:]]
    oldest = [i for i in invoices if i["entryDate"] < first.isoformat()]
    assert len(recent) > len(oldest) * 1.2
    months = sorted({i["entryDate"][:7] for i in invoices})
    assert 34 <= len(months) <= 36 and months[-1] <= today[:7]
    assert all(i["entryDate"] <= today for i in data["invoices"] + data["bills"])
    assert len([b for b in data["bills"] if not b["isPaid"] and b["state"] == "approved"]) >= 1


def test_personal_data_is_seeded_and_listed(demo_server: Any, data: dict[str, list[dict[str, Any]]]) -> None:
    info = _info(demo_server)
    kinds = info["personal_data_by_kind"]
    assert sorted(info["personal_data"]) == sorted({v for values in kinds.values() for v in values})
    assert any(p.startswith("+45 ") for p in kinds["phone"]) and any(
        p.isdigit() and len(p) == 8 for p in kinds["phone"]
    )
    assert kinds["email"] and len(kinds["cpr"]) >= 1 and len(kinds["iban"]) >= 1 and len(kinds["card"]) >= 1
    for cpr in kinds["cpr"]:
        dt.datetime.strptime(cpr[:6], "%d%m%y")
        assert cpr[6] == "-" and cpr[7:].isdigit()
    assert all(_iban_ok(i) and i.startswith("DK") for i in kinds["iban"])
    assert all(_luhn_ok(c) and len(c.replace(" ", "")) == 16 for c in kinds["card"])
    text = jsonutil.dumps(data).decode()
    for value in info["personal_data"]:
        assert value in text, value


def test_same_seed_and_date_give_identical_data() -> None:
    config = SandboxConfig(seed=7, today=dt.date(2025, 6, 15))

    def dump(cfg: SandboxConfig) -> bytes:
        store = build(cfg).store
        return jsonutil.dumps(
            {name: list(t.records.values()) for name, t in store.tables.items()}, exact=True
        )

    first = dump(config)
    assert first == dump(config)
    assert first != dump(SandboxConfig(seed=8, today=dt.date(2025, 6, 15)))
    assert b'"entryDate":"2025-06-1' in first and b'"entryDate":"2025-06-30"' not in first


def test_invoices_option_sets_the_number_of_invoices() -> None:
    store = build(SandboxConfig(invoices=300)).store
    invoices = [r for r in store.all("invoice") if r["type"] == "invoice"]
    assert len(invoices) == 300


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_large_filtered_sorted_pages_match_a_full_sort(
    demo_api: httpx.Client, data: dict[str, list[dict[str, Any]]], direction: str
) -> None:
    approved = [i for i in data["invoices"] if i["state"] == "approved"]
    assert len(approved) > 500  # large enough for the cached sort order
    expected = sorted(approved, key=lambda i: i["entryDate"], reverse=direction == "DESC")
    query = {
        "state": "approved",
        "sortProperty": "entryDate",
        "sortDirection": direction,
        "pageSize": 50,
        "page": 3,
    }
    body = demo_api.get("/invoices", params=query).json()
    assert [i["id"] for i in body["invoices"]] == [i["id"] for i in expected[100:150]]
    assert body["meta"]["paging"]["total"] == len(approved)
    unpaid = [i for i in expected if not i["isPaid"]]
    body = demo_api.get("/invoices", params={**query, "isPaid": "false", "page": 1}).json()
    assert [i["id"] for i in body["invoices"]] == [i["id"] for i in unpaid[:50]]
    assert body["meta"]["paging"]["total"] == len(unpaid)


def test_large_date_range_filters_match_a_full_scan(
    demo_api: httpx.Client, data: dict[str, list[dict[str, Any]]]
) -> None:
    def ids(**query: Any) -> list[str]:
        return [i["id"] for i in _all_query(demo_api, query)]

    invoices = data["invoices"]
    in_q2 = [i["id"] for i in invoices if "2025-04-01" <= i["entryDate"] <= "2025-06-30"]
    assert len(in_q2) > 50
    assert ids(entryDatePeriod="quarter:2025-2") == in_q2
    assert ids(minEntryDate="2025-04-01", maxEntryDate="2025-06-30") == in_q2
    approved_may = [i["id"] for i in invoices if (i["approvedTime"] or "")[:7] == "2025-05"]
    assert ids(approvedTimePeriod="month:2025-05") == approved_may
    late = [i["id"] for i in invoices if (i["approvedTime"] or "") >= "2026-09-01T12:00:00"]
    assert ids(minApprovedTime="2026-09-01 12:00:00") == late
    bob = data["invoices"][0]["contactId"]
    both = [i["id"] for i in invoices if i["contactId"] == bob and i["entryDate"] >= "2025-01-01"]
    assert ids(contactId=bob, minEntryDate="2025-01-01") == both


def _all_query(api: httpx.Client, query: dict[str, Any]) -> list[dict[str, Any]]:
    body = api.get("/invoices", params={**query, "pageSize": 1000}).json()
    assert body["meta"]["paging"]["pageCount"] == 1
    records: list[dict[str, Any]] = body["invoices"]
    return records
