"""`billy-mcp sandbox serve` (and `python -m billy_sandbox serve`)."""

from __future__ import annotations

import asyncio
import datetime as dt

import click
import uvicorn

from billy_sandbox.app import create_app
from billy_sandbox.config import DEFAULT_TODAY, SandboxConfig
from billy_sandbox.runner import bind_socket, uvicorn_config


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0 = a free port).")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the demo company.")
@click.option(
    "--today",
    default=DEFAULT_TODAY.isoformat(),
    show_default=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The demo company's 'today'; data is generated before it.",
)
@click.option("--invoices", default=None, type=click.IntRange(min=1), help="Generate this many invoices.")
@click.option("--token", default=None, help="Access token to require (generated when omitted).")
@click.option(
    "--db", default=None, type=click.Path(dir_okay=False), help="Keep the sandbox in this SQLite file."
)
@click.option(
    "--no-demo", is_flag=True, help="Only the organization and reference data, no customers or invoices."
)
def serve_command(
    host: str,
    port: int,
    seed: int,
    today: dt.datetime,
    invoices: int | None,
    token: str | None,
    db: str | None,
    no_demo: bool,
) -> None:
    """Serve the Billy API v2 sandbox and print the environment for `billy-mcp serve`."""
    config = SandboxConfig(
        seed=seed, today=today.date(), token=token, invoices=invoices, db=db, demo=not no_demo, progress=True
    )
    app = create_app(config)
    sock = bind_socket(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"BILLY_API_URL=http://{shown_host}:{sock.getsockname()[1]}/v2")
    click.echo(f"BILLY_ACCESS_TOKEN={app.state.sandbox.token}")
    click.echo("BILLY_READ_ONLY=false")
    server = uvicorn.Server(uvicorn_config(app, log_level="info", access_log=True))
    asyncio.run(server.serve(sockets=[sock]))
