"""Request counts for `/_sandbox/stats`: counted on arrival, by route template."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

FAULT_KINDS = ("error", "rate_limited", "commit_then_timeout")
_SPECIAL = {"organization": "/v2/organization", "user": "/v2/user"}
_ID_RE = re.compile(r"^/v2/([A-Za-z]+)/([^/]+)(/[A-Za-z]+)?/?$")


def route_key(method: str, path: str) -> str:
    """ "GET /v2/invoices/abc" -> "GET /v2/invoices/{id}"."""
    parts = [p for p in path.split("/") if p]
    if len(parts) == 2:
        return f"{method} /v2/{parts[1]}"
    if parts[:3] == ["v2", "user", "organizations"]:
        return f"{method} /v2/user/organizations"
    match = _ID_RE.match(path)
    if match and len(parts) <= 4:
        return f"{method} /v2/{match.group(1)}/{{id}}{match.group(3) or ''}"
    return f"{method} {path}"


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.by_route: Counter[str] = Counter()
        self.faults: Counter[str] = Counter({kind: 0 for kind in FAULT_KINDS})

    def count(self, method: str, path: str) -> None:
        self.total += 1
        self.by_route[route_key(method, path)] += 1

    def fault(self, kind: str) -> None:
        self.faults[kind] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_route": dict(sorted(self.by_route.items())),
            "faults_injected": {kind: self.faults[kind] for kind in FAULT_KINDS},
        }
