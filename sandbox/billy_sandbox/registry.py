"""The table of resources, filled by the modules in `billy_sandbox.resources`."""

from __future__ import annotations

from billy_sandbox.schema import Resource

REGISTRY: dict[str, Resource] = {}
BY_PLURAL: dict[str, Resource] = {}


def register(res: Resource) -> Resource:
    REGISTRY[res.name] = res
    BY_PLURAL[res.plural] = res
    return res
