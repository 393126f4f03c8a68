"""Shared pieces of the audit tests: fixed keys, a log on a real store, tampering by raw SQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from billy_audit.chain import entry_mac, link_hash
from billy_audit.log import AuditLog
from billy_audit.settings import AuditSettings
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from billy_core.sql import create_engine


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


HMAC_V1 = "v1:" + b64(b"k" * 32)
HMAC_V2 = "v2:" + b64(b"n" * 32)
SIGNING_SEED = bytes(range(32))
SIGNING_KEY = b64(SIGNING_SEED)


def public_key_b64(seed: bytes = SIGNING_SEED) -> str:
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return b64(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def key_env(hmac_keys: str = HMAC_V1) -> dict[str, str]:
    return {"BILLY_AUDIT__HMAC_KEYS": hmac_keys, "BILLY_AUDIT__SIGNING_KEY": SIGNING_KEY}


def sandbox_settings(sandbox: Any, **overrides: Any) -> dict[str, Any]:
    """Kernel settings on the sandbox. Without the cache, every read reaches the sandbox, so the
    upstream calls an entry records (and the sandbox's request counts) are the call's own."""
    return {
        "api_url": sandbox.api_url,
        "access_token": sandbox.token,
        "sandbox": True,
        "plugins_disabled": ["cache"],
        **overrides,
    }


def settings(**overrides: Any) -> AuditSettings:
    values: dict[str, Any] = {"hmac_keys": SecretStr(HMAC_V1), "signing_key": SecretStr(SIGNING_KEY)}
    values.update(overrides)
    return AuditSettings(**values)


def make_log(url: str, **overrides: Any) -> AuditLog:
    return AuditLog(
        settings(**overrides), database_url=url, engine=lambda: create_engine(url), owns_engine=True
    )


def draft(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "read",
        "tool": "list_invoices",
        "read_only": True,
        "transport": "memory",
        "principal": "local",
        "principal_kind": "local",
        "correlation_id": f"c{number:08d}",
        "arguments": {"limit": number % 7, "amount": "12.50"},
        "outcome": "ok",
        "records": [f"invoice:inv{number}"],
        **extra,
    }


async def fill(log: AuditLog, count: int, *, batch: int = 500, start: int = 1) -> None:
    for first in range(start, start + count, batch):
        await log.append_all([draft(n) for n in range(first, min(first + batch, start + count))])


class Tamper:
    """Raw SQL on the audit tables, as an attacker with database access would write it."""

    def __init__(self, log: AuditLog) -> None:
        self.store = log.store
        self.entries = self.store.entries.fullname
        self.checkpoints = self.store.checkpoints.fullname
        self.anchors = self.store.anchors.fullname

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.store.engine.begin() as connection:
            result = await connection.execute(sa.text(statement), params)
            return list(result.all()) if result.returns_rows else []

    async def row(self, seq: int) -> Any:
        rows = await self.sql(f"SELECT * FROM {self.entries} WHERE seq = :seq", seq=seq)
        return rows[0]

    async def shift(self, first: int, by: int) -> None:
        """Renumber entries from ``first`` on by ``by`` (two steps, so seq stays unique)."""
        await self.sql(
            f"UPDATE {self.entries} SET seq = -(seq + :by) WHERE seq >= :first", by=by, first=first
        )
        await self.sql(f"UPDATE {self.entries} SET seq = -seq WHERE seq < 0")

    async def rewrite(self, first: int, edit: Callable[[str], str], *, key: bytes | None = None) -> None:
        """Edit entry ``first``'s body and recompute the links of it and every later entry; with
        ``key`` (an insider holding the HMAC key) the HMACs too, else they are left as they were."""
        prev = (await self.row(first - 1)).hash
        last = (await self.sql(f"SELECT max(seq) FROM {self.entries}"))[0][0]
        for seq in range(first, last + 1):
            row = await self.row(seq)
            body = edit(row.body) if seq == first else row.body
            digest = link_hash(prev, body)
            await self.sql(
                f"UPDATE {self.entries} SET body = :body, outcome = :outcome, prev_hash = :prev, hash = :hash, "
                "hmac = :mac WHERE seq = :seq",
                body=body,
                outcome=json.loads(body)["outcome"],
                prev=prev,
                hash=digest,
                mac=entry_mac(key, digest) if key else row.hmac,
                seq=seq,
            )
            prev = digest

    async def insert(self, values: dict[str, Any]) -> None:
        columns = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        await self.sql(f"INSERT INTO {self.entries} ({columns}) VALUES ({marks})", **values)
