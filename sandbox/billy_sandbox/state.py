"""Everything one running sandbox holds: config, token, store, its seeded baseline, outbox, stats, faults."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

import billy_sandbox.resources  # noqa: F401  (registers the resources)
from billy_sandbox.config import SandboxConfig
from billy_sandbox.faults import Faults
from billy_sandbox.ids import IdFactory
from billy_sandbox.persistence import SqlitePersistence
from billy_sandbox.registry import REGISTRY
from billy_sandbox.stats import Stats
from billy_sandbox.store import Snapshot, Store, Tx


@dataclass
class Seeded:
    store: Store
    org_id: str
    personal_data: dict[str, list[str]] = field(default_factory=dict)


def build(config: SandboxConfig) -> Seeded:
    """The seeded state for a config: the same seed and date always give the same records."""
    from billy_sandbox.demo.company import generate
    from billy_sandbox.demo.reference import seed_reference

    store = Store(REGISTRY, IdFactory(config.seed))
    org_id = seed_reference(store, config.today)
    personal: dict[str, list[str]] = {}
    if config.demo:
        personal = generate(store, org_id, config)
    return Seeded(store, org_id, personal)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.outbox: list[dict[str, Any]] = []
        self.stats = Stats()
        self.faults = Faults()
        self.persistence = SqlitePersistence(config.db) if config.db else None
        meta = self.persistence.meta() if self.persistence else {}
        if meta.get("org_id"):
            config = _config_from_meta(config, meta)
        self.config = config
        self.token = config.token or meta.get("token") or secrets.token_urlsafe(24)
        self._baseline: Snapshot | None = None
        if meta.get("org_id"):
            self._load(meta)
        else:
            self._seed()

    def _seed(self) -> None:
        seeded = build(self.config)
        self.store, self.org_id, self.personal_data = seeded.store, seeded.org_id, seeded.personal_data
        self._baseline = self.store.snapshot()
        if self.persistence is not None:
            self.store.persistence = self.persistence
            self.persistence.save_all(self.store)
            self.persistence.set_meta(self._meta())

    def _load(self, meta: dict[str, Any]) -> None:
        assert self.persistence is not None
        self.store = Store(REGISTRY, IdFactory(self.config.seed, int(meta.get("id_counter", 0))))
        for name, record in self.persistence.records():
            self.store.table(name).put(record)
        self.store.blobs = self.persistence.blobs()
        self.org_id = meta["org_id"]
        self.personal_data = meta.get("personal_data", {})
        self.store.persistence = self.persistence
        if self.config.token and self.config.token != meta.get("token"):
            self.persistence.set_meta({"token": self.config.token})

    def _meta(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "seed": self.config.seed,
            "today": self.config.today.isoformat(),
            "invoices": self.config.invoices,
            "demo": self.config.demo,
            "token": self.token,
            "personal_data": self.personal_data,
        }

    def tx(self, now: dt.datetime | None = None) -> Tx:
        return Tx(self.store, now or utcnow(), self.org_id)

    def reset(self) -> None:
        """Back to the seeded state; outbox, stats and faults cleared."""
        if self._baseline is None:
            seeded = build(self.config)
            self._baseline = seeded.store.snapshot()
        self.store.restore(self._baseline)
        self.outbox.clear()
        self.stats.reset()
        self.faults.clear()

    def personal_values(self) -> list[str]:
        return sorted({value for values in self.personal_data.values() for value in values})

    def info(self) -> dict[str, Any]:
        return {
            "seed": self.config.seed,
            "today": self.config.today.isoformat(),
            "demo": self.config.demo,
            "invoices_requested": self.config.invoices,
            "db": self.config.db,
            "organization_id": self.org_id,
            "counts": self.store.counts(),
            "personal_data": self.personal_values(),
            "personal_data_by_kind": self.personal_data,
        }


def _config_from_meta(config: SandboxConfig, meta: dict[str, Any]) -> SandboxConfig:
    """A database keeps the seed and date it was generated with."""
    from dataclasses import replace

    return replace(
        config,
        seed=int(meta["seed"]),
        today=dt.date.fromisoformat(meta["today"]),
        invoices=meta.get("invoices"),
        demo=bool(meta.get("demo", True)),
    )
