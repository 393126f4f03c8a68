"""Project-level guarantees: the README's commands, lint, types, the one-way import graph."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(python3 -m venv .venv && [^\n]+)\n```", text)


def test_readme_has_the_two_setup_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("billy-mcp serve --sandbox --transport http")
    assert commands[1].endswith("python -m pytest")


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()


def test_ruff_is_clean():
    lint = subprocess.run([BIN / "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatting = subprocess.run(
        [BIN / "ruff", "format", "--check", str(ROOT)], capture_output=True, text=True
    )
    assert formatting.returncode == 0, formatting.stdout + formatting.stderr


def test_kernel_is_mypy_strict_clean():
    typed = subprocess.run(
        [BIN / "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "billy_core")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr


def imported_top_level_packages(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_the_sandbox_imports_nothing_of_the_kernel_or_plugins():
    imported = imported_top_level_packages(ROOT / "sandbox" / "billy_sandbox")
    assert not {name for name in imported if name.startswith("billy_") and name != "billy_sandbox"}


def test_the_kernel_imports_no_plugin():
    imported = imported_top_level_packages(ROOT / "billy_core")
    plugins = {path.name for path in (ROOT / "plugins").iterdir() if path.is_dir()}
    assert not imported & plugins


def test_plugins_import_only_the_kernel_and_themselves():
    for package in (ROOT / "plugins").iterdir():
        if not package.is_dir() or package.name.startswith((".", "_")):
            continue
        imported = imported_top_level_packages(package)
        foreign = {
            name
            for name in imported
            if name.startswith("billy_") and name not in ("billy_core", package.name)
        }
        assert not foreign, f"{package.name} imports {foreign}"
