"""The cache's pieces without a server: keys, tags, L1 bounds, single flight, settings,
entries, and the rule that a failed invalidation is retried before anything is trusted."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from billy_cache.background import Background, SingleFlight
from billy_cache.entry import CacheEntry, CacheKey, KeyMaker, TagRules, include_tags
from billy_cache.memory import ENTRY_OVERHEAD_BYTES, LocalTagStore, MemoryTier
from billy_cache.metrics import CacheMetrics
from billy_cache.middleware import ReadThroughCache
from billy_cache.settings import DEFAULT_RELATED, CacheSettings
from redis.crc import key_slot

from billy_core.errors import StartupError
from billy_core.frozen import FrozenDict, freeze, thaw
from billy_core.metrics import Metrics
from billy_core.settings import load_plugin_settings
from billy_core.upstream import UpstreamRequest, UpstreamResponse
from tests.cache.conftest import eventually


def request(
    method: str = "GET",
    path: str = "/invoices",
    *,
    query: tuple[tuple[str, str], ...] = (),
    organization: str = "org1",
    scope: str = "tok:a",
    invalidates: tuple[str, ...] = (),
) -> UpstreamRequest:
    return UpstreamRequest(
        method=method,
        path=path,
        organization_id=organization,
        credential_scope=scope,
        correlation_id="c",
        resource=path.strip("/").split("/")[0],
        query=query,
        invalidates=invalidates,
    )


# ---------------------------------------------------------------------- keys and tags


def test_keys_separate_organizations_scopes_paths_and_queries():
    keys = KeyMaker("billy:cache")
    base = keys.for_request(request(query=(("page", "1"),)))
    variants = [
        request(query=(("page", "1"),), organization="org2"),
        request(query=(("page", "1"),), scope="tok:b"),
        request(path="/invoices/x", query=(("page", "1"),)),
        request(query=(("page", "2"),)),
        request(query=(("page", "1&pageSize=2"),)),
    ]
    texts = {base.text, *(keys.for_request(r).text for r in variants)}
    assert len(texts) == 1 + len(variants)
    assert keys.for_request(request(query=(("page", "1"),))) == base
    assert base.text.startswith("billy:cache:{org1}:e:invoices:tok:a:")


def test_an_organizations_keys_share_one_cluster_slot():
    keys = KeyMaker("billy:cache")
    entry = keys.for_request(request(organization="Soj1zPR-TFATyPYiIpzR7w"))
    other = keys.for_request(request(path="/contacts", organization="Soj1zPR-TFATyPYiIpzR7w", scope="tok:z"))
    names = [entry.text, other.text, entry.lock_name, keys.tags_hash("Soj1zPR-TFATyPYiIpzR7w")]
    assert len({key_slot(name.encode()) for name in names}) == 1
    assert keys.org_prefix("a}b{") == "billy:cache:{a)b(}"


def test_include_pulls_in_the_related_types():
    assert include_tags("invoice.lines:embed,invoice.contact:sideload") == [
        "lines",
        "invoiceLines",
        "contacts",
        "invoiceContacts",
    ]
    rules = TagRules(DEFAULT_RELATED)
    read = request(query=(("include", "invoice.contact:sideload"), ("state", "approved")))
    assert rules.for_read(read) == ("invoices", "contacts", "invoiceContacts")


def test_a_write_invalidates_its_type_the_related_ones_and_what_it_names():
    rules = TagRules(DEFAULT_RELATED)
    tags = rules.for_write(request("PUT", "/invoices/x", invalidates=("daybookTransactions",)))
    assert tags[0] == "invoices"
    assert {"invoiceLines", "contacts", "bankPayments", "daybookTransactions"} <= set(tags)
    assert {"invoices", "bills"} <= set(rules.for_write(request("POST", "/bankPayments")))
    assert "contactPersons" in rules.for_write(request("PUT", "/contacts/y"))


# ---------------------------------------------------------------------- entries and L1


def test_entries_travel_as_exact_json():
    entry = CacheEntry({"amount": Decimal("1234.50"), "n": 3, "s": "æøå"}, 1700000000.25, ("a.1", "b.2"))
    again = CacheEntry.from_wire(entry.wire())
    assert again.body == entry.body and isinstance(again.body["amount"], Decimal)
    assert (again.stored_at, again.versions, again.status) == (entry.stored_at, entry.versions, 200)
    with pytest.raises(ValueError, match="unknown cache entry format"):
        CacheEntry.from_wire(b"pickle\n{}\n{}")


def key(name: str) -> CacheKey:
    return CacheKey("org", "tok", "invoices", name, name)


@pytest.mark.anyio
async def test_l1_is_bounded_by_entries_and_evicts_the_least_recently_used():
    tier = MemoryTier(settings=CacheSettings(memory_max_entries=3))
    for name in "abc":
        await tier.put(key(name), CacheEntry({"n": name}, time.time(), ()), 60)
    assert await tier.get(key("a")) is not None  # a is now the most recently used
    await tier.put(key("d"), CacheEntry({"n": "d"}, time.time(), ()), 60)
    assert [await tier.get(key(name)) is not None for name in "abcd"] == [True, False, True, True]
    assert len(tier) == 3 and tier.evictions == 1


@pytest.mark.anyio
async def test_l1_is_bounded_by_bytes_and_refuses_oversized_answers():
    settings = CacheSettings(memory_max_entries=1000, memory_max_bytes=20_000, max_entry_bytes=8_000)
    tier = MemoryTier(settings=settings)
    for index in range(10):
        await tier.put(key(f"k{index}"), CacheEntry({"text": "x" * 3000}, time.time(), ()), 60)
        assert tier.bytes <= settings.memory_max_bytes
    assert 0 < len(tier) < 10
    await tier.put(key("huge"), CacheEntry({"text": "x" * 9000}, time.time(), ()), 60)
    assert await tier.get(key("huge")) is None
    assert tier.bytes == sum(slot.size for slot in tier._slots.values())
    assert all(slot.size > ENTRY_OVERHEAD_BYTES for slot in tier._slots.values())


@pytest.mark.anyio
async def test_l1_shares_one_read_only_body_and_forgets_expired_entries():
    tier = MemoryTier(settings=CacheSettings())
    await tier.put(key("a"), CacheEntry({"items": [1, 2]}, time.time(), ()), 60)
    first = await tier.get(key("a"))
    assert first is not None
    with pytest.raises(TypeError, match="read-only"):
        first.body["items"].append(3)
    with pytest.raises(TypeError, match="read-only"):
        first.body["items"] = []
    second = await tier.get(key("a"))
    assert second is not None and second.body == {"items": [1, 2]} and second.body is first.body
    mine = thaw(second.body)
    mine["items"].append(3)  # a caller changes its own copy
    assert (await tier.get(key("a"))).body == {"items": [1, 2]}
    await tier.put(key("old"), CacheEntry({}, time.time() - 100, ()), 60)
    assert await tier.get(key("old")) is None and len(tier) == 1


@pytest.mark.anyio
async def test_local_tag_versions_tell_superseded_from_unknown():
    store = LocalTagStore()
    before = await store.versions("org", ("invoices", "contacts"))
    assert await store.versions("org", ("invoices", "contacts")) == before
    await store.bump("org", ["contacts"])
    after = await store.versions("org", ("invoices", "contacts"))
    assert after[0] == before[0] and after[1] != before[1]
    assert store.verdict(before, after) is False
    assert store.verdict(after, after) is True
    assert LocalTagStore().verdict(before, after) is None  # another process's entry


# ---------------------------------------------------------------------- single flight and background


@pytest.mark.anyio
async def test_single_flight_shares_one_result_and_one_error():
    flights: SingleFlight[int] = SingleFlight()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        await anyio.sleep(0.01)
        return 42

    results: list[tuple[int, bool]] = []

    async def one() -> None:
        results.append(await flights.run("k", work))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(one)
    assert runs == 1 and len(results) == 10
    assert sorted(shared for _, shared in results) == [False] + [True] * 9

    async def fail() -> int:
        await anyio.sleep(0.01)
        raise RuntimeError("boom")

    errors: list[BaseException] = []

    async def failing() -> None:
        try:
            await flights.run("e", fail)
        except RuntimeError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(failing)
    assert len(errors) == 3 and len(flights) == 0


@pytest.mark.anyio
async def test_single_flight_survives_a_cancelled_leader():
    flights: SingleFlight[str] = SingleFlight()
    started = anyio.Event()
    leader_scope = anyio.CancelScope()
    follower_result: list[tuple[str, bool]] = []

    async def slow() -> str:
        started.set()
        await anyio.sleep(10)
        return "leader"

    async def quick() -> str:
        return "follower"

    async def leader() -> None:
        with leader_scope:
            await flights.run("k", slow)

    async def follower() -> None:
        follower_result.append(await flights.run("k", quick))

    async with anyio.create_task_group() as group:
        group.start_soon(leader)
        await started.wait()
        group.start_soon(follower)
        await anyio.sleep(0.01)  # the follower now waits on the leader's flight
        leader_scope.cancel()
    assert follower_result == [("follower", False)]


@pytest.mark.anyio
async def test_background_runs_work_once_per_key_and_only_while_started():
    background = Background()
    assert background.spawn("k", anyio.sleep, what="x") is False
    await background.start()
    done = anyio.Event()

    async def work() -> None:
        await done.wait()

    assert background.spawn("k", work, what="x") and background.spawn("k", work, what="x")
    assert len(background) == 1
    done.set()
    await background.stop()
    assert len(background) == 0


# ---------------------------------------------------------------------- settings


def test_settings_merge_over_the_defaults_and_name_bad_values():
    settings = load_plugin_settings(
        "cache",
        CacheSettings,
        document={"plugins": {"cache": {"ttl_seconds": {"invoices": 5}}}},
        environ={"BILLY_CACHE__TIERS": "memory,sql", "BILLY_CACHE__RELATED": '{"bills": ["accounts"]}'},
    )
    assert isinstance(settings, CacheSettings)
    assert settings.tiers == ["memory", "sql"]
    assert settings.ttl_for("invoices") == 5 and settings.ttl_for("currencies") == 86400
    assert settings.ttl_for("somethingNew") == settings.default_ttl_seconds
    assert settings.related["bills"] == ["accounts"] and "invoices" in settings.related
    with pytest.raises(StartupError, match="BILLY_CACHE__MEMORY_MAX_ENTRIES"):
        load_plugin_settings(
            "cache", CacheSettings, document={}, environ={"BILLY_CACHE__MEMORY_MAX_ENTRIES": "0"}
        )


# ---------------------------------------------------------------------- failed invalidations


class FlakyTags(LocalTagStore):
    """Tag versions that fail while ``down``; when ``hold`` is set, the next bump waits for it
    (and fails if the store is down by then). ``reads`` counts version look-ups."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.hold: anyio.Event | None = None
        self.holding = anyio.Event()
        self.reads = 0
        self.bumped: list[tuple[str, list[str]]] = []

    async def versions(self, organization_id: str, tags: tuple[str, ...]) -> tuple[str, ...]:
        self.reads += 1
        if self.down:
            raise ConnectionError("redis is down")
        return await super().versions(organization_id, tags)

    async def bump(self, organization_id: str, tags: Any) -> None:
        tags = list(tags)
        hold, self.hold = self.hold, None
        if hold is not None:
            self.holding.set()
            await hold.wait()
        if self.down:
            raise ConnectionError("redis is down")
        await super().bump(organization_id, tags)
        self.bumped.append((organization_id, tags))


class Billy:
    """The upstream: answers every request with how many it has had."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, upstream: UpstreamRequest) -> UpstreamResponse:
        self.calls.append(upstream.method)
        return UpstreamResponse(200, {"n": len(self.calls)})


def l1_cache(tags: Any, settings: CacheSettings | None = None) -> tuple[ReadThroughCache, MemoryTier]:
    settings = settings or CacheSettings()
    tier = MemoryTier(settings=settings)
    cache = ReadThroughCache(
        settings, [tier], tags, metrics=CacheMetrics(Metrics().registry), background=Background()
    )
    return cache, tier


@pytest.mark.anyio
async def test_a_failed_invalidation_is_retried_before_anything_cached_is_trusted():
    tags = FlakyTags()
    cache, _ = l1_cache(tags)
    billy = Billy()
    assert (await cache(request(), billy)).body == {"n": 1}
    assert (await cache(request(), billy)).from_cache
    tags.down = True
    await cache(request("PUT", "/invoices/x"), billy)  # the write happened; its invalidation did not
    tags.down = False
    fresh = await cache(request(), billy)  # pending invalidation first, then a miss
    assert not fresh.from_cache and fresh.body == {"n": 3}
    assert billy.calls == ["GET", "PUT", "GET"]


@pytest.mark.anyio
async def test_an_invalidation_that_fails_while_another_is_failing_is_not_lost():
    tags = FlakyTags()
    cache, _ = l1_cache(tags)
    billy = Billy()
    await cache(request(path="/contacts"), billy)
    assert (await cache(request(path="/contacts"), billy)).from_cache
    tags.down, tags.hold = True, anyio.Event()
    release = tags.hold
    async with anyio.create_task_group() as group:
        group.start_soon(cache.invalidate, "org1", ["invoices"])
        await tags.holding.wait()  # the first invalidation is on its way (and will fail)
        await cache.invalidate("org1", ["contacts"])  # fails at once
        release.set()
    tags.down = False
    assert not (await cache(request(path="/contacts"), billy)).from_cache


@pytest.mark.anyio
async def test_a_read_while_a_failed_invalidation_is_being_retried_trusts_nothing_cached():
    tags = FlakyTags()
    cache, _ = l1_cache(tags)
    billy = Billy()
    await cache(request(), billy)
    tags.down = True
    await cache(request("PUT", "/invoices/x"), billy)  # its invalidation failed
    tags.down, tags.hold = False, anyio.Event()
    release = tags.hold
    async with anyio.create_task_group() as group:
        group.start_soon(cache, request(), billy)  # retries the invalidation first, which waits
        await tags.holding.wait()
        second = await cache(request(), billy)
        release.set()
    assert not second.from_cache and second.body == {"n": 3}


@pytest.mark.anyio
async def test_the_maintenance_loop_sends_a_failed_invalidation_without_waiting_for_a_read(
    make_kernel, monkeypatch
):
    from billy_cache import runtime as runtime_module
    from billy_cache.plugin import runtime

    monkeypatch.setattr(runtime_module, "RETRY_INVALIDATIONS_SECONDS", 0.01)
    kernel = make_kernel()
    cache = runtime(kernel).cache
    tags = cache.tags = FlakyTags()
    async with kernel:
        tags.down = True
        await cache.invalidate("org1", ["invoices"])
        assert tags.bumped == []
        tags.down = False
        await eventually(lambda: tags.bumped == [("org1", ["invoices"])], "the invalidation retried")


@pytest.mark.anyio
async def test_an_answer_fetched_while_an_invalidation_is_unsent_is_not_stored():
    tags = FlakyTags()
    cache, tier = l1_cache(tags)

    async def billy(upstream: UpstreamRequest) -> UpstreamResponse:
        tags.down = True
        await cache.invalidate("org1", ["invoices"])  # a write while this GET is on its way
        tags.down = False
        return UpstreamResponse(200, {"n": 1})

    await cache(request(), billy)
    assert len(tier) == 0


# ---------------------------------------------------------------------- the hot path


@pytest.mark.anyio
async def test_hits_and_coalesced_callers_share_the_body_and_a_miss_reads_versions_once():
    tags = FlakyTags()
    cache, _ = l1_cache(tags)
    fetches = 0

    async def billy(upstream: UpstreamRequest) -> UpstreamResponse:
        nonlocal fetches
        fetches += 1
        await anyio.sleep(0.01)
        return UpstreamResponse(200, freeze({"invoices": [{"id": "i1"}]}))  # as the client's GETs are

    fetched = await cache(request(), billy)
    hit = await cache(request(), billy)
    assert hit.from_cache and hit.body is fetched.body  # no copy per hit: the body is read-only
    with pytest.raises(TypeError, match="read-only"):
        hit.body["invoices"].clear()

    await tags.bump("org1", ["invoices"])
    tags.reads = 0
    miss = await cache(request(), billy)
    assert not miss.from_cache and fetches == 2
    assert tags.reads == 1  # storing the answer does not ask for the versions again

    await tags.bump("org1", ["invoices"])
    answers: list[UpstreamResponse] = []

    async def read() -> None:
        answers.append(await cache(request(), billy))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(read)
    assert fetches == 3 and len({id(answer.body) for answer in answers}) == 1  # coalesced, not copied


@pytest.mark.anyio
async def test_an_answer_made_up_by_a_middleware_is_frozen_before_it_is_shared():
    cache, _ = l1_cache(FlakyTags())
    answer = await cache(request(), Billy())  # a plain dict, as no real GET answer is
    assert type(answer.body) is FrozenDict
    assert (await cache(request(), Billy())).body is answer.body


# ---------------------------------------------------------------------- background work


@pytest.mark.anyio
async def test_a_cancelled_shutdown_still_closes_the_background_work():
    background = Background(grace=0.01)
    ended = anyio.Event()

    async def work() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            ended.set()

    with anyio.CancelScope() as scope:  # around the whole life, as around a kernel's
        await background.start()
        assert background.spawn("k", work, what="x")
        await anyio.lowlevel.checkpoint()  # the work has started
        scope.cancel()  # shutdown is cancelled while it waits for the work
        await background.stop()
    assert ended.is_set() and len(background) == 0


@pytest.mark.anyio
async def test_a_failing_warm_stops_neither_warming_nor_sweeping(make_kernel, monkeypatch):
    from billy_cache.plugin import runtime
    from billy_cache.runtime import CacheRuntime

    monkeypatch.setenv("BILLY_CACHE__WARM_PATHS", "/taxRates")
    monkeypatch.setenv("BILLY_CACHE__WARM_INTERVAL_SECONDS", "0.01")
    monkeypatch.setenv("BILLY_CACHE__SWEEP_INTERVAL_SECONDS", "0.01")
    done = {"warm": 0, "sweep": 0}

    async def warm(self: Any) -> int:
        done["warm"] += 1
        raise RuntimeError("warming failed")

    async def sweep(self: Any) -> None:
        done["sweep"] += 1

    monkeypatch.setattr(CacheRuntime, "warm", warm)
    monkeypatch.setattr(CacheRuntime, "sweep", sweep)
    kernel = make_kernel()
    runtime(kernel)
    async with kernel:
        await eventually(lambda: done["warm"] >= 3 and done["sweep"] >= 3, "warming and sweeping go on")
