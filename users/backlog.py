"""Sample each service's backlog once per interval for the whole run into backlog.csv.

Only the master (or the single process of a local run) samples, so a run has one
series per resource however many users and workers it has. Each user class may
offer a probe with its `backlog_probe(settings, run)` class method; a probe
returns (service, resource, metric, value) rows.
"""

import csv
import logging
import time
from collections.abc import Callable

import gevent

from users.errors import translate
from users.run import utc_now

logger = logging.getLogger(__name__)

__all__ = ["BACKLOG_COLUMNS", "BacklogSampler", "Probe"]

BACKLOG_COLUMNS = ["timestamp", "service", "resource", "metric", "value"]
# Metrics that count messages; iterator_age_ms is a time and stays out of counts.
MESSAGE_COUNT_METRICS = {
    "visible",
    "in_flight",
    "delayed",
    "consumer_lag",
    "queue_depth",
}
Probe = Callable[[], list[tuple[str, str, str, float]]]


class BacklogSampler:
    """A greenlet that runs every probe of the scenario each --backlog-interval-s."""

    def __init__(self, environment, run) -> None:
        self.run = run
        self.interval_s = run.settings.backlog_interval_s
        self.probes: dict[str, Probe] = {}
        for user_class in environment.user_classes:
            factory = getattr(user_class, "backlog_probe", None)
            if factory is None:
                continue
            key_and_probe = factory(run.settings, run)
            if key_and_probe is not None:
                key, probe = key_and_probe
                self.probes.setdefault(key, probe)
        self.path = None if run.run_dir is None else run.run_dir / "backlog.csv"
        self.greenlet: gevent.Greenlet | None = None
        self._failures_logged: set[str] = set()
        self.last_values: dict[tuple[str, str, str], float] = {}
        """The latest value of each (service, resource, metric)."""
        self.totals: list[tuple] = []
        """(time, backlog summed over every resource) of each complete sample."""

    def start(self) -> None:
        if self.path is None or not self.probes:
            return
        new_file = not self.path.exists()
        self._file = open(self.path, "a", newline="")
        self._writer = csv.writer(self._file)
        if new_file:
            self._writer.writerow(BACKLOG_COLUMNS)
        self.greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        # The first sample waits one interval, so the users have created their
        # queues, topics and streams by then.
        next_sample = time.monotonic()
        while True:
            next_sample += self.interval_s
            gevent.sleep(max(0.0, next_sample - time.monotonic()))
            self.sample_once()

    def sample_once(self) -> None:
        total = 0.0
        complete = True
        for key, probe in self.probes.items():
            timestamp = utc_now().isoformat()
            try:
                rows = probe()
            except Exception as error:  # noqa: BLE001 - a missed sample, logged once per probe
                if key not in self._failures_logged:
                    self._failures_logged.add(key)
                    logger.warning(
                        "Backlog of %s not sampled: %s", key, translate(error)
                    )
                complete = False
                continue
            for service, resource, metric, value in rows:
                self._writer.writerow([timestamp, service, resource, metric, value])
                self.last_values[(service, resource, metric)] = value
                total += value
        self._file.flush()
        if complete:
            self.totals.append((utc_now(), total))

    def messages_waiting(self, service: str) -> int:
        """Return the messages still waiting in service's backlog at the last sample."""
        return int(
            sum(
                value
                for (name, _resource, metric), value in self.last_values.items()
                if name == service and metric in MESSAGE_COUNT_METRICS
            )
        )

    def drain_s(self, publishing_stopped_at) -> float | None:
        """Return seconds from publishing_stopped_at to the first sample with no
        backlog at all, or None when the backlog never reached zero."""
        if publishing_stopped_at is None:
            return None
        for moment, total in self.totals:
            if moment >= publishing_stopped_at and total == 0:
                return round((moment - publishing_stopped_at).total_seconds(), 3)
        return None

    def stop(self) -> None:
        if self.greenlet is None:
            return
        self.greenlet.kill(block=True)
        self.greenlet = None
        self.sample_once()
        self._file.close()
