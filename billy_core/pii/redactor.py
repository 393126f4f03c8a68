"""The redactor: detected and personal values become keyed-hash markers."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from billy_core.jsonutil import dumps_compact, loads_exact
from billy_core.pii.detectors import HASH_CHARS, MARKER, detect
from billy_core.pii.fields import (
    KEEP,
    PERSON_NAME_KEYS,
    SCAN,
    classify,
    is_person_container,
    normalise_key,
)

MIN_KEY_BYTES = 16
BODY_LIMIT = 20_000
_ONE_TOKEN = re.compile(r"[^\s@]*")
_NOT_DIGITS = re.compile(r"\D+")


def normalise(kind: str, value: str) -> str:
    """The form that is hashed: equal values in other spellings give the same marker."""
    if kind in ("phone", "cpr", "card", "bank"):
        digits = _NOT_DIGITS.sub("", value)
        return digits[-8:] if kind == "phone" and len(digits) in (10, 12) else digits
    if kind == "iban":
        return re.sub(r"[\s-]", "", value).upper()
    if kind == "secret":
        return value
    return " ".join(value.split()).casefold()


def _rule(key: str | None, person: bool) -> str:
    if key is None:
        return SCAN
    if person and normalise_key(key) in PERSON_NAME_KEYS:
        return "name"
    return classify(key)


class Redactor:
    """Replaces personal values with ``[kind:<10 hex of HMAC-SHA256(key, kind, value)>]``.

    The same value under the same key always gives the same marker, so records still
    correlate; without the key a marker cannot be reversed or checked against a guess.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the PII hash key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def marker(self, kind: str, value: str) -> str:
        """The marker of ``value`` (normalised for ``kind`` first)."""
        message = f"{kind}\0{normalise(kind, value)}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return f"[{kind}:{digest[:HASH_CHARS]}]"

    def redact_text(self, text: str) -> str:
        """``text`` with every detected value replaced by its marker.

        Detection repeats on the result until it finds nothing: a value that lost an overlap
        to another (garbled input such as ``+45 20 00 00 00280399-0000aa@aa.dk``) is caught on
        the next round, so the result is a fixed point (redaction is idempotent).
        """
        findings = detect(text)
        while findings:
            parts: list[str] = []
            done = 0
            for finding in findings:
                parts.append(text[done : finding.start])
                parts.append(self.marker(finding.kind, finding.value))
                done = finding.end
            parts.append(text[done:])
            text = "".join(parts)
            findings = detect(text)
        return text

    def redact_value(self, value: Any, path: Sequence[str | int] = ()) -> Any:
        """A copy of JSON-like ``value`` redacted by the field rules of :mod:`billy_core.pii.fields`.

        ``path`` is where ``value`` sits in its document (``("contactPersons", 0, "name")``): its
        last key chooses the rule, and a person container as the parent makes ``name`` personal.
        """
        keys = [part for part in path if isinstance(part, str)]
        container = keys[-1:] if isinstance(value, dict | list | tuple) else keys[-2:-1]
        person = any(is_person_container(key) for key in container)
        return self._node(value, keys[-1] if keys else None, person)

    def redact_body(self, body: Any, limit: int = BODY_LIMIT) -> str:
        """A request or response body as one redacted, compact line for debug logging."""
        if isinstance(body, bytes | bytearray):
            body = body.decode("utf-8", errors="replace")
        if isinstance(body, str):
            try:
                body = loads_exact(body) if body.lstrip()[:1] in ("{", "[") else body
            except ValueError:
                pass
        if isinstance(body, str):
            text = self.redact_text(body)
        else:
            redacted = self._node(body, None, False)
            try:
                text = dumps_compact(redacted)
            except TypeError:
                text = self.redact_text(repr(redacted))
        if len(text) > limit:
            text = f"{text[:limit]}…(+{len(text) - limit} chars)"
        return text

    def _node(self, value: Any, key: str | None, person: bool) -> Any:
        if isinstance(value, dict):
            person = person or value.get("type") == "person"
            return {name: self._child(str(name), item, person) for name, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._node(item, key, person) for item in value]
        return self._scalar(_rule(key, person), value)

    def _child(self, name: str, value: Any, person: bool) -> Any:
        """A value in a dict (``person``: the dict describes a person)."""
        if isinstance(value, dict | list | tuple):
            return self._node(value, name, is_person_container(name))
        return self._scalar(_rule(name, person), value)

    def _scalar(self, rule: str, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            if rule == KEEP and _ONE_TOKEN.fullmatch(value):
                return value
            if rule in (KEEP, SCAN):
                return self.redact_text(value)
            if not value or MARKER.fullmatch(value):
                return value
            return self.marker(rule, value)
        if isinstance(value, int | float | Decimal):
            if rule == KEEP:
                return value
            text = str(value)
            redacted = self.redact_text(text) if rule == SCAN else self.marker(rule, text)
            return value if redacted == text else redacted
        return value
