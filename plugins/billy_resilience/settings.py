"""The resilience plugin's settings: ``BILLY_RESILIENCE__<KEY>`` or ``[plugins.resilience]``.

docs/resilience.md explains each group (retries, breaker, rate limit, bulkhead).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

PLUGIN = "resilience"


class ResilienceSettings(BaseModel):
    """Retries, circuit breaker, upstream rate limit and bulkhead on the upstream chain."""

    # ------------------------------------------------------------------ retries
    retry_max_attempts: int = Field(
        4, ge=1, le=20, description="Attempts per request, the first included (1 = no retries)"
    )
    retry_base_seconds: float = Field(0.2, gt=0, description="Full-jitter backoff: base of base·2^n")
    retry_cap_seconds: float = Field(5.0, gt=0, description="Full-jitter backoff: the most one wait can be")
    retry_read_back_delay_seconds: float = Field(
        0.5,
        ge=0,
        description="After a create timed out, the least wait before reading it back: Billy may "
        "still be working on the request we stopped waiting for",
    )
    retry_deadline_reserve_seconds: float = Field(
        0.25,
        ge=0,
        description="Time left before the call's deadline when retries give up, so an outer "
        "layer (the cache) can still answer with stale data",
    )

    # ------------------------------------------------------------------ circuit breaker
    breaker_enabled: bool = Field(True, description="Open the circuit on failing endpoint groups")
    breaker_window_size: int = Field(50, ge=1, le=1000, description="Sliding window: the last N outcomes")
    breaker_minimum_calls: int = Field(
        20, ge=1, description="Outcomes needed in the window before a rate can open the circuit"
    )
    breaker_failure_rate: float = Field(
        0.5, gt=0, le=1, description="Open when this share of the window failed (5xx, 429, no answer)"
    )
    breaker_slow_call_rate: float = Field(1.0, gt=0, le=1, description="Open when this share was slow")
    breaker_slow_call_seconds: float = Field(10.0, gt=0, description="A call slower than this is slow")
    breaker_open_seconds: float = Field(30.0, gt=0, description="How long the circuit stays open")
    breaker_half_open_probes: int = Field(
        3, ge=1, le=100, description="Trial calls let through when half-open; their outcome decides"
    )
    breaker_sync_seconds: float = Field(
        0.2,
        ge=0,
        description="With Redis: how long this instance trusts a closed state it last saw before "
        "asking Redis again (every outcome is still recorded in Redis)",
    )

    # ------------------------------------------------------------------ rate limit and bulkhead
    rate_limit_requests: int = Field(
        100,
        ge=0,
        description="Upstream requests per window per organization, all instances together (0 = off)",
    )
    rate_limit_window_seconds: float = Field(1.0, gt=0, description="The rate limit's window")
    rate_limit_burst: int = Field(50, ge=1, description="Requests that may go back to back before pacing")
    rate_limit_max_wait_seconds: float = Field(
        2.0, ge=0, description="Longest a request waits for its slot before it is refused (rate_limited)"
    )
    bulkhead_max_concurrent: int = Field(
        16, ge=0, description="Concurrent upstream requests per organization on this instance (0 = off)"
    )
    bulkhead_max_wait_seconds: float = Field(
        0.5, ge=0, description="Longest a request waits for a free place before upstream_unavailable"
    )

    # ------------------------------------------------------------------ shared state
    shared: bool = Field(
        True, description="Share breaker state, the rate limit and unresolved creates through Redis when set"
    )
    key_prefix: str = Field("billy:resilience", min_length=1, description="Prefix of every Redis key")
    ambiguous_ttl_seconds: float = Field(
        86400.0, gt=0, description="How long a create with an unknown outcome is remembered by its key"
    )

    @model_validator(mode="after")
    def _minimum_fits_window(self) -> ResilienceSettings:
        if self.breaker_minimum_calls > self.breaker_window_size:
            raise ValueError("breaker_minimum_calls must not exceed breaker_window_size")
        if self.retry_cap_seconds < self.retry_base_seconds:
            raise ValueError("retry_cap_seconds must be at least retry_base_seconds")
        return self
