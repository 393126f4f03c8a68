"""Billy's error answers mapped to our structured errors (Billy's code kept in details)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from billy_core.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    NotFound,
    RateLimited,
    ToolError,
    UpstreamUnavailable,
)
from billy_core.upstream import UpstreamResponse, UpstreamTransportError

MAX_RETRY_AFTER_SECONDS = 300.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP-date, clamped to [0, 300]."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def error_from_response(response: UpstreamResponse) -> ToolError:
    body: dict[str, Any] = response.body if isinstance(response.body, dict) else {}
    billy_code = body.get("errorCode")
    message = str(body.get("errorMessage") or f"Billy answered HTTP {response.status}")
    details: dict[str, Any] = {"http_status": response.status}
    if billy_code:
        details["billy_error_code"] = billy_code
    if body.get("validationErrors"):
        details["validation_errors"] = body["validationErrors"]
    status = response.status
    if status == 401:
        return Forbidden(
            f"Billy refused the access token: {message}",
            details=details,
            hint="Check BILLY_ACCESS_TOKEN (Billy: Settings -> Access tokens) and the organization.",
        )
    if status == 403:
        return Forbidden(message, details=details)
    if status == 404:
        return NotFound(message, details=details)
    if status == 409:
        return Conflict(message, details=details)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimited("Billy is rate limiting requests", details=details, retry_after=retry_after)
    if status >= 500:
        return UpstreamUnavailable(f"Billy failed: {message}", details=details)
    return InvalidArgument(f"Billy rejected the request: {message}", details=details)


def error_from_transport(exc: UpstreamTransportError) -> ToolError:
    return UpstreamUnavailable(
        f"Billy could not be reached: {exc}",
        details={"kind": exc.kind, "maybe_sent": exc.maybe_sent},
        hint="Retry later; writes carry an idempotency key so a retry cannot duplicate them.",
    )
