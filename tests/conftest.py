"""Point every test at the local stack when it has been set up, before Airflow is imported.

Tests that need no service get a throw-away ``AIRFLOW_HOME`` when the stack has never run.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import pytest

from stack.settings import SECRETS_FILE, Settings, airflow_env

_settings = Settings.from_env()
if (_settings.home / SECRETS_FILE).exists():
    os.environ.update(airflow_env(_settings))
else:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture(scope="session")
def s3() -> Any:
    """A boto3 S3 client with the stack's ``pinterest_s3`` credentials; skips without a stack."""
    if "AIRFLOW_CONN_PINTEREST_S3" not in os.environ:
        pytest.skip("the local stack has not been set up: run make stack-up")
    import boto3

    conn = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_S3"])
    return boto3.client(
        "s3",
        endpoint_url=conn["extra"]["endpoint_url"],
        aws_access_key_id=conn["login"],
        aws_secret_access_key=conn["password"],
        region_name=conn["extra"].get("region_name", "us-east-1"),
    )
