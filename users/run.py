"""The state of one run shared by its users: settings, ledger, results folder."""

import datetime as dt
import json
import logging
import os
import platform
import secrets
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from users.ledger import Ledger
from users.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "MSGLOAD_VERSION",
    "RunContext",
    "new_run_id",
    "public_options",
    "utc_now",
]

MSGLOAD_VERSION = "0.1.0"
VERSIONED_PACKAGES = ("locust", "boto3", "botocore", "kafka-python", "gevent")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id(started_at: dt.datetime) -> str:
    """Return an id naming the start time, unique among runs of the same second."""
    return f"{started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def versions() -> dict[str, str]:
    found = {"msgload": MSGLOAD_VERSION, "python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


@dataclass
class RunContext:
    """The plugin's state of the current run, which users reach as
    `self.environment.msgload`."""

    run_id: str
    scenario: str
    started_at: dt.datetime
    run_dir: Path | None = None
    settings: Settings | None = None
    config_error: str | None = None
    error: str | None = None
    test_started_at: dt.datetime | None = None
    summary_printed: bool = False
    publishing: bool = True
    publishing_stopped_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    ledger: Ledger = field(default_factory=Ledger)
    workers_expected: int = 0
    workers_lost: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    gates: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    sampler: object = None
    worker_watch: object = None
    csv_writer: object = None
    csv_greenlet: object = None

    def __post_init__(self) -> None:
        self.ledger.run_id = self.run_id

    def stop_publishing(self) -> None:
        if self.publishing:
            self.publishing = False
            self.publishing_stopped_at = utc_now()
            logger.info("Producers stopped publishing; consumers drain the backlog")

    def write_run_json(self) -> Path | None:
        """Write run.json into the run folder; return its path."""
        if self.run_dir is None:
            return None
        document = {
            "msgload_version": MSGLOAD_VERSION,
            "run_id": self.run_id,
            "scenario": self.scenario,
            "started_at": self.started_at.isoformat(),
            "publishing_stopped_at": _iso(self.publishing_stopped_at),
            "ended_at": _iso(self.ended_at),
            "target": self.settings.target if self.settings else None,
            "config_error": self.config_error,
            "error": self.error,
            "settings": self.settings.public_dict() if self.settings else None,
            "options": public_options(self.options),
            "versions": versions(),
            "services": self.summary,
            "gates": self.gates,
            "workers": {"expected": self.workers_expected, "lost": self.workers_lost},
        }
        path = self.run_dir / "run.json"
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(document, indent=2, default=str) + "\n")
        os.replace(temporary, path)
        return path


SECRET_WORDS = ("password", "secret", "token", "credential")


def public_options(options: dict) -> dict:
    """Return options with every secret masked: passwords, tokens and the password
    part of URLs such as amqp://user:password@host/."""
    public = {}
    for key, value in options.items():
        if any(word in key.lower() for word in SECRET_WORDS) and value:
            public[key] = "***"
        elif isinstance(value, str) and "://" in value and "@" in value:
            public[key] = _mask_url_password(value)
        else:
            public[key] = value
    return public


def _mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
