"""Every tool in the registry, fed random and malformed arguments (hypothesis), over MCP, against a
sandbox of its own:

* every answer is a valid result (it matches the tool's output schema) or a structured error with
  one of our codes, never ``internal_error`` and never an exception in the client;
* an answer that is an error never follows a write to Billy (POST/PUT/PATCH/DELETE, counted by the
  sandbox's ``GET /_sandbox/stats``) nor a 4xx answer from Billy. The sandbox's stats count
  requests by route but not by status, so the 4xx answers are counted on our side of the wire, by
  the kernel's ``billy_mcp_upstream_requests_total`` metric (method, resource, status). A 404 to a
  GET is allowed: reading a record by id is how a tool finds out that an id is unknown.

Runs ``BILLY_PROPERTY_EXAMPLES`` examples per tool (default 15).
"""

from __future__ import annotations

import os
import re
import string
import tempfile
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from billy_core.errors import ErrorCode
from billy_core.kernel import Kernel
from billy_core.settings import KernelSettings
from billy_core.testing import mcp_client
from tests.catalogue.conftest import private_sandbox

EXAMPLES = int(os.environ.get("BILLY_PROPERTY_EXAMPLES", "15"))
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
STRUCTURED_CODES = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL_ERROR.value}
# Which sandbox records an argument named like this may point at (a real id reaches deeper code).
ID_POOLS = {
    "customer": "contacts",
    "contact": "contacts",
    "supplier": "contacts",
    "invoice": "invoices",
    "credit_note": "invoices",
    "bill": "bills",
    "product": "products",
    "account": "accounts",
    "contra_account": "accounts",
    "cash_account": "accounts",
    "tax_rate": "taxRates",
    "daybook": "daybooks",
    "sales_tax_ruleset": "salesTaxRulesets",
    "payment": "bankPayments",
    "bank_payment": "bankPayments",
    "": "contactPersons",
}


def registry_tool_names() -> list[str]:
    """The registry with writes enabled, as a deployment that allows writes lists it."""
    folder = tempfile.mkdtemp(prefix="billy-properties-")
    kernel = Kernel.build(
        KernelSettings(
            api_url="http://127.0.0.1:9/v2",
            access_token="collect-only",
            read_only=False,
            database_url=f"sqlite:///{folder}/collect.sqlite3",
        )
    )
    return [tool.name for tool in kernel.tools]


TOOL_NAMES = registry_tool_names()


@pytest.fixture(scope="module")
def property_sandbox() -> Iterator[Any]:
    yield from private_sandbox()


@pytest.fixture(scope="module")
def id_pools(property_sandbox) -> dict[str, list[str]]:
    pools = {}
    headers = {"X-Access-Token": property_sandbox.token}
    for plural in sorted(set(ID_POOLS.values())):
        body = httpx.get(
            f"{property_sandbox.api_url}/{plural}", params={"pageSize": 25}, headers=headers
        ).json()
        pools[plural] = [record["id"] for record in body[plural]]
    return pools


# ------------------------------------------------------------------ strategies

JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
NUMBER_TEXT = st.sampled_from(
    ["0", "1", "-1", "0.005", "12.5", "1e3", "NaN", "Infinity", "1.234,56", "", " 7 "]
)
DATE_TEXT = st.dates().map(lambda day: day.isoformat()) | st.sampled_from(
    ["2026-02-30", "30-09-2026", "2026-13-01", "", "today", "2026-09-30T12:00:00"]
)


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref")
    if not reference:
        return schema
    target: Any = root
    for part in reference.lstrip("#/").split("/"):
        target = target[part]
    return dict(target)


def id_strategy(name: str, pools: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    stem = re.sub(r"_ids?$", "", name)
    pool = pools.get(ID_POOLS.get(stem, ""), []) or [i for ids in pools.values() for i in ids]
    weird = st.sampled_from(["", "../contacts", "a/b", "x?y=1", "NoSuchRecord0000000", " ", "%2e%2e", "☃"])
    return (
        st.sampled_from(pool) | weird | st.text(alphabet=string.ascii_letters + "-_", min_size=1, max_size=24)
    )


def string_strategy(name: str, schema: dict[str, Any], pools: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    if name == "id" or name.endswith(("_id", "_ids")):
        return id_strategy(name, pools)
    if schema.get("format") == "date" or name.endswith("date") or name in ("as_of", "period_start"):
        return DATE_TEXT
    free = st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 60))
    options: list[st.SearchStrategy[Any]] = [free]
    if "pattern" in schema:
        options.append(st.from_regex(schema["pattern"], fullmatch=True).filter(lambda text: len(text) <= 120))
    examples = [example for example in schema.get("examples", []) if isinstance(example, str)]
    if examples:
        options += [st.sampled_from(examples)] * 3
    return st.one_of(options)


class Shapes:
    """Argument strategies for one tool's input schema. ``junk`` mixes in values of any type."""

    def __init__(self, root: dict[str, Any], pools: dict[str, list[str]]) -> None:
        self.root = root
        self.pools = pools

    def value(self, name: str, schema: dict[str, Any], junk: bool, depth: int = 0) -> st.SearchStrategy[Any]:
        schema = resolve(schema, self.root)
        if depth > 3:
            return JUNK
        if "enum" in schema:
            shaped: st.SearchStrategy[Any] = st.sampled_from(schema["enum"])
        elif "const" in schema:
            shaped = st.just(schema["const"])
        elif "anyOf" in schema or "oneOf" in schema:
            options = schema.get("anyOf", schema.get("oneOf"))
            shaped = st.one_of([self.value(name, option, junk, depth + 1) for option in options])
        else:
            shaped = self.typed(name, schema, junk, depth)
        return st.one_of(shaped, shaped, shaped, JUNK) if junk else shaped

    def typed(self, name: str, schema: dict[str, Any], junk: bool, depth: int) -> st.SearchStrategy[Any]:
        kind = schema.get("type")
        if kind == "string":
            return string_strategy(name, schema, self.pools)
        if kind == "integer":
            low, high = schema.get("minimum", -5), schema.get("maximum", 2000)
            return st.integers(min_value=low - 2, max_value=high + 2)
        if kind == "number":
            decimals = st.decimals(min_value=-(10**6), max_value=10**7, places=2).map(str)
            return decimals | decimals | NUMBER_TEXT | st.integers(-5, 10**6)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "array":
            items = self.value(name, schema.get("items", {}), junk, depth + 1)
            return st.lists(items, min_size=0, max_size=min(schema.get("maxItems", 4), 4))
        if kind == "object" or "properties" in schema:
            return self.arguments(schema, junk, depth + 1)
        return JUNK

    def arguments(
        self, schema: dict[str, Any], junk: bool, depth: int = 0
    ) -> st.SearchStrategy[dict[str, Any]]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))

        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Any]:
            chosen: dict[str, Any] = {}
            for name, property_schema in properties.items():
                if name in required or draw(st.integers(0, 2)) == 0:
                    chosen[name] = draw(self.value(name, property_schema, junk, depth))
            if junk and draw(st.integers(0, 9)) == 0:
                chosen[draw(st.text(min_size=1, max_size=12))] = draw(JUNK)
            return chosen

        return build()

    def any_arguments(self) -> st.SearchStrategy[dict[str, Any]]:
        """Two in three calls well-shaped (to reach the handler), one in three malformed."""
        return st.one_of(
            self.arguments(self.root, False),
            self.arguments(self.root, False),
            self.arguments(self.root, True),
        )


# ------------------------------------------------------------------ observations


def sandbox_write_count(sandbox: Any) -> int:
    stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()
    return sum(count for route, count in stats["by_route"].items() if route.startswith(WRITE_METHODS))


def refused_by_billy(kernel: Kernel) -> dict[tuple[str, str, str], float]:
    """4xx answers Billy gave, by (method, resource, status); a 404 to a GET is not counted."""
    counts = {}
    for metric in kernel.metrics.upstream_requests.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            method, resource, status = (sample.labels[k] for k in ("method", "resource", "status"))
            if status.startswith("4") and not (method == "GET" and status == "404"):
                counts[(method, resource, status)] = sample.value
    return counts


def check_answer(tool: Any, result: Any) -> None:
    body = result.structured_content or {}
    if result.is_error:
        assert body.get("code") in STRUCTURED_CODES, f"not a structured error: {body}"
        assert isinstance(body.get("message"), str) and body.get("correlation_id"), body
        return
    if tool.output_schema is not None:
        jsonschema.validate(body, tool.output_schema)


# ------------------------------------------------------------------ the property


def test_the_property_test_covers_every_registered_tool(make_kernel):
    kernel = make_kernel(api_url="http://127.0.0.1:9/v2", access_token="x", read_only=False)
    assert sorted(tool.name for tool in kernel.tools) == sorted(TOOL_NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("tool_name", TOOL_NAMES)
def test_random_arguments_get_a_result_or_a_structured_error(
    tool_name, make_kernel, property_sandbox, id_pools
):
    kernel = make_kernel(api_url=property_sandbox.api_url, access_token=property_sandbox.token, sandbox=True)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(mcp_client(kernel)) as client,
    ):
        listed = {tool.name: tool for tool in portal.call(client.list_tools).tools}
        tool = listed[tool_name]
        schema = tool.input_schema
        kernel_arguments = {
            "idempotency_key": st.text(
                alphabet=string.ascii_letters + string.digits + "-:.", min_size=0, max_size=70
            ),
            "confirmation_ticket": st.text(min_size=0, max_size=40),
            "confirmation_code": st.text(min_size=0, max_size=20),
        }

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.filter_too_much,
            ],
        )
        @given(arguments=Shapes(schema, id_pools).any_arguments(), data=st.data())
        def answer_is_sound(arguments: dict[str, Any], data: st.DataObject) -> None:
            for name in set(kernel_arguments) & set(schema.get("properties", {})):
                if data.draw(st.integers(0, 3)) == 0:
                    arguments[name] = data.draw(kernel_arguments[name])
            note(f"{tool_name}({arguments!r})")
            writes_before = sandbox_write_count(property_sandbox)
            refusals_before = refused_by_billy(kernel)
            result = portal.call(client.call_tool, tool_name, arguments)
            note(f"answer: {result.structured_content!r}")
            check_answer(tool, result)
            if result.is_error:
                assert sandbox_write_count(property_sandbox) == writes_before, (
                    "an error after a write to Billy"
                )
                assert refused_by_billy(kernel) == refusals_before, "Billy refused a request (4xx)"

        answer_is_sound()


@pytest.mark.anyio
@pytest.mark.parametrize("record_id", ["../contacts", "x?include=invoice.contact", "a b", "%2e%2e", "."])
async def test_an_id_argument_cannot_bend_the_billy_path(make_kernel, property_sandbox, record_id):
    """Found by the property above: get_invoice("../contacts") read GET /v2/contacts and crashed."""
    kernel = make_kernel(api_url=property_sandbox.api_url, access_token=property_sandbox.token, sandbox=True)
    async with mcp_client(kernel) as client:
        result = await client.call_tool("get_invoice", {"invoice_id": record_id})
    assert result.is_error and result.structured_content["code"] == "invalid_argument"
