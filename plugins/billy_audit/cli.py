"""``billy-mcp audit ...``: verify, list, export, purge, checkpoint, public-key."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TextIO, TypeVar

import anyio
import click

from billy_audit.export import export
from billy_audit.log import AuditLog, describe
from billy_audit.periods import bound, today
from billy_audit.retention import PurgePlan, plan, purge
from billy_audit.store import Filters
from billy_audit.verify import Problem, Report, Verifier
from billy_audit.views import line, summary
from billy_core.cli import build_kernel, reports_startup_errors
from billy_core.errors import StartupError

T = TypeVar("T")

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("audit")
def audit() -> None:
    """The audit trail: verify it, read it, export it, purge what retention allows."""


def run_with_log(work: Callable[[Any, AuditLog], Awaitable[T]]) -> T:
    """Build the kernel (settings, plugins) and an audit log with its own engine; run ``work``."""
    from billy_audit.plugin import audit_log_for

    kernel = build_kernel()
    log = audit_log_for(kernel, own_engine=True)

    async def main() -> T:
        try:
            return await work(kernel, log)
        finally:
            await log.aclose()
            await kernel.billy.aclose()

    return anyio.run(main)


def fail(message: str, code: int = 2) -> None:
    click.echo(f"billy-mcp audit: {message}", err=True)
    sys.exit(code)


async def verify_log(log: AuditLog, progress: Callable[[int], None] | None = None) -> Report:
    """Verify, turning a store that cannot be read into an ``unverifiable`` report."""
    try:
        store = await log.ready()
        verifier = Verifier(store, log.keys, extra_checkpoints=log.mirrored_checkpoints(), progress=progress)
        return await verifier.run()
    except StartupError:
        raise
    except Exception as exc:
        problem = Problem("unverifiable", None, f"cannot read the audit store: {describe(exc)}")
        return Report(status="unverifiable", problem=problem)


def print_report(report: Report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    if report.status == "intact":
        span = f"seq {report.first_seq}..{report.last_seq}" if report.entries_checked else "no entries"
        click.echo(
            f"intact: {report.entries_checked} entries ({span}), {report.checkpoints_checked} signed "
            f"checkpoints, verified in {report.seconds:.2f}s"
        )
        if report.anchor_seq is not None:
            click.echo(f"starts after the retention anchor at seq {report.anchor_seq}")
        if report.unprotected_tail:
            click.echo(
                f"note: the last {report.unprotected_tail} entries are after the last checkpoint; their "
                "removal from the tail could not be proven until the next checkpoint"
            )
        return
    click.echo(report.status.upper())
    problem = report.problem
    assert problem is not None
    if problem.first_bad_seq is not None:
        click.echo(f"first_bad_seq: {problem.first_bad_seq}")
    click.echo(f"problem: {problem.kind}")
    click.echo(f"detail: {problem.message}")


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@reports_startup_errors
def verify(as_json: bool) -> None:
    """Check the whole chain against the HMAC keys, the checkpoints and the anchor.

    Exit status 0: intact; 1: tampered (first_bad_seq names the entry); 2: could not check.
    """
    report = run_with_log(lambda kernel, log: verify_log(log))
    print_report(report, as_json)
    sys.exit(report.exit_code)


@audit.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--tool", default=None)
@click.option("--principal", default=None)
@click.option("--correlation-id", default=None)
@click.option("--kind", type=click.Choice(["intent", "outcome", "read"]), default=None)
@click.option("--outcome", default=None, help="ok, preview, pending or an error code")
@click.option("--since", type=DATE, default=None, help="From this day (YYYY-MM-DD, Danish time)")
@click.option("--until", type=DATE, default=None, help="Through this day")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line")
@reports_startup_errors
def list_entries(
    limit: int,
    tool: str | None,
    principal: str | None,
    correlation_id: str | None,
    kind: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
    as_json: bool,
) -> None:
    """Recent entries, newest first."""
    filters = Filters(
        tool=tool,
        principal=Filters.for_principal(principal),
        correlation_id=correlation_id,
        kind=kind,
        outcome=outcome,
        since=bound(since.date() if since else None),
        until=bound(until.date() if until else None, end=True),
    )

    async def work(kernel: Any, log: AuditLog) -> Any:
        try:
            return await (await log.ready()).recent(filters, limit)
        except Exception as exc:
            fail(f"cannot read the audit store: {describe(exc)}")

    for entry in run_with_log(work):
        click.echo(json.dumps(summary(entry), ensure_ascii=False) if as_json else line(entry))


@audit.command("export")
@click.option("--from", "start", type=DATE, required=True, help="First day (YYYY-MM-DD, Danish time)")
@click.option("--to", "end", type=DATE, required=True, help="Last day, inclusive")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    help="File (default stdout)",
)
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr")
@reports_startup_errors
def export_entries(start: datetime, end: datetime, fmt: str, output: str, no_progress: bool) -> None:
    """Export the entries of a date range (JSON lines or CSV), each with its chain fields."""
    from tqdm import tqdm

    if end < start:
        fail("--to is before --from")
    since, until = bound(start.date()), bound(end.date(), end=True)

    def work(stream: TextIO) -> Callable[[Any, AuditLog], Awaitable[int]]:
        async def run(kernel: Any, log: AuditLog) -> int:
            try:
                store = await log.ready()
                total = await store.count(Filters(since=since, until=until))
            except Exception as exc:
                fail(f"cannot read the audit store: {describe(exc)}")
            with tqdm(
                total=total, unit="entries", file=sys.stderr, disable=no_progress, desc="export"
            ) as bar:
                return await export(store, stream, fmt=fmt, since=since, until=until, progress=bar.update)

        return run

    if output == "-":
        written = run_with_log(work(sys.stdout))
    else:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            written = run_with_log(work(stream))
    if output != "-":
        click.echo(f"exported {written} entries to {output}", err=True)


@audit.command("purge")
@click.option("--before", type=DATE, required=True, help="Remove only entries written before this day")
@click.option("--dry-run", is_flag=True, help="Say what would go; change nothing")
@click.option(
    "--fiscal-year-end-month",
    type=click.IntRange(1, 12),
    default=None,
    help="Default: BILLY_AUDIT__FISCAL_YEAR_END_MONTH, else the organization's (asked from Billy)",
)
@reports_startup_errors
def purge_entries(before: datetime, dry_run: bool, fiscal_year_end_month: int | None) -> None:
    """Remove entries past their retention (5 years after their financial year) and anchor the rest.

    Only the oldest entries go, and only those whose retention has ended; the chain is verified
    first, and a signed anchor keeps the hash of the last removed entry.
    """

    async def work(kernel: Any, log: AuditLog) -> tuple[PurgePlan, Any]:
        month = (
            fiscal_year_end_month or log.settings.fiscal_year_end_month or await billy_fiscal_month(kernel)
        )
        report = await verify_log(log)
        if report.status != "intact":
            print_report(report, False)
            fail("the chain is not intact; nothing was purged", report.exit_code)
        planned = await plan(log, before.date(), month, today())
        if dry_run or not planned.count:
            return planned, None
        return planned, await purge(log, planned)

    planned, anchor = run_with_log(work)
    click.echo(f"fiscal year ends in month {planned.fiscal_year_end_month}; today is {planned.today}")
    click.echo(planned.describe())
    if planned.stopped_because and planned.count:
        click.echo(f"stopped at seq {planned.stopped_at}: {planned.stopped_because}")
    if dry_run:
        click.echo("dry run: nothing was removed")
    elif anchor is not None:
        click.echo(f"removed {planned.count} entries; anchor at seq {anchor.seq} holds hash {anchor.hash}")


async def billy_fiscal_month(kernel: Any) -> int:
    from billy_core.context import LOCAL_PRINCIPAL
    from billy_core.domain.organization import fetch_organization

    context = kernel.new_context("audit_purge", principal=LOCAL_PRINCIPAL, transport="cli")
    try:
        organization = await fetch_organization(context)
        return int(organization["fiscalYearEndMonth"])
    except Exception as exc:
        fail(
            "cannot find the fiscal year end month: set BILLY_AUDIT__FISCAL_YEAR_END_MONTH or pass "
            f"--fiscal-year-end-month ({type(exc).__name__}: {getattr(exc, 'message', exc)})"
        )
        raise


@audit.command("checkpoint")
@reports_startup_errors
def checkpoint() -> None:
    """Sign the current chain head now."""

    async def work(kernel: Any, log: AuditLog) -> Any:
        try:
            return await log.checkpoint(force=True)
        except Exception as exc:
            fail(f"cannot write a checkpoint: {exc}")

    row = run_with_log(work)
    click.echo(f"checkpoint at seq {row.seq}" if row is not None else "the head is already signed")


@audit.command("public-key")
@click.option("--format", "fmt", type=click.Choice(["pem", "base64"]), default="pem", show_default=True)
@reports_startup_errors
def public_key(fmt: str) -> None:
    """Print the Ed25519 public key that verifies checkpoints and anchors."""

    async def work(kernel: Any, log: AuditLog) -> Any:
        return log.keys

    keys = run_with_log(work)
    signer = keys.signer
    click.echo(signer.public_pem().rstrip() if fmt == "pem" else signer.public_base64())
    click.echo(f"key id {signer.key_id} ({keys.source})", err=True)
