"""Fixtures for the tests of Airflow's own processes on the local stack.

The ``airflow_ui`` fixture starts the api-server, scheduler, dag-processor and triggerer with
``stack/airflow_ui.py`` once per session and stops, at the end, those it started.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from stack import airflow_ui
from stack.settings import Settings
from tests.ui.airflow_api import AirflowApi


@pytest.fixture(scope="session")
def airflow_ui_settings() -> Iterator[Settings]:
    """Start Airflow's four processes on the stack; stop those this fixture started."""
    if "AIRFLOW_CONN_PINTEREST_S3" not in os.environ:
        pytest.skip("the local stack has not been set up (no .stack/secrets.env): make stack-up")
    settings = Settings.from_env()
    started = airflow_ui.up(settings)
    yield settings
    if started:
        airflow_ui.down(settings)


@pytest.fixture(scope="session")
def api(airflow_ui_settings: Settings) -> AirflowApi:
    """A REST API client logged in as the UI's admin user."""
    return AirflowApi(
        airflow_ui.base_url(airflow_ui_settings), airflow_ui.login(airflow_ui_settings)
    )
