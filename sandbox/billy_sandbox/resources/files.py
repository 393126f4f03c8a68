"""Files (raw uploads) and the attachments that hang them on invoices, bills and daybook transactions."""

from __future__ import annotations

from billy_sandbox.errors import invalid
from billy_sandbox.registry import register
from billy_sandbox.schema import CREATED, ORG, B, Hooks, I, Id, Record, Ref, Resource, S
from billy_sandbox.store import Tx

OWNER_TYPES = ("invoice", "bill", "daybookTransaction", "organization")

register(
    Resource(
        "file",
        "files",
        (
            CREATED,
            S("fileName", readonly=True),
            I("fileSize", readonly=True),
            S("fileType", readonly=True),
            B("isImage", readonly=True),
            B("isPdf", readonly=True),
            I("imageWidth", readonly=True),
            I("imageHeight", readonly=True),
            S("downloadUrl", readonly=True),
        ),
        ops=frozenset({"get", "list"}),
        has_org=False,
    )
)


class AttachmentHooks(Hooks):
    def prepare(self, tx: Tx, record: Record, old: Record | None) -> None:
        kind, _, owner_id = record["ownerReference"].partition(":")
        if kind not in OWNER_TYPES or tx.get(kind, owner_id) is None:
            raise invalid(
                f"No owner `{record['ownerReference']}` (an invoice, bill, daybookTransaction or organization).",
                {"ownerReference": "does not exist"},
                "attachment",
            )


register(
    Resource(
        "attachment",
        "attachments",
        (
            ORG,
            CREATED,
            Ref("ownerReference", required=True, immutable=True),
            Id("fileId", "file", required=True, immutable=True),
            I("priority", default=0),
        ),
        hooks=AttachmentHooks(),
    )
)
