"""Secrets the server needs but nobody configured: made once, kept in a 0600 file.

Used for development and sandbox runs; a production deployment sets its secrets in the
environment (e.g. ``BILLY_PII_HASH_KEY``). The file sits next to the SQLite database, or in
the user's data folder when the database is PostgreSQL.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import platformdirs

from billy_core.settings import KernelSettings
from billy_core.sql import sqlite_path


def secrets_folder(settings: KernelSettings) -> Path:
    database = sqlite_path(settings.database_url)
    if database is not None:
        return database.parent
    return Path(platformdirs.user_data_dir("billy-mcp", appauthor=False))


def persistent_secret(settings: KernelSettings, name: str, *, size: int = 32) -> bytes:
    """The secret called ``name``: read from its file, or made and written (mode 0600) once."""
    path = secrets_folder(settings) / f"{name}.key"
    if path.exists():
        return base64.b64decode(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(size)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(value).decode())
    return value
