"""Run pinterest_emulation once with ``airflow dags test`` on the local stack and report.

Used by ``make run``. Prints, per topic: events chosen, records acknowledged, records landed,
duplicates, objects read and seconds spent sending. Exits non-zero if the run failed.

Options come from the environment: ``PINTEREST_BATCH_SIZE`` (default: the DAG's default) and
``PINTEREST_LOGICAL_DATE`` (default: the start of the current hour, UTC).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stack.settings import airflow_env  # noqa: E402

DAG_ID = "pinterest_emulation"
KINDS = ("pin", "geo", "user")


def airflow(env: dict[str, str], *args: str) -> int:
    """Run the venv's ``airflow`` command with ``args``; return its exit code."""
    return subprocess.run([str(REPO / ".venv/bin/airflow"), *args], env=env, check=False).returncode


def run_dag(env: dict[str, str], logical_date: str, conf: dict[str, Any]) -> tuple[int, float]:
    """Run the DAG once with ``airflow dags test``; return its exit code and wall seconds."""
    args = ["dags", "test", DAG_ID, logical_date]
    if conf:
        args += ["-c", json.dumps(conf)]
    started = time.monotonic()
    code = airflow(env, *args)
    return code, time.monotonic() - started


def latest_run_xcoms(env: dict[str, str]) -> dict[str, Any]:
    """Return the return values of the tasks of the DAG's latest run, by task id."""
    code = (
        "import json, sys\n"
        "from airflow.models.dagrun import DagRun\n"
        "from airflow.models.xcom import XComModel\n"
        "from airflow.utils.session import create_session\n"
        "from sqlalchemy import select\n"
        "with create_session() as s:\n"
        f"    run = s.scalar(select(DagRun).where(DagRun.dag_id == {DAG_ID!r})"
        ".order_by(DagRun.id.desc()).limit(1))\n"
        "    rows = s.execute(select(XComModel.task_id, XComModel.value).where("
        "XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id,"
        " XComModel.key == 'return_value')).all()\n"
        "    print(json.dumps({t: v for t, v in rows}, default=str))\n"
    )
    out = subprocess.run(
        [str(REPO / ".venv/bin/python"), "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = json.loads(out.strip().splitlines()[-1])
    return {task: json.loads(v) if isinstance(v, str) else v for task, v in values.items()}


def _report(xcoms: dict[str, Any], seconds: float) -> str:
    landing = (xcoms.get("verify_landing") or {}).get("topics", {})
    chosen = (xcoms.get("choose_batch") or {}).get("events", "-")
    header = ("topic", "chosen", "acknowledged", "landed", "duplicates", "objects", "post s")
    rows = [header]
    for kind in KINDS:
        post = xcoms.get(f"post_{kind}") or {}
        land = landing.get(kind, {})
        rows.append(
            (
                str(post.get("topic", kind)),
                str(chosen),
                str(post.get("records_acknowledged", "-")),
                str(land.get("landed", "-")),
                str(land.get("duplicates", "-")),
                str(land.get("objects", "-")),
                str(post.get("seconds", "-")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(f"run: {seconds:.0f} s wall time for airflow dags test")
    return "\n".join(lines)


def main() -> int:
    """Migrate the metadata database, run the DAG once and print the per-topic report."""
    env = {**os.environ, **airflow_env()}
    if airflow(env, "db", "migrate") != 0:
        print("airflow db migrate failed", file=sys.stderr)
        return 1
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    logical_date = os.environ.get("PINTEREST_LOGICAL_DATE", hour.isoformat())
    conf = {}
    if batch_size := os.environ.get("PINTEREST_BATCH_SIZE"):
        conf["batch_size"] = int(batch_size)
    code, seconds = run_dag(env, logical_date, conf)
    print()
    print(_report(latest_run_xcoms(env), seconds))
    if code != 0:
        print(f"airflow dags test {DAG_ID} failed (exit {code}); see the task logs above")
    return code


if __name__ == "__main__":
    sys.exit(main())
