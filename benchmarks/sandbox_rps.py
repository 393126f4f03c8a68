"""How fast is the sandbox? Requests per second for list and create, against a real SandboxServer.

Run: .venv/bin/python benchmarks/sandbox_rps.py [--seconds 3] [--invoices N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import httpx
from billy_sandbox.runner import SandboxServer


def _rate(seconds: float, call: Callable[[], httpx.Response]) -> tuple[float, int]:
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        response = call()
        if response.status_code != 200:
            raise RuntimeError(f"unexpected {response.status_code}: {response.text[:200]}")
        count += 1
    return count / (time.perf_counter() - started), count


def _invoice_body(api: httpx.Client) -> dict[str, Any]:
    contact = api.get("/contacts", params={"isCustomer": "true", "countryId": "DK", "pageSize": 1}).json()[
        "contacts"
    ][0]
    product = api.get("/products", params={"pageSize": 1}).json()["products"][0]
    line = {"productId": product["id"], "quantity": 2, "unitPrice": 189}
    return {"invoice": {"contactId": contact["id"], "entryDate": "2026-09-01", "lines": [line, line]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per row")
    parser.add_argument("--invoices", type=int, default=None, help="demo size (default: the normal demo)")
    args = parser.parse_args()
    started = time.perf_counter()
    with SandboxServer(invoices=args.invoices) as server:
        startup = time.perf_counter() - started
        with httpx.Client(
            base_url=server.api_url, headers={"X-Access-Token": server.token}, verify=False
        ) as api:
            total = api.get("/invoices", params={"pageSize": 1}).json()["meta"]["paging"]["total"]
            body = _invoice_body(api)
            rows = [
                ("GET /v2/invoices?pageSize=20", _rate(args.seconds, lambda: api.get("/invoices", params={"pageSize": 20}))),
                ("GET /v2/invoices?pageSize=20&state=approved&sortProperty=entryDate",
                 _rate(args.seconds, lambda: api.get("/invoices", params={"pageSize": 20, "state": "approved", "sortProperty": "entryDate"}))),
                ("POST /v2/invoices (2 lines, draft)", _rate(args.seconds, lambda: api.post("/invoices", json=body))),
            ]  # fmt: skip
    print(f"sandbox start-up: {startup:.2f} s with {total} invoices (and credit notes)")
    print(f"{'request':<68} {'req/s':>8} {'count':>7}")
    for name, (rate, count) in rows:
        print(f"{name:<68} {rate:>8.0f} {count:>7}")


if __name__ == "__main__":
    main()
