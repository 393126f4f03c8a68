"""The ``billy-mcp`` command line. Plugins add subcommands through ``register_commands``."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from billy_core import __version__
from billy_core.errors import StartupError
from billy_core.settings import KernelSettings, load_kernel_settings

F = TypeVar("F", bound=Callable[..., Any])


def reports_startup_errors(function: F) -> F:
    """Print a StartupError as one clear line and exit 2, never a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except StartupError as exc:
            click.echo(f"billy-mcp: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def build_kernel(ctx: click.Context | None = None, **overrides: Any) -> Any:
    """Settings plus plugins, as a plugin command needs them (raises StartupError)."""
    from billy_core.kernel import Kernel
    from billy_core.logs import configure_logging

    settings = load_kernel_settings(**overrides)
    configure_logging(settings)
    return Kernel.build(settings)


@click.group()
@click.version_option(__version__, prog_name="billy-mcp")
def cli() -> None:
    """billy-mcp: an MCP server for Billy's Billing (Billy.dk)."""


@cli.command()
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--host", default=None, help="HTTP bind address (default BILLY_HOST or 127.0.0.1)")
@click.option("--port", type=int, default=None, help="HTTP port (default BILLY_PORT or 8000)")
@click.option(
    "--sandbox", is_flag=True, help="Start the Billy emulator in-process and use it (no account needed)"
)
@click.option(
    "--sandbox-seed", type=int, default=1, show_default=True, help="Seed of the sandbox's demo company"
)
@reports_startup_errors
def serve(transport: str, host: str | None, port: int | None, sandbox: bool, sandbox_seed: int) -> None:
    """Serve MCP over stdio (for desktop clients) or Streamable HTTP at /mcp."""
    from billy_core.serve import serve_forever

    serve_forever(transport=transport, host=host, port=port, sandbox=sandbox, sandbox_seed=sandbox_seed)


@cli.group()
def plugins() -> None:
    """Inspect plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@reports_startup_errors
def plugins_list(as_json: bool) -> None:
    """Every plugin: enabled or not, and why not."""
    from billy_core.plugins import KERNEL_PLUGIN

    kernel = build_kernel()
    records = [record for name, record in sorted(kernel.plugins.records.items()) if name != KERNEL_PLUGIN]
    if as_json:
        click.echo(json.dumps([record.as_dict() for record in records], indent=2))
        return
    for record in records:
        state = "enabled " if record.enabled else "disabled"
        reason = f"  ({record.disabled_reason})" if record.disabled_reason else ""
        click.echo(f"{state}  {record.name:<12} {record.version or '':<8}{reason}")


@cli.group()
def tools() -> None:
    """Inspect tools."""


@tools.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@reports_startup_errors
def tools_list(as_json: bool) -> None:
    """The tools a client sees (write tools are hidden in read-only mode)."""
    kernel = build_kernel()
    visible = kernel.tools.visible(read_only_mode=kernel.read_only)
    if as_json:
        rows = [
            {"name": t.name, "title": t.title, "plugin": t.plugin, "annotations": t.annotations()}
            for t in visible
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for tool in visible:
        kind = "read " if tool.read_only else ("write!" if tool.destructive else "write")
        click.echo(f"{tool.name:<28} {kind:<7} {tool.plugin:<10} {tool.title or ''}")


@tools.command("reference")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Rewrite the generated part of this Markdown file (docs/tools.md), keeping the rest",
)
@click.option(
    "--check", is_flag=True, help="With --output: exit 1 if the file is out of date, change nothing"
)
@reports_startup_errors
def tools_reference(output: Path | None, check: bool) -> None:
    """The tool reference in Markdown, from the registry with writes enabled."""
    from billy_core.tool_reference import generated_block, splice_reference

    block = generated_block(build_kernel(read_only=False).tools)
    if output is None:
        click.echo(block, nl=False)
        return
    current = output.read_text(encoding="utf-8") if output.exists() else None
    wanted = splice_reference(current, block)
    if check:
        if current != wanted:
            click.echo(f"{output} is out of date: run billy-mcp tools reference --output {output}", err=True)
            sys.exit(1)
        return
    output.write_text(wanted, encoding="utf-8")
    click.echo(f"wrote {output}")


@cli.group()
def config() -> None:
    """Inspect configuration."""


@config.command("show")
@reports_startup_errors
def config_show() -> None:
    """The effective settings, secrets masked."""
    kernel = build_kernel()
    click.echo(json.dumps(masked_settings(kernel.settings), indent=2, default=str))
    for name, model in sorted(kernel._plugin_settings.items()):
        click.echo(f"[plugins.{name}]")
        click.echo(json.dumps(model.model_dump(mode="json"), indent=2, default=str))


def masked_settings(settings: KernelSettings) -> dict[str, Any]:
    values = settings.model_dump()
    for key, value in values.items():
        if value is not None and ("token" in key or key in ("redis_url",)):
            values[key] = "********"
    if "@" in values.get("database_url", ""):
        scheme, _, rest = values["database_url"].partition("://")
        values["database_url"] = f"{scheme}://********@{rest.rpartition('@')[2]}"
    values["effective_read_only"] = settings.effective_read_only
    return values


@cli.command()
@reports_startup_errors
def doctor() -> None:
    """Check settings, plugins, Billy, Redis and the database, and say what to fix."""
    from billy_core.doctor import run_doctor

    sys.exit(run_doctor())


class _LazySandboxGroup(click.Group):
    """Imports billy_sandbox only when a sandbox command actually runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["serve"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name != "serve":
            return None
        from billy_sandbox.cli import serve_command

        command: click.Command = serve_command
        return command


@cli.group(cls=_LazySandboxGroup)
def sandbox() -> None:
    """The Billy API emulator (no account needed)."""


def _add_plugin_commands(group: click.Group) -> None:
    from billy_core.logs import configure_logging
    from billy_core.plugins import PluginSelection, create_plugin_host

    try:
        settings = load_kernel_settings()
        configure_logging(settings)  # every command logs as the settings say, redacted
        selection = PluginSelection.from_settings(settings)
        host = create_plugin_host(selection, quiet=True)
    except StartupError:
        return  # the command the user runs reports the problem
    host.hook.register_commands(cli=group)


def main() -> None:
    _add_plugin_commands(cli)
    cli()
