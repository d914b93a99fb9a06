"""DAG overhead: ``airflow dags test`` of pinterest_emulation next to an empty DAG of its shape.

Both run in an ``AIRFLOW_HOME`` of the benchmarks' own (``$STACK_HOME/bench/airflow``), so
they neither wait on nor disturb the metadata database of ``make run``, the tests or the UI.
The empty DAG (``bench/dags/bench_empty_pipeline.py``) is found through a separate
``AIRFLOW__CORE__DAGS_FOLDER``. Each run gets its own logical date.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import BENCH, REPO, VENV_BIN, median

PIPELINE = "pinterest_emulation"
EMPTY = "bench_empty_pipeline"
RUN_TIMEOUT_S = 900


class DagRunError(RuntimeError):
    """``airflow dags test`` failed."""


def airflow_home(stack_env: dict[str, str]) -> Path:
    """Return the benchmarks' ``AIRFLOW_HOME``."""
    return Path(stack_env["STACK_HOME"]) / "bench" / "airflow"


def dag_env(stack_env: dict[str, str], dag_id: str) -> dict[str, str]:
    """Return the environment for running ``dag_id``: its DAG folder and the bench home."""
    folder = REPO / "dags" if dag_id == PIPELINE else BENCH / "dags"
    return {
        **stack_env,
        "AIRFLOW_HOME": str(airflow_home(stack_env)),
        "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }


def migrate(stack_env: dict[str, str], log: Path) -> float:
    """Create or upgrade the bench home's metadata database; return the seconds it took.

    :raises DagRunError: if ``airflow db migrate`` fails.
    """
    home = airflow_home(stack_env)
    home.mkdir(parents=True, exist_ok=True)
    return _airflow(dag_env(stack_env, EMPTY), ["db", "migrate"], log)


def run_once(
    stack_env: dict[str, str], dag_id: str, when: datetime, conf: dict[str, Any], log: Path
) -> float:
    """Run ``airflow dags test dag_id`` once; return its wall seconds.

    :raises DagRunError: if the run fails.
    """
    args = ["dags", "test", dag_id, when.isoformat()]
    if conf:
        args += ["-c", json.dumps(conf)]
    return _airflow(dag_env(stack_env, dag_id), args, log)


def run(stack_env: dict[str, str], events: int, repeats: int, logs: Path) -> dict[str, Any]:
    """Time both DAGs ``repeats`` times, alternating them; return the medians and the ratio."""
    logs.mkdir(parents=True, exist_ok=True)
    migrate_s = migrate(stack_env, logs / "airflow-db-migrate.log")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    times: dict[str, list[float]] = {PIPELINE: [], EMPTY: []}
    for n in range(repeats):
        for dag_id, conf in ((EMPTY, {}), (PIPELINE, {"batch_size": events})):
            when = base + timedelta(minutes=n)
            log = logs / f"{dag_id}-{n + 1}.log"
            times[dag_id].append(run_once(stack_env, dag_id, when, conf, log))
    pipeline, empty = median(times[PIPELINE]), median(times[EMPTY])
    return {
        "events": events,
        "tasks": 12,
        "migrate_s": round(migrate_s, 1),
        "pipeline_s": round(pipeline, 2),
        "empty_s": round(empty, 2),
        "work_s": round(pipeline - empty, 2),
        "overhead_share": round(empty / pipeline, 3),
        "runs": {dag_id: [round(t, 2) for t in ts] for dag_id, ts in times.items()},
        "logs": str(logs),
    }


def _airflow(env: dict[str, str], args: list[str], log: Path) -> float:
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(
            [str(VENV_BIN / "airflow"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=RUN_TIMEOUT_S,
        )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise DagRunError(
            f"airflow {' '.join(args[:3])} failed (exit {proc.returncode}); log {log}:\n{tail}"
        )
    return seconds
