"""Fault injection for `/v2`: latency, errors, a sliding-window rate limit and commit-then-timeout."""

from __future__ import annotations

import math
import random
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FaultConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RateLimit:
    requests: int
    window_s: float


@dataclass(frozen=True)
class FaultConfig:
    latency_ms: float = 0
    latency_jitter_ms: float = 0
    error_rate: float = 0
    error_status: int = 503
    rate_limit: RateLimit | None = None
    commit_then_timeout_rate: float = 0
    commit_then_timeout_mode: str = "abort"
    hang_s: float = 60
    paths: tuple[str, ...] = ("/v2/*",)
    methods: tuple[str, ...] = ()
    seed: int | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["paths"] = list(self.paths)
        data["methods"] = list(self.methods)
        return data


def _number(data: dict[str, Any], name: str, low: float, high: float) -> float:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not low <= value <= high:
        raise FaultConfigError(f"`{name}` must be a number from {low} to {high}")
    return float(value)


def _strings(data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise FaultConfigError(f"`{name}` must be a list of strings")
    return tuple(value)


def parse_config(data: Any) -> FaultConfig:
    if not isinstance(data, dict):
        raise FaultConfigError("the body must be a JSON object")
    unknown = set(data) - set(FaultConfig.__dataclass_fields__)
    if unknown:
        raise FaultConfigError(f"unknown keys: {', '.join(sorted(unknown))}")
    status = data.get("error_status", 503)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise FaultConfigError("`error_status` must be an HTTP status from 400 to 599")
    mode = data.get("commit_then_timeout_mode", "abort")
    if mode not in ("abort", "hang"):
        raise FaultConfigError('`commit_then_timeout_mode` must be "abort" or "hang"')
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultConfigError("`seed` must be an integer")
    return FaultConfig(
        latency_ms=_number(data, "latency_ms", 0, 600_000),
        latency_jitter_ms=_number(data, "latency_jitter_ms", 0, 600_000),
        error_rate=_number(data, "error_rate", 0, 1),
        error_status=status,
        rate_limit=_rate_limit(data.get("rate_limit")),
        commit_then_timeout_rate=_number(data, "commit_then_timeout_rate", 0, 1),
        commit_then_timeout_mode=mode,
        hang_s=_number({"hang_s": data.get("hang_s", 60)}, "hang_s", 0, 3600),
        paths=_strings(data, "paths") or ("/v2/*",),
        methods=tuple(m.upper() for m in _strings(data, "methods")),
        seed=seed,
    )


def _rate_limit(value: Any) -> RateLimit | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"requests", "window_s"}:
        raise FaultConfigError("`rate_limit` must be {requests, window_s}")
    requests = value["requests"]
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
        raise FaultConfigError("`rate_limit.requests` must be a positive integer")
    return RateLimit(requests, _number(value, "window_s", 0.001, 86_400))


@dataclass
class Decision:
    delay_s: float = 0
    retry_after: int | None = None  # set: answer 429
    error: bool = False
    commit_then_timeout: str | None = None  # "abort" | "hang"


@dataclass
class Faults:
    config: FaultConfig | None = None
    rng: random.Random = field(default_factory=random.Random)
    window: deque[float] = field(default_factory=deque)

    def set(self, config: FaultConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.window = deque()

    def clear(self) -> None:
        self.config = None
        self.window = deque()

    def applies(self, method: str, path: str) -> bool:
        config = self.config
        if config is None:
            return False
        if config.methods and method not in config.methods:
            return False
        return any(fnmatchcase(path, pattern) for pattern in config.paths)

    def decide(self, method: str, path: str) -> Decision:
        config = self.config
        if config is None or not self.applies(method, path):
            return Decision()
        decision = Decision(delay_s=self._delay(config))
        if config.rate_limit is not None:
            decision.retry_after = self._rate_limited(config.rate_limit)
            if decision.retry_after is not None:
                return decision
        if config.error_rate and self.rng.random() < config.error_rate:
            decision.error = True
        elif method in WRITE_METHODS and config.commit_then_timeout_rate:
            if self.rng.random() < config.commit_then_timeout_rate:
                decision.commit_then_timeout = config.commit_then_timeout_mode
        return decision

    def _delay(self, config: FaultConfig) -> float:
        jitter = (
            self.rng.uniform(-config.latency_jitter_ms, config.latency_jitter_ms)
            if config.latency_jitter_ms
            else 0
        )
        return max(0.0, config.latency_ms + jitter) / 1000

    def _rate_limited(self, limit: RateLimit) -> int | None:
        """A sliding window over accepted requests; returns seconds until a slot frees, or None."""
        now = time.monotonic()
        while self.window and self.window[0] <= now - limit.window_s:
            self.window.popleft()
        if len(self.window) >= limit.requests:
            return max(1, math.ceil(self.window[0] + limit.window_s - now))
        self.window.append(now)
        return None
