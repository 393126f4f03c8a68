"""Billy's error answers: `{"meta": {...}, "errorCode", "errorMessage", ...}`."""

from __future__ import annotations

import datetime as dt
from typing import Any

HELP_URL = "https://www.billy.dk/support/"


class BillyError(Exception):
    """An error answered in Billy's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        validation_errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.validation_errors = validation_errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message, self.validation_errors)


def error_body(
    status: int, code: str, message: str, validation_errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "meta": {"statusCode": status, "success": False},
        "errorMessage": message,
        "errorCode": code,
        "errorTime": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "helpUrl": HELP_URL,
    }
    if validation_errors is not None:
        body["validationErrors"] = validation_errors
    return body


def not_found(name: str, record_id: str) -> BillyError:
    return BillyError(404, "RECORD_NOT_FOUND", f"No `{name}` record with id `{record_id}` was found.")


def invalid(message: str, attributes: dict[str, str] | None = None, key: str = "record") -> BillyError:
    """422 INVALID_RECORD; `key` is the record's `_clientId` or its path in the request."""
    entry: dict[str, Any] = {"message": message}
    if attributes:
        entry["attributes"] = attributes
    return BillyError(422, "INVALID_RECORD", message, {key: entry})


def bad_body(
    message: str = "Request body should consist of a JSON document with an object as root.",
) -> BillyError:
    return BillyError(400, "INVALID_REQUEST_BODY", message)


def bad_parameter(message: str) -> BillyError:
    return BillyError(400, "INVALID_PARAMETERS", message)
