"""One task of the DAG's extract-and-post path, in a process of its own, for the scale benchmark.

Run as ``python bench/task_step.py STEP JSON`` with the stack's environment. ``STEP`` is
``choose``, ``extract`` or ``post``; ``JSON`` holds its arguments. The step calls the same code
as the DAG's task (:mod:`include.pinterest.tasks`, :class:`KafkaRestOperator` with its default
settings) and prints, on its last line, a JSON object: the task's return value, the seconds
the imports of Airflow and the task's code took, the seconds the task's own work took after
them, and the process's peak resident memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for _path in (str(REPO / "plugins"), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def run(step: str, args: dict[str, Any]) -> dict[str, Any]:
    """Do ``step`` with ``args`` and return the task's return value."""
    from include.pinterest import tasks
    from include.pinterest.params import RunSettings
    from include.pinterest.tables import table_for_kind
    from kafka_rest import KafkaRestOperator

    if step == "choose":
        settings = RunSettings(user_id="bench", batch_size=int(args["events"]), bucket="-")
        return tasks.choose_batch(settings, args["mysql_conn_id"], args["staging"], args["run_key"])
    if step == "extract":
        return tasks.extract_table(
            args["kind"], args["mysql_conn_id"], args["batch_uri"], args["staging"]
        )
    if step == "post":
        operator = KafkaRestOperator(
            task_id=f"post_{args['kind']}",
            kafka_rest_conn_id=args["rest_conn_id"],
            topic=args["topic"],
            records=args["records_uri"],
            key_field=table_for_kind(args["kind"]).id_column,
        )
        return operator.execute({})  # type: ignore[arg-type]
    raise ValueError(f"unknown step {step!r}; expected choose, extract or post")


def import_task_code() -> None:
    """Import what every step uses, so that the clock of its work starts after the imports."""
    import include.pinterest.tasks  # noqa: F401
    import kafka_rest  # noqa: F401


def main(argv: list[str]) -> int:
    """Run one step and print its figures as JSON on the last line."""
    step, args = argv[0], json.loads(argv[1])
    began = time.perf_counter()
    import_task_code()
    started = time.perf_counter()
    result = run(step, args)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "step": step,
                "import_seconds": started - began,
                "seconds": seconds,
                "peak_rss_mib": peak_kib / 1024,
                "result": result,
            },
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
