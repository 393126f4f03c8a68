"""Real Redis and PostgreSQL on loopback: skip with the reason when absent, fail under CI=true."""

from __future__ import annotations

import os
import socket

import pytest

REDIS_ADDRESS = ("127.0.0.1", 6379)
POSTGRES_ADDRESS = ("127.0.0.1", 5432)
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, address: tuple[str, int]) -> None:
    if _reachable(address):
        return
    message = f"{name} is not reachable on {address[0]}:{address[1]}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", REDIS_ADDRESS)
    return f"redis://{REDIS_ADDRESS[0]}:{REDIS_ADDRESS[1]}/0"


@pytest.fixture
def postgres_url() -> str:
    require_service("PostgreSQL", POSTGRES_ADDRESS)
    return POSTGRES_URL
