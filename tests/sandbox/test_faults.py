"""Fault injection and stats under /_sandbox. Shares use the fault seed, so counts are exact."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from billy_sandbox.app import create_app
from billy_sandbox.config import SandboxConfig

from tests.sandbox.helpers import error, lookup


@pytest.fixture
def faults(control: httpx.Client) -> Iterator[httpx.Client]:
    yield control
    control.delete("/faults")


def _set(control: httpx.Client, **config: Any) -> None:
    response = control.put("/faults", json=config)
    assert response.status_code == 200, response.text


def test_error_rate_fails_the_configured_share(api: httpx.Client, faults: httpx.Client) -> None:
    _set(faults, error_rate=0.3, error_status=503, seed=42)
    statuses = [api.get("/organization").status_code for _ in range(300)]
    failed = statuses.count(503)
    assert set(statuses) == {200, 503}
    assert 60 <= failed <= 120  # 90 expected; the seed makes the exact count repeatable
    assert faults.get("/stats").json()["faults_injected"]["error"] == failed
    _set(faults, error_rate=0.3, error_status=503, seed=42)
    again = [api.get("/organization").status_code for _ in range(300)]
    assert again == statuses


def test_injected_errors_have_billy_shape_and_change_nothing(api: httpx.Client, faults: httpx.Client) -> None:
    _set(faults, error_rate=1, error_status=500)
    error(api.post("/contacts", json={"contact": {"name": "X", "countryId": "DK"}}), 500, "INTERNAL_ERROR")
    faults.delete("/faults")
    assert lookup(api, "contacts") == []


def test_rate_limit_answers_429_with_retry_after(api: httpx.Client, faults: httpx.Client) -> None:
    _set(faults, rate_limit={"requests": 3, "window_s": 60})
    responses = [api.get("/organization") for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    limited = responses[3]
    error(limited, 429, "RATE_LIMIT_EXCEEDED")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert faults.get("/stats").json()["faults_injected"]["rate_limited"] == 2


def test_commit_then_timeout_abort_stores_the_write(api: httpx.Client, faults: httpx.Client) -> None:
    _set(faults, commit_then_timeout_rate=1, commit_then_timeout_mode="abort", methods=["POST"])
    assert api.get("/contacts").status_code == 200  # reads are not affected
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/contacts", json={"contact": {"name": "Committed ApS", "countryId": "DK"}})
    faults.delete("/faults")
    assert [c["name"] for c in lookup(api, "contacts")] == ["Committed ApS"]
    assert faults.get("/stats").json()["faults_injected"]["commit_then_timeout"] == 1


def test_commit_then_timeout_hang_stores_the_write(
    bare_server: Any, api: httpx.Client, faults: httpx.Client
) -> None:
    _set(faults, commit_then_timeout_rate=1, commit_then_timeout_mode="hang", hang_s=5)
    headers = {"X-Access-Token": "test-token"}
    with httpx.Client(base_url=bare_server.api_url, headers=headers, timeout=0.3, verify=False) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            impatient.post("/contacts", json={"contact": {"name": "Hung ApS", "countryId": "DK"}})
    faults.delete("/faults")
    assert [c["name"] for c in lookup(api, "contacts")] == ["Hung ApS"]


def test_commit_then_timeout_rate_uses_the_seed(api: httpx.Client, faults: httpx.Client) -> None:
    _set(faults, commit_then_timeout_rate=0.5, seed=3, paths=["/v2/contacts"])
    lost = 0
    for i in range(20):
        try:
            api.post("/contacts", json={"contact": {"name": f"K{i}", "countryId": "DK"}})
        except httpx.TransportError:
            lost += 1
    injected = faults.get("/stats").json()["faults_injected"]["commit_then_timeout"]
    assert injected == lost and 4 <= lost <= 16
    faults.delete("/faults")
    assert len(lookup(api, "contacts")) == 20


def test_paths_and_methods_select_requests(api: httpx.Client, faults: httpx.Client) -> None:
    _set(faults, error_rate=1, paths=["/v2/contacts*"], methods=["GET"])
    assert api.get("/contacts").status_code == 503
    assert api.get("/contacts/abc").status_code == 503
    assert api.get("/products").status_code == 200
    assert api.post("/contacts", json={"contact": {"name": "X", "countryId": "DK"}}).status_code == 200
    assert faults.get("/faults").json()["faults"]["paths"] == ["/v2/contacts*"]


def test_latency_is_accepted_and_cleared(api: httpx.Client, faults: httpx.Client) -> None:
    _set(faults, latency_ms=20, latency_jitter_ms=5, seed=1)
    assert api.get("/organization").status_code == 200
    assert faults.get("/faults").json()["faults"]["latency_ms"] == 20
    assert faults.delete("/faults").json() == {"faults": None}


@pytest.mark.parametrize(
    "config",
    [
        {"error_rate": 2},
        {"nonsense": 1},
        {"rate_limit": {"requests": 0, "window_s": 1}},
        {"commit_then_timeout_mode": "explode"},
        {"error_status": 200},
        {"paths": "/v2/*"},
    ],
)
def test_invalid_fault_config_is_refused(faults: httpx.Client, config: dict[str, Any]) -> None:
    assert faults.put("/faults", json=config).status_code == 400
    assert faults.put("/faults", content=b"{oops").status_code == 400


def test_stats_count_routes_on_arrival(bare_server: Any, api: httpx.Client, control: httpx.Client) -> None:
    control.post("/stats/reset")
    api.get("/invoices", params={"pageSize": 20})
    api.get("/invoices/abc")
    api.get("/invoices/def")
    api.post("/invoices/abc/emails", json={})
    httpx.get(f"{bare_server.api_url}/contacts")  # no token: still counted
    api.get("/organization")
    stats = control.get("/stats").json()
    assert stats["total"] == 6
    assert stats["by_route"] == {
        "GET /v2/invoices": 1, "GET /v2/invoices/{id}": 2, "POST /v2/invoices/{id}/emails": 1,
        "GET /v2/contacts": 1, "GET /v2/organization": 1,
    }  # fmt: skip
    assert stats["faults_injected"] == {"error": 0, "rate_limited": 0, "commit_then_timeout": 0}
    assert control.post("/stats/reset").json()["total"] == 0


def test_reset_clears_data_outbox_stats_and_faults(api: httpx.Client, control: httpx.Client) -> None:
    api.post("/contacts", json={"contact": {"name": "X", "countryId": "DK"}})
    _set(control, latency_ms=1)
    info = control.post("/reset").json()
    assert info["counts"]["contacts"] == 0 and info["seed"] == 1 and info["today"] == "2026-09-30"
    assert control.get("/faults").json() == {"faults": None}
    assert control.get("/stats").json()["total"] == 0 and control.get("/outbox").json() == {"emails": []}


def test_sandbox_routes_answer_loopback_only() -> None:
    app = create_app(SandboxConfig(token="t", demo=False))

    async def probe() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as remote:
            return [
                (await remote.get("/_sandbox/info")).status_code,
                (await remote.put("/_sandbox/faults", json={"error_rate": 1})).status_code,
                (await remote.get("/v2/organization", headers={"X-Access-Token": "t"})).status_code,
            ]

    assert asyncio.run(probe()) == [403, 403, 200]
