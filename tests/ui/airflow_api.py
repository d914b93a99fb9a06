"""A small client of Airflow's REST API v2, authenticated as the UI's admin user."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from stack.airflow_ui import Login

DAG_ID = "pinterest_emulation"
FINISHED = frozenset({"success", "failed"})
TIMEOUT_S = 30.0


def parse_time(value: str) -> datetime:
    """Parse a timestamp of the API, such as ``2026-12-03T16:00:00Z``."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class AirflowApi:
    """Calls ``/api/v2`` of one Airflow api-server with a JWT from ``POST /auth/token``.

    :param base_url: the api-server's URL, such as ``http://127.0.0.1:8080``.
    :param login: the SimpleAuthManager user to get the token for.
    :param dag_id: the DAG the run and task helpers act on.
    """

    def __init__(self, base_url: str, login: Login, dag_id: str = DAG_ID) -> None:
        self.base_url = base_url.rstrip("/")
        self.dag_id = dag_id
        self.session = requests.Session()
        answer = self.session.post(
            f"{self.base_url}/auth/token",
            json={"username": login.username, "password": login.password},
            timeout=TIMEOUT_S,
        )
        assert answer.status_code == 201, f"POST /auth/token: {answer.status_code} {answer.text}"
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send ``method`` to ``/api/v2/<path>``; fail the test on a non-2xx answer."""
        answer = self.session.request(
            method, f"{self.base_url}/api/v2/{path}", timeout=TIMEOUT_S, **kwargs
        )
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text[:500]}"
        return answer.json()

    def dag(self) -> dict[str, Any]:
        """Return the DAG as the API lists it (pause state, ``next_dagrun_*`` fields)."""
        return self.call("GET", f"dags/{self.dag_id}")

    def dag_details(self) -> dict[str, Any]:
        """Return the DAG's details (timetable, params, start date)."""
        return self.call("GET", f"dags/{self.dag_id}/details")

    def set_paused(self, paused: bool) -> None:
        """Pause or unpause the DAG."""
        self.call("PATCH", f"dags/{self.dag_id}", json={"is_paused": paused})

    def runs(self, **params: Any) -> list[dict[str, Any]]:
        """Return the DAG's runs, up to 100, newest first, filtered by ``params``."""
        query = {"limit": 100, "order_by": "-run_after", **params}
        return list(self.call("GET", f"dags/{self.dag_id}/dagRuns", params=query)["dag_runs"])

    def run(self, run_id: str) -> dict[str, Any]:
        """Return one run."""
        return self.call("GET", f"dags/{self.dag_id}/dagRuns/{quote(run_id, safe='')}")

    def trigger(self, conf: dict[str, Any], logical_date: datetime) -> dict[str, Any]:
        """Trigger a run with ``conf`` as its params, as the UI's trigger form does."""
        body = {"logical_date": logical_date.isoformat(), "conf": conf}
        return self.call("POST", f"dags/{self.dag_id}/dagRuns", json=body)

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        """Return every task instance of a run."""
        path = f"dags/{self.dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return list(self.call("GET", path, params={"limit": 100})["task_instances"])

    def xcom(self, run_id: str, task_id: str) -> Any:
        """Return the deserialized ``return_value`` XCom of one task of a run."""
        path = (
            f"dags/{self.dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
            "/xcomEntries/return_value"
        )
        return self.call("GET", path, params={"deserialize": "true"})["value"]

    def log_events(self, run_id: str, task_id: str, try_number: int) -> list[str]:
        """Return the ``event`` text of every line of one try's log."""
        path = (
            f"dags/{self.dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
            f"/logs/{try_number}"
        )
        body = self.call(
            "GET", path, params={"full_content": "true"}, headers={"Accept": "application/json"}
        )
        return [_log_line(line) for line in body["content"]]

    def explain(self, watch: RunWatch, lines: int = 20) -> str:
        """Return ``watch.describe()`` and the last ``lines`` log lines of each failed task."""
        parts = [watch.describe()]
        for ti in self.task_instances(watch.run_id):
            if ti["state"] != "failed":
                continue
            events = self.log_events(watch.run_id, ti["task_id"], ti["try_number"])
            parts.append(f"--- {ti['task_id']}, try {ti['try_number']}, last {lines} log lines:")
            parts += events[-lines:]
        return "\n".join(parts)

    def wait_for_run(
        self,
        run_id: str,
        timeout_s: float,
        until: Callable[[RunWatch], bool] | None = None,
        watch: RunWatch | None = None,
    ) -> RunWatch:
        """Poll a run until it finishes, ``until`` says so, or ``timeout_s`` passes.

        :param until: stops the wait early when it returns True for what was seen so far.
        :param watch: what an earlier wait on the same run saw, to keep adding to.
        """
        watch = watch or RunWatch(run_id)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            watch.run = self.run(run_id)
            for ti in self.task_instances(run_id):
                watch.states.setdefault(ti["task_id"], set()).add(str(ti["state"]))
            watch.seconds = time.monotonic() - watch.began
            if watch.state in FINISHED or (until is not None and until(watch)):
                break
            time.sleep(2)
        return watch


def _log_line(line: Any) -> str:
    """Return a log line's ``event``, followed by its error detail when it has one."""
    if not isinstance(line, dict):
        return str(line)
    event = str(line.get("event", ""))
    detail = line.get("error_detail")
    if not detail:
        return event
    if isinstance(detail, list):
        detail = "; ".join(
            f"{d.get('exc_type')}: {d.get('exc_value')}" if isinstance(d, dict) else str(d)
            for d in detail
        )
    return f"{event} [{detail}]"


class RunWatch:
    """What polling one DAG run saw: its last answer and every state of each task.

    :param run_id: the run watched.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.run: dict[str, Any] = {}
        self.states: dict[str, set[str]] = {}
        self.began = time.monotonic()
        self.seconds = 0.0

    @property
    def state(self) -> str:
        """The run's last known state."""
        return str(self.run.get("state"))

    def describe(self) -> str:
        """Return the run's state and the states each task went through, for a failure."""
        tasks = ", ".join(f"{task}: {sorted(seen)}" for task, seen in sorted(self.states.items()))
        return f"run {self.run_id} is {self.state} after {self.seconds:.0f} s; {tasks}"
