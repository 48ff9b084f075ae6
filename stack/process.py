"""Start, find and stop the local broker processes recorded in the state folder."""

import errno
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["StackError", "StateDir", "port_in_use"]

DEFAULT_STOP_TIMEOUT_S = 15.0


class StackError(Exception):
    """A local broker could not be started, checked or stopped."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Return True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR lets a port in TIME-WAIT after a broker stopped count as
        # free, while a port with a listener still fails to bind.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z":
        return False
    return True


def _start_time(pid: int) -> str | None:
    """Return the kernel's start time of pid, used to tell a reused pid apart."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[19]
    except (FileNotFoundError, IndexError):
        return None


class StateDir:
    """The folder holding each broker's pid file, log and data.

    A pid file stores the pid and the kernel start time of the process, so a pid
    that the system reused for another program is never signalled.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).resolve()

    def log_path(self, name: str) -> Path:
        return self.path / f"{name}.log"

    def data_path(self, name: str) -> Path:
        folder = self.path / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _pid_file(self, name: str) -> Path:
        return self.path / f"{name}.pid"

    def running_pid(self, name: str) -> int | None:
        """Return the pid of the broker started from this folder, if it still runs."""
        pid_file = self._pid_file(name)
        if not pid_file.exists():
            return None
        fields = pid_file.read_text().split()
        pid = int(fields[0])
        recorded_start = fields[1] if len(fields) > 1 else None
        if not _process_alive(pid) or _start_time(pid) != recorded_start:
            pid_file.unlink()
            return None
        return pid

    def spawn(self, name: str, command: list[str], env: dict | None = None) -> int:
        """Start command in its own session, logging to the state folder."""
        self.path.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path(name), "ab")
        with log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
                cwd=self.path,
            )
        start = _start_time(process.pid) or ""
        self._pid_file(name).write_text(f"{process.pid} {start}\n")
        logger.info(
            "Started %s, pid %s, log %s", name, process.pid, self.log_path(name)
        )
        return process.pid

    def record_port(self, name: str, port: int) -> None:
        (self.path / f"{name}.port").write_text(f"{port}\n")

    def recorded_port(self, name: str) -> int | None:
        """Return the port the running broker was started on, when recorded."""
        path = self.path / f"{name}.port"
        return int(path.read_text()) if path.exists() else None

    def record_pid(self, name: str, pid: int) -> None:
        """Record a pid this stack started indirectly (a daemon's own child)."""
        self._pid_file(name).write_text(f"{pid} {_start_time(pid) or ''}\n")

    def stop(self, name: str, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
        """Stop the recorded process group of name; return False if none was running."""
        pid = self.running_pid(name)
        if pid is None:
            return False
        self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _process_alive(pid):
            logger.warning("%s (pid %s) ignored SIGTERM, sending SIGKILL", name, pid)
            self._signal(pid, signal.SIGKILL)
        self._pid_file(name).unlink(missing_ok=True)
        logger.info("Stopped %s, pid %s", name, pid)
        return True

    @staticmethod
    def _signal(pid: int, signum: int) -> None:
        # The broker runs in a session of its own, so its group holds only it and the
        # children it forked.
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signum)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            pass

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_path(name)
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
