"""Read-backs for creates: after an ambiguous failure, find the record a create may have made.

A create that times out, loses its connection or gets a 5xx after it was sent may or may not
have been committed by Billy. Before anything sends it again, the upstream chain (the
resilience plugin's retry layer) calls ``request.reconcile``: a read-back that finds the record
by a stable key and answers as Billy's create would have (``{plural: [record]}``, marked
``reconciled``), or ``None`` when Billy has no such record, so sending again cannot double it.

:meth:`billy_core.billy.client.BillyClient.create` attaches one of these automatically when
the caller passes none. The key per resource (docs/resilience.md lists the same rules):

* ``invoices``, ``products``: ``externalId`` (tools store the call's idempotency key there);
* ``contacts``: ``name`` + ``registrationNo`` (CVR) + ``countryId``, created since the create
  began (less a clock-skew allowance);
* ``bills``: ``contactId`` + ``suppliersInvoiceNo``;
* ``bankPayments``: the association's ``subjectReference`` + ``cashAmount`` + ``entryDate``
  (+ ``cashSide``), created since the create began;
* ``daybookTransactions``: ``apiType`` when the body sets one (tools store the idempotency
  key there), otherwise ``voucherNo``/``description`` + ``entryDate`` + the lines' amounts and
  sides, created since the create began.

Other resources have no rule: their creates are not sent again after an ambiguous failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from billy_core.upstream import UpstreamResponse

Query = Sequence[tuple[str, str]]
Fetch = Callable[[str, Query], Awaitable[Any]]
Record = dict[str, Any]
Finder = Callable[["ReadBack"], Awaitable[Record | None]]

READ_BACK_SINCE = "reconcile.read_back_since"
"""Call-context key set by write safety: an earlier call with this idempotency key may have
reached Billy (epoch seconds of its start), so the create reads back before it sends."""

CLOCK_SKEW_SECONDS = 120.0
"""How far before the create began a matching record's ``createdTime`` may lie (clock skew)."""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _created(record: Record) -> datetime | None:
    """Billy's ``createdTime`` (``YYYY-MM-DDTHH:MM:SS``, UTC without a zone) as a naive datetime."""
    try:
        created = datetime.fromisoformat(str(record["createdTime"]).replace("Z", ""))
    except (KeyError, TypeError, ValueError):
        return None
    return created.astimezone(UTC).replace(tzinfo=None) if created.tzinfo else created


class ReadBack:
    """One create's read-back; ``await read_back()`` gives Billy's create answer or ``None``.

    ``since`` is when the create began (UTC); rules with a creation window accept records
    created from ``since`` less :data:`CLOCK_SKEW_SECONDS`. :meth:`widen` moves it earlier when
    an earlier attempt with the same idempotency key is known to have been ambiguous.
    """

    def __init__(
        self, plural: str, record: Record, fetch: Fetch, finder: Finder, rule: str, since: datetime
    ) -> None:
        self.plural = plural
        self.record = record
        self.fetch = fetch
        self.finder = finder
        self.rule = rule
        self.since = since

    def widen(self, since_epoch: float) -> None:
        earlier = datetime.fromtimestamp(since_epoch, UTC).replace(tzinfo=None)
        self.since = min(self.since, earlier)

    def created_in_window(self, record: Record) -> bool:
        created = _created(record)
        return created is not None and created >= self.since - timedelta(seconds=CLOCK_SKEW_SECONDS)

    async def listed(self, plural: str, query: Query) -> list[Record]:
        body = await self.fetch(f"/{plural}", (*query, ("pageSize", "1000")))
        found = body.get(plural, []) if isinstance(body, dict) else []
        return [item for item in found if isinstance(item, dict)]

    async def __call__(self) -> UpstreamResponse | None:
        found = await self.finder(self)
        if found is None:
            return None
        return UpstreamResponse(status=200, body={self.plural: [found], "meta": {}}, reconciled=True)


def first_created(records: Sequence[Record]) -> Record | None:
    """The earliest-created match (Billy's first record when something did double)."""
    if not records:
        return None
    return min(records, key=lambda item: (str(item.get("createdTime") or ""), str(item.get("id") or "")))


# ---------------------------------------------------------------------- the rules


def _listing(plural: str, query: Query, match: Callable[[Record], bool], *, windowed: bool = False) -> Finder:
    """Find by listing ``plural`` with ``query`` and keeping the records ``match`` accepts
    (and, when ``windowed``, only those created since the create began)."""

    async def find(read_back: ReadBack) -> Record | None:
        found = await read_back.listed(plural, query)
        return first_created(
            [item for item in found if match(item) and (not windowed or read_back.created_in_window(item))]
        )

    return find


def _by_external_id(plural: str, external_id: str) -> Finder:
    return _listing(plural, [("externalId", external_id)], lambda item: item.get("externalId") == external_id)


def _contact(record: Record) -> Finder | None:
    name = _text(record.get("name"))
    if not name:
        return None
    registration = _text(record.get("registrationNo"))
    country = _text(record.get("countryId")).upper()
    query: list[tuple[str, str]] = [("name", name)]
    if registration:
        query.append(("registrationNo", registration))

    def match(item: Record) -> bool:
        return (
            _text(item.get("name")) == name
            and _text(item.get("registrationNo")) == registration
            and (not country or _text(item.get("countryId")).upper() == country)
        )

    return _listing("contacts", query, match, windowed=True)


def _bill(record: Record) -> Finder | None:
    contact_id = _text(record.get("contactId"))
    number = _text(record.get("suppliersInvoiceNo"))
    if not contact_id or not number:
        return None

    def match(item: Record) -> bool:
        return _text(item.get("contactId")) == contact_id and _text(item.get("suppliersInvoiceNo")) == number

    return _listing("bills", [("contactId", contact_id), ("suppliersInvoiceNo", number)], match)


def _bank_payment(record: Record) -> Finder | None:
    associations = record.get("associations") or []
    subject = _text(associations[0].get("subjectReference")) if associations else ""
    amount = _amount(record.get("cashAmount"))
    entry_date = _text(record.get("entryDate"))
    side = _text(record.get("cashSide"))
    if not subject or amount is None or not entry_date:
        return None

    async def find(read_back: ReadBack) -> Record | None:
        modifiers = await read_back.listed("balanceModifiers", [("subjectReference", subject)])
        payment_ids = sorted(
            {
                reference.partition(":")[2]
                for reference in (_text(item.get("modifierReference")) for item in modifiers)
                if reference.startswith("bankPayment:")
            }
        )
        candidates = []
        for payment_id in payment_ids:
            body = await read_back.fetch(f"/bankPayments/{payment_id}", ())
            payment = body.get("bankPayment") if isinstance(body, dict) else None
            if not isinstance(payment, dict):
                continue
            if (
                _amount(payment.get("cashAmount")) == amount
                and _text(payment.get("entryDate")) == entry_date
                and (not side or _text(payment.get("cashSide")) == side)
                and not payment.get("isVoided")
                and read_back.created_in_window(payment)
            ):
                candidates.append(payment)
        return first_created(candidates)

    return find


def _line_signature(lines: Any) -> list[tuple[Decimal | None, str]]:
    if not isinstance(lines, list):
        return []
    return sorted(
        ((_amount(line.get("amount")), _text(line.get("side"))) for line in lines if isinstance(line, dict)),
        key=lambda pair: (str(pair[0]), pair[1]),
    )


def _daybook_transaction(record: Record) -> Finder | None:
    entry_date = _text(record.get("entryDate"))
    if not entry_date:
        return None
    api_type = _text(record.get("apiType"))
    dated = [("minEntryDate", entry_date), ("maxEntryDate", entry_date)]
    if api_type:
        query = [("apiType", api_type), *dated]
        return _listing("daybookTransactions", query, lambda item: item.get("apiType") == api_type)
    voucher = _text(record.get("voucherNo"))
    description = _text(record.get("description"))
    if not voucher and not description:
        return None
    signature = _line_signature(record.get("lines"))
    daybook = _text(record.get("daybookId"))
    query = [*dated, ("include", "daybookTransaction.lines:embed")]
    if daybook:
        query.append(("daybookId", daybook))

    def match(item: Record) -> bool:
        return (
            _text(item.get("voucherNo")) == voucher
            and _text(item.get("description")) == description
            and _line_signature(item.get("lines")) == signature
        )

    return _listing("daybookTransactions", query, match, windowed=True)


def _finder(plural: str, record: Record) -> tuple[Finder, str] | None:
    if plural in ("invoices", "products"):
        external_id = _text(record.get("externalId"))
        return (_by_external_id(plural, external_id), "externalId") if external_id else None
    rules: dict[str, tuple[Callable[[Record], Finder | None], str]] = {
        "contacts": (_contact, "name+registrationNo+createdTime"),
        "bills": (_bill, "contactId+suppliersInvoiceNo"),
        "bankPayments": (_bank_payment, "subject+cashAmount+entryDate+createdTime"),
        "daybookTransactions": (_daybook_transaction, "apiType|voucherNo+description+entryDate+lines"),
    }
    rule = rules.get(plural)
    if rule is None:
        return None
    finder = rule[0](record)
    return (finder, rule[1]) if finder is not None else None


def read_back_for(
    plural: str, record: Record, fetch: Fetch, *, since: datetime | None = None
) -> ReadBack | None:
    """The read-back for creating ``record`` in ``plural``, or ``None`` when no rule applies
    (an unknown resource, or a body without the rule's stable key)."""
    found = _finder(plural, record)
    if found is None:
        return None
    return ReadBack(plural, record, fetch, found[0], found[1], since or utcnow())
