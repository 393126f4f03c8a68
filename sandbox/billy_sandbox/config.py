"""The sandbox's configuration."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_TODAY = dt.date(2026, 9, 30)


@dataclass(frozen=True)
class SandboxConfig:
    """What the sandbox serves: the demo company's seed and date, its size, token and storage."""

    seed: int = 1
    today: dt.date = DEFAULT_TODAY
    token: str | None = None
    invoices: int | None = None  # None = the normal demo size
    db: str | None = None
    demo: bool = True  # False = organization and reference data only
    progress: bool = False  # show a progress bar while generating large data sets
