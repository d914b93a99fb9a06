"""Scale: the DAG's extract-and-post path for growing batches, each task in its own process.

For a batch of N events, the tasks run one after the other, as ``airflow dags test`` runs
them: ``choose_batch``, then ``extract_<kind>`` and ``post_<kind>`` for pin, geo and user
(3 N records). Each is a fresh Python process (:mod:`bench.task_step`), so its peak RSS is
that task's alone. The records go to the ``bench-<kind>`` topics, which the S3 sink ignores.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

from bench.common import MYSQL_CONN_ID, PYTHON, REPO, REST_CONN_ID, S3_CONN_ID, median
from bench.topics import UNSUNK

KINDS = ("pin", "geo", "user")


class StepError(RuntimeError):
    """A task process of the scale benchmark failed."""


class StepTimeoutError(StepError):
    """A task process of the scale benchmark overran its time limit and was stopped.

    :param done: The figures of the run's tasks that finished before it.
    """

    def __init__(self, message: str, done: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.done = done or {}


def step(env: dict[str, str], name: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one task in its own process; return its figures and the process's wall time.

    :raises StepTimeoutError: if the process ran longer than ``timeout`` seconds.
    :raises StepError: with the end of the process's output if it failed.
    """
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [str(PYTHON), str(REPO / "bench" / "task_step.py"), name, json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise StepTimeoutError(
            f"task {name} ({args.get('kind', '')}) did not finish within {timeout:.0f} s"
        ) from None
    wall = time.perf_counter() - started
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise StepError(f"task step {name} {args} failed (exit {proc.returncode}):\n{tail}")
    figures: dict[str, Any] = json.loads(lines[-1])
    figures["process_seconds"] = wall
    return figures


def one_run(env: dict[str, str], events: int, staging_base: str, timeout: float) -> dict[str, Any]:
    """Run the path once for ``events`` events; return seconds and peak RSS per task."""
    run_key = f"bench-{events}-{uuid.uuid4().hex[:8]}"
    staging = f"{staging_base.rstrip('/')}/{run_key}"
    tasks: dict[str, dict[str, Any]] = {}
    try:
        tasks["choose_batch"] = step(
            env,
            "choose",
            {
                "events": events,
                "mysql_conn_id": MYSQL_CONN_ID,
                "staging": staging,
                "run_key": run_key,
            },
            timeout,
        )
        batch = tasks["choose_batch"]["result"]
        if batch["events"] != events:
            raise StepError(f"choose_batch chose {batch['events']} events, not {events}")
        for kind in KINDS:
            tasks[f"extract_{kind}"] = step(
                env,
                "extract",
                {
                    "kind": kind,
                    "mysql_conn_id": MYSQL_CONN_ID,
                    "batch_uri": batch["uri"],
                    "staging": staging,
                },
                timeout,
            )
        for kind in KINDS:
            tasks[f"post_{kind}"] = step(
                env,
                "post",
                {
                    "kind": kind,
                    "rest_conn_id": REST_CONN_ID,
                    "topic": UNSUNK[kind],
                    "records_uri": tasks[f"extract_{kind}"]["result"]["uri"],
                },
                timeout,
            )
            acknowledged = tasks[f"post_{kind}"]["result"]["records_acknowledged"]
            if acknowledged != events:
                raise StepError(f"post_{kind} acknowledged {acknowledged} of {events} records")
    except StepTimeoutError as e:
        raise StepTimeoutError(str(e), tasks) from None
    extract_s = sum(tasks[f"extract_{kind}"]["seconds"] for kind in KINDS)
    post_s = sum(tasks[f"post_{kind}"]["seconds"] for kind in KINDS)
    return {
        "events": events,
        "records": 3 * events,
        "staging": staging,
        "choose_s": tasks["choose_batch"]["seconds"],
        "extract_s": extract_s,
        "post_s": post_s,
        "work_s": tasks["choose_batch"]["seconds"] + extract_s + post_s,
        "import_s": sum(task["import_seconds"] for task in tasks.values()),
        "process_s": sum(task["process_seconds"] for task in tasks.values()),
        "peak_rss_mib": {name: round(task["peak_rss_mib"], 1) for name, task in tasks.items()},
        "bytes": sum(tasks[f"post_{kind}"]["result"]["bytes"] for kind in KINDS),
    }


def summarise(events: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the medians of ``runs`` of one batch size, and the highest peak RSS per task."""
    work = median(run["work_s"] for run in runs)
    extract_post = median(run["extract_s"] + run["post_s"] for run in runs)
    peaks = {
        name: max(run["peak_rss_mib"][name] for run in runs) for name in runs[0]["peak_rss_mib"]
    }
    return {
        "events": events,
        "records": 3 * events,
        "runs": len(runs),
        "choose_s": round(median(run["choose_s"] for run in runs), 3),
        "extract_s": round(median(run["extract_s"] for run in runs), 3),
        "post_s": round(median(run["post_s"] for run in runs), 3),
        "work_s": round(work, 3),
        "import_s": round(median(run["import_s"] for run in runs), 3),
        "process_s": round(median(run["process_s"] for run in runs), 3),
        "records_per_s": round(3 * events / extract_post, 1),
        "post_records_per_s": round(3 * events / median(run["post_s"] for run in runs), 1),
        "us_per_event": round(work / events * 1e6, 1),
        "peak_rss_mib": peaks,
        "max_peak_rss_mib": max(peaks.values()),
        "all_runs": runs,
    }


def staging_base(kind: str, bucket: str, tmp: str) -> str:
    """Return where the scale runs stage their files: the bucket, as the DAG, or ``tmp``."""
    if kind == "s3":
        return f"s3://{S3_CONN_ID}@{bucket}/staging/bench"
    return f"file://{tmp}"
