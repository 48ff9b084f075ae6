"""Amazon MQ for RabbitMQ through pika: a producer with publisher confirms and a
consumer with manual acknowledgements.

Each user opens its own BlockingConnection. Every call into pika is bounded, so a
broker that stops responding turns into failures and never into a user that hangs:
the connection by pika's stack timeout, a publish by --rabbitmq-publish-timeout-s
(a gevent timeout around the wait for the confirm), a receive by
--rabbitmq-receive-timeout-s.
"""

import logging
import time
import urllib.parse
from dataclasses import dataclass, field

import gevent
import locust
import pika
import pika.exceptions

from users.base import ConsumerUser, ProducerUser
from users.envelope import STAMP_ATTRIBUTE, Stamp, padded_payload
from users.errors import BrokerError, ConfigError, translate
from users.timing import elapsed_ms

logger = logging.getLogger(__name__)

__all__ = [
    "RabbitMQConsumerUser",
    "RabbitMQOptions",
    "RabbitMQProducerUser",
    "masked_url",
]

REQUEST_TYPE = "RabbitMQ"
LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_QUEUE = "msgload-rabbitmq"
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_PUBLISH_TIMEOUT_S = 10.0
DEFAULT_RECEIVE_TIMEOUT_S = 1.0
DEFAULT_PREFETCH_COUNT = 100
CLOSE_TIMEOUT_S = 2.0
# process_data_events returns by its own time limit; this margin only backs it up.
RECEIVE_MARGIN_S = 2.0
MAX_QUEUE_NAME_BYTES = 255

# pika logs every connection step at INFO and each failed connection at ERROR with
# a traceback. The users report each failure with its code and log a warning.
logging.getLogger("pika").setLevel(logging.CRITICAL)


@locust.events.init_command_line_parser.add_listener
def add_rabbitmq_arguments(parser) -> None:
    """Register the RabbitMQ options on Locust's argument parser."""
    option = parser.add_argument
    option(
        "--amqp-url",
        default="",
        # Locust's web page carries every option's value in clear, masked only in
        # the input box, so a secret stays on the command line.
        include_in_web_ui=False,
        help="AMQP URL of the RabbitMQ broker, amqp[s]://USER:PASSWORD@HOST:PORT/VHOST"
        f" (local default {masked_url(LOCAL_AMQP_URL)}, guest's password)",
    )
    option(
        "--rabbitmq-queue",
        default=DEFAULT_QUEUE,
        help="RabbitMQ queue, declared if missing",
    )
    option(
        "--rabbitmq-durable",
        action="store_true",
        default=False,
        help="declare the RabbitMQ queue durable and publish persistent messages",
    )
    option(
        "--rabbitmq-connect-timeout-s",
        type=float,
        default=DEFAULT_CONNECT_TIMEOUT_S,
        help="seconds to open an AMQP connection and channel",
    )
    option(
        "--rabbitmq-publish-timeout-s",
        type=float,
        default=DEFAULT_PUBLISH_TIMEOUT_S,
        help="seconds to wait for the publisher confirm of one message",
    )
    option(
        "--rabbitmq-receive-timeout-s",
        type=float,
        default=DEFAULT_RECEIVE_TIMEOUT_S,
        help="seconds a consumer waits for deliveries in one receive",
    )


def masked_url(url: str) -> str:
    """Return url with its password replaced by ****, for logs and messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:****@{host}{port}"))


@dataclass(frozen=True)
class RabbitMQOptions:
    """The RabbitMQ options of one run, read from Locust's parsed options."""

    url: str = field(repr=False)
    queue: str
    durable: bool
    connect_timeout_s: float
    publish_timeout_s: float
    receive_timeout_s: float

    @classmethod
    def from_settings(cls, settings) -> "RabbitMQOptions":
        options = settings.options
        local = settings.target == "local"
        return cls(
            url=options.amqp_url or (LOCAL_AMQP_URL if local else ""),
            queue=options.rabbitmq_queue,
            durable=options.rabbitmq_durable,
            connect_timeout_s=options.rabbitmq_connect_timeout_s,
            publish_timeout_s=options.rabbitmq_publish_timeout_s,
            receive_timeout_s=options.rabbitmq_receive_timeout_s,
        )

    def check(self) -> None:
        """Raise ConfigError naming the first wrong option and how to fix it."""
        if not self.url:
            raise ConfigError(
                "--amqp-url is required with --target aws; pass the broker's AMQPS "
                "endpoint, amqps://USER:PASSWORD@b-ID.mq.REGION.amazonaws.com:5671."
            )
        if not self.url.startswith(("amqp://", "amqps://")):
            raise ConfigError(
                f"--amqp-url must start with amqp:// or amqps:// (got "
                f"{masked_url(self.url)!r}); for the local broker use "
                f"{masked_url(LOCAL_AMQP_URL)}."
            )
        size = len(self.queue.encode())
        if not 1 <= size <= MAX_QUEUE_NAME_BYTES:
            raise ConfigError(
                f"--rabbitmq-queue must be 1 to {MAX_QUEUE_NAME_BYTES} bytes long "
                f"(got {size})."
            )
        for name in ("connect", "publish", "receive"):
            if getattr(self, f"{name}_timeout_s") <= 0:
                raise ConfigError(f"--rabbitmq-{name}-timeout-s must be above 0.")

    def connection_parameters(self) -> pika.URLParameters:
        # NOTE: amqps:// (Amazon MQ's endpoint) was not run here, because the local
        # broker offers plain AMQP only.
        parameters = pika.URLParameters(self.url)
        parameters.connection_attempts = 1
        parameters.socket_timeout = self.connect_timeout_s
        parameters.stack_timeout = self.connect_timeout_s
        parameters.blocked_connection_timeout = self.publish_timeout_s
        return parameters

    def open_channel(self):
        """Open a connection and a channel, and declare the queue; return both."""
        connection = pika.BlockingConnection(self.connection_parameters())
        timeout = BrokerError(
            "ConnectTimeout",
            f"no channel on {masked_url(self.url)} within {self.connect_timeout_s:g} s",
            retriable=True,
        )
        try:
            with gevent.Timeout(self.connect_timeout_s, timeout):
                channel = connection.channel()
                channel.queue_declare(self.queue, durable=self.durable)
        except BaseException:
            close_quietly(connection)
            raise
        return connection, channel


def close_quietly(connection) -> None:
    """Close connection within CLOSE_TIMEOUT_S, logging instead of raising."""
    if connection is None or connection.is_closed:
        return
    try:
        with gevent.Timeout(CLOSE_TIMEOUT_S, False):
            connection.close()
    except (pika.exceptions.AMQPError, OSError) as error:
        logger.debug("Closing an AMQP connection failed: %r", error)


class QueueDepthReader:
    """Reads a queue's depth with a passive queue.declare, over one connection kept
    between samples.

    queue.declare returns the messages ready for delivery; messages delivered to a
    consumer and not yet acknowledged are not counted.
    """

    def __init__(self, service: str, amqp: RabbitMQOptions) -> None:
        self.service = service
        self.amqp = amqp
        self.connection = None
        self.channel = None

    def __call__(self) -> list[tuple[str, str, str, int]]:
        queue = self.amqp.queue
        timeout = BrokerError("QueueDeclareTimeout", f"no depth of {queue}")
        try:
            if self.channel is None or not self.channel.is_open:
                self.connection, self.channel = self.amqp.open_channel()
            with gevent.Timeout(
                self.amqp.receive_timeout_s + RECEIVE_MARGIN_S, timeout
            ):
                frame = self.channel.queue_declare(queue, passive=True)
        except BaseException:
            close_quietly(self.connection)
            self.connection = self.channel = None
            raise
        return [(self.service, queue, "queue_depth", frame.method.message_count)]


class RabbitMQUserMixin:
    """The connection, settings check and backlog probe that RabbitMQ users share."""

    connection = None
    channel = None
    connect_failures = 0

    @classmethod
    def check_settings(cls, settings) -> None:
        RabbitMQOptions.from_settings(settings).check()

    @classmethod
    def backlog_probe(cls, settings, run):
        """Return the probe of the queue's depth (messages ready for delivery)."""
        amqp = RabbitMQOptions.from_settings(settings)
        return f"{cls.service} {amqp.queue}", QueueDepthReader(cls.service, amqp)

    def prepare_channel(self, channel) -> None:
        """Set up a newly opened channel for this user's role."""

    def connect(self, name: str) -> bool:
        """Open the user's connection unless it is open; report a failure as name."""
        if self.channel is not None and self.channel.is_open:
            return True
        self.disconnect()
        try:
            self.connection, self.channel = self.amqp.open_channel()
            self.prepare_channel(self.channel)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.disconnect()
            self.report_failure(name, error)
            self.log_connect_failure(error)
            self.wait_after_failure()
            return False
        self.connect_failures = 0
        logger.info(
            "Connected to %s for queue %s", masked_url(self.amqp.url), self.amqp.queue
        )
        return True

    def log_connect_failure(self, error: BaseException) -> None:
        # One warning per outage and user, because the stats count every attempt.
        self.connect_failures += 1
        if self.connect_failures == 1:
            logger.warning(
                "Cannot connect to %s for queue %s, retrying: %s",
                masked_url(self.amqp.url),
                self.amqp.queue,
                translate(error),
            )

    def disconnect(self) -> None:
        close_quietly(self.connection)
        self.connection = self.channel = None

    def on_stop(self) -> None:
        self.disconnect()


class RabbitMQProducerUser(RabbitMQUserMixin, ProducerUser):
    """Publishes stamped messages to --rabbitmq-queue through the default exchange,
    reported as "basic.publish <queue>".

    Publisher confirms are on: publish latency runs from the basic.publish call to
    the broker's confirm. A nack, an unroutable message or no confirm within
    --rabbitmq-publish-timeout-s is a failure, never a success. The stamp travels
    in the AMQP header "msgload".
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "rabbitmq"

    def on_start(self) -> None:
        super().on_start()
        self.amqp = RabbitMQOptions.from_settings(self.settings)
        self.payload = padded_payload(self.settings.message_size_bytes)
        self.publish_name = f"basic.publish {self.amqp.queue}"
        self.connect(self.publish_name)

    def prepare_channel(self, channel) -> None:
        channel.confirm_delivery()

    def publish(self) -> None:
        if not self.connect(self.publish_name):
            return
        for _ in range(self.settings.batch_size):
            if not self.send(self.next_stamp()):
                return

    def message_properties(self, stamp: Stamp) -> pika.BasicProperties:
        mode = pika.DeliveryMode.Persistent if self.amqp.durable else None
        return pika.BasicProperties(
            headers={STAMP_ATTRIBUTE: stamp.encode()}, delivery_mode=mode
        )

    def send(self, stamp: Stamp) -> bool:
        """Publish one message; return False when the connection had to be dropped."""
        properties = self.message_properties(stamp)
        timeout_s = self.amqp.publish_timeout_s
        timeout = BrokerError(
            "PublishTimeout",
            f"no publisher confirm from {self.amqp.queue} within {timeout_s:g} s",
            retriable=True,
        )
        started = time.perf_counter()
        start_time = time.time()
        try:
            with gevent.Timeout(timeout_s, timeout):
                self.channel.basic_publish(
                    "", self.amqp.queue, self.payload, properties, mandatory=True
                )
        except (pika.exceptions.NackError, pika.exceptions.UnroutableError) as error:
            # The broker refused this message only; the channel stays usable.
            self.report_failure(self.publish_name, error)
            return True
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(self.publish_name, error)
            self.disconnect()
            self.wait_after_failure()
            return False
        took_ms = elapsed_ms(started)
        self.report(
            self.publish_name, took_ms, len(self.payload), start_time_s=start_time
        )
        self.acked(stamp, self.amqp.queue)
        return True


class RabbitMQConsumerUser(RabbitMQUserMixin, ConsumerUser):
    """Consumes --rabbitmq-queue with manual acknowledgements and checks order.

    Each receive waits up to --rabbitmq-receive-timeout-s for deliveries, reports
    them as "basic.deliver <queue>" (or "basic.deliver (empty) <queue>"), reports
    each message's end-to-end latency, then acknowledges them all with one
    basic.ack (multiple). A queue delivers to each consumer in queue order, so
    order is checked per consumer: consumers that share a queue each see an ordered
    part of it, not the whole sequence.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "rabbitmq"

    prefetch_count: int = DEFAULT_PREFETCH_COUNT
    """Unacknowledged messages the broker may push to one consumer (basic.qos)."""

    def on_start(self) -> None:
        super().on_start()
        self.amqp = RabbitMQOptions.from_settings(self.settings)
        self.deliveries: list = []
        self.consumer_tag = ""
        self.deliver_name = f"basic.deliver {self.amqp.queue}"
        self.connect(self.deliver_name)

    def prepare_channel(self, channel) -> None:
        self.deliveries = []
        channel.basic_qos(prefetch_count=self.prefetch_count)
        self.consumer_tag = channel.basic_consume(
            self.amqp.queue, self._on_delivery, auto_ack=False
        )

    def _on_delivery(self, _channel, method, properties, body) -> None:
        self.deliveries.append((method.delivery_tag, properties, body))

    def consume(self) -> None:
        if not self.connect(self.deliver_name):
            return
        queue = self.amqp.queue
        wait_s = self.amqp.receive_timeout_s
        timeout = BrokerError("ReceiveTimeout", f"receive from {queue} did not return")
        started = time.perf_counter()
        try:
            with gevent.Timeout(wait_s + RECEIVE_MARGIN_S, timeout):
                self.connection.process_data_events(time_limit=wait_s)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(self.deliver_name, error)
            self.disconnect()
            self.wait_after_failure()
            return
        took_ms = elapsed_ms(started)
        deliveries, self.deliveries = self.deliveries, []
        if not deliveries:
            self.report(f"basic.deliver (empty) {queue}", took_ms)
            return
        size = sum(len(body) for _tag, _properties, body in deliveries)
        self.report(self.deliver_name, took_ms, size)
        order_key = f"{queue} {self.consumer_tag}"
        for _tag, properties, _body in deliveries:
            self.consumed(self.stamp_of(properties), queue, order_key)
        self.ack(deliveries[-1][0])

    def ack(self, last_delivery_tag: int) -> None:
        try:
            self.channel.basic_ack(delivery_tag=last_delivery_tag, multiple=True)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(f"basic.ack {self.amqp.queue}", error)
            self.disconnect()

    @staticmethod
    def stamp_of(properties) -> Stamp | None:
        value = (properties.headers or {}).get(STAMP_ATTRIBUTE)
        return None if value is None else Stamp.decode(value)
