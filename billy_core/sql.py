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


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (also in URI form, ``file:...?mode=ro``)."""
    if not is_sqlite(url):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path.startswith("file:"):
        path = path.removeprefix("file:").partition("?")[0]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser()


def create_engine(url: str) -> AsyncEngine:
    """An async engine; the SQLite file's folder is created when missing."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return create_async_engine(async_url(url), pool_pre_ping=not is_sqlite(url))
