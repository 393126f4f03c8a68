"""Structured errors: every failure reaches a client as ``{code, message, correlation_id, ...}``.

Raise a subclass of :class:`ToolError` anywhere on the tool path; the kernel turns it into an
MCP tool result with ``isError`` (or an HTTP status on the REST bridge). Anything else that
escapes is logged with the correlation id and answered as ``internal_error`` without a trace.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    READ_ONLY = "read_only"
    CONFIRMATION_REQUIRED = "confirmation_required"
    FORBIDDEN = "forbidden"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    CIRCUIT_OPEN = "circuit_open"
    RATE_LIMITED = "rate_limited"
    AUDIT_UNAVAILABLE = "audit_unavailable"
    INTERNAL_ERROR = "internal_error"


HTTP_STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.INVALID_ARGUMENT: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.READ_ONLY: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.CONFIRMATION_REQUIRED: 428,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.UPSTREAM_UNAVAILABLE: 503,
    ErrorCode.CIRCUIT_OPEN: 503,
    ErrorCode.AUDIT_UNAVAILABLE: 503,
}


class ToolError(Exception):
    """Base of every structured error. Subclasses fix ``code`` and the default ``retryable``."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable

    def to_body(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code.value,
            "message": self.message,
            "correlation_id": correlation_id,
            "retryable": self.retryable,
        }
        if self.retry_after is not None:
            body["retry_after"] = round(self.retry_after, 3)
        if self.details:
            body["details"] = self.details
        if self.hint:
            body["hint"] = self.hint
        return body


class InvalidArgument(ToolError):
    code = ErrorCode.INVALID_ARGUMENT


class NotFound(ToolError):
    code = ErrorCode.NOT_FOUND


class Conflict(ToolError):
    code = ErrorCode.CONFLICT


class ReadOnly(ToolError):
    code = ErrorCode.READ_ONLY


class ConfirmationRequired(ToolError):
    code = ErrorCode.CONFIRMATION_REQUIRED


class Forbidden(ToolError):
    code = ErrorCode.FORBIDDEN


class UpstreamUnavailable(ToolError):
    code = ErrorCode.UPSTREAM_UNAVAILABLE
    retryable = True


class CircuitOpen(ToolError):
    code = ErrorCode.CIRCUIT_OPEN
    retryable = True


class RateLimited(ToolError):
    code = ErrorCode.RATE_LIMITED
    retryable = True


class AuditUnavailable(ToolError):
    code = ErrorCode.AUDIT_UNAVAILABLE
    retryable = True


class InternalError(ToolError):
    code = ErrorCode.INTERNAL_ERROR


class StartupError(Exception):
    """Start-up cannot continue: bad settings, a required plugin that failed, a broken contract.

    The CLI prints the message (no traceback) and exits with status 2.
    """
