"""Shared test set-up: every test runs with a clean BILLY_* environment (see billy_core.testing)."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.support.services"]


@pytest.fixture(autouse=True)
def _clean_billy_environment(billy_env):
    return billy_env


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
