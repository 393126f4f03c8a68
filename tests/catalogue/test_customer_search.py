"""list_customers searches every page: part of the name, CVR, a contact person's e-mail."""

from __future__ import annotations

import httpx
import pytest

from billy_core.testing import mcp_client
from tests.catalogue.conftest import private_sandbox

pytestmark = pytest.mark.anyio

NEEDLE = {
    "name": "Zealandia Søløve Kaffebar ApS",
    "cvr": "25313763",
    "email": "ulla.bager@soloeve.example.dk",
}


def contacts_gets(sandbox) -> int:
    stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()
    return int(stats["by_route"].get("GET /v2/contacts", 0))


@pytest.fixture(scope="module")
def search_sandbox():
    yield from private_sandbox()


@pytest.fixture(scope="module")
def last_customer(search_sandbox):
    """A customer created now, so it is the last contact in Billy's order."""
    billy_sandbox = search_sandbox
    headers = {"X-Access-Token": billy_sandbox.token}
    body = {
        "contact": {
            "name": NEEDLE["name"],
            "countryId": "DK",
            "registrationNo": NEEDLE["cvr"],
            "isCustomer": True,
            "contactPersons": [{"name": "Ulla Bager", "email": NEEDLE["email"], "isPrimary": True}],
        }
    }
    created = httpx.post(f"{billy_sandbox.api_url}/contacts", json=body, headers=headers).json()
    contact_id = created["contacts"][0]["id"]
    listed = httpx.get(f"{billy_sandbox.api_url}/contacts", params={"pageSize": 1000}, headers=headers).json()
    assert listed["contacts"][-1]["id"] == contact_id, "the new customer should come last"
    return contact_id


@pytest.mark.parametrize("search", ["søløve kaffe", NEEDLE["cvr"], NEEDLE["email"], "ULLA.BAGER@"])
async def test_a_customer_on_the_last_of_several_pages_is_found(
    make_kernel, search_sandbox, last_customer, search
):
    billy_sandbox = search_sandbox
    kernel = make_kernel(
        api_url=billy_sandbox.api_url,
        access_token=billy_sandbox.token,
        sandbox=True,
        page_size=7,
        plugins_disabled=["cache"],
    )
    before = contacts_gets(billy_sandbox)
    async with mcp_client(kernel) as client:
        result = await client.call_tool("list_customers", {"search": search})
    pages_read = contacts_gets(billy_sandbox) - before
    assert result.is_error is False, result.structured_content
    assert [item["id"] for item in result.structured_content["items"]] == [last_customer]
    assert pages_read >= 9  # 60+ customers at 7 a page: the match was on a late page
