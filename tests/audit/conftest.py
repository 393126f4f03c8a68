"""Fixtures of the audit tests: a real SQLite store or a PostgreSQL schema of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from billy_audit.log import AuditLog
from loguru import logger

from tests.audit.helpers import make_log


@pytest.fixture
def captured_logs():
    """The server's log lines as "LEVEL message", while the test runs."""
    lines: list[str] = []
    handler = logger.add(lines.append, level="DEBUG", format="{level} {message}")
    yield lines
    logger.remove(handler)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'audit.sqlite3'}"


@pytest.fixture
def pg_schema() -> str:
    return f"audit_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_log(request, sqlite_url, pg_schema) -> AsyncIterator[AuditLog]:
    """An audit log on a real store: a SQLite file, or a fresh schema on the local PostgreSQL."""
    if request.param == "sqlite":
        log = make_log(sqlite_url, checkpoint_every=100)
    else:
        url = request.getfixturevalue("postgres_url")
        log = make_log(url, checkpoint_every=100, db_schema=pg_schema)
    await log.ready()
    try:
        yield log
    finally:
        if request.param == "postgresql":
            await log.store.drop()
        await log.aclose()
