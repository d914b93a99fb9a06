"""``airflow dags test`` runs of pinterest_emulation: its overhead, and one run at full size.

Every run happens in an ``AIRFLOW_HOME`` of the benchmarks' own (``$STACK_HOME/bench/airflow``),
so it neither waits on nor disturbs the metadata database of ``make run``, the tests or the UI,
and stages its files under ``staging/bench/dag/`` in the bucket, which the benchmarks delete at
the end. ``airflow dags test`` runs every task, and the triggerer, inside its one process, so
that process's peak RSS bounds every task's.

- :func:`overhead`: the real DAG next to an empty DAG of its shape
  (``bench/dags/bench_empty_pipeline.py``, found through a separate
  ``AIRFLOW__CORE__DAGS_FOLDER``), alternated.
- :func:`full_run`: the real DAG at the largest batch, to the S3 sink's ``bench.<kind>``
  topics (user id ``bench``), with the landing counts that ``verify_landing`` logged.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import BENCH, REPO, S3_CONN_ID, VENV_BIN, median

PIPELINE = "pinterest_emulation"
EMPTY = "bench_empty_pipeline"
RUN_TIMEOUT_S = 900
#: The user id of the full-size runs: topics ``bench.pin``, ``bench.geo``, ``bench.user``.
FULL_RUN_USER_ID = "bench"
#: The summary line ``verify_landing`` logs for each topic.
LANDING_LINE = re.compile(
    r"Topic (?P<topic>\S+): (?P<expected>\d+) events chosen, (?P<acknowledged>\d+) "
    r"acknowledged, (?P<landed>\d+) landed, (?P<missing>\d+) missing, (?P<duplicates>\d+) "
    r"duplicates, (?P<unexpected>\d+) unexpected, (?P<objects>\d+) objects read"
)


class DagRunError(RuntimeError):
    """``airflow dags test`` failed."""


@dataclass(frozen=True)
class AirflowRun:
    """What one ``airflow`` command took.

    :param seconds: Wall time.
    :param peak_rss_mib: Peak resident memory of the process (and of any it waited for).
    """

    seconds: float
    peak_rss_mib: float


def airflow_home(stack_env: dict[str, str]) -> Path:
    """Return the benchmarks' ``AIRFLOW_HOME``."""
    return Path(stack_env["STACK_HOME"]) / "bench" / "airflow"


def dag_env(stack_env: dict[str, str], dag_id: str, bucket: str, log_level: str) -> dict[str, str]:
    """Return the environment for running ``dag_id``: its DAG folder, the bench home, staging."""
    folder = REPO / "dags" if dag_id == PIPELINE else BENCH / "dags"
    return {
        **stack_env,
        "AIRFLOW_HOME": str(airflow_home(stack_env)),
        "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": log_level,
        "PINTEREST_STAGING_URL": f"s3://{S3_CONN_ID}@{bucket}/staging/bench/dag",
    }


def migrate(stack_env: dict[str, str], bucket: str, log: Path) -> float:
    """Create or upgrade the bench home's metadata database; return the seconds it took.

    :raises DagRunError: if ``airflow db migrate`` fails.
    """
    airflow_home(stack_env).mkdir(parents=True, exist_ok=True)
    env = dag_env(stack_env, EMPTY, bucket, "WARNING")
    return _airflow(env, ["db", "migrate"], log).seconds


def run_once(
    env: dict[str, str], dag_id: str, when: datetime, conf: dict[str, Any], log: Path
) -> AirflowRun:
    """Run ``airflow dags test dag_id`` once, in ``env``.

    :raises DagRunError: if the run fails.
    """
    args = ["dags", "test", dag_id, when.isoformat()]
    if conf:
        args += ["-c", json.dumps(conf)]
    return _airflow(env, args, log)


def overhead(
    stack_env: dict[str, str], bucket: str, events: int, repeats: int, logs: Path
) -> dict[str, Any]:
    """Time both DAGs ``repeats`` times, alternating them; return the medians and the ratio.

    :raises DagRunError: if a run fails.
    """
    logs.mkdir(parents=True, exist_ok=True)
    migrate_s = migrate(stack_env, bucket, logs / "airflow-db-migrate.log")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    runs: dict[str, list[AirflowRun]] = {PIPELINE: [], EMPTY: []}
    for n in range(repeats):
        for dag_id, conf in ((EMPTY, {}), (PIPELINE, {"batch_size": events})):
            env = dag_env(stack_env, dag_id, bucket, "WARNING")
            log = logs / f"{dag_id}-{n + 1}.log"
            runs[dag_id].append(run_once(env, dag_id, base + timedelta(minutes=n), conf, log))
    pipeline = median(run.seconds for run in runs[PIPELINE])
    empty = median(run.seconds for run in runs[EMPTY])
    return {
        "events": events,
        "tasks": 12,
        "migrate_s": round(migrate_s, 1),
        "pipeline_s": round(pipeline, 2),
        "empty_s": round(empty, 2),
        "work_s": round(pipeline - empty, 2),
        "overhead_share": round(empty / pipeline, 3),
        "runs": {dag_id: [round(run.seconds, 2) for run in rs] for dag_id, rs in runs.items()},
        "peak_rss_mib": {
            dag_id: round(max(run.peak_rss_mib for run in rs), 1) for dag_id, rs in runs.items()
        },
        "logs": str(logs),
    }


def full_run(
    stack_env: dict[str, str], bucket: str, events: int, repeats: int, logs: Path
) -> dict[str, Any]:
    """Run pinterest_emulation ``repeats`` times at ``events`` events, to the bench topics.

    A run succeeds only if ``verify_landing`` found every acknowledged record in S3.

    :raises DagRunError: if a run fails, or its log lacks a topic's landing counts.
    """
    logs.mkdir(parents=True, exist_ok=True)
    migrate_s = migrate(stack_env, bucket, logs / "airflow-db-migrate.log")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    conf = {"batch_size": events, "user_id": FULL_RUN_USER_ID, "bucket": bucket}
    env = dag_env(stack_env, PIPELINE, bucket, "INFO")
    runs = []
    for n in range(repeats):
        log = logs / f"full-run-{n + 1}.log"
        run = run_once(env, PIPELINE, base + timedelta(minutes=n), conf, log)
        landing = landing_counts(log.read_text(errors="replace"))
        if len(landing) != 3:
            raise DagRunError(f"{log} holds the landing counts of {sorted(landing)}, not 3 topics")
        runs.append(
            {
                "seconds": round(run.seconds, 2),
                "peak_rss_mib": round(run.peak_rss_mib, 1),
                "landing": landing,
            }
        )
        landed = ", ".join(
            f"{topic} {counts['landed']:,} ({counts['duplicates']} duplicates)"
            for topic, counts in landing.items()
        )
        print(
            f"  run {n + 1}: {run.seconds:.1f} s, peak RSS {run.peak_rss_mib:.0f} MiB, "
            f"landed {landed}",
            flush=True,
        )
    return {
        "events": events,
        "records": 3 * events,
        "tasks": 12,
        "migrate_s": round(migrate_s, 1),
        "seconds": round(median(run["seconds"] for run in runs), 2),
        "peak_rss_mib": max(run["peak_rss_mib"] for run in runs),
        "all_landed": all(
            c["missing"] == 0 and c["landed"] >= c["acknowledged"] >= c["expected"]
            for run in runs
            for c in run["landing"].values()
        ),
        "runs": runs,
        "logs": str(logs),
    }


def landing_counts(log_text: str) -> dict[str, dict[str, int]]:
    """Return, by topic, the counts of the last landing summary each topic has in ``log_text``."""
    found: dict[str, dict[str, int]] = {}
    for match in LANDING_LINE.finditer(log_text):
        fields = match.groupdict()
        topic = fields.pop("topic")
        found[topic] = {name: int(value) for name, value in fields.items()}
    return found


def _airflow(env: dict[str, str], args: list[str], log: Path) -> AirflowRun:
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "airflow"), *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        watchdog = threading.Timer(RUN_TIMEOUT_S, proc.kill)
        watchdog.start()
        try:
            # wait4, not Popen.wait: it also gives the process's own peak RSS.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise DagRunError(
            f"airflow {' '.join(args[:3])} failed (exit {proc.returncode}"
            f"{', killed after the time limit' if seconds >= RUN_TIMEOUT_S else ''}); "
            f"log {log}:\n{tail}"
        )
    return AirflowRun(seconds=seconds, peak_rss_mib=usage.ru_maxrss / 1024)
