"""The hourly schedule of ``pinterest_emulation`` under the real scheduler: no backfill."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.ui.airflow_api import AirflowApi, parse_time

pytestmark = [pytest.mark.stack, pytest.mark.slow]

HOUR = timedelta(hours=1)
SCHEDULER_TIMEOUT_S = 90.0
# Scheduler loops to wait after it has scheduled the latest hour, in case it would add more runs.
SETTLE_S = 20.0


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _scheduled_latest_hour(api: AirflowApi, latest_hour: datetime) -> bool:
    """Return True once the DAG's next run is after ``latest_hour`` (that hour is scheduled)."""
    next_run = api.dag()["next_dagrun_run_after"]
    return next_run is not None and parse_time(next_run) > latest_hour


def test_the_timetable_is_hourly(api: AirflowApi) -> None:
    details = api.dag_details()
    assert details["timetable_summary"] == "0 * * * *", details["timetable_summary"]
    assert details["catchup"] is False
    next_run = parse_time(api.dag()["next_dagrun_run_after"])
    assert next_run == _hour_floor(next_run)


def test_unpausing_schedules_the_latest_hour_only(api: AirflowApi) -> None:
    start_date = parse_time(api.dag_details()["start_date"])
    api.set_paused(True)
    before = {run["dag_run_id"] for run in api.runs()}
    latest_hour = _hour_floor(datetime.now(UTC))
    assert latest_hour - start_date > 24 * HOUR, "start_date too recent to show a backfill"

    api.set_paused(False)
    deadline = time.monotonic() + SCHEDULER_TIMEOUT_S
    while not _scheduled_latest_hour(api, latest_hour) and time.monotonic() < deadline:
        time.sleep(2)
    assert _scheduled_latest_hour(api, latest_hour), api.dag()
    time.sleep(SETTLE_S)

    scheduled = api.runs(run_type="scheduled")
    new = [run for run in scheduled if run["dag_run_id"] not in before]
    assert len(new) <= 1, [run["dag_run_id"] for run in new]
    for run in new:
        assert parse_time(run["run_after"]) >= latest_hour, run["dag_run_id"]
    run_afters = {parse_time(run["run_after"]) for run in scheduled}
    assert latest_hour in run_afters or _hour_floor(datetime.now(UTC)) in run_afters
    assert start_date not in run_afters, "the scheduler ran the start_date interval: a backfill"
    next_run = parse_time(api.dag()["next_dagrun_run_after"])
    assert next_run - max(run_afters) == HOUR
