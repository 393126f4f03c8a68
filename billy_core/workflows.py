"""Declarative workflow templates (the ``presets`` capability builds its engine on these).

A workflow's steps call tools through the same pipeline as any client, so auth, audit,
cache and resilience apply to every step. Values in ``arguments`` may reference the run's
parameters and earlier steps' results as ``"{{ params.customer_id }}"`` or
``"{{ steps.draft.id }}"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class WorkflowStep:
    id: str
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    when: str | None = None
    for_each: str | None = None
    retries: int = 0
    compensate: WorkflowStep | None = None


@dataclass(frozen=True, slots=True)
class WorkflowTemplate:
    name: str
    title: str
    description: str
    steps: tuple[WorkflowStep, ...]
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    tags: frozenset[str] = frozenset()
    plugin: str = ""
