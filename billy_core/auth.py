"""Contracts for the auth capability: authenticators, authorization policies, credentials.

The kernel only defines the shapes; the ``auth`` plugin (API keys, OAuth bearer, TOTP
step-up, the encrypted credential vault) implements them. Without it, stdio callers are
the local user and HTTP callers are anonymous with the deployment's scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from billy_core.context import Principal
from billy_core.pipeline import ToolCall


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """What an authenticator may look at: the transport and, over HTTP, headers and peer."""

    transport: str
    headers: Mapping[str, str] = field(default_factory=dict)
    client_host: str | None = None


class Authenticator(Protocol):
    """Turn a request into a principal; ``None`` means "not mine, ask the next one".

    Raise :class:`billy_core.errors.Forbidden` for credentials that are present but wrong.
    """

    name: str

    async def authenticate(self, request: AuthRequest) -> Principal | None: ...


@dataclass(frozen=True, slots=True)
class AuthenticationResult:
    """The principal and the name of the authenticator that vouched for it."""

    principal: Principal
    method: str


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


class AuthorizationPolicy(Protocol):
    """Decide whether a principal may run a tool with these arguments.

    Return ``None`` to abstain; the first explicit denial wins.
    """

    async def authorize(self, call: ToolCall) -> Decision | None: ...


@dataclass(frozen=True, slots=True)
class BillyCredential:
    """A Billy access token for one organization, and a stable non-secret scope id."""

    organization_id: str | None
    access_token: str
    scope_id: str


class CredentialResolver(Protocol):
    """Find the Billy credential a principal uses for an organization (e.g. from the vault)."""

    async def resolve(self, principal: Principal, organization_id: str | None) -> BillyCredential | None: ...


class StepUpVerifier(Protocol):
    """A second factor checked at the confirm step of a destructive tool (TOTP, SMS code).

    Raise :class:`billy_core.errors.ConfirmationRequired` with a hint when it is missing.
    """

    async def verify(self, call: ToolCall, arguments: Mapping[str, Any]) -> None: ...
