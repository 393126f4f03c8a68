"""Billy's answers to reads are read-only trees, cached or not; changed copies are plain."""

from __future__ import annotations

import copy
import json
import pickle
from decimal import Decimal

import pytest

from billy_core.context import LOCAL_PRINCIPAL
from billy_core.frozen import FrozenDict, FrozenList, freeze, thaw
from billy_core.jsonutil import dumps_compact, dumps_exact

BODY = {"invoices": [{"id": "i1", "amount": Decimal("100.00"), "lines": [{"id": "l1"}]}], "meta": {}}

CHANGES = [
    lambda body: body.__setitem__("x", 1),
    lambda body: body.__delitem__("meta"),
    lambda body: body.update(x=1),
    lambda body: body.setdefault("x", 1),
    lambda body: body.pop("meta"),
    lambda body: body.popitem(),
    lambda body: body.clear(),
    lambda body: body["invoices"].append({}),
    lambda body: body["invoices"].extend([{}]),
    lambda body: body["invoices"].insert(0, {}),
    lambda body: body["invoices"].pop(),
    lambda body: body["invoices"].remove(body["invoices"][0]),
    lambda body: body["invoices"].sort(key=str),
    lambda body: body["invoices"].reverse(),
    lambda body: body["invoices"].clear(),
    lambda body: body["invoices"].__setitem__(0, {}),
    lambda body: body["invoices"].__delitem__(0),
    lambda body: body["invoices"][0]["lines"][0].__setitem__("id", "l2"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_is_refused_with_a_hint(change):
    body = freeze(BODY)
    with pytest.raises(TypeError, match="read-only; change a copy"):
        change(body)
    assert body == BODY


def test_in_place_operators_are_refused():
    body = freeze(BODY)
    rows = body["invoices"]
    with pytest.raises(TypeError):
        rows += [{}]
    with pytest.raises(TypeError):
        body |= {"x": 1}
    assert body == BODY


def test_reading_is_plain_reading_and_changed_copies_are_plain():
    body = freeze(BODY)
    assert isinstance(body, dict) and isinstance(body["invoices"], list)
    assert type(body["invoices"][0]) is FrozenDict and type(body["invoices"]) is FrozenList
    for copied in ({**body}, body.copy(), body | {}, dict(body), copy.copy(body)):
        assert type(copied) is dict
    rows = body["invoices"]
    concatenated = rows + [{}]  # noqa: RUF005 (the operator is what is tested)
    for copied_rows in (list(rows), rows[:], concatenated, copy.copy(rows)):
        assert type(copied_rows) is list
    mine = thaw(body)
    mine["invoices"][0]["lines"].append({"id": "l2"})
    assert type(mine["invoices"][0]) is dict and len(body["invoices"][0]["lines"]) == 1
    assert copy.deepcopy(body) == BODY and type(copy.deepcopy(body)["invoices"]) is list
    assert type(pickle.loads(pickle.dumps(body))["invoices"][0]) is dict


def test_frozen_trees_write_the_same_json():
    body = freeze(BODY)
    assert dumps_compact(body) == dumps_compact(BODY)
    assert dumps_exact(body) == dumps_exact(BODY)
    assert json.dumps(body, default=str) == json.dumps(BODY, default=str)


def test_freezing_a_frozen_tree_returns_it():
    body = freeze(BODY)
    assert freeze(body) is body


@pytest.mark.anyio
@pytest.mark.parametrize("disabled", [[], ["cache"]])
async def test_the_client_hands_reads_over_frozen_with_or_without_the_cache(
    make_kernel, billy_sandbox, disabled
):
    kernel = make_kernel(
        api_url=billy_sandbox.api_url, access_token=billy_sandbox.token, plugins_disabled=disabled
    )
    async with kernel:
        billy = kernel.new_context("test", principal=LOCAL_PRINCIPAL, transport="test").billy
        body = await billy.request("GET", "/invoices", query=(("pageSize", "2"),))
    assert type(body) is FrozenDict and type(body["invoices"]) is FrozenList
