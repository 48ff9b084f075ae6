"""ActiveMQ Classic from Debian, the local stand-in for Amazon MQ for ActiveMQ.

The broker runs in the foreground under java with a configuration written into the
state folder: one STOMP connector on 127.0.0.1, no OpenWire, no persistence, no JMX
and no web console. The statistics plugin is on, so a client can read a queue's depth
over STOMP by sending to ActiveMQ.Statistics.Destination.<queue> with a reply-to.
"""

import logging
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from stack.brokers import Broker
from stack.process import StateDir
from stack.rabbitmq import (
    debian_package_unavailable_reason,
    install_debian_brokers,
    require_listener,
)

logger = logging.getLogger(__name__)

__all__ = ["ActiveMQBroker"]

DEFAULT_ACTIVEMQ_PORT = 61613
DEFAULT_ACTIVEMQ_START_TIMEOUT_S = 90.0
DEFAULT_ACTIVEMQ_MAX_HEAP_MB = 512
DEFAULT_CHECK_TIMEOUT_S = 5.0
ACTIVEMQ_HOME = Path("/usr/share/activemq")
ACTIVEMQ_JAR = ACTIVEMQ_HOME / "bin" / "activemq.jar"

# The module options that Debian's /usr/bin/activemq passes to a Java 9+ runtime.
JAVA_MODULE_OPTIONS = [
    "--add-reads=java.xml=java.logging",
    "--add-opens=java.base/java.security=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.naming/javax.naming.spi=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
]

BROKER_XML = """\
<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans
    http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
    http://activemq.apache.org/schema/core
    http://activemq.apache.org/schema/core/activemq-core.xsd">
  <!-- Written by msgload's stack/activemq.py; rewritten at every start. -->
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="msgload"
          useJmx="false" persistent="false" schedulerSupport="false"
          dataDirectory={data_dir}>
    <managementContext>
      <managementContext createConnector="false"/>
    </managementContext>
    <plugins>
      <statisticsBrokerPlugin/>
    </plugins>
    <transportConnectors>
      <transportConnector name="stomp" uri={stomp_uri}/>
    </transportConnectors>
  </broker>
</beans>
"""

# ActiveMQ 5.17 in Debian logs through log4j 1.2, which reads this from the classpath.
LOG4J_PROPERTIES = """\
log4j.rootLogger=INFO, stdout
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d{ISO8601} %-5p %c{1} - %m%n
"""


@dataclass
class ActiveMQBroker(Broker):
    """ActiveMQ Classic 5.17 (Debian bookworm) speaking STOMP."""

    name = "activemq"
    port_option = "--activemq-port (make: ACTIVEMQ_PORT)"
    port: int = DEFAULT_ACTIVEMQ_PORT
    start_timeout_s: float = DEFAULT_ACTIVEMQ_START_TIMEOUT_S
    max_heap_mb: int = DEFAULT_ACTIVEMQ_MAX_HEAP_MB

    def available(self) -> str | None:
        reason = debian_package_unavailable_reason("activemq", ACTIVEMQ_JAR)
        if reason is None and shutil.which("java") is None:
            reason = "no java runtime is on PATH; install openjdk-17-jre-headless"
        return reason

    def start(self, state: StateDir) -> str:
        if state.running_pid(self.name) is None and not ACTIVEMQ_JAR.exists():
            install_debian_brokers()
        return super().start(state)

    def command(self, state: StateDir) -> list[str]:
        data = state.data_path(self.name)
        config = self._write_config(data)
        return [
            shutil.which("java") or "java",
            f"-Xmx{self.max_heap_mb}m",
            "-Djava.net.preferIPv4Stack=true",
            "-Djava.awt.headless=true",
            *JAVA_MODULE_OPTIONS,
            f"-Dactivemq.home={ACTIVEMQ_HOME}",
            f"-Dactivemq.base={data}",
            f"-Dactivemq.conf={data / 'conf'}",
            f"-Dactivemq.data={data / 'data'}",
            f"-Dactivemq.classpath={data / 'conf'}",
            "-jar",
            str(ACTIVEMQ_JAR),
            "start",
            f"xbean:file:{config}",
        ]

    def _write_config(self, data: Path) -> Path:
        """Write activemq.xml and log4j.properties into the broker's folder."""
        conf = data / "conf"
        conf.mkdir(exist_ok=True)
        (data / "data").mkdir(exist_ok=True)
        (conf / "log4j.properties").write_text(LOG4J_PROPERTIES)
        config = conf / "activemq.xml"
        config.write_text(
            BROKER_XML.format(
                data_dir=quoteattr(str(data / "data")),
                stomp_uri=quoteattr(f"stomp://127.0.0.1:{self.port}"),
            )
        )
        return config

    def check(self) -> None:
        import stomp

        require_listener(self.port)
        connection = stomp.Connection12(
            [("127.0.0.1", self.port)],
            reconnect_attempts_max=1,
            timeout=DEFAULT_CHECK_TIMEOUT_S,
        )
        listener = _ReceiptListener()
        connection.set_listener("msgload-check", listener)
        connection.connect(wait=False)
        try:
            _wait_for(listener.connected, "CONNECTED frame")
            receipt = f"msgload-check-{uuid.uuid4().hex[:8]}"
            listener.expect(receipt)
            connection.send(
                f"/topic/msgload-check-{uuid.uuid4().hex[:8]}", "check", receipt=receipt
            )
            _wait_for(listener.received, f"RECEIPT {receipt}")
        finally:
            connection.disconnect()


class _ReceiptListener:
    """A stomp.py listener that records the CONNECTED frame and one expected receipt."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.received = threading.Event()
        self._receipt: str | None = None

    def expect(self, receipt: str) -> None:
        self._receipt = receipt

    def on_connected(self, frame) -> None:
        self.connected.set()

    def on_receipt(self, frame) -> None:
        if frame.headers.get("receipt-id") == self._receipt:
            self.received.set()


def _wait_for(event: threading.Event, frame_name: str) -> None:
    if not event.wait(DEFAULT_CHECK_TIMEOUT_S):
        raise TimeoutError(
            f"Timed out after {DEFAULT_CHECK_TIMEOUT_S:.0f} s waiting for {frame_name}"
        )
