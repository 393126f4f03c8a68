"""JSON with exact decimals: Billy's amounts are read as Decimal and written as JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import simplejson


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON, reading every non-integer number as Decimal (never float)."""
    return simplejson.loads(data, use_decimal=True)


def dumps_exact(value: Any) -> bytes:
    """Serialise for Billy: Decimal becomes a JSON number with its exact digits."""
    text: str = simplejson.dumps(value, use_decimal=True, separators=(",", ":"))
    return text.encode()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps_compact(value: Any) -> str:
    """Compact JSON for tool results; any Decimal left over becomes its exact string."""
    return json.dumps(value, separators=(",", ":"), default=_plain, ensure_ascii=False)
