"""billy-mcp's resilience plugin: Billy's failures never lose, double or hang a write.

Retries with full-jitter backoff and Retry-After, a circuit breaker per organization and
endpoint group, one upstream rate limit (GCRA) and a bulkhead per organization, and
exactly-once creates by read-back. Breaker state and the limit are shared through Redis when
``BILLY_REDIS_URL`` is set. See docs/resilience.md.
"""
