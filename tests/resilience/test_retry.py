"""The retry layer: what is sent again, how long it waits, and exactly-once creates."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from billy_resilience.metrics import ResilienceMetrics
from billy_resilience.retry import RetryLayer
from billy_resilience.settings import ResilienceSettings
from billy_resilience.stores import LocalAmbiguity
from prometheus_client import CollectorRegistry

from billy_core.errors import CircuitOpen, UpstreamUnavailable
from billy_core.upstream import UpstreamRequest, UpstreamResponse, UpstreamTransportError

pytestmark = pytest.mark.anyio

TIMEOUT = UpstreamTransportError("read timeout", kind="timeout", maybe_sent=True)
REFUSED = UpstreamTransportError("connection refused", kind="connect", maybe_sent=False)


def make_layer(**overrides: Any) -> RetryLayer:
    options = {
        "retry_base_seconds": 0.001,
        "retry_cap_seconds": 0.01,
        "retry_max_attempts": 4,
        "retry_read_back_delay_seconds": 0.001,
        **overrides,
    }
    return RetryLayer(
        ResilienceSettings(**options),
        ResilienceMetrics(CollectorRegistry()),
        LocalAmbiguity(),
        prefix="test",
    )


def req(method: str = "GET", **fields: Any) -> UpstreamRequest:
    return UpstreamRequest(
        method=method,
        path="/products",
        organization_id="org",
        credential_scope="tok:x",
        correlation_id="c",
        resource="products",
        **fields,
    )


class Script:
    """A fake inner chain answering from a list: responses, or exceptions to raise."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.seen: list[UpstreamRequest] = []

    async def __call__(self, request: UpstreamRequest) -> UpstreamResponse:
        self.seen.append(replace(request))  # as this attempt saw it
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, int):
            return UpstreamResponse(status=outcome, body={"products": [{"id": "new"}]})
        assert isinstance(outcome, UpstreamResponse)
        return outcome


class ReadBack:
    """A fake read-back: answers from a list (None = absent, a record = found)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def __call__(self) -> UpstreamResponse | None:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            return None
        return UpstreamResponse(status=200, body={"products": [answer]}, reconciled=True)


async def test_reads_are_retried_after_5xx_429_and_no_answer():
    chain = Script(503, TIMEOUT, 429, REFUSED, 200)
    response = await make_layer(retry_max_attempts=5)(req(), chain)
    assert response.status == 200
    assert [r.attempt for r in chain.seen] == [0, 1, 2, 3, 4]


async def test_definite_answers_are_not_retried():
    for status in (200, 400, 404, 422, 501):
        chain = Script(status)
        assert (await make_layer()(req(), chain)).status == status
        assert len(chain.seen) == 1


async def test_after_the_last_attempt_the_last_answer_goes_outward():
    chain = Script(503, 503, 503, 502)
    assert (await make_layer()(req(), chain)).status == 502
    chain = Script(503, TIMEOUT, 503, TIMEOUT)
    with pytest.raises(UpstreamTransportError):
        await make_layer()(req(), chain)


async def test_full_jitter_backoff_stays_within_its_bounds():
    layer = make_layer(retry_base_seconds=0.5, retry_cap_seconds=3)
    layer.uniform = lambda low, high: high  # the largest wait full jitter may pick
    assert [layer.backoff(n, None) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    layer.uniform = lambda low, high: low
    assert layer.backoff(4, None) == 0.0
    assert layer.backoff(1, 7.0) == 7.0  # Retry-After is honoured (plus up to base of jitter)


async def test_retry_after_is_honoured_in_seconds_and_http_date_form():
    waits: list[float] = []
    layer = make_layer(retry_base_seconds=0.001)
    layer.uniform = lambda low, high: 0.0

    async def no_sleep(
        request: Any, attempt: int, retry_after: float | None, limit: Any, reason: str
    ) -> bool:
        waits.append(layer.backoff(attempt, retry_after))
        return attempt < 3

    layer._wait = no_sleep  # type: ignore[method-assign]
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    chain = Script(
        UpstreamResponse(status=429, body={}, headers={"retry-after": "2"}),
        UpstreamResponse(status=503, body={}, headers={"retry-after": when}),
        UpstreamResponse(status=429, body={}, headers={"retry-after": "86400"}),
    )
    await make_layer()(req(), Script(200))
    assert (await layer(req(), chain)).status == 429
    assert waits[0] == 2.0 and 28 <= waits[1] <= 30 and waits[2] == 300.0  # clamped


async def test_no_wait_runs_past_the_deadline():
    chain = Script(UpstreamResponse(status=429, body={}, headers={"retry-after": "5"}), 200)
    started = time.monotonic()
    response = await make_layer()(req(deadline=time.monotonic() + 1.0), chain)
    assert response.status == 429 and len(chain.seen) == 1
    assert time.monotonic() - started < 1.0
    # each attempt is sent with the deadline less the reserve for the cache
    chain = Script(200)
    deadline = time.monotonic() + 4
    await make_layer(retry_deadline_reserve_seconds=0.25)(req(deadline=deadline), chain)
    assert chain.seen[0].deadline == pytest.approx(deadline - 0.25)


async def test_refusals_of_the_inner_layers_are_not_retried():
    chain = Script(CircuitOpen("open", retry_after=3), 200)
    with pytest.raises(CircuitOpen):
        await make_layer()(req(), chain)
    assert len(chain.seen) == 1


async def test_put_and_delete_are_retried_other_writes_only_when_never_sent():
    assert (await make_layer()(req("PUT", body={}), Script(TIMEOUT, 503, 200))).status == 200
    assert (await make_layer()(req("DELETE"), Script(503, 200))).status == 200
    with pytest.raises(UpstreamTransportError):
        await make_layer()(req("POST", body={}), Script(TIMEOUT, 200))
    assert (await make_layer()(req("POST", body={}), Script(503, 200))).status == 503
    assert (await make_layer()(req("POST", body={}), Script(REFUSED, 429, 200))).status == 200


# ---------------------------------------------------------------------- exactly-once creates


def create(read_back: Any, key: str = "idem-1", **fields: Any) -> UpstreamRequest:
    return req("POST", body={"product": {}}, idempotency_key=key, reconcile=read_back, **fields)


async def test_an_ambiguous_create_is_read_back_and_the_found_record_returned():
    read_back = ReadBack({"id": "committed"})
    chain = Script(TIMEOUT)
    response = await make_layer()(create(read_back), chain)
    assert response.reconciled and response.body["products"][0]["id"] == "committed"
    assert len(chain.seen) == 1 and read_back.calls == 1


async def test_after_a_timeout_billy_gets_time_to_finish_before_the_read_back(monkeypatch):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("billy_resilience.retry.anyio.sleep", sleep)
    layer = make_layer(retry_read_back_delay_seconds=0.7)
    dropped = UpstreamTransportError("connection dropped", kind="dropped", maybe_sent=True)
    await layer(create(ReadBack(None, {"id": "committed"})), Script(TIMEOUT, dropped))
    assert waits[0] == 0.7 and waits[1] < 0.7  # a dropped answer means Billy had finished


async def test_an_ambiguous_create_is_sent_again_only_when_the_read_back_finds_nothing():
    read_back = ReadBack(None, None)
    chain = Script(TIMEOUT, 503, 201)
    response = await make_layer()(create(read_back), chain)
    assert response.status == 201 and not response.reconciled
    assert len(chain.seen) == 3 and read_back.calls == 2


async def test_429_and_never_sent_failures_need_no_read_back():
    read_back = ReadBack()
    assert (await make_layer()(create(read_back), Script(429, REFUSED, 200))).status == 200
    assert read_back.calls == 0


async def test_a_failing_read_back_is_retried_and_never_replaced_by_a_resend():
    read_back = ReadBack(UpstreamUnavailable("down"), REFUSED, {"id": "committed"})
    chain = Script(TIMEOUT)
    response = await make_layer(retry_max_attempts=5)(create(read_back), chain)
    assert response.reconciled and len(chain.seen) == 1


async def test_an_unresolved_create_is_remembered_and_read_back_first_next_time():
    layer = make_layer(retry_max_attempts=2)
    with pytest.raises(UpstreamUnavailable) as unknown:
        await layer(create(ReadBack(UpstreamUnavailable("down"))), Script(TIMEOUT))
    assert unknown.value.details["outcome"] == "unknown" and unknown.value.retryable
    # the same key later: read back before sending; found, so nothing is sent
    read_back = ReadBack({"id": "committed"})
    chain = Script()
    response = await layer(create(read_back), chain)
    assert response.reconciled and chain.seen == []
    assert await layer.ambiguity.get("test:ambiguous:{org}:products:idem-1") is None
    # another key is not affected
    assert (await layer(create(ReadBack(), key="idem-2"), Script(200))).status == 200


async def test_an_open_circuit_during_the_read_back_leaves_the_create_remembered():
    layer = make_layer(retry_max_attempts=3)
    refused = CircuitOpen("open", retry_after=1)
    with pytest.raises(UpstreamUnavailable):
        await layer(create(ReadBack(refused, refused)), Script(TIMEOUT))
    assert await layer.ambiguity.get("test:ambiguous:{org}:products:idem-1") is not None
    # found absent, then refused before sending: nothing was sent, nothing to remember
    layer = make_layer()
    with pytest.raises(CircuitOpen):
        await layer(create(ReadBack(None)), Script(TIMEOUT, refused))
    assert await layer.ambiguity.get("test:ambiguous:{org}:products:idem-1") is None


async def test_creates_without_a_read_back_are_sent_once():
    with pytest.raises(UpstreamTransportError):
        await make_layer()(req("POST", body={}, idempotency_key="idem-1"), Script(TIMEOUT, 200))
