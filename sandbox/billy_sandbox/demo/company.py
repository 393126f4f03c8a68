"""Placeholder replaced in the demo-data increment."""

from __future__ import annotations

from billy_sandbox.config import SandboxConfig
from billy_sandbox.store import Store


def generate(store: Store, org_id: str, config: SandboxConfig) -> dict[str, list[str]]:
    return {}
