"""Billy's special routes: raw file upload and download, and e-mailing an invoice (into the outbox)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from billy_sandbox.errors import BillyError, invalid, not_found
from billy_sandbox.registry import REGISTRY
from billy_sandbox.responses import json_response, ok_meta, read_json, root_value
from billy_sandbox.schema import Record
from billy_sandbox.store import Tx

MAX_FILE = 25 * 1024 * 1024
EMAIL_FIELDS = {"contactPersonId": True, "emailSubject": True, "emailBody": True, "copyToUserId": False}


def _only(request: Request, method: str) -> None:
    if request.method != method:
        raise BillyError(
            405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported on `{request.url.path}`."
        )


def _file_record(tx: Tx, name: str, content_type: str, size: int) -> Record:
    record = REGISTRY["file"].blank()
    record.update(
        id=tx.new_id(),
        createdTime=tx.now_text(),
        fileName=name,
        fileSize=size,
        fileType=content_type,
        isImage=content_type.startswith("image/"),
        isPdf=content_type == "application/pdf",
    )
    record["downloadUrl"] = f"/v2/files/{record['id']}/download"
    return record


async def upload_file(request: Request, state: Any) -> Response:
    """`POST /v2/files` with the raw bytes; `X-Filename`, `Content-Type`, optional `x-create-attachment`."""
    started = time.perf_counter()
    data = await request.body()
    if not data:
        raise invalid("The file is empty.", {"file": "is empty"}, "file")
    if len(data) > MAX_FILE:
        raise BillyError(413, "REQUEST_TOO_LARGE", "Files may be at most 25 MB.")
    tx: Tx = state.tx()
    content_type = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    record = tx.put(
        "file", _file_record(tx, request.headers.get("x-filename") or "upload", content_type, len(data))
    )
    tx.extra["blobs"] = {record["id"]: data}
    if request.headers.get("x-create-attachment", "").lower() == "true":
        attachment = REGISTRY["attachment"].blank()
        attachment.update(
            id=tx.new_id(),
            organizationId=tx.org_id,
            createdTime=tx.now_text(),
            ownerReference=f"organization:{tx.org_id}",
            fileId=record["id"],
        )
        tx.put("attachment", attachment)
    tx.commit()
    body: dict[str, Any] = {"meta": ok_meta(started), **tx.changed()}
    return json_response(body)


async def file_download(request: Request, state: Any) -> Response:
    _only(request, "GET")
    file_id = request.path_params["id"]
    record = state.store.get("file", file_id)
    if record is None or file_id not in state.store.blobs:
        raise not_found("file", file_id)
    return Response(state.store.blobs[file_id], media_type=record["fileType"])


def _email_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("The email must be a JSON object.", key="email")
    errors = {k: "is an unknown field" for k in body if k not in EMAIL_FIELDS}
    for name, required in EMAIL_FIELDS.items():
        value = body.get(name)
        if value is None:
            if required:
                errors[name] = "is required"
        elif not isinstance(value, str) or (required and not value.strip()):
            errors[name] = "must be a non-empty string"
    if errors:
        name, problem = next(iter(errors.items()))
        raise invalid(f"The email field `{name}` {problem}.", errors, "email")
    return body


async def invoice_email(request: Request, state: Any) -> Response:
    """Records the mail in the outbox instead of sending it, and marks the invoice sent."""
    _only(request, "POST")
    started = time.perf_counter()
    fields = _email_fields(root_value(await read_json(request), "email"))
    tx: Tx = state.tx()
    invoice_id = request.path_params["id"]
    invoice = tx.get("invoice", invoice_id)
    if invoice is None:
        raise not_found("invoice", invoice_id)
    if invoice["state"] != "approved":
        raise invalid("Only approved invoices can be e-mailed.", {"state": "must be approved"}, "email")
    person = tx.get("contactPerson", fields["contactPersonId"])
    if person is None or person["contactId"] != invoice["contactId"]:
        raise invalid(
            "contactPersonId must be a contact person of the invoice's contact.",
            {"contactPersonId": "is not a person of the invoice's contact"},
            "email",
        )
    if not person["email"]:
        raise invalid(
            "The contact person has no e-mail address.", {"contactPersonId": "has no e-mail"}, "email"
        )
    copy_to = tx.get("user", fields["copyToUserId"]) if fields.get("copyToUserId") else None
    if fields.get("copyToUserId") and copy_to is None:
        raise invalid("copyToUserId is not a user.", {"copyToUserId": "does not exist"}, "email")
    mail = {
        "id": tx.new_id(),
        "invoiceId": invoice_id,
        "contactPersonId": person["id"],
        "to": person["email"],
        "cc": copy_to["email"] if copy_to else None,
        "subject": fields["emailSubject"],
        "body": fields["emailBody"],
        "sentTime": tx.now_text(),
    }
    if invoice["sentState"] in ("unsent", "printed"):
        tx.put("invoice", {**invoice, "sentState": "sent"})
    tx.commit()
    state.outbox.append(mail)
    return json_response({"meta": ok_meta(started), **tx.changed(), "emails": [mail]})
