"""Random bodies never make the sandbox answer 500, and refused writes change nothing."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = {
    "contact": [
        "name",
        "countryId",
        "type",
        "isCustomer",
        "paymentTermsDays",
        "ean",
        "contactPersons",
        "externalId",
    ],
    "invoice": [
        "contactId",
        "entryDate",
        "lines",
        "taxMode",
        "currencyId",
        "state",
        "paymentTermsMode",
        "invoiceNo",
        "type",
    ],
    "bankPayment": ["entryDate", "cashAmount", "cashSide", "cashAccountId", "associations", "feeAmount"],
    "bill": ["contactId", "entryDate", "lines", "state", "taxMode"],
}
PLURALS = {"contact": "contacts", "invoice": "invoices", "bankPayment": "bankPayments", "bill": "bills"}


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(FIELDS)))
    keys = draw(st.lists(st.sampled_from(FIELDS[name]) | st.text(max_size=6), max_size=5, unique=True))
    record = {key: draw(VALUES) for key in keys}
    body = draw(st.sampled_from(["record", "wrapped-other", "raw"]))
    if body == "record":
        return name, {name: record}
    if body == "wrapped-other":
        return name, {name: draw(VALUES)}
    return name, draw(VALUES)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bodies())
def test_random_bodies_get_billy_errors(api: httpx.Client, case: tuple[str, Any]) -> None:
    name, body = case
    plural = PLURALS[name]
    before = api.get(f"/{plural}").json()["meta"]["paging"]["total"]
    response = api.post(f"/{plural}", json=body)
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code != 200:
        answer = response.json()
        assert answer["errorCode"] in ("INVALID_REQUEST_BODY", "INVALID_RECORD")
        assert api.get(f"/{plural}").json()["meta"]["paging"]["total"] == before
