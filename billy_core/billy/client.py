"""The Billy API client: pooled HTTP per organization, every request through the upstream chain.

:class:`BillyPool` owns the HTTP connections and is the innermost link of the upstream
chain. :class:`BillyClient` is what a tool handler uses (``ctx.billy``): bound to one call,
so each request carries that call's organization, credential scope, correlation id and
deadline. JSON numbers from Billy are read as ``Decimal``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from loguru import logger

from billy_core import pii
from billy_core.auth import BillyCredential, CredentialResolver
from billy_core.billy.errors import error_from_response, error_from_transport
from billy_core.context import CallContext, Principal
from billy_core.errors import Forbidden, InvalidArgument, UpstreamUnavailable
from billy_core.frozen import freeze
from billy_core.jsonutil import dumps_exact, loads_exact
from billy_core.metrics import Metrics
from billy_core.reconcile import READ_BACK_SINCE, read_back_for
from billy_core.settings import KernelSettings
from billy_core.upstream import UpstreamNext, UpstreamRequest, UpstreamResponse, UpstreamTransportError

MAX_PAGE_SIZE = 1000
CORRELATION_HEADER = "X-Correlation-Id"
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
MAYBE_SENT = (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def scope_of(token: str) -> str:
    """A stable, non-secret id for a credential (cache keys and breakers use it)."""
    return "tok:" + hashlib.sha256(token.encode()).hexdigest()[:16]


# A path segment Billy never uses: empty, "." or "..", or with a query, fragment, escape or space.
UNSAFE_SEGMENT = re.compile(r"^\.{0,2}$|[?#%\\\s]")


def check_path(path: str) -> None:
    """Refuse a path an id argument could have bent elsewhere ("../contacts", "x?q=", "")."""
    if any(UNSAFE_SEGMENT.search(segment) for segment in path.lstrip("/").split("/")):
        message = "a Billy record id is never empty and never contains '/', '?', '#', '%', '\\' or spaces"
        raise InvalidArgument(
            f"refused to call Billy at {path!r}: {message}",
            details={"errors": [{"field": "(record id)", "rule": "unsafe_path", "message": message}]},
        )


def singular(plural: str) -> str:
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") else plural


class BillyPool:
    """HTTP connection pools (one per Billy organization) and credential lookup."""

    limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)

    def __init__(
        self, settings: KernelSettings, metrics: Metrics, resolvers: Sequence[CredentialResolver] = ()
    ):
        self.settings = settings
        self.metrics = metrics
        self.resolvers = tuple(resolvers)
        self.chain: UpstreamNext = self.send
        self._http: dict[str, httpx.AsyncClient] = {}
        self._tokens: dict[str, str] = {}
        self._organizations: dict[str, str] = {}

    async def credential(self, principal: Principal, organization_id: str | None) -> BillyCredential:
        for resolver in self.resolvers:
            found = await resolver.resolve(principal, organization_id)
            if found is not None:
                self._tokens[found.scope_id] = found.access_token
                return found
        token = self.settings.access_token
        if token is None or not token.get_secret_value():
            raise Forbidden(
                "no Billy access token is configured",
                hint="Set BILLY_ACCESS_TOKEN, or try everything without an account: billy-mcp serve --sandbox",
            )
        secret = token.get_secret_value()
        scope = scope_of(secret)
        self._tokens[scope] = secret
        return BillyCredential(organization_id or self.settings.organization_id, secret, scope)

    def known_organization(self, scope: str) -> str | None:
        return self._organizations.get(scope)

    def remember_organization(self, scope: str, organization_id: str) -> None:
        self._organizations[scope] = organization_id

    def _client(self, scope: str) -> httpx.AsyncClient:
        client = self._http.get(scope)
        if client is None:
            client = httpx.AsyncClient(
                base_url=self.settings.api_url + "/",
                headers={"Accept": "application/json", "User-Agent": "billy-mcp"},
                timeout=self.settings.upstream_timeout_seconds,
                limits=self.limits,
            )
            self._http[scope] = client
        return client

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """The innermost link of the upstream chain: one real HTTP request."""
        timeout = self.settings.upstream_timeout_seconds
        if request.deadline is not None:
            timeout = min(timeout, request.deadline - time.monotonic())
            if timeout <= 0:
                raise UpstreamTransportError(
                    "the call's deadline has passed", kind="deadline", maybe_sent=False
                )
        # The token goes per request: a resolver may rotate it under the same credential scope.
        headers = {
            CORRELATION_HEADER: request.correlation_id,
            "X-Access-Token": self._tokens[request.credential_scope],
        }
        content = None
        if request.body is not None:
            content = dumps_exact(request.body)
            headers["Content-Type"] = "application/json"
        if request.call is not None:
            request.call.upstream_calls += 1
        started = time.monotonic()
        try:
            response = await self._client(request.credential_scope).request(
                request.method,
                request.path.lstrip("/"),
                params=list(request.query),
                content=content,
                headers=headers,
                timeout=timeout,
            )
        except NOT_SENT as exc:
            self._count(request, type(exc).__name__, started)
            raise UpstreamTransportError(
                str(exc) or type(exc).__name__, kind="connect", maybe_sent=False
            ) from exc
        except MAYBE_SENT as exc:
            self._count(request, type(exc).__name__, started)
            kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "dropped"
            raise UpstreamTransportError(str(exc) or type(exc).__name__, kind=kind, maybe_sent=True) from exc
        elapsed = self._count(request, str(response.status_code), started)
        body = _parse_body(response)
        answer = UpstreamResponse(
            status=response.status_code,
            # Answers to reads are read-only, cached or not: a cache may share them.
            body=freeze(body) if request.method == "GET" else body,
            headers=dict(response.headers),
            elapsed=elapsed,
        )
        if self.settings.log_bodies:
            log_exchange(request, answer)
        return answer

    def _count(self, request: UpstreamRequest, status: str, started: float) -> float:
        elapsed = time.monotonic() - started
        self.metrics.upstream_requests.labels(request.method, request.resource, status).inc()
        self.metrics.upstream_duration.labels(request.resource).observe(elapsed)
        return elapsed

    async def aclose(self) -> None:
        for client in self._http.values():
            await client.aclose()
        self._http.clear()


def log_exchange(request: UpstreamRequest, response: UpstreamResponse) -> None:
    """Debug mode: both bodies, with personal data replaced by keyed hashes."""
    logger.debug(
        "billy {} {} -> {} in {:.3f}s [correlation_id={}] request={} response={}",
        request.method,
        request.path,
        response.status,
        response.elapsed,
        request.correlation_id,
        pii.redact_body(request.body) if request.body is not None else "-",
        pii.redact_body(response.body),
    )


def _parse_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return loads_exact(response.content)
    except ValueError:
        return {"errorMessage": response.text[:500]}


Reconcile = Callable[[], Awaitable[UpstreamResponse | None]]


class BillyClient:
    """Billy as one tool call sees it. Errors come back as structured :class:`ToolError`."""

    def __init__(self, pool: BillyPool, call: CallContext) -> None:
        self.pool = pool
        self.call = call
        self._pages_read = 0

    async def page_read(self, plural: str, page: int, page_count: int) -> None:
        """Progress for the caller while a list spans several pages. It counts every page this
        call has read, across lists, since MCP progress must only grow within one request."""
        if page_count > 1:
            self._pages_read += 1
            await self.call.report_progress(self._pages_read, None, f"{plural}: page {page} of {page_count}")

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        idempotency_key: str | None = None,
        bypass_cache: bool = False,
        reconcile: Reconcile | None = None,
        invalidates: Sequence[str] = (),
        live: bool = False,
    ) -> Any:
        """Send one request through the upstream chain and return Billy's parsed body.

        ``live=True``: only Billy's own answer will do; a cached one (served because Billy
        failed) raises :class:`UpstreamUnavailable` instead."""
        check_path(path)
        credential = await self.pool.credential(self.call.principal, self.call.organization_id)
        organization_id = credential.organization_id or await self._discover_organization(credential)
        request = UpstreamRequest(
            method=method,
            path=path,
            organization_id=organization_id,
            credential_scope=credential.scope_id,
            correlation_id=self.call.correlation_id,
            resource=path.strip("/").split("/")[0],
            query=tuple(query),
            body=body,
            idempotency_key=idempotency_key,
            deadline=self.call.deadline,
            bypass_cache=bypass_cache,
            call=self.call,
            reconcile=reconcile,
            invalidates=tuple(invalidates),
        )
        response = await self._send(request)
        if live and response.from_cache:
            raise UpstreamUnavailable("Billy did not answer, and a cached answer will not do here")
        return response.body

    async def _send(self, request: UpstreamRequest) -> UpstreamResponse:
        try:
            response = await self.pool.chain(request)
        except UpstreamTransportError as exc:
            raise error_from_transport(exc) from None
        if not response.ok:
            raise error_from_response(response)
        return response

    async def _discover_organization(self, credential: BillyCredential) -> str:
        known = self.pool.known_organization(credential.scope_id)
        if known:
            return known
        request = UpstreamRequest(
            method="GET",
            path="/organization",
            organization_id="",
            credential_scope=credential.scope_id,
            correlation_id=self.call.correlation_id,
            resource="organization",
            deadline=self.call.deadline,
            call=self.call,
        )
        body = (await self._send(request)).body
        try:
            organization_id = str(body["organization"]["id"])
        except (KeyError, TypeError):
            raise UpstreamUnavailable("Billy's /organization answer has no organization id") from None
        self.pool.remember_organization(credential.scope_id, organization_id)
        return organization_id

    async def organization_id(self) -> str:
        credential = await self.pool.credential(self.call.principal, self.call.organization_id)
        return credential.organization_id or await self._discover_organization(credential)

    # ------------------------------------------------------------------ resource helpers

    async def get_record(self, plural: str, record_id: str, *, include: str | None = None) -> dict[str, Any]:
        query = (("include", include),) if include else ()
        body = await self.request("GET", f"/{plural}/{record_id}", query=query)
        record: dict[str, Any] = body[singular(plural)]
        return record

    async def list_page(
        self,
        plural: str,
        query: Sequence[tuple[str, str]] = (),
        *,
        page: int = 1,
        page_size: int = MAX_PAGE_SIZE,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        params = (*query, ("page", str(page)), ("pageSize", str(page_size)))
        body = await self.request("GET", f"/{plural}", query=params)
        return list(body.get(plural, [])), dict(body.get("meta", {}).get("paging", {}))

    async def list_all(self, plural: str, query: Sequence[tuple[str, str]] = ()) -> list[dict[str, Any]]:
        """Every record, following Billy's pages (v1 missed records by never paging)."""
        size = self.pool.settings.page_size
        records, paging = await self.list_page(plural, query, page_size=size)
        page_count = int(paging.get("pageCount") or 1)
        await self.page_read(plural, 1, page_count)
        for page in range(2, page_count + 1):
            more, _ = await self.list_page(plural, query, page=page, page_size=size)
            records.extend(more)
            await self.page_read(plural, page, page_count)
        return records

    async def create(
        self,
        plural: str,
        record: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        reconcile: Reconcile | None = None,
        invalidates: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Create one record. With an idempotency key (the caller's, else the call's from write
        safety) and no ``reconcile`` of its own, the create gets the read-back of
        :mod:`billy_core.reconcile`, so an ambiguous failure is resolved by reading, not resending."""
        key = idempotency_key or self.call.idempotency_key
        earlier_attempt = self.call.extras.pop(READ_BACK_SINCE, None)
        if reconcile is None and key is not None:
            read_back = read_back_for(plural, record, self._read_back)
            if read_back is not None and earlier_attempt is not None:
                read_back.widen(earlier_attempt)
            reconcile = read_back
        if earlier_attempt is not None and reconcile is not None:
            # An earlier call with this key may have made the record before it failed.
            found = await reconcile()
            if found is not None:
                found_body: dict[str, Any] = found.body
                return found_body
        body: dict[str, Any] = await self.request(
            "POST",
            f"/{plural}",
            body={singular(plural): record},
            idempotency_key=key,
            reconcile=reconcile,
            invalidates=invalidates,
        )
        return body

    async def _read_back(self, path: str, query: Sequence[tuple[str, str]]) -> Any:
        """A read for a create's read-back: Billy's own state, never a cached answer."""
        return await self.request("GET", path, query=query, bypass_cache=True, live=True)

    async def update(
        self, plural: str, record_id: str, changes: dict[str, Any], *, invalidates: Sequence[str] = ()
    ) -> dict[str, Any]:
        body: dict[str, Any] = await self.request(
            "PUT", f"/{plural}/{record_id}", body={singular(plural): changes}, invalidates=invalidates
        )
        return body
