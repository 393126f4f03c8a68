"""The `/v2` API: generic collection and item routes plus Billy's special routes."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from billy_sandbox import include, writes
from billy_sandbox.errors import BillyError, bad_body, bad_parameter, not_found
from billy_sandbox.listing import check_organization, list_records
from billy_sandbox.registry import BY_PLURAL
from billy_sandbox.responses import error_response, json_response, ok_meta, read_json, root_value
from billy_sandbox.schema import Record, Resource
from billy_sandbox.special import file_download, invoice_email, upload_file
from billy_sandbox.state import SandboxState
from billy_sandbox.store import Tx

log = logging.getLogger("billy_sandbox")
Handler = Callable[[Request, SandboxState], Awaitable[Response]]

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def authenticate(request: Request, state: SandboxState) -> None:
    token = request.headers.get("x-access-token")
    if not token:
        raise BillyError(
            401,
            "AUTHENTICATION_REQUIRED",
            "You must use Basic auth or an OAuth access token to make requests to the API.",
        )
    if not hmac.compare_digest(token.encode(), state.token.encode()):
        raise BillyError(401, "OAUTH_INVALID_ACCESS_TOKEN", "Invalid OAuth 2 access token.")


def endpoint(state: SandboxState, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            authenticate(request, state)
            return await handler(request, state)
        except BillyError as error:
            return error_response(error)
        except Exception:
            log.exception("sandbox error on %s %s", request.method, request.url.path)
            return error_response(BillyError(500, "INTERNAL_ERROR", "An internal error occurred."))

    return run


def _resource(request: Request) -> Resource:
    plural = request.path_params["plural"]
    res = BY_PLURAL.get(plural)
    if res is None:
        raise BillyError(404, "ROUTE_NOT_FOUND", f"There is no route `{request.url.path}`.")
    return res


def _method_not_allowed(request: Request, res: Resource) -> BillyError:
    return BillyError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported on `{res.plural}`.")


def _with_client_ids(tx: Tx, records: list[Record]) -> list[Record]:
    client_ids: dict[str, str] = tx.extra.get("client_ids", {})
    return [{**r, "_clientId": client_ids[r["id"]]} if r["id"] in client_ids else r for r in records]


def write_response(tx: Tx, started: float, deleted: dict[str, list[str]] | None = None) -> Response:
    """Every record the request changed, as plural arrays; deletions in meta.deletedRecords."""
    gone = tx.deleted()
    for plural, ids in (deleted or {}).items():
        gone[plural] = list(dict.fromkeys([*ids, *gone.get(plural, [])]))
    meta = ok_meta(started, **({"deletedRecords": gone} if gone else {}))
    body: dict[str, Any] = {"meta": meta}
    for plural, records in tx.changed().items():
        body[plural] = _with_client_ids(tx, records)
    return json_response(body)


async def collection(request: Request, state: SandboxState) -> Response:
    started = time.perf_counter()
    res = _resource(request)
    method = request.method
    if method == "GET":
        writes.require_op(res, "list")
        return _list(request, state, res, started)
    tx = state.tx()
    check_organization(tx, dict(request.query_params))
    if method == "POST":
        writes.require_op(res, "create")
        writes.create(tx, res.name, root_value(await read_json(request), res.name))
    elif method == "PATCH":
        _bulk_save(tx, res, root_value(await read_json(request), res.plural))
    elif method == "DELETE":
        writes.require_op(res, "delete")
        ids = request.query_params.getlist("ids[]") or request.query_params.getlist("ids")
        if not ids:
            raise bad_parameter("Bulk delete needs ids[]=<id> query parameters.")
        for record_id in ids:
            writes.delete(tx, res.name, record_id)
        tx.commit()
        return write_response(tx, started, {res.plural: ids})
    else:
        raise _method_not_allowed(request, res)
    tx.commit()
    return write_response(tx, started)


def _bulk_save(tx: Tx, res: Resource, records: Any) -> None:
    if not isinstance(records, list):
        raise bad_body(f"`{res.plural}` must be a list of records.")
    for index, body in enumerate(records):
        path = f"{res.plural}[{index}]"
        if isinstance(body, dict) and body.get("id"):
            writes.require_op(res, "update")
            writes.update(tx, res.name, str(body["id"]), body, path)
        else:
            writes.require_op(res, "create")
            writes.create(tx, res.name, body, path)


def _list(request: Request, state: SandboxState, res: Resource, started: float) -> Response:
    tx = state.tx()
    items = list(request.query_params.multi_items())
    specs = include.parse(request.query_params.get("include"))
    listing = list_records(tx, res, items, str(request.url.replace(query="")))
    includer = include.Includer(tx, specs, res.plural)
    records = includer.expand(res.name, listing.records) if specs else listing.records
    body: dict[str, Any] = {"meta": ok_meta(started, paging=listing.paging), res.plural: records}
    body.update(includer.roots())
    return json_response(body)


async def item(request: Request, state: SandboxState) -> Response:
    started = time.perf_counter()
    res = _resource(request)
    record_id = request.path_params["id"]
    tx = state.tx()
    check_organization(tx, dict(request.query_params))
    if request.method == "GET":
        writes.require_op(res, "get")
        return _get_one(tx, request, res, record_id, started)
    if request.method == "PUT":
        writes.require_op(res, "update")
        writes.update(tx, res.name, record_id, root_value(await read_json(request), res.name))
    elif request.method == "DELETE":
        writes.require_op(res, "delete")
        writes.delete(tx, res.name, record_id)
        tx.commit()
        return write_response(tx, started, {res.plural: [record_id]})
    else:
        raise _method_not_allowed(request, res)
    tx.commit()
    return write_response(tx, started)


def _get_one(tx: Tx, request: Request, res: Resource, record_id: str, started: float) -> Response:
    record = tx.get(res.name, record_id)
    if record is None:
        raise not_found(res.name, record_id)
    includer = include.Includer(tx, include.parse(request.query_params.get("include")))
    body: dict[str, Any] = {"meta": ok_meta(started), res.name: includer.expand(res.name, [record])[0]}
    body.update(includer.roots())
    return json_response(body)


async def current_organization(request: Request, state: SandboxState) -> Response:
    request.scope["path_params"] = {"plural": "organizations", "id": state.org_id}
    return await item(request, state)


def only(request: Request, *methods: str) -> None:
    if request.method not in methods:
        raise BillyError(
            405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported on `{request.url.path}`."
        )


async def current_user(request: Request, state: SandboxState) -> Response:
    only(request, "GET")
    tx = state.tx()
    user = tx.get("user", tx.org()["ownerUserId"])
    return json_response({"meta": ok_meta(time.perf_counter()), "user": user})


async def user_organizations(request: Request, state: SandboxState) -> Response:
    only(request, "GET")
    org = state.tx().org()
    paging = {"page": 1, "pageCount": 1, "pageSize": 1000, "total": 1}
    return json_response({"meta": ok_meta(time.perf_counter(), paging=paging), "organizations": [org]})


async def files(request: Request, state: SandboxState) -> Response:
    if request.method == "POST":
        return await upload_file(request, state)
    request.scope["path_params"] = {"plural": "files"}
    return await collection(request, state)


async def unknown_route(request: Request, state: SandboxState) -> Response:
    raise BillyError(404, "ROUTE_NOT_FOUND", f"There is no route `{request.method} {request.url.path}`.")


def api_routes(state: SandboxState) -> list[Route]:
    def route(path: str, handler: Handler) -> Route:
        return Route(path, endpoint(state, handler), methods=ALL_METHODS)

    return [
        route("/v2/organization", current_organization),
        route("/v2/user", current_user),
        route("/v2/user/organizations", user_organizations),
        route("/v2/files", files),
        route("/v2/files/{id}/download", file_download),
        route("/v2/invoices/{id}/emails", invoice_email),
        route("/v2/{plural}", collection),
        route("/v2/{plural}/{id}", item),
        route("/v2/{rest:path}", unknown_route),
    ]
