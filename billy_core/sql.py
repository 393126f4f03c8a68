"""One SQL code path for SQLite and PostgreSQL (SQLAlchemy 2 async Core)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Map ``sqlite:///`` and ``postgres(ql)://`` URLs to their async drivers."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str) -> AsyncEngine:
    """An async engine; the SQLite file's folder is created when missing."""
    if is_sqlite(url):
        path = url.removeprefix("sqlite:///")
        if path.startswith("file:"):  # a URI filename (?mode=ro&uri=true): its folder is the file's
            path = path.removeprefix("file:").partition("?")[0]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return create_async_engine(async_url(url), pool_pre_ping=not is_sqlite(url))
