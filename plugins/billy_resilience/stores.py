"""Where breaker state and the rate limit live: in process, or in Redis shared by every instance.

Redis keys (one per breaker and one per organization's limit, so every script touches a single
key and works on Redis Cluster; the organization is the hash tag):

* ``{prefix}:breaker:{<organization>}:<group>``: a hash (``s`` state, ``oa`` opened at,
  ``ha`` half-open since, ``ad`` probes admitted, ``w`` window, ``p`` probe outcomes);
* ``{prefix}:rate:{<organization>}``: the GCRA theoretical arrival time (ms);
* ``{prefix}:ambiguous:{<organization>}:<resource>:<key>``: when a create with that
  idempotency key first had an unknown outcome (seconds since the epoch).

The scripts read the clock with Redis ``TIME``, so instances with skewed clocks still agree.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from billy_resilience.breaker import (
    Admission,
    BreakerConfig,
    BreakerState,
    Recorded,
    State,
)


def _now_ms() -> float:
    return time.monotonic() * 1000.0


class BreakerStore(Protocol):
    async def acquire(self, key: str, config: BreakerConfig) -> Admission: ...

    async def record(self, key: str, config: BreakerConfig, code: str, probe: bool) -> Recorded: ...

    async def release(self, key: str, probe: bool) -> None: ...

    async def peek(self, key: str, config: BreakerConfig) -> tuple[State, float]: ...


class LocalBreakers:
    """Breaker state of this process only."""

    def __init__(self, clock: Any = _now_ms) -> None:
        self.clock = clock
        self.states: dict[str, BreakerState] = {}

    def _state(self, key: str) -> BreakerState:
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = BreakerState()
        return state

    async def acquire(self, key: str, config: BreakerConfig) -> Admission:
        return self._state(key).acquire(config, self.clock())

    async def record(self, key: str, config: BreakerConfig, code: str, probe: bool) -> Recorded:
        return self._state(key).record(config, self.clock(), code, probe)

    async def release(self, key: str, probe: bool) -> None:
        self._state(key).release(probe)

    async def peek(self, key: str, config: BreakerConfig) -> tuple[State, float]:
        state = self._state(key)
        return state.state, state.retry_after_ms(config, self.clock())


# The same steps as BreakerState, on one Redis hash. ARGV: op, now_ms (0 = Redis TIME),
# window_size, minimum_calls, failure_rate, slow_call_rate, open_ms, probes, ttl_ms, code, probe.
# Returns {allowed, probe, state_before, state_after, retry_after_ms (string)}.
BREAKER_LUA = """
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local window_size = tonumber(ARGV[3])
local minimum = tonumber(ARGV[4])
local failure_rate = tonumber(ARGV[5])
local slow_rate = tonumber(ARGV[6])
local open_ms = tonumber(ARGV[7])
local probes_max = tonumber(ARGV[8])
local ttl_ms = tonumber(ARGV[9])
local code = ARGV[10]
local probe = ARGV[11] == '1'

local h = redis.call('HMGET', key, 's', 'oa', 'ha', 'ad', 'w', 'p')
local state = h[1] or 'closed'
local opened_at = tonumber(h[2]) or 0
local half_open_at = tonumber(h[3]) or 0
local admitted = tonumber(h[4]) or 0
local window = h[5] or ''
local probes = h[6] or ''
local before = state
local function num(x) return string.format('%.17g', x) end

local function trips(outcomes, total)
  local failed, slow = 0, 0
  for i = 1, #outcomes do
    local c = string.sub(outcomes, i, i)
    if c == '1' or c == '3' then failed = failed + 1 end
    if c == '2' or c == '3' then slow = slow + 1 end
  end
  return failed >= failure_rate * total or slow >= slow_rate * total
end
local function open()
  state, opened_at, window, probes, admitted = 'open', now, '', '', 0
end
local function half_open()
  state, half_open_at, probes, admitted = 'half_open', now, '', 1
end

local allowed, is_probe, retry_after = 0, 0, 0
if op == 'acquire' then
  if state == 'closed' then
    allowed = 1
  elseif state == 'open' then
    if now < opened_at + open_ms then
      retry_after = opened_at + open_ms - now
    else
      half_open()
      allowed, is_probe = 1, 1
    end
  elseif admitted < probes_max then
    admitted = admitted + 1
    allowed, is_probe = 1, 1
  elseif now >= half_open_at + open_ms then
    half_open()
    allowed, is_probe = 1, 1
  else
    retry_after = 1000
  end
elseif op == 'record' then
  if state == 'closed' then
    window = string.sub(window .. code, -window_size)
    if #window >= minimum and trips(window, #window) then open() end
  elseif state == 'half_open' and probe then
    probes = probes .. code
    if trips(probes, probes_max) then
      open()
    elseif #probes >= probes_max then
      state, window, probes, admitted = 'closed', '', '', 0
    end
  end
elseif op == 'release' then
  if state == 'half_open' and probe and admitted > 0 then admitted = admitted - 1 end
elseif op == 'peek' then
  if state == 'open' then
    retry_after = math.max(0, opened_at + open_ms - now)
  elseif state == 'half_open' then
    retry_after = 1000
  end
  return {0, 0, before, state, num(retry_after)}
end
redis.call('HSET', key, 's', state, 'oa', num(opened_at), 'ha', num(half_open_at),
           'ad', admitted, 'w', window, 'p', probes)
redis.call('PEXPIRE', key, ttl_ms)
return {allowed, is_probe, before, state, num(retry_after)}
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBreakers:
    """Breaker state in Redis: every instance reads and writes the same hash per breaker."""

    def __init__(self, redis: Any, *, ttl_seconds: float = 86400.0, clock: Any = None) -> None:
        self.script = redis.register_script(BREAKER_LUA)
        self.ttl_ms = int(ttl_seconds * 1000)
        self.clock = clock  # tests pin the clock; None = Redis TIME

    async def _run(
        self, op: str, key: str, config: BreakerConfig, code: str = "", probe: bool = False
    ) -> list[Any]:
        now = self.clock() if self.clock is not None else 0
        args = [
            op,
            repr(float(now)),
            config.window_size,
            config.minimum_calls,
            repr(config.failure_rate),
            repr(config.slow_call_rate),
            repr(config.open_ms),
            config.probes,
            self.ttl_ms,
            code,
            "1" if probe else "0",
        ]
        result: list[Any] = await self.script(keys=[key], args=args)
        return result

    async def acquire(self, key: str, config: BreakerConfig) -> Admission:
        allowed, probe, _, after, retry_after = await self._run("acquire", key, config)
        return Admission(bool(allowed), bool(probe), State(_text(after)), float(_text(retry_after)))

    async def record(self, key: str, config: BreakerConfig, code: str, probe: bool) -> Recorded:
        _, _, before, after, _ = await self._run("record", key, config, code, probe)
        return Recorded(State(_text(before)), State(_text(after)))

    async def release(self, key: str, probe: bool) -> None:
        if probe:
            await self._run("release", key, BreakerConfig(), probe=True)

    async def peek(self, key: str, config: BreakerConfig) -> tuple[State, float]:
        _, _, _, after, retry_after = await self._run("peek", key, config)
        return State(_text(after)), float(_text(retry_after))


# ---------------------------------------------------------------------- rate limit (GCRA)


class RateStore(Protocol):
    async def reserve(self, key: str, interval_ms: float, tolerance_ms: float, max_wait_ms: float) -> float:
        """Reserve the next slot: the wait in ms before sending (admitted), or -(the wait)
        when it is longer than ``max_wait_ms`` (refused, nothing reserved)."""
        ...


def gcra(
    tat: float | None, now: float, interval: float, tolerance: float, max_wait: float
) -> tuple[float, float | None]:
    """One GCRA step. Returns (wait, new_tat); ``new_tat`` is None when refused.

    With emission interval T and burst tolerance τ, a request at ``now`` may go at
    ``max(TAT, now) − τ``; the new TAT is ``max(TAT, now) + T``. A request whose start lies more
    than ``max_wait`` ahead is refused without reserving anything.
    """
    base = now if tat is None or tat < now else tat
    wait = max(0.0, base - tolerance - now)
    if wait > max_wait:
        return wait, None
    return wait, base + interval


class LocalRates:
    def __init__(self, clock: Any = _now_ms) -> None:
        self.clock = clock
        self.tats: dict[str, float] = {}

    async def reserve(self, key: str, interval_ms: float, tolerance_ms: float, max_wait_ms: float) -> float:
        wait, tat = gcra(self.tats.get(key), self.clock(), interval_ms, tolerance_ms, max_wait_ms)
        if tat is None:
            return -wait
        self.tats[key] = tat
        return wait


# ARGV: interval_ms, tolerance_ms, max_wait_ms, now_ms (0 = Redis TIME). Returns {admitted, wait_ms}.
GCRA_LUA = """
local key = KEYS[1]
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local tat = tonumber(redis.call('GET', key))
if not tat or tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > max_wait then return {0, string.format('%.17g', wait)} end
local new_tat = tat + interval
redis.call('SET', key, string.format('%.17g', new_tat), 'PX', math.ceil(new_tat - now + tolerance) + 1000)
return {1, string.format('%.17g', wait)}
"""


class RedisRates:
    def __init__(self, redis: Any, clock: Any = None) -> None:
        self.script = redis.register_script(GCRA_LUA)
        self.clock = clock

    async def reserve(self, key: str, interval_ms: float, tolerance_ms: float, max_wait_ms: float) -> float:
        now = self.clock() if self.clock is not None else 0
        args = [
            repr(float(interval_ms)),
            repr(float(tolerance_ms)),
            repr(float(max_wait_ms)),
            repr(float(now)),
        ]
        admitted, wait = await self.script(keys=[key], args=args)
        value = float(_text(wait))
        return value if int(admitted) else -value


# ---------------------------------------------------------------------- creates with unknown outcomes


class AmbiguityStore(Protocol):
    async def get(self, key: str) -> float | None: ...

    async def mark(self, key: str, since: float, ttl_seconds: float) -> None: ...

    async def clear(self, key: str) -> None: ...


class LocalAmbiguity:
    def __init__(self) -> None:
        self.marks: dict[str, tuple[float, float]] = {}

    async def get(self, key: str) -> float | None:
        found = self.marks.get(key)
        if found is None:
            return None
        if found[1] < time.time():
            del self.marks[key]
            return None
        return found[0]

    async def mark(self, key: str, since: float, ttl_seconds: float) -> None:
        current = await self.get(key)
        self.marks[key] = (since if current is None else min(current, since), time.time() + ttl_seconds)

    async def clear(self, key: str) -> None:
        self.marks.pop(key, None)


class RedisAmbiguity:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def get(self, key: str) -> float | None:
        value = await self.redis.get(key)
        return None if value is None else float(_text(value))

    async def mark(self, key: str, since: float, ttl_seconds: float) -> None:
        # NX keeps the first (earliest) mark; a later one only refreshes nothing.
        await self.redis.set(key, repr(since), nx=True, px=int(ttl_seconds * 1000))

    async def clear(self, key: str) -> None:
        await self.redis.delete(key)
