"""Install a throw-away plugin distribution (module + dist-info with entry points) on sys.path.

importlib.metadata discovers it exactly as it discovers a pip-installed plugin, so tests of
loading, disabling and broken plugins exercise the real entry-point path.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest


def install_plugin(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    name: str,
    module: str,
    source: str,
    distribution: str | None = None,
) -> None:
    """Write ``module`` and a dist-info registering it as plugin ``name``; put both on sys.path."""
    distribution = distribution or f"billy-mcp-test-{name}"
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{distribution.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[billy_mcp.plugins]\n{name} = {module}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, module, raising=False)
    importlib.invalidate_caches()
