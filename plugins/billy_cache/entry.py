"""Cache keys, entries and the wire format the shared tiers store.

A key names one GET as one principal sees it: organization, credential scope, path and
query. Every Redis key of an organization carries the organization as a hash tag
(``billy:cache:{<org>}:...``), so an organization's entries, locks and tag versions live in
one Redis Cluster slot and multi-key operations on them stay legal.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from billy_core.frozen import freeze
from billy_core.jsonutil import dumps_exact, loads_exact
from billy_core.upstream import UpstreamRequest

FORMAT = b"bc1"


def _tag_safe(value: str) -> str:
    """Hash tags end at the first ``}``; keep organization ids from breaking out."""
    return value.replace("{", "(").replace("}", ")") or "_"


@dataclass(frozen=True, slots=True)
class CacheKey:
    """One cached GET. ``text`` is the storage key every tier uses."""

    organization_id: str
    scope: str
    resource: str
    digest: str
    text: str

    @property
    def lock_name(self) -> str:
        return self.text.replace(":e:", ":lock:", 1)


class KeyMaker:
    """Builds keys and tag-hash names under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def org_prefix(self, organization_id: str) -> str:
        return f"{self.prefix}:{{{_tag_safe(organization_id)}}}"

    def tags_hash(self, organization_id: str) -> str:
        return f"{self.org_prefix(organization_id)}:tags"

    def for_request(self, request: UpstreamRequest) -> CacheKey:
        query = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in request.query)
        digest = hashlib.blake2b(
            f"{request.method} {request.path}?{query}".encode(), digest_size=16
        ).hexdigest()
        org = request.organization_id
        text = f"{self.org_prefix(org)}:e:{request.resource}:{request.credential_scope}:{digest}"
        return CacheKey(org, request.credential_scope, request.resource, digest, text)


@dataclass(slots=True)
class CacheEntry:
    """A stored answer: Billy's parsed body, when it was fetched and the tag versions then.

    ``stored_at`` is wall-clock time (instances share entries); it is when the fetch *began*,
    so an entry's age never understates how old its data may be.
    """

    body: Any
    stored_at: float
    versions: tuple[str, ...]
    status: int = 200
    _wire: bytes | None = field(default=None, repr=False, compare=False)

    def age(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.stored_at)

    def wire(self) -> bytes:
        """JSON (exact decimals) with a small header: safe to share, never pickled."""
        if self._wire is None:
            header = dumps_exact({"t": self.stored_at, "v": list(self.versions), "s": self.status})
            self._wire = FORMAT + b"\n" + header + b"\n" + dumps_exact(self.body)
        return self._wire

    @classmethod
    def from_wire(cls, data: bytes) -> CacheEntry:
        magic, header, body = data.split(b"\n", 2)
        if magic != FORMAT:
            raise ValueError(f"unknown cache entry format {magic!r}")
        meta = loads_exact(header)
        return cls(
            body=freeze(loads_exact(body)),
            stored_at=float(meta["t"]),
            versions=tuple(str(v) for v in meta["v"]),
            status=int(meta["s"]),
            _wire=data,
        )


def plural(name: str) -> str:
    if name.endswith("s"):
        return name
    if name.endswith("y") and len(name) > 1 and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


def include_tags(include: str) -> list[str]:
    """Resource types an ``include`` parameter pulls in: ``invoice.lines:embed`` reads
    ``lines`` and ``invoiceLines``; ``invoice.contact:sideload`` reads ``contacts``."""
    found: list[str] = []
    for spec in include.split(","):
        chain = [part for part in spec.split(":", 1)[0].strip().split(".") if part]
        for owner, relation in itertools.pairwise(chain):
            related = plural(relation)
            found += [related, owner + related[:1].upper() + related[1:]]
    return found


class TagRules:
    """Which tags a read carries and which a write bumps (memoised: the same few shapes recur)."""

    def __init__(self, related: dict[str, list[str]]) -> None:
        self.related = related
        self._reads: dict[tuple[str, str], tuple[str, ...]] = {}

    def for_read(self, request: UpstreamRequest) -> tuple[str, ...]:
        include = ",".join(value for name, value in request.query if name == "include")
        memo = (request.resource, include)
        tags = self._reads.get(memo)
        if tags is None:
            tags = tuple(dict.fromkeys([request.resource, *include_tags(include)]))
            if len(self._reads) < 10_000:
                self._reads[memo] = tags
        return tags

    def for_write(self, request: UpstreamRequest) -> tuple[str, ...]:
        names = [request.resource, *self.related.get(request.resource, ()), *request.invalidates]
        return tuple(dict.fromkeys(name for name in names if name))
