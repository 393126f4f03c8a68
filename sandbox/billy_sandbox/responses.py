"""Response helpers: Billy's success envelope, error answers, JSON request bodies."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from billy_sandbox import jsonutil
from billy_sandbox.errors import BillyError, bad_body

MAX_JSON_BODY = 10 * 1024 * 1024


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(jsonutil.dumps(body), status_code=status, headers=headers, media_type="application/json")


def error_response(error: BillyError) -> Response:
    return json_response(error.body(), error.status, error.headers)


def ok_meta(started: float, **extra: Any) -> dict[str, Any]:
    return {"statusCode": 200, "success": True, "time": round(time.perf_counter() - started, 6), **extra}


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_JSON_BODY:
        raise BillyError(413, "REQUEST_TOO_LARGE", "The request body is too large.")
    try:
        data = jsonutil.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise bad_body() from exc
    if not isinstance(data, dict):
        raise bad_body()
    return data


def root_value(data: dict[str, Any], key: str) -> Any:
    """The body's single root key, e.g. `invoice` in `{"invoice": {...}}`."""
    if key not in data:
        raise bad_body(f"The request body must be a JSON object with the root key `{key}`.")
    extra = sorted(set(data) - {key})
    if extra:
        raise bad_body(f"Unexpected root keys in the request body: {', '.join(extra)}.")
    return data[key]
