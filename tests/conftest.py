"""Point every test at the local stack when it has been set up, before Airflow is imported.

Tests that need no service get a throw-away ``AIRFLOW_HOME`` when the stack has never run.
"""

from __future__ import annotations

import os
import tempfile

from stack.settings import SECRETS_FILE, Settings, airflow_env

_settings = Settings.from_env()
if (_settings.home / SECRETS_FILE).exists():
    os.environ.update(airflow_env(_settings))
else:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
