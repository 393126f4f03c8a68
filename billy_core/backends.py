"""Named backends chosen by configuration from stevedore entry-point namespaces.

A plugin that needs "one implementation of X" (a cache tier, an audit store, an SMS
sender, a key provider) loads it by name here; third parties add backends through their
own entry points in the same namespace.
"""

from __future__ import annotations

from typing import Any

from stevedore import DriverManager
from stevedore.exception import NoMatches

from billy_core.errors import StartupError

CACHE_BACKENDS = "billy_mcp.cache_backends"
AUDIT_STORES = "billy_mcp.audit_stores"
SMS_SENDERS = "billy_mcp.sms_senders"
KEY_PROVIDERS = "billy_mcp.key_providers"


def load_backend(namespace: str, name: str, **options: Any) -> Any:
    """Instantiate backend ``name`` of ``namespace`` with ``options``; unknown names fail start-up."""
    try:
        manager = DriverManager(
            namespace=namespace,
            name=name,
            invoke_on_load=True,
            invoke_kwds=options,
            on_load_failure_callback=_raise_load_failure,
        )
    except NoMatches:
        known = ", ".join(available_backends(namespace)) or "none installed"
        raise StartupError(f"no backend named {name!r} in {namespace} (available: {known})") from None
    return manager.driver


def available_backends(namespace: str) -> list[str]:
    from importlib.metadata import entry_points

    return sorted({ep.name for ep in entry_points(group=namespace)})


def _raise_load_failure(manager: Any, entrypoint: Any, exc: BaseException) -> None:
    raise StartupError(f"backend {entrypoint.name!r} of {manager.namespace} failed to load: {exc}") from exc
