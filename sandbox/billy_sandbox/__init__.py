"""A stand-alone emulator of Billy's Billing API v2 with a deterministic Danish demo company.

It imports nothing from billy_core or the plugins, so the client and the emulator can never
agree by sharing code.
"""

from billy_sandbox.config import DEFAULT_TODAY, SandboxConfig

__all__ = ["DEFAULT_TODAY", "SandboxConfig"]
