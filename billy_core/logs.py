"""Logging: loguru to stderr (stdout is the MCP wire under stdio), text or JSON lines."""

from __future__ import annotations

import logging
import sys

from loguru import logger

from billy_core import pii
from billy_core.secrets_store import persistent_secret
from billy_core.settings import KernelSettings

TEXT_FORMAT = "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> <cyan>{name}</cyan> {message}"


class _ToLoguru(logging.Handler):
    """Route stdlib logging (uvicorn, the MCP SDK, httpx) through the same sink."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def install_redactor(settings: KernelSettings) -> None:
    """Personal data in logs (and audit entries) becomes keyed hashes, stable across restarts."""
    configured = settings.pii_hash_key
    key = configured.get_secret_value().encode() if configured else persistent_secret(settings, "pii-hash")
    pii.set_redactor(pii.Redactor(key))


def configure_logging(settings: KernelSettings) -> None:
    logger.remove()
    # diagnose=False: loguru would otherwise print local variables in tracebacks, unfiltered.
    if settings.log_format == "json":
        logger.add(sys.stderr, level=settings.log_level, serialize=True, diagnose=False)
    else:
        logger.add(sys.stderr, level=settings.log_level, format=TEXT_FORMAT, colorize=None, diagnose=False)
    logger.configure(patcher=pii.loguru_patcher())
    logging.basicConfig(handlers=[_ToLoguru()], level=logging.WARNING, force=True)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)
