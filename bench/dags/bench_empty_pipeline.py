"""
### bench_empty_pipeline

The shape of `pinterest_emulation` with nothing inside: the same 12 tasks and dependencies,
each a no-op Python task. `make bench` times `airflow dags test` of it next to the real DAG,
so that the difference is the real DAG's work and this DAG's time is Airflow's own overhead.
It lives under `bench/dags/`, outside the project's DAG folder, and is parsed only when
`AIRFLOW__CORE__DAGS_FOLDER` points here.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

KINDS = ("pin", "geo", "user")


@dag(
    dag_id="bench_empty_pipeline",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["bench"],
)
def bench_empty_pipeline() -> None:
    """Run 12 no-op tasks wired as pinterest_emulation's."""

    @task
    def noop() -> None:
        """Do nothing."""

    checked = noop.override(task_id="check_rest_proxy")()
    batch = noop.override(task_id="choose_batch")()
    checked >> batch
    waits = []
    for kind in KINDS:
        extracted = noop.override(task_id=f"extract_{kind}")()
        post = noop.override(task_id=f"post_{kind}")()
        wait = noop.override(task_id=f"wait_{kind}")()
        batch >> extracted >> post >> wait
        waits.append(wait)
    verify = noop.override(task_id="verify_landing")()
    waits >> verify
    batch >> verify


bench_empty_pipeline()
