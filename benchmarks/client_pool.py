"""The pooled Billy client against a new connection per request, against the sandbox, in one run.

Every side is the kernel's own :class:`~billy_core.billy.client.BillyPool` behind a
:class:`~billy_core.billy.client.BillyClient`, with no upstream middleware (no cache, no retries),
so the only difference is the connection:

* ``pooled``: the pool as the kernel runs it, one keep-alive HTTP client per organization;
* ``new connection``: the same client with keep-alive off, so every request opens a TCP connection;
* ``new client``: a fresh HTTP client for every request, closed after it, as code without a
  pool does (it also pays for building the client).

The sandbox runs in a process of its own (no shared GIL), once over plain HTTP and once over TLS
with a self-signed certificate, as the real Billy is only reached over HTTPS. Rounds interleave the
sides; each figure is the median of per-round means.

    .venv/bin/python benchmarks/client_pool.py [--requests 100] [--rounds 9] [--concurrency 10]

Both runs are on loopback, where a round trip costs microseconds: against the real Billy across
the internet every new connection also costs its TCP and TLS round trips, so the ratios are floors.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import ipaddress
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import IO

import anyio
import certifi
import httpx

from billy_core.billy.client import BillyClient, BillyPool
from billy_core.context import LOCAL_PRINCIPAL, CallContext
from billy_core.metrics import Metrics
from billy_core.settings import KernelSettings
from billy_core.upstream import UpstreamRequest, UpstreamResponse

Request = Callable[[BillyClient], Awaitable[object]]


class ConnectionPerRequest(BillyPool):
    """The same pool code without keep-alive: every request opens (and closes) a TCP connection."""

    limits = httpx.Limits(max_connections=50, max_keepalive_connections=0)


class ClientPerRequest(BillyPool):
    """Every request builds an HTTP client of its own and closes it after, as naive code does."""

    own: ContextVar[httpx.AsyncClient | None] = ContextVar("own", default=None)

    def _client(self, scope: str) -> httpx.AsyncClient:
        client = super()._client(scope)
        del self._http[scope]  # never shared with a concurrent request
        self.own.set(client)
        return client

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        reset = self.own.set(None)
        try:
            return await super().send(request)
        finally:
            client = self.own.get()
            self.own.reset(reset)
            if client is not None:
                await client.aclose()


# The sandbox's app served by uvicorn, over TLS when given a certificate (the CLI has no TLS).
SERVE = """
import asyncio, sys, uvicorn
from billy_sandbox.app import create_app
from billy_sandbox.config import SandboxConfig
from billy_sandbox.runner import bind_socket
token, cert, key = sys.argv[1:4]
app = create_app(SandboxConfig(token=token))
sock = bind_socket("127.0.0.1", 0)
print(f"{'https' if cert else 'http'}://127.0.0.1:{sock.getsockname()[1]}/v2", flush=True)
config = uvicorn.Config(
    app, log_level="warning", access_log=False, lifespan="off", ssl_certfile=cert or None, ssl_keyfile=key or None
)
asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
"""


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, so clients can trust it (SSL_CERT_FILE)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "sandbox.crt", folder / "sandbox.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def sandbox_process(token: str, tls: tuple[Path, Path] | None) -> Iterator[str]:
    """The sandbox in a process of its own (no shared GIL); yields its API URL once it answers."""
    cert, key = (str(tls[0]), str(tls[1])) if tls else ("", "")
    command = [sys.executable, "-c", SERVE, token, cert, key]
    with tempfile.TemporaryFile("w+") as output:  # a file, never a pipe that could fill up
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.DEVNULL, text=True)
        try:
            yield wait_until_serving(process, output, token)
        finally:
            process.terminate()
            process.wait(timeout=15)


def wait_until_serving(process: subprocess.Popen[str], output: IO[str], token: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        output.seek(0)
        api_url = output.readline().strip()
        if api_url.endswith("/v2"):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{api_url}/organization", headers={"X-Access-Token": token}).raise_for_status()
                return api_url
        time.sleep(0.05)


def client_for(pool: BillyPool) -> BillyClient:
    context = CallContext(
        correlation_id="bench",
        principal=LOCAL_PRINCIPAL,
        transport="bench",
        tool_name="bench",
        deadline=time.monotonic() + 10**6,
    )
    return BillyClient(pool, context)


async def mean_seconds(client: BillyClient, request: Request, count: int, concurrency: int) -> float:
    """Seconds per request: ``count`` requests, ``concurrency`` at a time."""

    async def worker(share: int) -> None:
        for _ in range(share):
            await request(client)

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for index in range(concurrency):
            group.start_soon(worker, count // concurrency + (index < count % concurrency))
    return (time.perf_counter() - started) / count


async def organization(client: BillyClient) -> object:
    return await client.request("GET", "/organization")


async def invoice_page(client: BillyClient) -> object:
    return await client.request("GET", "/invoices", query=(("pageSize", "20"),))


SIDES = {"pooled": BillyPool, "new connection": ConnectionPerRequest, "new client": ClientPerRequest}


async def measure(settings: KernelSettings, args: argparse.Namespace) -> list[tuple[str, dict[str, float]]]:
    pools = {side: kind(settings, Metrics()) for side, kind in SIDES.items()}
    clients = {side: client_for(pool) for side, pool in pools.items()}
    workloads: list[tuple[str, Request, int]] = [
        ("GET /organization, one at a time", organization, 1),
        ("GET /invoices?pageSize=20, one at a time", invoice_page, 1),
        (f"GET /organization, {args.concurrency} at a time", organization, args.concurrency),
    ]
    rows = []
    try:
        for client in clients.values():  # learn the organization id, open the pooled connection
            await invoice_page(client)
        for name, request, concurrency in workloads:
            means: dict[str, list[float]] = {side: [] for side in clients}
            for _ in range(args.rounds):
                for side, client in clients.items():
                    means[side].append(await mean_seconds(client, request, args.requests, concurrency))
            rows.append((name, {side: statistics.median(values) for side, values in means.items()}))
    finally:
        for pool in pools.values():
            await pool.aclose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100, help="requests per side per round")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds")
    parser.add_argument("--concurrency", type=int, default=10, help="requests in flight in the last row")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="billy-bench-"))
    tls = self_signed(folder)
    # httpx trusts the usual CA bundle plus the sandbox's certificate, so building a client costs
    # what it costs against the real Billy (loading the whole bundle).
    bundle = folder / "bundle.pem"
    bundle.write_text(Path(certifi.where()).read_text() + tls[0].read_text())
    os.environ["SSL_CERT_FILE"] = str(bundle)
    token = secrets.token_hex(16)
    print(f"{args.rounds} rounds x {args.requests} requests per side; medians of per-round means (µs)")
    for scheme, certificate in (("http", None), ("https", tls)):
        with sandbox_process(token, certificate) as api_url:
            settings = KernelSettings(
                api_url=api_url,
                access_token=token,
                read_only=True,
                database_url=f"sqlite:///{folder / 'bench.sqlite3'}",
            )
            rows = anyio.run(measure, settings, args)
        print(f"\n{scheme + ' (loopback)':<44} {'pooled':>8} {'new connection':>22} {'new client':>22}")
        for name, figures in rows:
            pooled = figures["pooled"]
            cells = [
                f"{figures[side] * 1e6:>8.0f} ({figures[side] / pooled:5.2f}x)" for side in list(SIDES)[1:]
            ]
            print(f"{name:<44} {pooled * 1e6:>8.0f} {cells[0]:>22} {cells[1]:>22}")


if __name__ == "__main__":
    main()
