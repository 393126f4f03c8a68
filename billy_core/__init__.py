"""billy-mcp kernel: plugin host, tool pipeline, Billy client and MCP transports.

Plugins import what they need from here and never import pluggy themselves::

    from billy_core import hookimpl
"""

from billy_core.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
