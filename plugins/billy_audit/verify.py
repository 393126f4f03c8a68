"""``audit verify``: prove the chain intact, or name the first entry that is not and why.

The chain is read in seq order from the latest retention anchor (or from seq 1). Each entry
must be *genuine* (its indexed columns agree with its hashed body, its hash recomputes, its
HMAC checks under the key version it names) and *in place* (stored at the seq its body names,
linked to the entry before it). The first entry that is not is classified:

* ``modified``: the entry's content, a column, its hash or its HMAC was changed;
* ``deleted``: entries are missing from the middle (a gap in seq, or later entries renumbered);
* ``inserted``: an entry that is not part of the chain sits in it (forged, or a copy);
* ``reordered``: the genuine entry for this seq is stored at another seq;
* ``truncated``: a signed checkpoint vouches for entries beyond the last one stored;
* ``checkpoint`` / ``anchor``: a signature does not verify, or a signed head does not match.

Entries after the last checkpoint are not covered by any signature: deleting them from the
tail cannot be proven. Status ``unverifiable`` (exit 2) means the check itself could not run:
the store is unreachable, or an entry or signature names a key that is not configured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from billy_audit.chain import INDEXED_FIELDS, ZERO_HASH, StoredEntry, entry_mac, link_hash, macs_equal
from billy_audit.keys import AuditKeys
from billy_audit.store import SignedRow, SqlAuditStore

BATCH = 5000
EXIT_CODES = {"intact": 0, "tampered": 1, "unverifiable": 2}


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    first_bad_seq: int | None
    message: str


@dataclass
class Report:
    status: str = "intact"
    entries_checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints_checked: int = 0
    last_checkpoint_seq: int | None = None
    anchor_seq: int | None = None
    problem: Problem | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        problem = data.pop("problem")
        data["first_bad_seq"] = problem["first_bad_seq"] if problem else None
        data["problem"] = problem["kind"] if problem else None
        data["message"] = problem["message"] if problem else None
        data["unprotected_tail"] = self.unprotected_tail
        data["seconds"] = round(self.seconds, 3)
        return data

    @property
    def unprotected_tail(self) -> int:
        """Entries after the last checkpoint: their deletion from the tail cannot be proven."""
        if self.last_seq is None:
            return 0
        return self.last_seq - max(self.last_checkpoint_seq or 0, self.anchor_seq or 0)


class Unverifiable(Exception):
    pass


class Tampered(Exception):
    def __init__(self, kind: str, seq: int | None, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(kind, seq, message)


class Verifier:
    def __init__(
        self,
        store: SqlAuditStore,
        keys: AuditKeys,
        *,
        extra_checkpoints: Iterable[SignedRow] = (),
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.keys = keys
        self.extra_checkpoints = list(extra_checkpoints)
        self.progress = progress

    async def run(self) -> Report:
        started = time.perf_counter()
        report = Report()
        try:
            await self._verify(report)
        except Tampered as exc:
            report.status, report.problem = "tampered", exc.problem
        except Unverifiable as exc:
            report.status, report.problem = "unverifiable", Problem("unverifiable", None, str(exc))
        report.seconds = time.perf_counter() - started
        return report

    # ------------------------------------------------------------------ the walk

    async def _verify(self, report: Report) -> None:
        anchors = await self.store.signed_rows(self.store.anchors)
        for row in anchors:
            self._check_signed(row, "anchor")
        anchor = anchors[-1] if anchors else None
        checkpoints = self._merge_checkpoints(await self.store.signed_rows(self.store.checkpoints))
        report.anchor_seq = anchor.seq if anchor else None
        floor = anchor.seq if anchor else 0
        signed_heads = {row.seq: row for row in checkpoints if row.seq > floor}
        if anchor is not None and anchor.seq in {row.seq for row in checkpoints}:
            match = next(row for row in checkpoints if row.seq == anchor.seq)
            if match.hash != anchor.hash:
                raise Tampered(
                    "anchor",
                    anchor.seq,
                    f"the anchor at seq {anchor.seq} disagrees with the checkpoint there",
                )
        report.checkpoints_checked = len(checkpoints)
        report.last_checkpoint_seq = checkpoints[-1].seq if checkpoints else None

        expected, prev = floor + 1, anchor.hash if anchor else ZERO_HASH
        last_signed_seq = floor
        while True:
            batch = await self.store.entries_after(expected - 1, BATCH)
            if not batch:
                break
            for entry in batch:
                body = self._in_place(entry, expected, prev)
                if body is None:
                    raise await self._classify(entry, expected, prev)
                head = signed_heads.get(entry.seq)
                if head is not None:
                    if head.hash != entry.hash:
                        raise Tampered(
                            "checkpoint",
                            last_signed_seq + 1,
                            f"entry {entry.seq} differs from the signed checkpoint at seq {entry.seq}: "
                            f"an entry in {last_signed_seq + 1}..{entry.seq} was changed and the chain "
                            "rebuilt with the HMAC key",
                        )
                    last_signed_seq = entry.seq
                if report.first_seq is None:
                    report.first_seq = entry.seq
                report.last_seq = entry.seq
                report.entries_checked += 1
                prev = entry.hash
                expected += 1
            if self.progress is not None:
                self.progress(len(batch))
        beyond = [seq for seq in signed_heads if seq >= expected]
        if beyond:
            last = max(beyond)
            raise Tampered(
                "truncated",
                expected,
                f"entries {expected}..{last} are missing: the checkpoint at seq {last} signed a chain "
                f"that reached seq {last}",
            )

    def _merge_checkpoints(self, stored: list[SignedRow]) -> list[SignedRow]:
        by_seq: dict[int, SignedRow] = {}
        for row in stored:
            self._check_signed(row, "checkpoint")
            by_seq[row.seq] = row
        for row in self.extra_checkpoints:
            self._check_signed(row, "checkpoint")
            kept = by_seq.setdefault(row.seq, row)
            if kept.hash != row.hash:
                raise Tampered(
                    "checkpoint",
                    row.seq,
                    f"the checkpoint at seq {row.seq} differs from its copy in the checkpoint file",
                )
        return [by_seq[seq] for seq in sorted(by_seq)]

    def _check_signed(self, row: SignedRow, kind: str) -> None:
        checker = self.keys.checker
        if not checker.knows(row.key_id):
            raise Unverifiable(
                f"the {kind} at seq {row.seq} is signed with key {row.key_id}, which is not configured "
                "(add its public key to BILLY_AUDIT__PUBLIC_KEYS)"
            )
        try:
            body = json.loads(row.body)
        except ValueError:
            body = None
        fields_agree = isinstance(body, dict) and (
            body.get("type"),
            body.get("seq"),
            body.get("hash"),
            body.get("key_id"),
        ) == (
            kind,
            row.seq,
            row.hash,
            row.key_id,
        )
        if not fields_agree or not checker.valid(row.key_id, row.body, row.signature):
            raise Tampered(kind, row.seq, f"the {kind} at seq {row.seq} does not match its Ed25519 signature")

    # ------------------------------------------------------------------ one entry

    def genuine(self, entry: StoredEntry) -> tuple[dict[str, Any] | None, str | None]:
        """(body, None) when the entry is one this chain's writer made; else (body or None, why not)."""
        try:
            body = json.loads(entry.body)
        except ValueError:
            return None, "its body is not valid JSON"
        if not isinstance(body, dict):
            return None, "its body is not a JSON object"
        for name in (*INDEXED_FIELDS[1:], "key_version"):
            stored, hashed = getattr(entry, name), body.get(name)
            if str(stored) != str(hashed if hashed is not None else ""):
                return body, f"its {name} column says {stored!r} but the hashed entry says {hashed!r}"
        key = self.keys.hmac.get(entry.key_version)
        if key is None:
            raise Unverifiable(
                f"entry {entry.seq} was written under HMAC key version {entry.key_version!r}, which is not "
                "configured (keep retired keys in BILLY_AUDIT__HMAC_KEYS)"
            )
        if link_hash(entry.prev_hash, entry.body) != entry.hash:
            return body, "its content does not match its hash"
        if not macs_equal(entry_mac(key, entry.hash), entry.hmac):
            return body, "its HMAC does not match: it was not written with the audit key"
        return body, None

    def _in_place(self, entry: StoredEntry, expected: int, prev: str) -> dict[str, Any] | None:
        if entry.seq != expected or entry.prev_hash != prev:
            return None
        body, problem = self.genuine(entry)
        if problem is not None or body is None or body.get("seq") != expected:
            return None
        return body

    async def _genuine_successor(self, prev: str, expected: int) -> StoredEntry | None:
        """The genuine entry ``expected`` (it follows ``prev``), wherever it is stored."""
        for candidate in await self.store.with_prev_hash(prev):
            body, problem = self.genuine(candidate)
            if problem is None and body is not None and body.get("seq") == expected:
                return candidate
        return None

    async def _classify(self, entry: StoredEntry, expected: int, prev: str) -> Tampered:
        """Say what happened at the first entry that is not genuine and in place."""
        if entry.seq > expected:
            moved = await self._genuine_successor(prev, expected)
            if moved is not None:
                return Tampered("reordered", expected, f"entry {expected} is stored at seq {moved.seq}")
            gap = (
                f"entry {expected} is"
                if entry.seq == expected + 1
                else f"entries {expected}..{entry.seq - 1} are"
            )
            return Tampered("deleted", expected, f"{gap} missing")
        body, problem = self.genuine(entry)
        body_seq = body.get("seq") if body else None
        if problem is not None:
            successor = await self._genuine_successor(prev, expected)
            if successor is not None and successor.seq != expected:
                return Tampered(
                    "inserted",
                    expected,
                    f"seq {expected} holds an entry that is not part of the chain ({problem}); the genuine "
                    f"entry {expected} follows at seq {successor.seq}",
                )
            if (
                entry.prev_hash == prev
                and link_hash(prev, entry.body) == entry.hash
                and await self._is_last(entry)
            ):
                return Tampered(
                    "inserted", expected, f"entry {expected} was added without the audit key ({problem})"
                )
            return Tampered("modified", expected, f"entry {expected} was modified: {problem}")
        successor = await self._genuine_successor(prev, expected)
        if successor is not None and successor.seq != expected:
            return Tampered(
                "reordered",
                expected,
                f"seq {expected} holds entry {body_seq}, and entry {expected} is stored at seq {successor.seq}",
            )
        if isinstance(body_seq, int) and body_seq > expected:
            return Tampered(
                "deleted",
                expected,
                f"entries {expected}..{body_seq - 1} are missing (the later entries were renumbered)",
            )
        if isinstance(body_seq, int) and body_seq < expected:
            return Tampered("inserted", expected, f"seq {expected} holds a copy of entry {body_seq}")
        return Tampered(
            "modified",
            expected,
            f"entry {expected} does not follow entry {expected - 1} (its prev_hash differs)",
        )

    async def _is_last(self, entry: StoredEntry) -> bool:
        return not await self.store.entries_after(entry.seq, 1)
