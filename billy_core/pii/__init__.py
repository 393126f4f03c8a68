"""PII filtering for every log line, the debug body log and the audit store.

It lives in the kernel so logs stay filtered when the audit plugin is disabled. Two stages:

1. Structured data (Billy payloads, tool arguments, log extras) goes through the field rules of
   :mod:`billy_core.pii.fields`: known non-personal fields are kept, known personal fields are
   hashed whole, and every other string is free text.
2. Free text goes through the detectors of :mod:`billy_core.pii.detectors`: e-mail, Danish
   phone numbers in phone shapes, CPR, IBAN, Danish bank accounts, Luhn-valid card numbers.

CVR numbers and record ids stay readable. A redacted value becomes a marker such as
``[email:3f9a1c2b7d]``, a truncated HMAC-SHA256 under the installation's key, so equal values
still correlate. Use a :class:`Redactor` directly, or the process-wide one set with
:func:`set_redactor` through :func:`redact_for_log`, :func:`redact_body` and
:func:`loguru_patcher`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from billy_core.pii.detectors import KINDS, MARKER, Finding, detect
from billy_core.pii.fields import KEEP, SCAN, classify
from billy_core.pii.redactor import BODY_LIMIT, MIN_KEY_BYTES, Redactor

if TYPE_CHECKING:
    from loguru import Record

__all__ = [
    "KEEP",
    "KINDS",
    "MARKER",
    "MIN_KEY_BYTES",
    "SCAN",
    "Finding",
    "Redactor",
    "classify",
    "detect",
    "get_redactor",
    "loguru_patcher",
    "redact_body",
    "redact_for_log",
    "set_redactor",
]

_active: Redactor | None = None


def set_redactor(redactor: Redactor) -> None:
    """Make ``redactor`` (built from the configured key) the process-wide one."""
    global _active
    _active = redactor


def get_redactor() -> Redactor:
    """The process-wide redactor; until one is set, one with a random key for this process."""
    global _active
    if _active is None:
        _active = Redactor(os.urandom(32))
    return _active


def redact_for_log(message: str) -> str:
    return get_redactor().redact_text(message)


def redact_body(body: Any, limit: int = BODY_LIMIT) -> str:
    """A request/response body (bytes, JSON text or parsed JSON) as one redacted line."""
    return get_redactor().redact_body(body, limit)


def loguru_patcher(redactor: Redactor | None = None) -> Callable[[Record], None]:
    """A loguru patcher that redacts the message and the ``extra`` values of every record.

    Without ``redactor`` it uses the process-wide one at each call, so the key may be set later.
    """

    def patch(record: Record) -> None:
        active = redactor or get_redactor()
        record["message"] = active.redact_text(record["message"])
        extra = record["extra"]
        for name, value in extra.items():
            extra[name] = active.redact_value(value, (name,))

    return patch
