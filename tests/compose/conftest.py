from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.compose.interpolation import interpolate_tree, read_env_file

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA_FILE = Path(__file__).resolve().parent / "compose-spec.json"
CONNECT_DIR = ROOT / "docker" / "connect"


@pytest.fixture(scope="session")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="session")
def compose_raw(compose_text: str) -> dict[str, Any]:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="session")
def compose(compose_raw: dict[str, Any]) -> dict[str, Any]:
    """The compose file as `docker compose` reads it with no .env file: defaults only."""
    return interpolate_tree(compose_raw, {})


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="session")
def compose_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


@pytest.fixture(scope="session")
def register_connector() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "register_connector", CONNECT_DIR / "register_connector.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
