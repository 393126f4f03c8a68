"""The upstream chain: async wrappers around every HTTP request to Billy.

From outside in: cache (GETs, with miss coalescing) -> retry -> circuit breaker -> rate limit
and bulkhead -> HTTP. Retry sits outside the breaker and the limiter, so every attempt
passes both. Wrappers see an :class:`UpstreamRequest` and return an :class:`UpstreamResponse`
for any HTTP status; only transport failures raise (:class:`UpstreamTransportError`).

How "Billy is unavailable" travels outward, so an outer layer (the cache) can answer with
stale data instead: the HTTP layer raises :class:`UpstreamTransportError` (no answer) or
returns a 5xx/429 response; inner wrappers that give up or refuse (an open breaker, a full
bulkhead, a spent deadline) raise a *retryable* :class:`billy_core.errors.ToolError`
(``CircuitOpen``, ``UpstreamUnavailable``, ``RateLimited``). Non-retryable errors (4xx) are
Billy's real answer and are never replaced by stale data.

Writes name what they change: ``request.resource`` (the endpoint group) and
``request.invalidates`` (further resource types whose cached reads the write makes stale,
e.g. an invoice write invalidates ``contacts`` and the reports' sources).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from billy_core.context import CallContext

ORDER_CACHE = 100
ORDER_RETRY = 200
ORDER_CIRCUIT_BREAKER = 300
ORDER_RATE_LIMIT = 400

SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(slots=True)
class UpstreamRequest:
    """One request to Billy. ``path`` is relative to the API base (``/invoices/abc``).

    ``resource`` names the endpoint group (``invoices``) for cache tags and breakers.
    ``reconcile``, set on creates, reads the record back by its idempotency key after an
    ambiguous failure, so a retry never makes a second record.
    """

    method: str
    path: str
    organization_id: str
    credential_scope: str
    correlation_id: str
    resource: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    idempotency_key: str | None = None
    deadline: float | None = None
    bypass_cache: bool = False
    call: CallContext | None = None
    reconcile: Callable[[], Awaitable[UpstreamResponse | None]] | None = None
    invalidates: tuple[str, ...] = ()
    attempt: int = 0

    @property
    def is_read(self) -> bool:
        return self.method in SAFE_METHODS


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    from_cache: bool = False
    reconciled: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class UpstreamTransportError(Exception):
    """The request got no HTTP answer: connect failure, timeout, dropped connection.

    ``maybe_sent`` is True when Billy may have received (and committed) the request: the
    ambiguous case that creates must reconcile before they retry.
    """

    def __init__(self, message: str, *, kind: str, maybe_sent: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.maybe_sent = maybe_sent


UpstreamNext = Callable[[UpstreamRequest], Awaitable[UpstreamResponse]]


class UpstreamMiddleware(Protocol):
    async def __call__(self, request: UpstreamRequest, call_next: UpstreamNext) -> UpstreamResponse: ...
