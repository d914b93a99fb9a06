"""Run the benchmarks on the local stack, print their figures and save them (``make bench``).

Measures, each ``BENCH_REPEATS`` times (medians reported):

1. ``throughput``: a native confluent-kafka producer (acks=all), :class:`KafkaRestOperator`
   with its defaults through the REST proxy, the same bodies posted raw (the proxy's share),
   and the original loop's one POST per record; records per second and ratios.
2. ``sweep``: the operator's throughput against ``max_records_per_request`` and
   ``max_requests_in_flight``.
3. ``scale``: the DAG's extract-and-post tasks for each of ``BENCH_SCALES`` events, each
   task in its own process: seconds, records per second, peak RSS per task.
4. ``landing``: from the last acknowledgement to the object in S3 (needs the S3 sink).
5. ``dag``: ``airflow dags test`` of pinterest_emulation next to an empty DAG of its shape
   (needs the S3 sink).
6. ``full_run``: ``airflow dags test`` of pinterest_emulation at ``BENCH_FULL_EVENTS`` events
   (100,000, the DAG's largest batch), every task in one process: seconds, peak RSS, and the
   landing counts (needs the S3 sink).

Writes ``bench/results/bench-<UTC time>.json`` and ``bench/results/throughput.png``. The
options are environment variables, see :class:`bench.common.Options`. Nothing is asserted:
targets met or missed are printed and saved, and the exit code is 0 unless a benchmark
could not run.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    REST_CONN_ID,
    RESULTS,
    Options,
    load_stack_env,
    machine,
    median,
    quiet_logs,
    sink_running,
    stack_env,
    table,
    write_json,
)

#: Targets of issue 5.
TARGET_REST_VS_NATIVE = 0.5
TARGET_REST_VS_ORIGINAL = 100.0
TARGET_PEAK_RSS_MIB = 1024.0
#: Seconds per event at the largest batch may exceed those at the next one by this factor
#: and still count as linear growth.
LINEAR_TOLERANCE = 1.3
#: Rounds of the throughput comparison at least: a timed send lasts 0.1 to 0.25 s.
THROUGHPUT_REPEATS = 5
#: Landing-latency trials at least.
LANDING_TRIALS = 5
SWEEP_SIZES = (1, 10, 100, 500, 1000, 2000, 5000)
SWEEP_IN_FLIGHT = (1, 2, 4, 8)
#: Requests per sweep point at most, so the small request sizes stay quick.
SWEEP_MAX_REQUESTS = 100


def main() -> int:
    """Run the selected benchmarks and return 0, or 1 if one of them could not run."""
    options = Options.from_env()
    settings = load_stack_env()
    quiet_logs()
    started_at = datetime.now(UTC).replace(microsecond=0)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    results: dict[str, Any] = {
        "started_at": started_at.isoformat(),
        "command": "make bench",
        "options": {
            k: sorted(v) if isinstance(v, frozenset) else v for k, v in vars(options).items()
        },
        "machine": machine(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"Benchmarks on the local stack, {results['machine']['cpus']} CPUs, "
        f"load average {results['load_average_before']}, {options.repeats} runs each "
        f"(throughput {max(options.repeats, THROUGHPUT_REPEATS)}, "
        f"landing {max(options.repeats, LANDING_TRIALS)})"
    )
    failures: list[str] = []

    from bench import data, topics
    from include.pinterest.tables import PIN

    client = topics.admin(settings.kafka_bootstrap)
    topics.recreate(client, list(topics.UNSUNK.values()))
    topics.create(client, list(topics.SUNK_BY_KIND.values()))
    needed = max(
        [
            options.records,
            options.per_record,
            options.landing_records,
            options.dag_events,
            *((options.full_events,) if "full_run" in options.only else ()),
            *(options.scales if "scale" in options.only else ()),
        ]
    )
    setup = data.ensure_events(needed)
    results["events_setup"] = setup
    if setup["loaded"]:
        print(f"Loaded {setup['loaded']:,} events into {setup['database']} in {setup['seconds']} s")
    rows = data.fetch_rows(PIN, max(options.records, options.per_record, options.landing_records))
    sink = sink_running(settings)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("throughput", lambda: bench_throughput(options, settings.kafka_bootstrap, rows)),
            ("sweep", lambda: bench_sweep(options, rows)),
            ("scale", lambda: bench_scale(options, settings.bucket, work_dir)),
            ("landing", lambda: bench_landing(options, settings, rows, sink)),
            ("dag", lambda: bench_dag(options, settings.bucket, sink)),
            ("full_run", lambda: bench_full_run(options, settings.bucket, sink)),
        ]
        for name, step in steps:
            if name not in options.only:
                continue
            print(f"\n== {name} ==", flush=True)
            began = time.monotonic()
            try:
                results[name] = step()
            except Exception as e:
                traceback.print_exc()
                results[name] = {"error": f"{type(e).__name__}: {e}"}
                failures.append(name)
            results[name]["bench_seconds"] = round(time.monotonic() - began, 1)
    finally:
        cleanup(settings.bucket, client, work_dir)

    results["targets"] = targets(options, results)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    from bench.plot import throughput_plot

    plot = throughput_plot(results, RESULTS / "throughput.png")
    results["plot"] = str(plot.relative_to(RESULTS.parents[1])) if plot else None
    path = RESULTS / f"bench-{stamp}.json"
    write_json(path, results)
    print_targets(results["targets"])
    print(
        f"\nResults: {path.relative_to(RESULTS.parents[1])}"
        + (f", plot: {results['plot']}" if plot else "")
    )
    if failures:
        print(f"Could not run: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def bench_throughput(
    options: Options, bootstrap: str, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Native producer, operator, raw posts and one POST per record, interleaved per repeat."""
    from bench import throughput
    from bench.topics import UNSUNK

    topic, key = UNSUNK["pin"], "index"
    records = rows[: options.records]
    default_size = throughput.operator_default("max_records_per_request")
    in_flight = throughput.operator_default("max_requests_in_flight")

    def one_round(per_record: int) -> dict[str, throughput.Run]:
        return {
            "native": throughput.native(bootstrap, topic, records, key),
            "operator": throughput.operator(REST_CONN_ID, topic, records, key),
            "raw_posts": throughput.raw_posts(
                REST_CONN_ID, topic, records, key, default_size, in_flight
            ),
            "one_post_per_record": throughput.one_post_per_record(
                REST_CONN_ID, topic, rows[:per_record]
            ),
        }

    # One round that is not counted: the JVMs of the proxy and the broker compile their hot
    # paths during the first thousands of records, and the topic was just created. The first
    # counted round used to run at a third of the later ones.
    one_round(min(options.per_record, 100))
    print("  warm-up round done (not counted)", flush=True)
    runs: dict[str, list[throughput.Run]] = {}
    for n in range(max(options.repeats, THROUGHPUT_REPEATS)):
        for name, run in one_round(options.per_record).items():
            runs.setdefault(name, []).append(run)
        print(
            f"  run {n + 1}: "
            + ", ".join(f"{name} {values[-1].rate:,.0f}/s" for name, values in runs.items()),
            flush=True,
        )
    figures = {
        name: {
            "records": values[0].records,
            "seconds": round(median(r.seconds for r in values), 4),
            "rate": round(median(r.rate for r in values), 1),
            "requests": values[0].requests,
            "runs": [r.as_dict() for r in values],
        }
        for name, values in runs.items()
    }
    native, ours = figures["native"]["rate"], figures["operator"]["rate"]
    original = figures["one_post_per_record"]["rate"]
    operator_s, raw_s = figures["operator"]["seconds"], figures["raw_posts"]["seconds"]
    result: dict[str, Any] = {
        **figures,
        "rest_vs_native": round(ours / native, 3),
        "rest_vs_native_by_round": [
            round(o.rate / n.rate, 3) for o, n in zip(runs["operator"], runs["native"], strict=True)
        ],
        "rest_vs_original": round(ours / original, 1),
        "proxy_share_of_operator": round(raw_s / operator_s, 3),
        "note": (
            f"one_post_per_record sends {options.per_record} records; its rate stands for "
            f"all {options.records} (extrapolated). raw_posts is the operator's requests, "
            "encoded before the clock starts: the REST proxy's share of the operator's time."
        ),
    }
    print(
        table(
            ("way", "records", "seconds", "records/s", "requests"),
            [
                (name, f["records"], f["seconds"], f["rate"], f["requests"])
                for name, f in figures.items()
            ],
        )
    )
    print(
        f"ours / native = {result['rest_vs_native']}, ours / one POST per record = "
        f"{result['rest_vs_original']}, proxy share of the operator's time = "
        f"{result['proxy_share_of_operator']}"
    )
    if options.profile or result["rest_vs_native"] < TARGET_REST_VS_NATIVE:
        result["profile"] = profile_operator(records, topic, key)
    return result


def profile_operator(records: list[dict[str, Any]], topic: str, key: str) -> str:
    """Profile one operator send with pyinstrument; save the text report and return its path."""
    from pyinstrument import Profiler

    from bench import throughput

    profiler = Profiler(interval=0.001)
    profiler.start()
    throughput.operator(REST_CONN_ID, topic, records, key)
    profiler.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"profile-operator-{stamp}.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(profiler.output_text(unicode=False, color=False))
    print(f"  profile of one operator send: {path.relative_to(RESULTS.parents[1])}")
    return str(path.relative_to(RESULTS.parents[1]))


def bench_sweep(options: Options, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Operator throughput against request size (one and the default number of requests in
    flight), and against requests in flight at the default request size."""
    from bench import throughput
    from bench.topics import UNSUNK

    default_size = throughput.operator_default("max_records_per_request")
    default_in_flight = throughput.operator_default("max_requests_in_flight")

    def point(size: int, in_flight: int) -> dict[str, Any]:
        count = min(options.records, size * SWEEP_MAX_REQUESTS)
        runs = [
            throughput.operator(
                REST_CONN_ID,
                UNSUNK["pin"],
                rows[:count],
                "index",
                max_records_per_request=size,
                max_requests_in_flight=in_flight,
            )
            for _ in range(options.repeats)
        ]
        found = {
            "records_per_request": size,
            "requests_in_flight": in_flight,
            "records": count,
            "requests": runs[0].requests,
            "seconds": round(median(r.seconds for r in runs), 4),
            "rate": round(median(r.rate for r in runs), 1),
        }
        print(
            f"  {size} records per request, {in_flight} in flight: {found['rate']:,.0f} records/s",
            flush=True,
        )
        return found

    points = [
        point(size, in_flight)
        for in_flight in sorted({1, default_in_flight})
        for size in SWEEP_SIZES
    ]
    in_flight_points = [point(default_size, n) for n in SWEEP_IN_FLIGHT]
    headers = ("records/request", "in flight", "records", "requests", "seconds", "records/s")
    print(table(headers, [tuple(p.values()) for p in points]))
    print(table(headers, [tuple(p.values()) for p in in_flight_points]))
    return {
        "default_records_per_request": default_size,
        "default_requests_in_flight": default_in_flight,
        "points": points,
        "in_flight_points": in_flight_points,
    }


def bench_scale(options: Options, bucket: str, work_dir: Path) -> dict[str, Any]:
    """The extract-and-post path for each size of ``options.scales``."""
    from bench import scale

    env = stack_env()
    base = scale.staging_base(options.staging, bucket, str(work_dir / "staging"))
    sizes = []
    overran: dict[str, Any] | None = None
    for events in sorted(options.scales):
        runs = []
        for n in range(options.repeats):
            try:
                runs.append(scale.one_run(env, events, base, options.step_timeout))
            except scale.StepTimeoutError as e:
                overran = {
                    "events": events,
                    "error": str(e),
                    "finished_tasks_peak_rss_mib": {
                        name: round(task["peak_rss_mib"], 1) for name, task in e.done.items()
                    },
                    "finished_tasks_seconds": {
                        name: round(task["seconds"], 2) for name, task in e.done.items()
                    },
                }
                print(
                    f"  {events:,} events, run {n + 1}: {e}; not repeated, larger sizes not run",
                    flush=True,
                )
                break
            run = runs[-1]
            print(
                f"  {events:,} events, run {n + 1}: extract {run['extract_s']:.1f} s, "
                f"post {run['post_s']:.1f} s, highest peak RSS "
                f"{max(run['peak_rss_mib'].values()):.0f} MiB",
                flush=True,
            )
        if runs:
            sizes.append(scale.summarise(events, runs))
        if overran:
            break
    print(
        table(
            (
                "events",
                "records",
                "imports s",
                "extract s",
                "post s",
                "records/s",
                "us/event",
                "peak RSS MiB",
            ),
            [
                (
                    s["events"],
                    s["records"],
                    s["import_s"],
                    s["extract_s"],
                    s["post_s"],
                    s["records_per_s"],
                    s["us_per_event"],
                    s["max_peak_rss_mib"],
                )
                for s in sizes
            ],
        )
    )
    worst = {}
    for s in sizes:
        worst[str(s["events"])] = s["peak_rss_mib"]
    print(
        "peak RSS per task (MiB): "
        + "; ".join(
            f"{events}: " + ", ".join(f"{task} {mib:.0f}" for task, mib in tasks.items())
            for events, tasks in worst.items()
        )
    )
    growth = None
    if len(sizes) >= 2:
        big, prev = sizes[-1], sizes[-2]
        growth = round(big["us_per_event"] / prev["us_per_event"], 3)
    return {
        "staging": options.staging,
        "sizes": sizes,
        "overran": overran,
        "time_per_event_growth": growth,
        "note": (
            "time_per_event_growth: seconds per event at the largest batch over those at the "
            "next largest; 1.0 is linear, below is better than linear"
        ),
    }


def bench_landing(
    options: Options, settings: Any, rows: list[dict[str, Any]], sink: bool
) -> dict[str, Any]:
    """Landing latency trials on ``bench.pin``, if the S3 sink runs."""
    if not sink:
        return _skipped_without_sink("landing is timed to its objects")
    from bench import landing

    result = landing.run(
        settings.bucket,
        rows[: options.landing_records],
        "index",
        trials=max(options.repeats, LANDING_TRIALS),
        flush_s=settings.flush_ms / 1000,
    )
    if "skipped" in result:
        print(f"  skipped: {result['skipped']}")
        return result
    print(
        table(
            ("trial", "records", "last offset", "latency s"),
            [
                (n + 1, t["records"], t["last_offset"], t["latency_s"])
                for n, t in enumerate(result["trials"])
            ],
        )
    )
    print(
        f"median {result['latency_s']} s, max {result['max_latency_s']} s, target "
        f"<= {result['target_s']} s (flush interval {result['flush_interval_s']} s + 5 s)"
    )
    return result


def bench_dag(options: Options, bucket: str, sink: bool) -> dict[str, Any]:
    """``airflow dags test`` of both DAGs, if the S3 sink runs (the real DAG waits for it)."""
    if not sink:
        return _skipped_without_sink("pinterest_emulation needs it")
    from bench import dag_runs

    env = stack_env()
    logs = Path(env["STACK_HOME"]) / "bench" / "logs"
    result = dag_runs.overhead(env, bucket, options.dag_events, options.repeats, logs)
    print(
        table(
            ("DAG", "median s", "runs s"),
            [
                (
                    "pinterest_emulation",
                    result["pipeline_s"],
                    result["runs"]["pinterest_emulation"],
                ),
                ("bench_empty_pipeline", result["empty_s"], result["runs"]["bench_empty_pipeline"]),
            ],
        )
    )
    print(
        f"{options.dag_events} events: the real DAG's own work is {result['work_s']} s; "
        f"Airflow's overhead (the empty DAG) is {result['overhead_share']:.0%} of its time"
    )
    return result


def bench_full_run(options: Options, bucket: str, sink: bool) -> dict[str, Any]:
    """pinterest_emulation at the largest batch, if the S3 sink runs."""
    if not sink:
        return _skipped_without_sink("pinterest_emulation needs it")
    from bench import dag_runs

    env = stack_env()
    logs = Path(env["STACK_HOME"]) / "bench" / "logs"
    result = dag_runs.full_run(env, bucket, options.full_events, options.repeats, logs)
    print(
        f"{options.full_events:,} events ({result['records']:,} records), 12 tasks in one "
        f"process: median {result['seconds']} s, peak RSS {result['peak_rss_mib']:.0f} MiB, "
        f"every record landed: {'yes' if result['all_landed'] else 'NO'}"
    )
    return result


def _skipped_without_sink(why: str) -> dict[str, Any]:
    """Say that a benchmark is skipped because the S3 sink is not running, and return that."""
    reason = f"the S3 sink (Kafka Connect) is not running; {why}"
    print(f"  skipped: {reason}")
    return {"skipped": reason}


def targets(options: Options, results: dict[str, Any]) -> dict[str, Any]:
    """Return each target of issue 5 with the figure measured and whether it was met."""
    out: dict[str, Any] = {}
    tp = results.get("throughput") or {}
    if "rest_vs_native" in tp:
        out["rest_vs_native"] = {
            "target": f">= {TARGET_REST_VS_NATIVE} at {options.records} pin records",
            "value": tp["rest_vs_native"],
            "met": tp["rest_vs_native"] >= TARGET_REST_VS_NATIVE,
        }
        out["rest_vs_original"] = {
            "target": f">= {TARGET_REST_VS_ORIGINAL:.0f}",
            "value": tp["rest_vs_original"],
            "met": tp["rest_vs_original"] >= TARGET_REST_VS_ORIGINAL,
        }
    sc = results.get("scale") or {}
    if sc.get("overran"):
        over = sc["overran"]
        peaks = over["finished_tasks_peak_rss_mib"]
        out["scale_memory"] = {
            "target": f"peak RSS < {TARGET_PEAK_RSS_MIB:.0f} MiB for every task at "
            f"{over['events']:,} events",
            "value": f"finished tasks: {max(peaks.values()):.0f}" if peaks else "-",
            "met": False,
        }
        out["scale_time"] = {
            "target": f"{over['events']:,} events in one run, time linear in N",
            "value": over["error"],
            "met": False,
        }
    elif sc.get("sizes"):
        largest = sc["sizes"][-1]
        growth = sc.get("time_per_event_growth")
        out["scale_memory"] = {
            "target": f"peak RSS < {TARGET_PEAK_RSS_MIB:.0f} MiB for every task at "
            f"{largest['events']:,} events",
            "value": largest["max_peak_rss_mib"],
            "met": largest["max_peak_rss_mib"] < TARGET_PEAK_RSS_MIB,
        }
        out["scale_time"] = {
            "target": f"time linear in N (seconds per event at the largest N at most "
            f"{LINEAR_TOLERANCE}x those at the next)",
            "value": growth,
            "met": growth is not None and growth <= LINEAR_TOLERANCE,
        }
    full = results.get("full_run") or {}
    if "peak_rss_mib" in full:
        out["full_run_memory"] = {
            "target": f"peak RSS < {TARGET_PEAK_RSS_MIB:.0f} MiB for every task of a whole DAG "
            f"run of {full['events']:,} events, every record landed",
            "value": full["peak_rss_mib"],
            "met": full["peak_rss_mib"] < TARGET_PEAK_RSS_MIB and full["all_landed"],
        }
    la = results.get("landing") or {}
    if "latency_s" in la:
        out["landing_latency"] = {
            "target": f"<= {la['target_s']} s (flush interval + 5 s), every trial",
            "value": la["latency_s"],
            "max": la["max_latency_s"],
            "met": la["met"],
        }
    return out


def print_targets(found: dict[str, Any]) -> None:
    """Print the targets as a table."""
    if not found:
        return
    print("\n== targets ==")
    print(
        table(
            ("target", "wanted", "measured", "met"),
            [
                (name, t["target"], t["value"], "yes" if t["met"] else "NO")
                for name, t in found.items()
            ],
        )
    )


def cleanup(bucket: str, client: Any, work_dir: Path) -> None:
    """Delete the staged files, the sink's objects of the bench topics, and the unsunk topics.

    The sunk topics are kept, as the sink reads them; their records expire after an hour.
    """
    from bench import topics
    from bench.landing import s3_client
    from include.pinterest.landing import partition_prefix

    prefixes = ["staging/bench/", *map(partition_prefix, topics.SUNK_BY_KIND.values())]
    for prefix in prefixes:
        try:
            s3 = s3_client()
            paginator = s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        except Exception as e:
            print(f"could not delete s3://{bucket}/{prefix}: {e}", file=sys.stderr)
    shutil.rmtree(work_dir, ignore_errors=True)
    topics.delete(client, list(topics.UNSUNK.values()))


if __name__ == "__main__":
    sys.exit(main())
