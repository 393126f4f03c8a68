"""JSON with Decimal amounts: parsed as Decimal, written as JSON numbers (never strings, never floats)."""

from __future__ import annotations

import json
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Parse JSON, reading every non-integer number as a Decimal and refusing NaN/Infinity."""
    return json.loads(data, parse_float=Decimal, parse_constant=_reject_constant)


def decimal_text(value: Decimal, exact: bool = False) -> str:
    """A Decimal as JSON number text: Billy's form (375, 374.4) or, with exact, every digit kept."""
    if exact:
        return str(value)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _encode(value: Any, out: list[str], exact: bool) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(str(value))
    elif kind is Decimal:
        out.append(decimal_text(value, exact))
    elif kind is dict:
        _encode_dict(value, out, exact)
    elif kind is list or kind is tuple:
        _encode_list(value, out, exact)
    elif kind is float:
        out.append(json.dumps(value))
    else:
        raise TypeError(f"cannot encode {kind.__name__} as JSON")


def _encode_dict(value: dict[str, Any], out: list[str], exact: bool) -> None:
    out.append("{")
    first = True
    for key, item in value.items():
        if not first:
            out.append(",")
        first = False
        out.append(encode_basestring(key))
        out.append(":")
        _encode(item, out, exact)
    out.append("}")


def _encode_list(value: list[Any] | tuple[Any, ...], out: list[str], exact: bool) -> None:
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _encode(item, out, exact)
    out.append("]")


def dumps(value: Any, exact: bool = False) -> bytes:
    """Serialise to UTF-8 JSON bytes; Decimals become numbers."""
    out: list[str] = []
    _encode(value, out, exact)
    return "".join(out).encode("utf-8")
