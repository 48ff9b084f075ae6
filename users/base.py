"""Base user classes: a producer that stamps and paces, a consumer of stamps."""

import itertools
import logging
import secrets
import time

import gevent
from locust import User, task
from locust.exception import StopUser

from users.envelope import Stamp
from users.errors import BatchEntryError, translate
from users.timing import report

logger = logging.getLogger(__name__)

__all__ = ["ConsumerUser", "MsgloadUser", "ProducerUser"]

IDLE_WHILE_DRAINING_S = 0.5
RETRY_CONNECT_S = 1.0


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
        if self.run.settings is None:
            raise StopUser()
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

        failed holds AWS's BatchResultErrorEntry shape: Id, Code, Message.
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
    """

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.producer_id = f"{secrets.token_hex(4)}"
        self._seq = itertools.count()
        self._next_task_s = time.monotonic()

    def next_stamp(self) -> Stamp:
        return Stamp.now(self.run.run_id, self.producer_id, next(self._seq))

    def acked(self, stamp: Stamp) -> None:
        self.run.ledger.record_acked(self.service, stamp, time.time())

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
