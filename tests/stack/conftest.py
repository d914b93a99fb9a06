"""Fixtures for the tests of the running local stack (``make stack-up`` first)."""

from __future__ import annotations

import pytest

from stack.services import SERVICES, Context
from stack.settings import Secrets, Settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the lifecycle tests (they stop and restart the stack) after every other test."""
    items.sort(key=lambda item: item.get_closest_marker("lifecycle") is not None)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The stack's settings, from the environment."""
    return Settings.from_env()


@pytest.fixture(scope="session")
def keys(settings: Settings) -> Secrets:
    """The stack's generated credentials (the stack must have been started once)."""
    if not (settings.home / "secrets.env").exists():
        pytest.fail(f"no {settings.home}/secrets.env: run `make stack-up` first")
    return Secrets.load_or_create(settings.home)


@pytest.fixture(scope="session")
def ctx(settings: Settings, keys: Secrets) -> Context:
    """The context the launcher's own checks take."""
    return Context(settings, keys)


@pytest.fixture(scope="session")
def stack_ports(settings: Settings) -> set[int]:
    """Every port the stack's services open."""
    return {port for svc in SERVICES for port in svc.ports(settings)}
