"""A circuit breaker per organization and endpoint group, modelled on resilience4j.

States and transitions (one algorithm, two stores: this module in process, and the same
steps as a Lua script in Redis, :mod:`billy_resilience.breaker_redis`):

* **closed**: every outcome goes into a count-based sliding window of the last
  ``window_size`` calls. Once it holds ``minimum_calls`` outcomes, the circuit opens when
  the failure rate reaches ``failure_rate`` or the slow-call rate reaches ``slow_call_rate``.
* **open**: every call is refused at once until ``open_seconds`` have passed since it opened;
  the first call after that turns it **half-open** and goes through as a probe.
* **half-open**: at most ``half_open_probes`` probes are let through, the rest refused. When
  the probes' outcomes reach the thresholds the circuit opens again (at once, as soon as the
  remaining probes could no longer bring the rate under); when all probes are in and under
  the thresholds it closes. Probes that never report (a crashed instance) are forgiven after
  ``open_seconds``: a new set is let through.

An outcome is a failure for 5xx and 429 answers and for requests that got no answer; other
4xx answers are Billy's real answers and count as successes. A call slower than
``slow_call_seconds`` is also slow. Refusals by inner layers (rate limit, bulkhead, a spent
deadline) are not outcomes: the call's place is released instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

OK, FAILED, SLOW, SLOW_FAILED = "0", "1", "2", "3"
HALF_OPEN_RETRY_AFTER_MS = 1000.0


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


STATE_LEVEL = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}


def outcome_code(failed: bool, slow: bool) -> str:
    return str(int(failed) + 2 * int(slow))


def is_failed(code: str) -> bool:
    return code in (FAILED, SLOW_FAILED)


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    window_size: int = 50
    minimum_calls: int = 20
    failure_rate: float = 0.5
    slow_call_rate: float = 1.0
    open_ms: float = 30_000.0
    probes: int = 3

    def trips(self, outcomes: str, total: int) -> bool:
        """Whether these outcomes (out of ``total`` calls) reach a threshold."""
        both = outcomes.count(SLOW_FAILED)
        failed, slow = outcomes.count(FAILED) + both, outcomes.count(SLOW) + both
        return failed >= self.failure_rate * total or slow >= self.slow_call_rate * total


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    probe: bool
    state: State
    retry_after_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Recorded:
    before: State
    after: State


@dataclass(slots=True)
class BreakerState:
    """One breaker's state. Times are milliseconds on the store's clock."""

    state: State = State.CLOSED
    opened_at: float = 0.0
    half_open_at: float = 0.0
    admitted: int = 0
    window: str = ""  # outcome codes, oldest first
    probes: str = ""  # the probes' outcome codes

    def _open(self, now: float) -> None:
        self.state, self.opened_at = State.OPEN, now
        self.window, self.probes, self.admitted = "", "", 0

    def _half_open(self, now: float) -> None:
        self.state, self.half_open_at = State.HALF_OPEN, now
        self.probes, self.admitted = "", 1

    def acquire(self, config: BreakerConfig, now: float) -> Admission:
        if self.state == State.CLOSED:
            return Admission(True, False, State.CLOSED)
        if self.state == State.OPEN:
            reopen_at = self.opened_at + config.open_ms
            if now < reopen_at:
                return Admission(False, False, State.OPEN, reopen_at - now)
            self._half_open(now)
            return Admission(True, True, State.HALF_OPEN)
        if self.admitted < config.probes:
            self.admitted += 1
            return Admission(True, True, State.HALF_OPEN)
        if now >= self.half_open_at + config.open_ms:  # the probes never reported: try again
            self._half_open(now)
            return Admission(True, True, State.HALF_OPEN)
        return Admission(False, False, State.HALF_OPEN, HALF_OPEN_RETRY_AFTER_MS)

    def record(self, config: BreakerConfig, now: float, code: str, probe: bool) -> Recorded:
        """Record outcome ``code``; when closed, ``code`` may hold several outcomes, oldest
        first (a batch of successes, then the latest outcome)."""
        before = self.state
        if self.state == State.CLOSED:
            self.window = (self.window + code)[-config.window_size :]
            if len(self.window) >= config.minimum_calls and config.trips(self.window, len(self.window)):
                self._open(now)
        elif self.state == State.HALF_OPEN and probe:
            self.probes += code
            if config.trips(self.probes, config.probes):
                self._open(now)
            elif len(self.probes) >= config.probes:
                self.state, self.window, self.probes, self.admitted = State.CLOSED, "", "", 0
        return Recorded(before, self.state)

    def release(self, probe: bool) -> None:
        if self.state == State.HALF_OPEN and probe:
            self.admitted = max(0, self.admitted - 1)

    def retry_after_ms(self, config: BreakerConfig, now: float) -> float:
        if self.state == State.OPEN:
            return max(0.0, self.opened_at + config.open_ms - now)
        return HALF_OPEN_RETRY_AFTER_MS if self.state == State.HALF_OPEN else 0.0
