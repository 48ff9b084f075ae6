"""RabbitMQ from the Debian package, the local stand-in for Amazon MQ for RabbitMQ.

Every listener is on 127.0.0.1: AMQP on the broker's port, the Erlang distribution
port on that port + 20000 (RabbitMQ's own convention, 5672 -> 25672), and epmd,
which this stack runs in the broker's process group, so stopping the broker stops
it too. The broker runs as the `rabbitmq` user when started by root.
"""

import logging
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from stack.brokers import Broker
from stack.process import StackError, StateDir, port_in_use

logger = logging.getLogger(__name__)

__all__ = [
    "RabbitMQBroker",
    "debian_package_unavailable_reason",
    "install_debian_brokers",
    "require_listener",
]

DEFAULT_RABBITMQ_PORT = 5672
DEFAULT_EPMD_PORT = 4369
DIST_PORT_OFFSET = 20000
MAX_PORT = 65535
DEFAULT_RABBITMQ_START_TIMEOUT_S = 90.0
DEFAULT_CHECK_TIMEOUT_S = 5.0
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBITMQ_USER = "rabbitmq"
INSTALL_SCRIPT = Path(__file__).with_name("install_debian_brokers.sh")
TCP_LISTEN_STATE = "0A"

# Runs under /bin/sh as the broker's process: start a private epmd on 127.0.0.1
# unless one already responds on ERL_EPMD_PORT, run the server, and stop that epmd
# when the server exits. An epmd found running is used and left running.
SUPERVISOR_SCRIPT = """\
epmd_pid=
if ! epmd -names >/dev/null 2>&1; then
    epmd -address 127.0.0.1 &
    epmd_pid=$!
    tries=0
    until epmd -names >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ]; then
            echo "epmd did not start on 127.0.0.1:$ERL_EPMD_PORT" >&2
            kill "$epmd_pid" 2>/dev/null
            exit 1
        fi
        sleep 0.1
    done
else
    echo "Using the epmd already running on port $ERL_EPMD_PORT"
fi
"$1" &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null' TERM INT
wait "$server_pid"
status=$?
if kill -0 "$server_pid" 2>/dev/null; then
    # A trapped signal interrupted the first wait, so wait while the server stops.
    wait "$server_pid"
    status=$?
fi
if [ -n "$epmd_pid" ]; then
    kill "$epmd_pid" 2>/dev/null
fi
exit "$status"
"""


def debian_package_unavailable_reason(package: str, installed_path: Path) -> str | None:
    """Return why package cannot be used here, or None if it is or can be installed."""
    if installed_path.exists():
        return None
    if os.geteuid() != 0:
        return (
            f"the Debian package {package} is not installed and installing it needs "
            f"root; run `sudo {INSTALL_SCRIPT}`"
        )
    if shutil.which("apt-get") is None:
        return f"the Debian package {package} is not installed and apt-get is missing"
    return None


def require_listener(port: int) -> None:
    """Raise ConnectionRefusedError unless a socket listens on port.

    The kernel's socket table is read instead of connecting, so a broker that is
    still starting is not probed by client libraries that log every refused attempt.
    """
    port_hex = f":{port:04X}"
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(port_hex) and fields[3] == TCP_LISTEN_STATE:
                return
    raise ConnectionRefusedError(f"No socket listens on 127.0.0.1:{port}")


def install_debian_brokers() -> None:
    """Run install_debian_brokers.sh, raising StackError when it fails."""
    logger.info("Installing the Debian broker packages with %s", INSTALL_SCRIPT)
    result = subprocess.run(
        ["/bin/sh", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(
            f"{INSTALL_SCRIPT} failed with exit code {result.returncode}: "
            f"{result.stderr.strip()[-500:]}"
        )


@dataclass
class RabbitMQBroker(Broker):
    """RabbitMQ 3.10 (Debian bookworm) speaking AMQP 0-9-1, management plugin off."""

    name = "rabbitmq"
    port_option = "--rabbitmq-port (make: RABBITMQ_PORT)"
    port: int = DEFAULT_RABBITMQ_PORT
    start_timeout_s: float = DEFAULT_RABBITMQ_START_TIMEOUT_S
    epmd_port: int = DEFAULT_EPMD_PORT
    """Port of epmd. An epmd already running there is used and not stopped."""

    @property
    def dist_port(self) -> int:
        return self.port + DIST_PORT_OFFSET

    @property
    def node_name(self) -> str:
        return f"msgload-{self.port}@localhost"

    def available(self) -> str | None:
        return debian_package_unavailable_reason("rabbitmq-server", RABBITMQ_SERVER)

    def start(self, state: StateDir) -> str:
        if state.running_pid(self.name) is None:
            if not RABBITMQ_SERVER.exists():
                install_debian_brokers()
            self._check_dist_port_free()
        return super().start(state)

    def _check_dist_port_free(self) -> None:
        if self.dist_port > MAX_PORT:
            raise StackError(
                f"rabbitmq port {self.port} is too high: its Erlang distribution port "
                f"(AMQP port + {DIST_PORT_OFFSET}) would be {self.dist_port}; choose "
                f"a port up to {MAX_PORT - DIST_PORT_OFFSET} with {self.port_option}."
            )
        if port_in_use(self.dist_port):
            raise StackError(
                f"Port {self.dist_port} on 127.0.0.1 (the Erlang distribution port of "
                f"rabbitmq, its AMQP port + {DIST_PORT_OFFSET}) is in use by another "
                f"program, so rabbitmq cannot start; stop that program or choose "
                f"another port with {self.port_option}."
            )

    def command(self, state: StateDir) -> list[str]:
        self._prepare_data_dir(state)
        script = ["/bin/sh", "-c", SUPERVISOR_SCRIPT, "msgload-rabbitmq"]
        return [*_drop_privileges(), *script, str(RABBITMQ_SERVER)]

    def environment(self, state: StateDir) -> dict[str, str]:
        data = state.data_path(self.name)
        # ERL_AFLAGS reaches every erl the server starts, including the short-lived
        # node that RabbitMQ's boot uses to make sure epmd runs.
        erl_flags = "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
        return {
            "HOME": str(data),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_AFLAGS": erl_flags,
            "ERL_CRASH_DUMP": str(data / "erl_crash.dump"),
            "RABBITMQ_NODENAME": self.node_name,
            "RABBITMQ_USE_LONGNAME": "false",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(data / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(data / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(data / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(data / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(data / "mnesia"),
            "RABBITMQ_LOG_BASE": str(data / "log"),
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_PID_FILE": str(data / "rabbitmq.pid"),
        }

    def _prepare_data_dir(self, state: StateDir) -> None:
        """Write the broker's config files and hand its folder to the broker's user."""
        data = state.data_path(self.name)
        (data / "mnesia").mkdir(exist_ok=True)
        (data / "log").mkdir(exist_ok=True)
        (data / "rabbitmq-env.conf").write_text("")
        (data / "enabled_plugins").write_text("[].\n")
        (data / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "listeners.ssl = none\n"
            "log.console = true\n"
            "log.console.level = info\n"
            "log.file = false\n"
        )
        if os.geteuid() == 0:
            _chown_tree(data, RABBITMQ_USER)
            _check_user_can_write(data)

    def check(self) -> None:
        import pika

        require_listener(self.port)
        parameters = pika.ConnectionParameters(
            host="127.0.0.1",
            port=self.port,
            connection_attempts=1,
            socket_timeout=DEFAULT_CHECK_TIMEOUT_S,
            blocked_connection_timeout=DEFAULT_CHECK_TIMEOUT_S,
        )
        connection = pika.BlockingConnection(parameters)
        try:
            channel = connection.channel()
            queue = f"msgload-check-{uuid.uuid4().hex[:8]}"
            channel.queue_declare(queue=queue)
            channel.queue_delete(queue=queue)
        finally:
            connection.close()


def _drop_privileges() -> list[str]:
    """Return the prefix that runs a command as the rabbitmq user when we are root.

    setpriv changes user in place (no fork, no new session), unlike su, so the broker
    stays in the process group that `stop` signals.
    """
    # NOTE: the path without root (the broker runs as the current user) was not
    # run on the build machine, which runs as root.
    if os.geteuid() != 0:
        return []
    return [
        "setpriv",
        f"--reuid={RABBITMQ_USER}",
        f"--regid={RABBITMQ_USER}",
        "--init-groups",
        "--",
    ]


def _chown_tree(folder: Path, user: str) -> None:
    for path in [folder, *folder.rglob("*")]:
        shutil.chown(path, user=user, group=user)


def _check_user_can_write(folder: Path) -> None:
    probe = [*_drop_privileges(), "test", "-w", str(folder), "-a", "-x", str(folder)]
    if subprocess.run(probe, check=False).returncode != 0:
        raise StackError(
            f"The {RABBITMQ_USER} user cannot write to {folder}, so rabbitmq cannot "
            f"start; choose a --state-dir whose parent folders every user may enter "
            f"(chmod o+x), for example .stack in the repository."
        )
