"""``BILLY_AUDIT__*`` settings (or ``[plugins.audit]`` in billy-mcp.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator


class AuditSettings(BaseModel):
    store: str | None = Field(
        None,
        description="Audit store backend (billy_mcp.audit_stores): sqlite or postgresql; "
        "default: from the database URL",
    )
    database_url: str | None = Field(
        None, description="Where the audit trail lives; default BILLY_DATABASE_URL"
    )
    db_schema: str | None = Field(
        None, pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="PostgreSQL schema for the audit tables"
    )
    table_prefix: str = Field("audit_", pattern=r"^[a-z][a-z0-9_]{0,40}$", description="Table name prefix")
    hmac_keys: SecretStr | None = Field(
        None, description="Comma list version:base64key, newest first (v2:...,v1:...)"
    )
    signing_key: SecretStr | None = Field(
        None, description="Ed25519 private key for checkpoints: base64 of the 32-byte seed, or PEM"
    )
    signing_key_file: Path | None = Field(None, description="A file holding the signing key (PEM or base64)")
    public_keys: list[str] = Field(
        default_factory=list, description="Older Ed25519 public keys (base64) still accepted by verify"
    )
    key_file: Path | None = Field(
        None, description="Development key file (default: audit-keys.json beside the SQLite database)"
    )
    checkpoint_every: int = Field(1000, ge=1, description="Write a signed checkpoint every N entries")
    checkpoint_seconds: float = Field(60.0, gt=0, description="... or when this many seconds have passed")
    checkpoint_file: Path | None = Field(
        None, description="Also append every checkpoint to this JSON-lines file (a second store)"
    )
    on_read_failure: Literal["warn", "refuse"] = Field(
        "warn", description="When a read cannot be recorded: answer with a warning, or refuse"
    )
    read_queue_limit: int = Field(
        100_000, ge=1, description="Read entries waiting for the store before the oldest is dropped"
    )
    read_retry_seconds: float = Field(1.0, gt=0, description="Pause before retrying queued read entries")
    # Short: a long gather makes fewer but bigger batches, and a call arriving during one waits
    # for it (p99 of a cached read over HTTP: 1.5x the bare SDK server at 50 ms, 1.2x at 5 ms).
    # Under load entries still batch: they queue while the previous batch is written.
    read_gather_seconds: float = Field(
        0.005, ge=0, description="How long queued read entries gather before they are written in one batch"
    )
    store_timeout_seconds: float = Field(5.0, gt=0, description="Give up on one append after this long")
    fiscal_year_end_month: int | None = Field(
        None, ge=1, le=12, description="For retention; default: the organization's, asked from Billy"
    )
    max_result_bytes: int = Field(
        16_384, ge=0, description="Larger write results are recorded as their size and SHA-256"
    )
    flush_every_entry: bool = Field(
        False,
        description="Flush every entry to disk before answering; by default only a write's intent "
        "is flushed at once (before the write goes out), the others with the next flush",
    )
    sqlite_wal: bool = Field(True, description="Put the SQLite database in WAL mode (faster appends)")

    @field_validator("database_url")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite:///", "postgres://", "postgresql")):
            raise ValueError("must start with sqlite:///, postgres:// or postgresql://")
        return value
