"""The cache plugin's settings: ``BILLY_CACHE__<KEY>`` or ``[plugins.cache]``."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

# How long Billy's answers stay fresh, by resource type (the first path segment). Reference
# data changes rarely; documents and payments change all day.
DEFAULT_TTL_SECONDS: dict[str, float] = {
    "organization": 600,
    "user": 600,
    "accounts": 600,
    "accountGroups": 3600,
    "accountNatures": 3600,
    "cities": 86400,
    "countries": 86400,
    "countryGroups": 86400,
    "currencies": 86400,
    "locales": 86400,
    "salesTaxRules": 3600,
    "salesTaxRulesets": 3600,
    "taxRates": 3600,
    "products": 300,
    "productPrices": 300,
    "contacts": 120,
    "contactPersons": 120,
}

# A write to the key type also makes these types' cached reads stale (one level, not
# transitive). ``request.invalidates`` adds to it per request.
DEFAULT_RELATED: dict[str, list[str]] = {
    "invoices": [
        "invoiceLines",
        "contacts",
        "bankPayments",
        "balanceModifiers",
        "postings",
        "transactions",
        "accounts",
    ],
    "invoiceLines": ["invoices", "contacts", "postings", "accounts"],
    "bills": [
        "billLines",
        "contacts",
        "bankPayments",
        "balanceModifiers",
        "postings",
        "transactions",
        "accounts",
    ],
    "billLines": ["bills", "contacts", "postings", "accounts"],
    "bankPayments": [
        "invoices",
        "bills",
        "balanceModifiers",
        "contacts",
        "postings",
        "transactions",
        "accounts",
    ],
    "balanceModifiers": ["invoices", "bills", "bankPayments", "contacts"],
    "contacts": ["contactPersons", "invoices", "bills"],
    "contactPersons": ["contacts"],
    "products": ["productPrices"],
    "productPrices": ["products"],
    "daybookTransactions": ["daybookTransactionLines", "postings", "transactions", "accounts"],
    "daybookTransactionLines": ["daybookTransactions", "postings", "transactions", "accounts"],
    "organization": ["organizations"],
    "organizations": ["organization"],
}


class CacheSettings(BaseModel):
    """Read-through caching of Billy's GET answers; see docs/operations.md, "Cache"."""

    tiers: list[str] = Field(
        default_factory=lambda: ["memory", "redis", "sql"],
        description="Tier backends from billy_mcp.cache_backends, nearest first; redis is skipped "
        "when BILLY_REDIS_URL is unset",
    )
    key_prefix: str = Field("billy:cache", min_length=1, description="Namespace of every Redis key")
    default_ttl_seconds: float = Field(60, ge=0, description="Freshness of types not in ttl_seconds")
    ttl_seconds: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_TTL_SECONDS),
        description="Freshness by resource type; 0 never caches that type. Merged over the defaults",
    )
    stale_while_revalidate_seconds: float = Field(
        30, ge=0, description="Past its TTL an answer is served (marked stale) while one refresh runs"
    )
    stale_if_error_seconds: float = Field(
        86400, ge=0, description="Past its TTL an answer may still be served (marked stale) when Billy fails"
    )
    serve_superseded_on_error: bool = Field(
        True,
        description="When Billy fails, also serve an answer a later write has superseded (marked stale)",
    )
    related: dict[str, list[str]] = Field(
        default_factory=lambda: {key: list(value) for key, value in DEFAULT_RELATED.items()},
        description="Types a write to the key type also invalidates. Merged over the defaults",
    )
    memory_max_entries: int = Field(4096, ge=1, description="L1 bound: entries")
    memory_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="L1 bound: bytes of stored answers")
    max_entry_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Larger answers are not cached")
    memory_keep_seconds: float = Field(3600, ge=0, description="L1 keeps an answer this long past TTL")
    redis_keep_seconds: float = Field(3600, ge=0, description="L2 keeps an answer this long past TTL")
    sql_keep_seconds: float = Field(7 * 86400, ge=0, description="L3 keeps an answer this long past TTL")
    redis_timeout_seconds: float = Field(
        1.0, gt=0, description="A cache operation on Redis slower than this counts as failed"
    )
    redis_retry_seconds: float = Field(
        1.0, ge=0, description="After a Redis failure, the cache does not ask Redis again for this long"
    )
    coalesce: bool = Field(True, description="Concurrent identical misses make one upstream request")
    lock_seconds: float = Field(
        5.0, gt=0, description="Lease of the cross-instance fetch lock (efficiency only)"
    )
    warm_tools: list[str] = Field(
        default_factory=list, description="Read tools called (default arguments) to warm the cache"
    )
    warm_paths: list[str] = Field(
        default_factory=list, description="Billy GET paths with query (/taxRates?isActive=true) to warm"
    )
    warm_interval_seconds: float = Field(
        300, ge=0, description="Re-warm this often; 0 warms only at start-up"
    )
    sweep_interval_seconds: float = Field(3600, gt=0, description="How often expired L3 rows are deleted")

    @field_validator("ttl_seconds", mode="after")
    @classmethod
    def _merge_ttls(cls, value: dict[str, float]) -> dict[str, float]:
        if any(seconds < 0 for seconds in value.values()):
            raise ValueError("TTLs must be 0 or more seconds")
        return {**DEFAULT_TTL_SECONDS, **value}

    @field_validator("related", mode="after")
    @classmethod
    def _merge_related(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {**{key: list(items) for key, items in DEFAULT_RELATED.items()}, **value}

    def ttl_for(self, resource: str) -> float:
        return self.ttl_seconds.get(resource, self.default_ttl_seconds)
