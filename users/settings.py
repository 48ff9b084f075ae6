"""msgload's command-line options, shown in the web UI and read from locust.conf.

Settings.from_options checks them all and raises ConfigError with one sentence
saying how to fix the first wrong one, before any request is sent.
"""

import os
from dataclasses import dataclass, field

from users.errors import ConfigError

__all__ = ["LOCAL_ENDPOINT_URL", "Settings", "add_arguments"]

LOCAL_ENDPOINT_URL = "http://127.0.0.1:5000"
LOCAL_BOOTSTRAP_SERVERS = "127.0.0.1:9092"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
DEFAULT_REGION = "us-east-1"
KNOWN_BROKERS = ("moto", "kafka", "rabbitmq", "activemq")
DEFAULT_QUEUE_NAME = "msgload-sqs"
DEFAULT_TOPIC = "msgload-events"
DEFAULT_MESSAGE_SIZE_BYTES = 100
MIN_MESSAGE_SIZE_BYTES = 64
DEFAULT_BATCH_SIZE = 10
DEFAULT_DRAIN_S = 10.0
DEFAULT_WAIT_TIME_S = 2
DEFAULT_VISIBILITY_TIMEOUT_S = 30
DEFAULT_PARTITIONS = 4
DEFAULT_MAX_IN_FLIGHT = 1000
DEFAULT_BACKLOG_INTERVAL_S = 5.0


def add_arguments(parser) -> None:
    """Register msgload's options on Locust's argument parser."""
    option = parser.add_argument
    option(
        "--target",
        choices=["local", "aws"],
        default="local",
        help="local: the brokers of `python -m stack` on 127.0.0.1, no credentials; "
        "aws: real services through boto3's credential chain",
    )
    option(
        "--endpoint-url",
        default="",
        help=f"AWS API endpoint (local default {LOCAL_ENDPOINT_URL}; aws: the "
        "region's own)",
    )
    option(
        "--region",
        default="",
        help=f"AWS region (default {DEFAULT_REGION} for "
        "local; for aws, AWS_REGION or the profile's region)",
    )
    option(
        "--queue-name", default=DEFAULT_QUEUE_NAME, help="SQS queue, created if missing"
    )
    option("--topic", default=DEFAULT_TOPIC, help="Kafka topic, created if missing")
    option(
        "--bootstrap-servers",
        default="",
        help=f"Kafka bootstrap servers, host:port,... (local default "
        f"{LOCAL_BOOTSTRAP_SERVERS})",
    )
    option(
        "--partitions",
        type=int,
        default=DEFAULT_PARTITIONS,
        help="partitions of the Kafka topic when msgload creates it",
    )
    option(
        "--message-size-bytes",
        type=int,
        default=DEFAULT_MESSAGE_SIZE_BYTES,
        help="size of each message body in bytes",
    )
    option(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help="messages per publish call (SQS at most 10; 1 sends one at a time)",
    )
    option(
        "--publish-rate",
        type=float,
        default=0.0,
        help="messages per second per producer user; 0 publishes as fast as the "
        "broker acknowledges",
    )
    option(
        "--max-in-flight",
        type=int,
        default=DEFAULT_MAX_IN_FLIGHT,
        help="Kafka sends awaiting acknowledgement per producer user",
    )
    option(
        "--wait-time-s",
        type=int,
        default=DEFAULT_WAIT_TIME_S,
        help="SQS long-poll wait per receive, 0 to 20 seconds",
    )
    option(
        "--visibility-timeout-s",
        type=int,
        default=DEFAULT_VISIBILITY_TIMEOUT_S,
        help="SQS visibility timeout of received messages, in seconds",
    )
    option(
        "--drain-s",
        type=float,
        default=DEFAULT_DRAIN_S,
        help="seconds at the end of --run-time when producers stop and consumers "
        "drain the backlog",
    )
    option(
        "--backlog-interval-s",
        type=float,
        default=DEFAULT_BACKLOG_INTERVAL_S,
        help="seconds between backlog samples",
    )
    option(
        "--brokers",
        default=os.environ.get("MSGLOAD_BROKERS", ""),
        help="comma-separated local brokers that run (moto, kafka, rabbitmq, "
        "activemq); users of the others are left out. Empty: all",
    )
    option(
        "--skip-report",
        action="store_true",
        default=False,
        help="do not write the analysis report (report.html, summary.md) at the end",
    )
    option(
        "--results-dir",
        default="results",
        help="folder that receives one folder per run",
    )
    option(
        "--run-id",
        default="",
        include_in_web_ui=False,
        help="identifier stamped into every message; set by the master",
    )


@dataclass(frozen=True)
class Settings:
    """The checked options of one run."""

    target: str
    endpoint_url: str | None
    region: str
    queue_name: str
    topic: str
    bootstrap_servers: str
    partitions: int
    message_size_bytes: int
    batch_size: int
    publish_rate: float
    max_in_flight: int
    wait_time_s: int
    visibility_timeout_s: int
    drain_s: float
    backlog_interval_s: float
    options: object = field(default=None, repr=False, compare=False)
    """Locust's parsed options, where each service module reads its own options."""

    @property
    def boto3_options(self) -> dict:
        """Keyword arguments for boto3.client: endpoint, region and local keys."""
        options: dict = {"region_name": self.region}
        if self.endpoint_url:
            options["endpoint_url"] = self.endpoint_url
        if self.target == "local":
            options.update(LOCAL_CREDENTIALS)
        return options

    @classmethod
    def from_options(cls, options) -> "Settings":
        local = options.target == "local"
        settings = cls(
            target=options.target,
            endpoint_url=options.endpoint_url
            or (LOCAL_ENDPOINT_URL if local else None),
            region=options.region or _default_region(local),
            queue_name=options.queue_name,
            topic=options.topic,
            bootstrap_servers=options.bootstrap_servers
            or (LOCAL_BOOTSTRAP_SERVERS if local else ""),
            partitions=options.partitions,
            message_size_bytes=options.message_size_bytes,
            batch_size=options.batch_size,
            publish_rate=options.publish_rate,
            max_in_flight=options.max_in_flight,
            wait_time_s=options.wait_time_s,
            visibility_timeout_s=options.visibility_timeout_s,
            drain_s=options.drain_s,
            backlog_interval_s=options.backlog_interval_s,
            options=options,
        )
        settings.check(getattr(options, "run_time", None))
        return settings

    def check(self, run_time_s: int | None) -> None:
        """Raise ConfigError naming the first wrong option and how to fix it."""
        _require(
            self.message_size_bytes >= MIN_MESSAGE_SIZE_BYTES,
            f"--message-size-bytes must be at least {MIN_MESSAGE_SIZE_BYTES} so the "
            f"stamp fits (got {self.message_size_bytes}).",
        )
        _require(
            self.batch_size >= 1,
            f"--batch-size must be 1 or more (got {self.batch_size}).",
        )
        _require(
            self.publish_rate >= 0,
            f"--publish-rate must be 0 or more (got {self.publish_rate:g}).",
        )
        _require(
            self.max_in_flight >= 1,
            f"--max-in-flight must be 1 or more (got {self.max_in_flight}).",
        )
        _require(
            self.partitions >= 1,
            f"--partitions must be 1 or more (got {self.partitions}).",
        )
        _require(
            0 <= self.wait_time_s <= 20,
            f"--wait-time-s must be between 0 and 20 (got {self.wait_time_s}).",
        )
        _require(
            0 <= self.visibility_timeout_s <= 43200,
            "--visibility-timeout-s must be between 0 and 43200 "
            f"(got {self.visibility_timeout_s}).",
        )
        _require(
            self.backlog_interval_s > 0,
            f"--backlog-interval-s must be above 0 (got {self.backlog_interval_s:g}).",
        )
        _require(
            self.drain_s >= 0, f"--drain-s must be 0 or more (got {self.drain_s:g})."
        )
        if run_time_s and self.drain_s:
            _require(
                self.drain_s < run_time_s,
                f"--drain-s ({self.drain_s:g}) must be shorter than --run-time "
                f"({run_time_s} s); lower it or raise --run-time.",
            )
        _check_endpoint(self.endpoint_url, self.target)
        if self.target == "aws":
            _check_aws_credentials(self.region)

    def public_dict(self) -> dict:
        """Return the settings for run.json; they hold no secret."""
        return {key: value for key, value in self.__dict__.items() if key != "options"}


def _require(condition: bool, sentence: str) -> None:
    if not condition:
        raise ConfigError(sentence)


def _default_region(local: bool) -> str:
    if local:
        return DEFAULT_REGION
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    import boto3

    region = boto3.session.Session().region_name
    if not region:
        raise ConfigError(
            "No AWS region is set for --target aws; pass --region (for example "
            "--region eu-west-1) or set AWS_REGION."
        )
    return region


def _check_endpoint(endpoint_url: str | None, target: str) -> None:
    if endpoint_url and not endpoint_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"--endpoint-url must start with http:// or https:// (got "
            f"{endpoint_url!r}); for the local brokers use {LOCAL_ENDPOINT_URL}."
        )


def _check_aws_credentials(region: str) -> None:
    import boto3
    import botocore.exceptions

    try:
        credentials = boto3.session.Session(region_name=region).get_credentials()
    except botocore.exceptions.ProfileNotFound as error:
        raise ConfigError(
            f"{error}; set AWS_PROFILE to a profile in ~/.aws/config (aws configure "
            "list-profiles shows them) or unset it."
        ) from error
    if credentials is None:
        raise ConfigError(
            "No AWS credentials found for --target aws; set AWS_PROFILE to a "
            "configured profile, run `aws sso login --profile NAME`, or use "
            "--target local to run against the local brokers."
        )
