"""Amazon MQ for ActiveMQ over STOMP through stomp.py: a producer that waits for
receipts and a consumer that acknowledges each message.

stomp.py reads frames in a receiver thread, which gevent's monkey-patching (done by
importing locust first) turns into a greenlet. Its listener only puts each frame on
a gevent queue, and the user's greenlet takes the frames from there. Every wait is
bounded, so a broker that stops responding turns into failures and never into a user
that hangs: connecting by --activemq-connect-timeout-s, a publish by
--activemq-publish-timeout-s, a receive by --activemq-receive-timeout-s, and a
silent connection by STOMP heartbeats.

NOTE: ActiveMQ has no backlog probe here. The statistics plugin replies with a
MapMessage, and ActiveMQ's STOMP converts one only with XStream on its classpath,
which Debian's activemq package does not ship: the broker logs NoClassDefFoundError
and no reply reaches a STOMP client.
"""

import logging
import re
import secrets
import time
from dataclasses import dataclass, field

import gevent
import gevent.queue
import locust
import stomp
import stomp.exception

from users.base import ConsumerUser, ProducerUser
from users.envelope import STAMP_ATTRIBUTE, Stamp, padded_payload
from users.errors import BrokerError, ConfigError, translate
from users.timing import elapsed_ms

logger = logging.getLogger(__name__)

__all__ = ["ActiveMQConsumerUser", "ActiveMQProducerUser", "StompOptions"]

REQUEST_TYPE = "ActiveMQ"
LOCAL_STOMP_HOST = "127.0.0.1"
DEFAULT_STOMP_PORT = 61613
DEFAULT_QUEUE = "/queue/msgload-activemq"
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_PUBLISH_TIMEOUT_S = 10.0
DEFAULT_RECEIVE_TIMEOUT_S = 1.0
DEFAULT_PREFETCH_SIZE = 100
HEARTBEAT_MS = 10_000
CLOSE_TIMEOUT_S = 2.0
MAX_FRAMES_PER_RECEIVE = 1000
QUEUE_PREFIX = "/queue/"

PASSCODE_PATTERN = re.compile(r"(passcode:)[^\\'\"\s]+")


class PasscodeFilter(logging.Filter):
    """Masks STOMP passcodes in stomp.py's log records.

    stomp.py 9.0.0 logs every frame it sends at DEBUG, and its own masking misses
    the CONNECT frame because it logs the frame's lines as bytes. Each passcode a
    session uses is registered here and masked wherever it appears, in plain and
    in bytes-repr form.
    """

    def __init__(self) -> None:
        super().__init__()
        self.passcodes: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "passcode:" not in message and not self.passcodes:
            return True
        for passcode in self.passcodes:
            escaped = repr(passcode.encode())[2:-1]
            message = message.replace(passcode, "****").replace(escaped, "****")
        record.msg = PASSCODE_PATTERN.sub(r"\1****", message)
        record.args = ()
        return True


PASSCODE_FILTER = PasscodeFilter()
# stomp.py logs each refused connection attempt as a warning, and the failure is
# already in Locust's stats with its code, once per attempt.
logging.getLogger("stomp.py").setLevel(logging.ERROR)
logging.getLogger("stomp.py").addFilter(PASSCODE_FILTER)


@locust.events.init_command_line_parser.add_listener
def add_activemq_arguments(parser) -> None:
    """Register the ActiveMQ (STOMP) options on Locust's argument parser."""
    option = parser.add_argument
    option(
        "--stomp-host",
        default="",
        help=f"host of ActiveMQ's STOMP connector (local default {LOCAL_STOMP_HOST})",
    )
    option(
        "--stomp-port",
        type=int,
        default=DEFAULT_STOMP_PORT,
        help="port of ActiveMQ's STOMP connector (Amazon MQ: 61614 with --stomp-tls)",
    )
    option("--stomp-user", default="", help="STOMP login; empty sends none")
    option(
        "--stomp-password",
        default="",
        # Locust's web page carries every option's value in clear, masked only in
        # the input box, so a secret stays on the command line.
        include_in_web_ui=False,
        help="STOMP passcode; empty sends none",
    )
    option(
        "--stomp-tls",
        action="store_true",
        default=False,
        help="connect to STOMP over TLS, as Amazon MQ requires",
    )
    option(
        "--activemq-queue",
        default=DEFAULT_QUEUE,
        help="ActiveMQ destination, /queue/NAME; ActiveMQ creates it on first use",
    )
    for name, default, what in (
        ("connect", DEFAULT_CONNECT_TIMEOUT_S, "to connect and subscribe over STOMP"),
        ("publish", DEFAULT_PUBLISH_TIMEOUT_S, "to wait for the receipts of a batch"),
        ("receive", DEFAULT_RECEIVE_TIMEOUT_S, "a consumer waits for a message"),
    ):
        option(
            f"--activemq-{name}-timeout-s",
            type=float,
            default=default,
            help=f"seconds {what}",
        )


@dataclass(frozen=True)
class StompOptions:
    """The ActiveMQ options of one run, read from Locust's parsed options."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    tls: bool
    queue: str
    connect_timeout_s: float
    publish_timeout_s: float
    receive_timeout_s: float

    @classmethod
    def from_settings(cls, settings) -> "StompOptions":
        options = settings.options
        local = settings.target == "local"
        return cls(
            host=options.stomp_host or (LOCAL_STOMP_HOST if local else ""),
            port=options.stomp_port,
            user=options.stomp_user,
            password=options.stomp_password,
            tls=options.stomp_tls,
            queue=options.activemq_queue,
            connect_timeout_s=options.activemq_connect_timeout_s,
            publish_timeout_s=options.activemq_publish_timeout_s,
            receive_timeout_s=options.activemq_receive_timeout_s,
        )

    def check(self) -> None:
        """Raise ConfigError naming the first wrong option and how to fix it."""
        if not self.host:
            raise ConfigError(
                "--stomp-host is required with --target aws; pass the broker's "
                "endpoint host, b-ID-1.mq.REGION.amazonaws.com, with --stomp-tls."
            )
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"--stomp-port must be 1 to 65535 (got {self.port}).")
        if not self.queue.startswith(QUEUE_PREFIX) or self.queue == QUEUE_PREFIX:
            raise ConfigError(
                f"--activemq-queue must be a queue destination such as {DEFAULT_QUEUE} "
                f"(got {self.queue!r})."
            )
        for name in ("connect", "publish", "receive"):
            if getattr(self, f"{name}_timeout_s") <= 0:
                raise ConfigError(f"--activemq-{name}-timeout-s must be above 0.")


class FrameQueue(stomp.ConnectionListener):
    """A stomp.py listener that hands every frame to the user's greenlet.

    It runs in stomp.py's receiver greenlet and only puts (command, frame) pairs on
    a gevent queue. A lost connection arrives as ("DISCONNECTED", None).
    """

    def __init__(self) -> None:
        self.frames: gevent.queue.Queue = gevent.queue.Queue()

    def on_connected(self, frame) -> None:
        self.frames.put(("CONNECTED", frame))

    def on_message(self, frame) -> None:
        self.frames.put(("MESSAGE", frame))

    def on_receipt(self, frame) -> None:
        self.frames.put(("RECEIPT", frame))

    def on_error(self, frame) -> None:
        self.frames.put(("ERROR", frame))

    def on_disconnected(self) -> None:
        self.frames.put(("DISCONNECTED", None))


def frame_failure(command: str, frame, stomp_options: StompOptions) -> BrokerError:
    """Return an unexpected frame as a BrokerError: an ERROR frame under its message
    header, a lost connection as ConnectionClosed."""
    if command == "ERROR":
        code = frame.headers.get("message") or "ERROR"
        body = str(frame.body or "").strip().split("\n", 1)[0]
        return BrokerError(code, body[:200])
    where = f"{stomp_options.host}:{stomp_options.port}"
    if command == "DISCONNECTED":
        return BrokerError("ConnectionClosed", f"STOMP connection to {where} closed")
    return BrokerError("UnexpectedFrame", f"{command} from {where}")


class StompSession:
    """One STOMP 1.2 connection and the queue of frames its listener received."""

    def __init__(self, stomp_options: StompOptions) -> None:
        self.options = stomp_options
        if stomp_options.password:
            PASSCODE_FILTER.passcodes.add(stomp_options.password)
        self.listener = FrameQueue()
        self.connection = stomp.Connection12(
            [(stomp_options.host, stomp_options.port)],
            reconnect_attempts_max=1,
            timeout=stomp_options.connect_timeout_s,
            heartbeats=(HEARTBEAT_MS, HEARTBEAT_MS),
        )
        if stomp_options.tls:
            # NOTE: TLS (Amazon MQ's stomp+ssl endpoint) was not run here, because
            # the local broker offers plain STOMP only.
            self.connection.set_ssl(
                for_hosts=[(stomp_options.host, stomp_options.port)]
            )
        self.connection.set_listener("msgload", self.listener)

    @property
    def frames(self) -> gevent.queue.Queue:
        return self.listener.frames

    def open(self) -> None:
        """Connect and wait for CONNECTED; raise BrokerError when it does not come."""
        options = self.options
        timeout = BrokerError(
            "ConnectTimeout",
            f"no CONNECTED frame from {options.host}:{options.port} within "
            f"{options.connect_timeout_s:g} s",
            retriable=True,
        )
        with gevent.Timeout(options.connect_timeout_s, timeout):
            self.connection.connect(
                username=options.user or None,
                passcode=options.password or None,
                wait=False,
            )
            command, frame = self.frames.get()
        if command != "CONNECTED":
            raise frame_failure(command, frame, options)

    def wait_for_receipt(self, receipt: str) -> None:
        """Wait for the RECEIPT receipt within the connect timeout."""
        timeout = BrokerError("ReceiptTimeout", f"no RECEIPT {receipt}")
        with gevent.Timeout(self.options.connect_timeout_s, timeout):
            command, frame = self.frames.get()
        if command != "RECEIPT" or frame.headers.get("receipt-id") != receipt:
            raise frame_failure(command, frame, self.options)

    def close(self) -> None:
        """Disconnect within CLOSE_TIMEOUT_S, then close the socket in any case."""
        try:
            with gevent.Timeout(CLOSE_TIMEOUT_S, False):
                self.connection.disconnect(receipt=secrets.token_hex(4))
        except (stomp.exception.StompException, OSError) as error:
            logger.debug("Disconnecting from STOMP failed: %r", error)
        self.connection.transport.disconnect_socket()


class ActiveMQUserMixin:
    """The connection and settings check that ActiveMQ users share."""

    session: StompSession | None = None
    connect_failures = 0

    @classmethod
    def check_settings(cls, settings) -> None:
        StompOptions.from_settings(settings).check()

    def prepare_session(self, session: StompSession) -> None:
        """Set up a newly opened session for this user's role."""

    def connect(self, name: str) -> bool:
        """Open the user's session unless it is open; report a failure as name."""
        if self.session is not None:
            return True
        session = StompSession(self.stomp)
        try:
            session.open()
            self.prepare_session(session)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            session.close()
            self.report_failure(name, error)
            self.log_connect_failure(error)
            self.wait_after_failure()
            return False
        self.session = session
        self.connect_failures = 0
        logger.info(
            "Connected to STOMP %s:%s for %s",
            self.stomp.host,
            self.stomp.port,
            self.stomp.queue,
        )
        return True

    def log_connect_failure(self, error: BaseException) -> None:
        # One warning per outage and user, because the stats count every attempt.
        self.connect_failures += 1
        if self.connect_failures == 1:
            logger.warning(
                "Cannot connect to STOMP %s:%s for %s, retrying: %s",
                self.stomp.host,
                self.stomp.port,
                self.stomp.queue,
                translate(error),
            )

    def disconnect(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def fail_and_disconnect(self, name: str, error: BaseException, count=1) -> None:
        self.report_failure(name, error, count)
        self.disconnect()
        self.wait_after_failure()

    def on_stop(self) -> None:
        self.disconnect()


class ActiveMQProducerUser(ActiveMQUserMixin, ProducerUser):
    """Sends stamped messages to --activemq-queue, reported as "SEND <queue>".

    Each SEND requests a receipt and the next SEND waits for it, as a JMS producer
    with synchronous sends does. Publish latency runs from the SEND to its RECEIPT
    frame; no receipt within --activemq-publish-timeout-s is a failure
    "ReceiptTimeout". The stamp travels in the STOMP header "msgload".
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "activemq"

    send_headers: dict = {"persistent": "true"}
    """Extra STOMP headers of every SEND. Persistent matches a JMS producer's
    default delivery mode."""

    def on_start(self) -> None:
        super().on_start()
        self.stomp = StompOptions.from_settings(self.settings)
        self.payload = padded_payload(self.settings.message_size_bytes).decode()
        self.send_name = f"SEND {self.stomp.queue}"
        self.connect(self.send_name)

    def publish(self) -> None:
        if not self.connect(self.send_name):
            return
        for _ in range(self.settings.batch_size):
            if not self.send(self.next_stamp()):
                return

    def send(self, stamp: Stamp) -> bool:
        """Send one message; return False when the connection had to be dropped."""
        receipt = str(stamp.seq)
        headers = {**self.send_headers, STAMP_ATTRIBUTE: stamp.encode()}
        timeout_s = self.stomp.publish_timeout_s
        timeout = BrokerError(
            "ReceiptTimeout",
            f"no RECEIPT from {self.stomp.queue} within {timeout_s:g} s",
            retriable=True,
        )
        started = time.perf_counter()
        start_time = time.time()
        try:
            with gevent.Timeout(timeout_s, timeout):
                self.session.connection.send(
                    self.stomp.queue, self.payload, headers=headers, receipt=receipt
                )
                self.await_receipt(receipt)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.fail_and_disconnect(self.send_name, error)
            return False
        took_ms = elapsed_ms(started)
        self.report(self.send_name, took_ms, len(self.payload), start_time_s=start_time)
        self.acked(stamp, self.stomp.queue)
        return True

    def await_receipt(self, receipt: str) -> None:
        """Wait for the RECEIPT of receipt; raise BrokerError on an ERROR frame or a
        lost connection."""
        while True:
            command, frame = self.session.frames.get()
            if command in ("ERROR", "DISCONNECTED"):
                raise frame_failure(command, frame, self.stomp)
            if command == "RECEIPT" and frame.headers.get("receipt-id") == receipt:
                return


class ActiveMQConsumerUser(ActiveMQUserMixin, ConsumerUser):
    """Subscribes to --activemq-queue with ack=client-individual and ACKs each
    message after reporting its end-to-end latency.

    Each receive waits up to --activemq-receive-timeout-s for the first message and
    takes whatever else has arrived, reported as "MESSAGE <queue>" (or "MESSAGE
    (empty) <queue>"). A queue delivers to each subscription in queue order, so
    order is checked per subscription: consumers that share a queue each see an
    ordered part of it, not the whole sequence.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "activemq"

    prefetch_size: int = DEFAULT_PREFETCH_SIZE
    """Unacknowledged messages ActiveMQ may push to one subscription."""

    def on_start(self) -> None:
        super().on_start()
        self.stomp = StompOptions.from_settings(self.settings)
        self.message_name = f"MESSAGE {self.stomp.queue}"
        self.subscription_id = ""
        self.connect(self.message_name)

    def prepare_session(self, session: StompSession) -> None:
        self.subscription_id = secrets.token_hex(4)
        receipt = f"subscribe-{self.subscription_id}"
        session.connection.subscribe(
            self.stomp.queue,
            id=self.subscription_id,
            ack="client-individual",
            headers={"activemq.prefetchSize": str(self.prefetch_size)},
            receipt=receipt,
        )
        session.wait_for_receipt(receipt)

    def consume(self) -> None:
        if not self.connect(self.message_name):
            return
        queue = self.stomp.queue
        started = time.perf_counter()
        frames = self.receive()
        took_ms = elapsed_ms(started)
        messages = [frame for command, frame in frames if command == "MESSAGE"]
        problems = [pair for pair in frames if pair[0] in ("ERROR", "DISCONNECTED")]
        if not frames:
            self.report(f"MESSAGE (empty) {queue}", took_ms)
            return
        if messages:
            size = sum(len(frame.body or "") for frame in messages)
            self.report(self.message_name, took_ms, size)
            order_key = f"{queue} {self.subscription_id}"
            for frame in messages:
                self.consumed(self.stamp_of(frame), queue, order_key)
            self.ack(messages)
        if problems:
            command, frame = problems[0]
            error = frame_failure(command, frame, self.stomp)
            self.fail_and_disconnect(self.message_name, error)

    def receive(self) -> list[tuple[str, object]]:
        """Return the frames that arrive within the receive timeout, at most
        MAX_FRAMES_PER_RECEIVE; an empty list when none did."""
        frames = self.session.frames
        try:
            first = frames.get(timeout=self.stomp.receive_timeout_s)
        except gevent.queue.Empty:
            return []
        received = [first]
        while len(received) < MAX_FRAMES_PER_RECEIVE and not frames.empty():
            received.append(frames.get_nowait())
        return received

    def ack(self, messages: list) -> None:
        name = f"ACK {self.stomp.queue}"
        timeout = BrokerError("AckTimeout", f"ACK to {self.stomp.queue} blocked")
        try:
            with gevent.Timeout(self.stomp.publish_timeout_s, timeout):
                for frame in messages:
                    self.session.connection.ack(frame.headers["ack"])
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.fail_and_disconnect(name, error)

    @staticmethod
    def stamp_of(frame) -> Stamp | None:
        value = frame.headers.get(STAMP_ATTRIBUTE)
        return None if value is None else Stamp.decode(value)
