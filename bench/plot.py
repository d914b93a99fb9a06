"""The plot of a run: throughput against batch size (records per request, events per run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt


def throughput_plot(results: dict[str, Any], path: Path) -> Path | None:
    """Draw what ``results`` holds of the sweep and the scale runs into ``path`` (PNG)."""
    sweep = results.get("sweep") or {}
    scale = results.get("scale") or {}
    throughput = results.get("throughput") or {}
    if not sweep.get("points") and not scale.get("sizes"):
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))

    if sweep.get("points"):
        for in_flight in sorted({p.get("requests_in_flight", 1) for p in sweep["points"]}):
            points = [p for p in sweep["points"] if p.get("requests_in_flight", 1) == in_flight]
            left.plot(
                [p["records_per_request"] for p in points],
                [p["rate"] for p in points],
                marker="o",
                label=f"KafkaRestOperator, {in_flight} in flight",
            )
        native = (throughput.get("native") or {}).get("rate")
        original = (throughput.get("one_post_per_record") or {}).get("rate")
        if native:
            left.axhline(native, color="tab:green", linestyle="--", label="native producer")
        if original:
            left.axhline(original, color="tab:red", linestyle=":", label="one POST per record")
        default = sweep.get("default_records_per_request")
        if default:
            left.axvline(default, color="grey", linewidth=0.8, label=f"default ({default})")
        left.set_xscale("log")
        left.set_yscale("log")
        left.set_xlabel("records per request (max_records_per_request)")
        left.set_ylabel("pin records per second")
        left.set_title("Send throughput against request size")
        left.grid(True, which="both", alpha=0.3)
        left.legend(fontsize=8)

    if scale.get("sizes"):
        sizes = scale["sizes"]
        events = [s["events"] for s in sizes]
        right.plot(
            events,
            [s["records_per_s"] for s in sizes],
            marker="o",
            label="extract + post, records/s",
        )
        right.set_xscale("log")
        right.set_ylim(bottom=0)
        right.set_xlabel("events per run (3 records each)")
        right.set_ylabel("records per second")
        right.set_title("Extract-and-post path against batch size")
        right.grid(True, which="both", alpha=0.3)
        memory = right.twinx()
        memory.plot(
            events,
            [s["max_peak_rss_mib"] for s in sizes],
            marker="s",
            color="tab:purple",
            label="highest task peak RSS, MiB",
        )
        memory.set_ylabel("peak RSS of a task process (MiB)")
        memory.set_ylim(bottom=0)
        handles = right.get_legend_handles_labels()
        more = memory.get_legend_handles_labels()
        right.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="lower right")
    else:
        right.set_axis_off()

    machine = results.get("machine") or {}
    fig.suptitle(
        f"{machine.get('cpus')} CPUs, {machine.get('memory_gib')} GiB, "
        f"commit {str(machine.get('git_commit', ''))[:10]}, {results.get('started_at', '')}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
