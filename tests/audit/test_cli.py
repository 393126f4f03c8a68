"""``billy-mcp audit ...``: verify's exit codes, list, export (verifiable offline), purge, keys."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from billy_audit.chain import ZERO_HASH, canonical, link_hash
from billy_audit.cli import audit
from click.testing import CliRunner
from loguru import logger

from tests.audit.helpers import Tamper, fill, key_env, make_log, public_key_b64

BILLY_MCP = str(Path(sys.executable).parent / "billy-mcp")


@pytest.fixture
def env(monkeypatch, billy_env):
    for key, value in key_env().items():
        monkeypatch.setenv(key, value)
    return os.environ["BILLY_DATABASE_URL"]


@pytest.fixture
def run(env):
    """Invoke ``billy-mcp audit ...`` in-process; the CLI's logging set-up is undone afterwards."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(audit, list(args), catch_exceptions=False)

    yield invoke
    logger.remove()
    logger.configure(patcher=lambda record: None)
    logger.add(sys.stderr)


def filled(url: str, count: int, *, clock: str | None = None) -> None:
    async def main() -> None:
        log = make_log(url, checkpoint_every=10)
        if clock:
            log.clock = lambda: clock
        await fill(log, count, batch=5)
        await log.aclose()

    anyio.run(main)


def tampered(url: str, statement: str) -> None:
    async def main() -> None:
        log = make_log(url)
        await Tamper(log).sql(statement.format(entries=log.store.entries.fullname))
        await log.aclose()

    anyio.run(main)


def test_verify_exit_codes(run, env, monkeypatch):
    filled(env, 25)
    intact = run("verify")
    assert intact.exit_code == 0, intact.output
    assert "intact: 25 entries (seq 1..25)" in intact.output
    assert "the last 5 entries are after the last checkpoint" in intact.output

    tampered(env, "DELETE FROM {entries} WHERE seq = 12")
    broken = run("verify", "--json")
    assert broken.exit_code == 1
    report = json.loads(broken.output)
    assert (report["status"], report["first_bad_seq"], report["problem"]) == ("tampered", 12, "deleted")

    monkeypatch.setenv("BILLY_AUDIT__DATABASE_URL", "postgresql://postgres@127.0.0.1:1/test")
    unreachable = run("verify")
    assert unreachable.exit_code == 2 and "UNVERIFIABLE" in unreachable.output


def test_the_installed_command_exits_with_the_verdict(env):
    """Through the real entry point (plugin commands are added by billy_core.cli.main)."""
    filled(env, 3)
    tampered(env, "UPDATE {entries} SET outcome = 'ok!' WHERE seq = 2")
    bad = subprocess.run(
        [BILLY_MCP, "audit", "verify"], capture_output=True, text=True, env={**os.environ}, timeout=60
    )
    assert bad.returncode == 1, bad.stderr
    assert "first_bad_seq: 2" in bad.stdout and "problem: modified" in bad.stdout


def test_list_shows_recent_entries(run, env):
    filled(env, 5)
    plain = run("list", "--limit", "2")
    assert plain.exit_code == 0 and len(plain.output.splitlines()) == 2
    assert plain.output.split()[0] == "5"
    as_json = [
        json.loads(line)
        for line in run("list", "--json", "--correlation-id", "c00000003").output.splitlines()
    ]
    assert [entry["seq"] for entry in as_json] == [3]


def test_export_jsonl_can_be_verified_offline(run, env, tmp_path):
    filled(env, 12, clock="2026-03-15T09:00:00.000000Z")
    target = tmp_path / "audit.jsonl"
    result = run("export", "--from", "2026-03-01", "--to", "2026-03-31", "--output", str(target))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(lines) == 12
    prev = ZERO_HASH
    for line in lines:
        body = {key: value for key, value in line.items() if key not in ("prev_hash", "hash", "hmac")}
        assert line["prev_hash"] == prev and link_hash(prev, canonical(body)) == line["hash"]
        prev = line["hash"]
    outside = run("export", "--from", "2026-04-01", "--to", "2026-04-30", "--no-progress")
    assert outside.exit_code == 0 and outside.output == ""


def test_export_csv(run, env):
    filled(env, 3, clock="2026-03-15T09:00:00.000000Z")
    result = run("export", "--from", "2026-03-15", "--to", "2026-03-15", "--format", "csv", "--no-progress")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [row["seq"] for row in rows] == ["1", "2", "3"]
    assert rows[0]["records"] == "invoice:inv1" and json.loads(rows[0]["arguments"])["amount"] == "12.50"


def test_purge_dry_run_then_purge(run, env):
    filled(env, 4, clock="2015-02-01T09:00:00.000000Z")
    filled(env, 2)
    dry = run("purge", "--before", "2020-01-01", "--fiscal-year-end-month", "12", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "4 entries, seq 1..4, may be purged" in dry.output and "nothing was removed" in dry.output
    assert "intact: 6 entries" in run("verify").output

    done = run("purge", "--before", "2020-01-01", "--fiscal-year-end-month", "12")
    assert done.exit_code == 0 and "removed 4 entries; anchor at seq 4" in done.output
    after = run("verify")
    assert (
        after.exit_code == 0 and "2 entries (seq 5..6)" in after.output and "anchor at seq 4" in after.output
    )


def test_purge_refuses_a_tampered_chain(run, env):
    filled(env, 4, clock="2015-02-01T09:00:00.000000Z")
    tampered(env, "UPDATE {entries} SET tool = 'x' WHERE seq = 3")
    result = run("purge", "--before", "2020-01-01", "--fiscal-year-end-month", "12")
    assert result.exit_code == 1 and "nothing was purged" in result.output


def test_purge_asks_billy_for_the_fiscal_year(run, env, billy_sandbox, monkeypatch):
    monkeypatch.setenv("BILLY_API_URL", billy_sandbox.api_url)
    monkeypatch.setenv("BILLY_ACCESS_TOKEN", billy_sandbox.token)
    filled(env, 1, clock="2015-02-01T09:00:00.000000Z")
    result = run("purge", "--before", "2020-01-01", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "fiscal year ends in month 12" in result.output


def test_public_key_and_checkpoint(run, env):
    exported = run("public-key", "--format", "base64")
    assert exported.stdout.strip() == public_key_b64() and "(configured)" in exported.stderr
    assert "BEGIN PUBLIC KEY" in run("public-key").output
    filled(env, 3)
    assert run("checkpoint").output.strip() == "checkpoint at seq 3"
    assert run("checkpoint").output.strip() == "the head is already signed"
