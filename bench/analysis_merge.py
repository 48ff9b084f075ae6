"""Measure the analysis merge on 24 hours of 1 s Locust history plus CloudWatch data.

The script writes a synthetic run folder: full history for 20 request names at 1 s,
backlog samples every 5 s and one CloudWatch series at 60 s. It then times reading
the folder and building the timeline, and reports wall time and peak memory
(ru_maxrss).

    python bench/analysis_merge.py [--hours 24] [--names 20]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.cloudwatch import results_to_samples
from analysis.read import read_run
from analysis.timeline import build_timeline

START = pd.Timestamp("2026-12-04T00:00:00Z")
PERCENTILE_HEADERS = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%"]


def write_history(path: Path, hours: int, names: int) -> int:
    """Write a full-history CSV in Locust 2.47's header; return its row count."""
    seconds = hours * 3600
    stamps = np.repeat(int(START.timestamp()) + np.arange(seconds), names)
    entry = np.tile(np.arange(names), seconds)
    rng = np.random.default_rng(7)
    latency = rng.integers(5, 500, size=len(stamps))
    frame = pd.DataFrame(
        {
            "Timestamp": stamps,
            "User Count": 50,
            "Type": np.where(entry % 2 == 0, "SQS", "Kafka"),
            "Name": [
                f"end-to-end q{e}" if e % 4 == 0 else f"SendMessage q{e}" for e in entry
            ],
            "Requests/s": 10.0,
            "Failures/s": 0.0,
            **{header: latency for header in PERCENTILE_HEADERS},
            "Total Request Count": (stamps - stamps[0] + 1) * 10,
            "Total Failure Count": 0,
            "Total Median Response Time": latency,
            "Total Average Response Time": latency.astype(float),
            "Total Min Response Time": 1,
            "Total Max Response Time": 900,
            "Total Average Content Size": 100.0,
        }
    )
    frame.to_csv(path, index=False)
    return len(frame)


def write_backlog(path: Path, hours: int) -> None:
    stamps = pd.date_range(START, periods=hours * 720, freq="5s")
    pd.DataFrame(
        {
            "timestamp": [stamp.isoformat() for stamp in stamps],
            "service": "SQS",
            "resource": "q0",
            "metric": "visible",
            "value": np.arange(len(stamps)) % 500,
        }
    ).to_csv(path, index=False)


def cloudwatch_samples(hours: int) -> pd.DataFrame:
    stamps = pd.date_range(START, periods=hours * 60, freq="60s")
    result = {
        "Id": "m0",
        "Label": "SQS|q0|visible",
        "Timestamps": list(reversed(stamps.to_pydatetime())),
        "Values": [float(v % 700) for v in range(len(stamps))],
        "StatusCode": "Complete",
    }
    return results_to_samples([result])


def generate(run_dir: Path, hours: int, names: int) -> None:
    """Write the synthetic run folder; main runs this in a child process."""
    rows = write_history(run_dir / "locust_stats_history.csv", hours, names)
    write_backlog(run_dir / "backlog.csv", hours)
    size_bytes = (run_dir / "locust_stats_history.csv").stat().st_size
    print(f"history rows: {rows:,} ({size_bytes / 2**20:.0f} MiB of CSV)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--names", type=int, default=20)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.generate:
        generate(options.generate, options.hours, options.names)
        return
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder)
        # Generating in a child process keeps its memory out of the peak below.
        subprocess.run(
            [sys.executable, __file__, "--generate", folder]
            + ["--hours", str(options.hours), "--names", str(options.names)],
            check=True,
        )
        cloudwatch = cloudwatch_samples(options.hours)
        rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        started = time.perf_counter()
        run = read_run(run_dir)
        read_s = time.perf_counter() - started
        timeline = build_timeline(run, cloudwatch, None, bin_s=10)
        total_s = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"timeline: {len(timeline.frame):,} bins x {timeline.frame.shape[1]} columns")
    print(f"read: {read_s:.2f} s, read + merge: {total_s:.2f} s wall")
    print(
        f"peak RSS: {peak_kib / 2**20:.2f} GiB "
        f"(before reading: {rss_before_kib / 2**20:.2f} GiB)"
    )


if __name__ == "__main__":
    main()
