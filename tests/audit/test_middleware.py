"""Entries of reads and writes through the real pipeline, against the sandbox."""

from __future__ import annotations

import pytest
from billy_audit.plugin import audit_log, audit_middleware
from billy_audit.store import Filters
from billy_audit.verify import Verifier

from billy_core.context import LOCAL_PRINCIPAL
from tests.audit.helpers import key_env, sandbox_settings
from tests.audit.toolkit import WriteToolkit

pytestmark = pytest.mark.anyio


@pytest.fixture
def kernel(make_kernel, billy_plugins, billy_sandbox, monkeypatch):
    for key, value in key_env().items():
        monkeypatch.setenv(key, value)
    billy_plugins.append(("audit_test", WriteToolkit()))
    return make_kernel(**sandbox_settings(billy_sandbox))


async def call(kernel, name, arguments, **kwargs):
    return await kernel.call_tool(name, arguments, principal=LOCAL_PRINCIPAL, transport="memory", **kwargs)


async def entries(kernel, correlation_id=None):
    await audit_middleware(kernel).reads.settled()  # read entries are recorded in the background
    rows = await audit_log(kernel).store.recent(Filters(correlation_id=correlation_id), 100)
    return [row.parsed() for row in reversed(rows)]


async def test_a_read_leaves_one_entry_with_every_field(kernel):
    async with kernel:
        result = await call(kernel, "get_invoice", {"invoice_id": "nope"}, correlation_id="read-1")
        assert result.is_error and result.structured["code"] == "not_found"
        listed = await call(kernel, "list_invoices", {"limit": 2}, correlation_id="read-2")
        assert not listed.is_error
        invoice_id = listed.structured["items"][0]["id"]
        opened = await call(kernel, "get_invoice", {"invoice_id": invoice_id}, correlation_id="read-3")
        assert not opened.is_error
        [missing] = await entries(kernel, "read-1")
        [entry] = await entries(kernel, "read-2")
        [one] = await entries(kernel, "read-3")
    assert missing["outcome"] == "not_found" and missing["error"]["code"] == "not_found"
    assert entry["kind"] == "read" and entry["outcome"] == "ok" and entry["tool"] == "list_invoices"
    assert entry["principal"] == "local" and entry["transport"] == "memory"
    assert entry["arguments"] == {"limit": 2}
    assert entry["upstream_calls"] >= 1 and entry["upstream"][0]["method"] == "GET"
    assert entry["organization_id"] and entry["ts"].endswith("Z") and entry["key_version"] == "v1"
    assert isinstance(entry["seq"], int) and "." in entry["duration_ms"]
    assert "result" not in entry  # reads keep arguments and outcome, not the data read
    assert entry["records"] == []  # a list names no single record
    assert one["records"] == [f"invoice:{invoice_id}"] and missing["records"] == []


async def test_a_write_commits_its_intent_before_the_handler_runs(kernel):
    async with kernel:
        result = await call(kernel, "probe_write", {}, correlation_id="probe-1")
        rows = await entries(kernel, "probe-1")
    assert result.structured["seen"] == [["intent", "pending"]]
    intent, outcome = rows
    assert (intent["kind"], outcome["kind"], outcome["outcome"]) == ("intent", "outcome", "ok")
    assert outcome["intent_seq"] == intent["seq"] and outcome["seq"] > intent["seq"]
    assert outcome["result"] == {"seen": [["intent", "pending"]]}


async def test_a_write_records_the_records_it_touched_and_its_error_codes(kernel, billy_sandbox):
    async with kernel:
        created = await call(
            kernel,
            "create_test_contact",
            {"name": "Audit ApS", "registration_no": "29403473"},
            correlation_id="w-1",
        )
        assert not created.is_error, created.structured
        contact_id = created.structured["contact"]["id"]
        refused = await call(kernel, "refused_write", {}, correlation_id="w-2")
        _, outcome = await entries(kernel, "w-1")
        _, refusal = await entries(kernel, "w-2")
    assert f"contact:{contact_id}" in outcome["records"]
    assert {"method": "POST", "path": "/contacts", "status": 200} in outcome["upstream"]
    assert outcome["result"]["contact"]["id"] == contact_id
    assert refused.structured["code"] == "conflict"
    assert refusal["outcome"] == "conflict" and refusal["error"]["code"] == "conflict"
    assert "+45 20 12 34 56" not in refusal["error"]["message"] and "[phone:" in refusal["error"]["message"]


async def test_the_trail_of_a_session_verifies(kernel):
    async with kernel:
        for number in range(3):
            await call(kernel, "list_customers", {"limit": number + 1})
            await call(kernel, "probe_write", {})
    log = audit_log(kernel)
    report = await Verifier(await log.ready(), log.keys).run()
    assert report.status == "intact" and report.entries_checked == 9
    metrics = kernel.metrics.render().decode()
    assert 'billy_mcp_audit_entries_total{kind="read"} 3.0' in metrics
    assert 'billy_mcp_audit_entries_total{kind="intent"} 3.0' in metrics
    assert report.last_checkpoint_seq == 9  # signed at shutdown


async def test_list_audit_logs_filters_and_pages(kernel):
    async with kernel:
        for number in range(4):
            await call(kernel, "list_invoices", {"limit": 1}, correlation_id=f"page-{number}")
        first = await call(kernel, "list_audit_logs", {"limit": 3, "tool": "list_invoices"})
        second = await call(
            kernel, "list_audit_logs", {"limit": 3, "before_seq": first.structured["next_before_seq"]}
        )
        by_offset = await call(
            kernel, "list_audit_logs", {"limit": 3, "tool": "list_invoices", "offset": 3, "fields": ["tool"]}
        )
        by_correlation = await call(kernel, "list_audit_logs", {"correlation_id": "page-2"})
    page = first.structured
    seqs = [entry["seq"] for entry in page["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 3
    assert (page["total"], page["has_more"], page["next_offset"]) == (4, True, 3)
    assert [entry["seq"] for entry in second.structured["items"]] == [1]
    assert second.structured["next_before_seq"] is None and second.structured["has_more"] is False
    assert by_offset.structured["items"] == [{"seq": 1, "tool": "list_invoices"}]
    assert by_offset.structured["total"] == 4 and by_offset.structured["next_offset"] is None
    [only] = by_correlation.structured["items"]
    assert only["correlation_id"] == "page-2" and len(only["hash"]) == 64


async def test_a_destructive_preview_is_recorded_as_preview(kernel):
    async with kernel:
        result = await call(kernel, "void_test", {}, correlation_id="void-1")
        rows = await entries(kernel, "void-1")
    assert "confirmation_ticket" in result.structured
    assert [(row["kind"], row["outcome"]) for row in rows] == [("intent", "pending"), ("outcome", "preview")]


async def test_a_personal_principal_is_stored_redacted_and_still_found(kernel):
    from billy_core.context import Principal

    person = Principal(id="jens.hansen@example.dk", kind="oauth")
    async with kernel:
        await kernel.call_tool("list_invoices", {"limit": 1}, principal=person, transport="http")
        found = await call(kernel, "list_audit_logs", {"principal": "jens.hansen@example.dk"})
    [entry] = found.structured["items"]
    assert entry["principal"].startswith("[email:") and entry["principal_kind"] == "oauth"
    assert "jens" not in str(entry)
