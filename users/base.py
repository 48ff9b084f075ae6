"""Base user classes: a producer that stamps and paces, a consumer of stamps."""

import itertools
import logging
import secrets
import time

import gevent
from locust import User, task

from users.envelope import Stamp
from users.errors import BatchEntryError, translate
from users.timing import report

logger = logging.getLogger(__name__)

__all__ = ["ConsumerUser", "MsgloadUser", "ProducerUser"]

IDLE_WHILE_DRAINING_S = 0.5
RETRY_CONNECT_S = 1.0
CONFIG_ERROR_WAIT_S = 0.5
INTENDED_TO_ACK = "intended-to-ack"
# Intended send times of messages not yet acknowledged, per producer user. A send
# that fails is never acknowledged, so past this many the oldest entries are
# dropped and their messages, if acknowledged after all, get no intended-time
# sample.
MAX_INTENDED_PENDING = 100_000


class MsgloadUser(User):
    """A Locust user of one messaging service, reporting under its service label."""

    abstract = True

    service: str = "base"
    """Label of the service: Locust's request type and the row in the summary."""

    broker: str = ""
    """The local broker that serves this service: moto, kafka, rabbitmq, activemq."""

    @classmethod
    def check_settings(cls, settings) -> None:
        """Raise ConfigError when settings cannot work for this user class."""

    def on_start(self) -> None:
        self.run = self.environment.msgload
        # The plugin stops a test whose options failed the check. The user waits for
        # that, because Locust logs a raised StopUser with a traceback per user.
        while self.run.settings is None:
            gevent.sleep(CONFIG_ERROR_WAIT_S)
        self.settings = self.run.settings

    def report(self, name: str, response_time_ms: float, length: int = 0, **kw) -> None:
        report(self.environment, self.service, name, response_time_ms, length, **kw)

    def report_failure(self, name: str, error: BaseException, count: int = 1) -> None:
        """Report error as count failures of name, under the service's error code.

        The failures carry no response time, so a call that failed at once does not
        pull the latency percentiles of name down.
        """
        failure = translate(error)
        for _ in range(count):
            report(self.environment, self.service, name, None, 0, exception=failure)
        logger.debug("%s %s failed: %s", self.service, name, failure)

    def report_failed_entries(
        self, name: str, failed: list[dict], response_time_ms: float
    ) -> None:
        """Report each failed entry of a batch response with its own error code.

        failed has AWS's BatchResultErrorEntry shape: Id, Code, Message.
        """
        for entry in failed:
            error = BatchEntryError(
                entry.get("Code", "Unknown"), entry.get("Message", "")
            )
            self.report(name, response_time_ms, 0, exception=error)

    def wait_after_failure(self) -> None:
        # Keeps a dead broker from turning the user into a busy loop.
        gevent.sleep(RETRY_CONNECT_S)


class ProducerUser(MsgloadUser):
    """Publishes stamped messages, paced to --publish-rate when it is above zero.

    Each task publishes --batch-size messages. Publishing stops when the run's drain
    period starts; the user then idles so the consumers can empty the backlog.

    With --publish-rate above zero (the open model) each message also gets an
    "intended-to-ack <target>" sample: the time from the start of the schedule slot
    its task was due in to its acknowledgement. A broker that stalls makes the
    sender fall behind its schedule, and the publish call's own latency does not
    show that wait; this entry does (coordinated omission).
    """

    abstract = True
    _pacing = False

    def on_start(self) -> None:
        super().on_start()
        self.producer_id = f"{secrets.token_hex(4)}"
        self._seq = itertools.count()
        self._next_task_s = time.monotonic()
        self._pacing = self.settings.publish_rate > 0
        self._task_intended_s = self._next_task_s
        self._intended_s: dict[int, float] = {}

    def next_stamp(self) -> Stamp:
        stamp = Stamp.now(self.run.run_id, self.producer_id, next(self._seq))
        if self._pacing:
            self._note_intended(stamp.seq)
        return stamp

    def _note_intended(self, seq: int) -> None:
        intended = self._intended_s
        intended[seq] = self._task_intended_s
        if len(intended) > MAX_INTENDED_PENDING:
            del intended[next(iter(intended))]

    def acked(self, stamp: Stamp, target: str) -> None:
        """Record stamp as acknowledged by the queue, topic or stream target, which
        also names the intended-time entry in constant-rate mode."""
        self.run.ledger.record_acked(self.service, stamp, time.time())
        if not self._pacing:
            return
        intended_s = self._intended_s.pop(stamp.seq, None)
        if intended_s is None:
            return
        latency_ms = (time.monotonic() - intended_s) * 1000.0
        report(
            self.environment, self.service, f"{INTENDED_TO_ACK} {target}", latency_ms
        )

    def report_batch_response(
        self,
        name: str,
        sent: tuple[list[dict], list],
        response: dict,
        took_ms: float,
        start_time_s: float,
        body_key: str,
    ) -> None:
        """Report an AWS batch response (SendMessageBatch, PublishBatch): one
        success per Successful entry, acknowledged in the ledger, and one failure
        per Failed entry with its code.

        sent is the entries and their stamps, in the same order.
        """
        entries, stamps = sent
        target = name.partition(" ")[2]
        pairs = zip(entries, stamps, strict=True)
        by_id = {entry["Id"]: (entry, stamp) for entry, stamp in pairs}
        for success in response.get("Successful", []):
            entry, stamp = by_id[success["Id"]]
            size = len(entry[body_key])
            self.report(name, took_ms, size, start_time_s=start_time_s)
            self.acked(stamp, target)
        self.report_failed_entries(name, response.get("Failed", []), took_ms)

    def wait_time(self) -> float:
        rate = self.settings.publish_rate
        if rate <= 0:
            return 0.0
        # The schedule advances by whole intervals, so a producer that fell behind
        # sends the missed batches at once instead of silently lowering the rate.
        self._next_task_s += self.settings.batch_size / rate
        return max(0.0, self._next_task_s - time.monotonic())

    @task
    def publish_task(self) -> None:
        if not self.run.publishing:
            gevent.sleep(IDLE_WHILE_DRAINING_S)
            self._next_task_s = time.monotonic()
            return
        # wait_time has set _next_task_s to this task's slot in the schedule.
        self._task_intended_s = self._next_task_s
        self.publish()

    def publish(self) -> None:
        raise NotImplementedError


class ConsumerUser(MsgloadUser):
    """Receives messages and reports each one's end-to-end latency.

    End-to-end latency runs from the producer's stamp (taken just before the publish
    call) to the moment the consumer has the message in hand, before it is deleted
    or acknowledged. It is reported as "end-to-end <target>" under the service label.
    """

    abstract = True

    def wait_time(self) -> float:
        return 0.0

    @task
    def consume_task(self) -> None:
        self.consume()

    def consume(self) -> None:
        raise NotImplementedError

    def consumed(self, stamp: Stamp | None, target: str, order_key=None) -> None:
        received_at_s = time.time()
        if stamp is None:
            return
        if not self.run.ledger.record_consumed(self.service, stamp, order_key):
            return
        self.report(f"end-to-end {target}", stamp.end_to_end_ms(received_at_s))
