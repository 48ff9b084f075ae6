"""Medians, ratios to the raw clients, targets, and the Markdown of RESULTS.md."""

import statistics
from dataclasses import dataclass, field

__all__ = [
    "Report",
    "Sample",
    "Summary",
    "Target",
    "check_targets",
    "ratio",
    "render_markdown",
    "summarize",
]

# The performance targets: msgload over raw for messages/s (at least), publish p99
# and SQS CPU per send (at most), and the stamp's share of msgload's CPU per message.
MIN_KAFKA_RATE_RATIO = 0.9
MAX_KAFKA_P99_RATIO = 2.0
MAX_SQS_CPU_RATIO = 1.1
MAX_STAMP_CPU_SHARE = 0.05


@dataclass(frozen=True)
class Sample:
    """One measured window of one client: what it sent and what that cost."""

    messages: int
    elapsed_s: float
    cpu_s: float
    p50_ms: float | None
    p99_ms: float | None
    stamp_cpu_us: float | None = None

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def cpu_us_per_message(self) -> float | None:
        return self.cpu_s / self.messages * 1e6 if self.messages else None

    @classmethod
    def from_dict(cls, data: dict) -> "Sample":
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Summary:
    """The medians of one client's samples over the rounds."""

    rounds: int
    messages_per_s: float | None
    cpu_us_per_message: float | None
    p50_ms: float | None
    p99_ms: float | None
    stamp_cpu_us: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Target:
    """One target of the issue, with the measured value and its verdict."""

    name: str
    threshold: float
    measured: float | None
    at_least: bool

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return False
        if self.at_least:
            return self.measured >= self.threshold
        return self.measured <= self.threshold


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def summarize(samples: list[Sample], note: str = "") -> Summary:
    """Return the medians of samples; a client that never ran has only Nones."""
    return Summary(
        rounds=len(samples),
        messages_per_s=_median([s.messages_per_s for s in samples]),
        cpu_us_per_message=_median([s.cpu_us_per_message for s in samples]),
        p50_ms=_median([s.p50_ms for s in samples]),
        p99_ms=_median([s.p99_ms for s in samples]),
        stamp_cpu_us=_median([s.stamp_cpu_us for s in samples]),
        note=note,
    )


def ratio(value: float | None, baseline: float | None) -> float | None:
    """Return value / baseline, or None when either is missing or baseline is 0."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def check_targets(summaries: dict[str, Summary]) -> list[Target]:
    """Return the performance targets measured on summaries, keyed by client name."""
    kafka_raw, kafka_suite = summaries["kafka-raw"], summaries["kafka-suite"]
    sqs_raw, sqs_suite = summaries["sqs-raw"], summaries["sqs-suite"]
    stamp_share = ratio(kafka_suite.stamp_cpu_us, kafka_suite.cpu_us_per_message)
    return [
        Target(
            "Kafka messages/s, msgload / raw",
            MIN_KAFKA_RATE_RATIO,
            ratio(kafka_suite.messages_per_s, kafka_raw.messages_per_s),
            at_least=True,
        ),
        Target(
            "Kafka publish p99, msgload / raw",
            MAX_KAFKA_P99_RATIO,
            ratio(kafka_suite.p99_ms, kafka_raw.p99_ms),
            at_least=False,
        ),
        Target(
            "SQS client CPU per send, msgload / raw",
            MAX_SQS_CPU_RATIO,
            ratio(sqs_suite.cpu_us_per_message, sqs_raw.cpu_us_per_message),
            at_least=False,
        ),
        Target(
            "Stamping share of msgload's Kafka CPU per message",
            MAX_STAMP_CPU_SHARE,
            stamp_share,
            at_least=False,
        ),
    ]


@dataclass
class Report:
    """Everything RESULTS.md shows."""

    date: str
    machine: list[str]
    method: list[str]
    summaries: dict[str, Summary]
    baselines: dict[str, str]
    targets: list[Target]
    findings: list[str] = field(default_factory=list)


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _client_rows(report: Report) -> list[str]:
    rows = [
        "| client | rounds | messages/s | CPU µs/message | publish p50 ms "
        "| publish p99 ms | msgs/s vs raw | CPU vs raw | p99 vs raw |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, summary in report.summaries.items():
        raw = report.summaries.get(report.baselines.get(name, ""))
        rate_ratio = cpu_ratio = p99_ratio = None
        if raw is not None:
            rate_ratio = ratio(summary.messages_per_s, raw.messages_per_s)
            cpu_ratio = ratio(summary.cpu_us_per_message, raw.cpu_us_per_message)
            p99_ratio = ratio(summary.p99_ms, raw.p99_ms)
        rows.append(
            f"| {name} | {summary.rounds} | {_number(summary.messages_per_s)} "
            f"| {_number(summary.cpu_us_per_message)} | {_number(summary.p50_ms)} "
            f"| {_number(summary.p99_ms)} | {_ratio_text(rate_ratio)} "
            f"| {_ratio_text(cpu_ratio)} | {_ratio_text(p99_ratio)} |"
        )
    return rows


def _target_rows(targets: list[Target]) -> list[str]:
    rows = ["| target | threshold | measured | met |", "|---|---|---|---|"]
    for target in targets:
        bound = "≥" if target.at_least else "≤"
        rows.append(
            f"| {target.name} | {bound} {target.threshold:g} "
            f"| {_number(target.measured, 3)} | {'yes' if target.passed else 'no'} |"
        )
    return rows


def render_markdown(report: Report) -> str:
    """Return the text of RESULTS.md for report."""
    notes = [
        f"- {name}: {summary.note}"
        for name, summary in report.summaries.items()
        if summary.note
    ]
    lines = [
        "# msgload against the raw clients",
        "",
        "Written by `make bench` (`python -m bench`); rerun it to refresh this page.",
        "",
        f"Date: {report.date}",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in report.machine],
        "",
        "## Method",
        "",
        *[f"- {line}" for line in report.method],
        "",
        "## Numbers (medians over the rounds)",
        "",
        *_client_rows(report),
        "",
        *(["Notes:", "", *notes, ""] if notes else []),
        "## Targets",
        "",
        *_target_rows(report.targets),
        "",
    ]
    if report.findings:
        lines += ["## Findings", "", *[f"- {item}" for item in report.findings], ""]
    return "\n".join(lines)
