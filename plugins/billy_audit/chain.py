"""Entries and their canonical form: what is hashed, what is keyed, what is signed.

An entry is a flat JSON object. Its *canonical* text is JSON with sorted keys, no whitespace,
UTF-8 without escapes, and every non-integer number (``Decimal`` money, floats) as a string,
so the same entry always gives the same bytes, in any process and after a round trip through
the store. Each entry carries:

* ``hash = SHA-256(prev_hash_bytes || canonical_bytes)``: the link to the entry before it
  (``prev_hash`` of entry 1 is 64 zeros, or the hash held by the latest retention anchor);
* ``hmac = HMAC-SHA256(key[key_version], hash_bytes)``: only a holder of the key can make an
  entry that verifies, so rewriting the chain after an edit does not help an attacker.

``prev_hash``, ``hash`` and ``hmac`` are not part of the canonical text; ``seq``, ``ts`` and
``key_version`` are.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

ZERO_HASH = "0" * 64
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# Columns kept beside the canonical body for querying; verify checks them against the body.
INDEXED_FIELDS = ("seq", "ts", "kind", "tool", "principal", "transport", "correlation_id", "outcome")


def plain(value: Any) -> Any:
    """``value`` with only str, int, bool, None, lists and dicts (str keys) left."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(item) for item in value), key=canonical)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def canonical(value: Any) -> str:
    """The canonical JSON text of ``value`` (call :func:`plain` first for foreign types)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def link_hash(prev_hash: str, body_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + body_text.encode()).hexdigest()


def entry_mac(key: bytes, entry_hash: str) -> str:
    return _hmac.new(key, bytes.fromhex(entry_hash), hashlib.sha256).hexdigest()


def macs_equal(a: str, b: str) -> bool:
    return _hmac.compare_digest(a, b)


def utc_timestamp(moment: datetime | None = None) -> str:
    """``2026-01-31T12:00:00.000000Z``: fixed width, so text order is time order."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime(TS_FORMAT)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One row of the entries table as the store returns it."""

    seq: int
    ts: str
    kind: str
    tool: str
    principal: str
    transport: str
    correlation_id: str
    outcome: str
    key_version: str
    body: str
    prev_hash: str
    hash: str
    hmac: str

    def parsed(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    def as_export(self) -> dict[str, Any]:
        """The body plus its chain fields: enough for anyone to recompute the link."""
        return {**self.parsed(), "prev_hash": self.prev_hash, "hash": self.hash, "hmac": self.hmac}


def seal(
    draft: Mapping[str, Any], *, seq: int, ts: str, prev_hash: str, key_version: str, key: bytes
) -> StoredEntry:
    """Give a draft its place in the chain: number, time, canonical body, link and HMAC."""
    body = {**draft, "seq": seq, "ts": ts, "key_version": key_version}
    text = canonical(body)
    digest = link_hash(prev_hash, text)
    return StoredEntry(
        seq=seq,
        ts=ts,
        kind=str(body.get("kind", "")),
        tool=str(body.get("tool", "")),
        principal=str(body.get("principal", "")),
        transport=str(body.get("transport", "")),
        correlation_id=str(body.get("correlation_id", "")),
        outcome=str(body.get("outcome", "")),
        key_version=key_version,
        body=text,
        prev_hash=prev_hash,
        hash=digest,
        hmac=entry_mac(key, digest),
    )
