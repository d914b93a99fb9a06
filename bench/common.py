"""What every benchmark shares: paths, the stack's environment, options, timing and tables."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = VENV_BIN / "python"

for _path in (str(REPO / "plugins"), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from stack.settings import SINK_NAME, Settings, airflow_env  # noqa: E402

#: Connection ids of the DAG; the stack exports them as ``AIRFLOW_CONN_*`` variables.
MYSQL_CONN_ID = "pinterest_mysql"
REST_CONN_ID = "kafka_rest_proxy"
S3_CONN_ID = "pinterest_s3"

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """What to run and how often, read from ``BENCH_*`` environment variables.

    :param repeats: Runs of each measurement; figures are the medians (``BENCH_REPEATS``).
    :param records: Pin records sent by the native and the REST benchmarks (``BENCH_RECORDS``).
    :param per_record: Records sent one POST at a time, the original way
        (``BENCH_PER_RECORD``); its rate is the rate of the whole ``records``.
    :param scales: Event counts of the scale benchmark (``BENCH_SCALES``).
    :param landing_records: Records per landing-latency trial (``BENCH_LANDING_RECORDS``).
    :param dag_events: ``batch_size`` of the DAG-overhead runs (``BENCH_DAG_EVENTS``).
    :param full_events: ``batch_size`` of the full-size DAG runs (``BENCH_FULL_EVENTS``), at
        most the DAG's limit.
    :param only: Benchmarks to run, of :data:`BENCHMARKS` (``BENCH_ONLY``, default all).
    :param staging: ``s3`` (as the DAG, in the bucket) or ``file`` (a local folder) for the
        files the scale benchmark's tasks pass on (``BENCH_STAGING``).
    :param profile: Profile the REST path with pyinstrument (``BENCH_PROFILE``); it is
        profiled anyway when the ratio to the native producer misses its target.
    :param step_timeout: Seconds a scale task may take (``BENCH_STEP_TIMEOUT``); a batch size
        whose task overruns is not repeated, and larger ones are not run.
    """

    repeats: int
    records: int
    per_record: int
    scales: tuple[int, ...]
    landing_records: int
    dag_events: int
    full_events: int
    only: frozenset[str]
    staging: str
    profile: bool
    step_timeout: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Options:
        """Read the options from ``env`` (default: the process environment).

        :raises ValueError: naming the variable whose value is unusable.
        """
        from include.pinterest.params import MAX_BATCH_SIZE

        env = os.environ if env is None else env
        only = frozenset(_words(env.get("BENCH_ONLY", "")) or BENCHMARKS)
        unknown = only - set(BENCHMARKS)
        if unknown:
            raise ValueError(
                f"BENCH_ONLY names unknown benchmarks {sorted(unknown)}; known: {BENCHMARKS}"
            )
        staging = env.get("BENCH_STAGING", "s3").strip() or "s3"
        if staging not in ("s3", "file"):
            raise ValueError(f"BENCH_STAGING must be s3 or file, got {staging!r}")
        scales = tuple(
            _whole(name="BENCH_SCALES", text=word)
            for word in _words(env.get("BENCH_SCALES", "1000,10000,100000"))
        )
        return cls(
            repeats=_number(env, "BENCH_REPEATS", 3),
            records=_number(env, "BENCH_RECORDS", 10_000),
            per_record=_number(env, "BENCH_PER_RECORD", 1_000),
            scales=scales,
            landing_records=_number(env, "BENCH_LANDING_RECORDS", 500),
            dag_events=_number(env, "BENCH_DAG_EVENTS", 500, MAX_BATCH_SIZE),
            full_events=_number(env, "BENCH_FULL_EVENTS", MAX_BATCH_SIZE, MAX_BATCH_SIZE),
            only=only,
            staging=staging,
            profile=env.get("BENCH_PROFILE", "0") not in ("", "0", "false", "no"),
            step_timeout=_number(env, "BENCH_STEP_TIMEOUT", 240),
        )


#: Every benchmark, in the order they run.
BENCHMARKS = ("throughput", "sweep", "scale", "landing", "dag", "full_run")


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.replace(",", " ").split() if word.strip()]


#: The database the benchmarks read and fill (the stack's user may create ``pinterest_*``).
BENCH_DATABASE = "pinterest_bench"


def _number(env: Mapping[str, str], name: str, default: int, limit: int | None = None) -> int:
    text = env.get(name, "").strip()
    value = _whole(name, text) if text else default
    if limit is not None and value > limit:
        raise ValueError(f"{name} must be at most {limit:,} (the DAG's largest batch), got {value}")
    return value


def _whole(name: str, text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a positive whole number, got {text!r}")
    return int(text)


def stack_env() -> dict[str, str]:
    """Return the process environment with the stack's Airflow variables and connections.

    The MySQL connection points at :data:`BENCH_DATABASE`, the benchmarks' own copy of the
    tables, so the events they add never touch the stack's ``pinterest_data``.
    """
    env = {**os.environ, **airflow_env()}
    mysql = json.loads(env["AIRFLOW_CONN_PINTEREST_MYSQL"])
    env["AIRFLOW_CONN_PINTEREST_MYSQL"] = json.dumps({**mysql, "schema": BENCH_DATABASE})
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "plugins")])
    return env


def load_stack_env() -> Settings:
    """Point this process at the local stack (connections included) and return its settings."""
    os.environ.update(stack_env())
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    return Settings.from_env()


def quiet_logs() -> None:
    """Keep operator and hook logs to errors, so the benchmarks' own output stays readable.

    Airflow sets up its logging when first imported, so it is imported here first.
    """
    import airflow.sdk  # noqa: F401
    import structlog

    logging.getLogger().setLevel(logging.ERROR)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def sink_running(settings: Settings) -> bool:
    """Return whether Kafka Connect's S3 sink and its task are RUNNING."""
    from stack.health import connector_running

    return connector_running(f"http://127.0.0.1:{settings.port('CONNECT_PORT')}", SINK_NAME)


def median(values: Iterable[float]) -> float:
    """Return the median of ``values``."""
    return float(statistics.median(list(values)))


def repeat(times: int, run: Callable[[], T]) -> list[T]:
    """Call ``run`` ``times`` times and return what each call returned."""
    return [run() for _ in range(times)]


def machine() -> dict[str, Any]:
    """Describe the machine and the versions measured."""
    import confluent_kafka
    import psutil
    from airflow import __version__ as airflow_version

    from stack.settings import KAFKA_VERSION

    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "airflow": airflow_version,
        "kafka_broker": KAFKA_VERSION,
        "confluent_kafka": importlib.metadata.version("confluent-kafka"),
        "librdkafka": confluent_kafka.libversion()[0],
        "git_commit": commit,
        "git_dirty": bool(dirty),
    }


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Return ``rows`` as a plain-text table, numbers right-aligned."""
    values = [list(row) for row in rows]
    cells = [list(headers)] + [[_cell(value) for value in row] for row in values]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        all(isinstance(row[i], int | float) for row in values) and bool(values)
        for i in range(len(headers))
    ]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if numeric[i] else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if value >= 1 else f"{value:.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as indented JSON, through a temporary file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)
