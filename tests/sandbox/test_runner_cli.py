"""SandboxServer, --db persistence across restarts, and the serve command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from billy_sandbox.__main__ import main
from billy_sandbox.runner import SandboxServer
from click.testing import CliRunner

from tests.sandbox.helpers import created, lookup


def test_server_properties_and_free_port() -> None:
    with SandboxServer(demo=False, token="abc") as first, SandboxServer(demo=False) as second:
        assert first.port != second.port
        assert first.base_url == f"http://127.0.0.1:{first.port}"
        assert first.api_url == f"{first.base_url}/v2"
        assert first.token == "abc" and len(second.token) >= 20
        response = httpx.get(f"{second.api_url}/organization", headers={"X-Access-Token": second.token})
        assert response.status_code == 200


def test_db_keeps_the_sandbox_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    with SandboxServer(db=db, demo=False) as server:
        token = server.token
        with httpx.Client(base_url=server.api_url, headers={"X-Access-Token": token}) as api:
            made = created(
                api.post(
                    "/contacts",
                    json={
                        "contact": {
                            "name": "Vedvarende ApS",
                            "countryId": "DK",
                            "contactPersons": [{"name": "A"}],
                        }
                    },
                ),
                "contacts",
            )
            product = created(
                api.post(
                    "/products",
                    json={
                        "product": {"name": "Bønner", "prices": [{"unitPrice": 10.5, "currencyId": "DKK"}]}
                    },
                ),
                "products",
            )
            line = {"productId": product["id"], "unitPrice": 100}
            invoice = created(
                api.post(
                    "/invoices",
                    json={
                        "invoice": {
                            "contactId": made["id"],
                            "entryDate": "2026-01-02",
                            "state": "approved",
                            "lines": [line],
                        }
                    },
                ),
                "invoices",
            )
            api.post(
                "/files", content=b"bytes", headers={"X-Filename": "a.txt", "Content-Type": "text/plain"}
            )
    with SandboxServer(db=db) as again:
        assert again.token == token  # a generated token is kept with the data
        with httpx.Client(base_url=again.api_url, headers={"X-Access-Token": token}) as api:
            assert [c["name"] for c in lookup(api, "contacts")] == ["Vedvarende ApS"]
            stored = api.get(f"/invoices/{invoice['id']}").json()["invoice"]
            assert (stored["invoiceNo"], stored["grossAmount"], stored["balance"]) == ("1", 125, 125)
            assert lookup(api, "productPrices")[0]["unitPrice"] == 10.5
            assert api.get("/organization").json()["organization"]["nextInvoiceNo"] == 2
            (file,) = lookup(api, "files")
            assert api.get(f"/files/{file['id']}/download").content == b"bytes"
            second = created(
                api.post("/contacts", json={"contact": {"name": "Ny", "countryId": "DK"}}), "contacts"
            )
            assert second["id"] not in {made["id"], invoice["id"], product["id"]}
        info = httpx.post(f"{again.base_url}/_sandbox/reset").json()
        assert info["counts"]["contacts"] == 0 and info["demo"] is False
    with SandboxServer(db=db) as third:
        assert httpx.get(f"{third.base_url}/_sandbox/info").json()["counts"]["contacts"] == 0


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--seed", "--today", "--invoices", "--token", "--db"):
        assert option in result.output


def test_python_m_billy_sandbox_serve_prints_the_environment() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "billy_sandbox",
        "serve",
        "--port",
        "0",
        "--token",
        "cli-token",
        "--no-demo",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(3)]
        url = lines[0].removeprefix("BILLY_API_URL=")
        assert lines[0].startswith("BILLY_API_URL=http://127.0.0.1:") and url.endswith("/v2")
        assert lines[1:] == ["BILLY_ACCESS_TOKEN=cli-token", "BILLY_READ_ONLY=false"]
        # the socket is bound before the lines are printed, so the first request connects
        response = httpx.get(f"{url}/organization", headers={"X-Access-Token": "cli-token"}, timeout=30)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
