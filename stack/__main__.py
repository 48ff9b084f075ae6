"""Command line: `python -m stack start|check|stop|status|run -- COMMAND`.

`run` starts the brokers, runs COMMAND, and stops the brokers it started whatever
way COMMAND ends (failure, Ctrl-C, SIGTERM); its exit code is COMMAND's.
"""

import argparse
import logging
import os
import signal
import subprocess
import sys

from stack import BROKERS, StackError, StateDir

DEFAULT_STATE_DIR = ".stack"
DEFAULT_SERVICES = "moto,kafka"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stack",
        usage="python -m stack {start,check,stop,status} [options]\n"
        "       python -m stack run [options] -- COMMAND [ARGS...]",
        description="Start, check and stop the local brokers on 127.0.0.1.",
    )
    parser.add_argument("action", choices=["start", "check", "stop", "status", "run"])
    parser.add_argument(
        "--services",
        default=os.environ.get("MSGLOAD_SERVICES", DEFAULT_SERVICES),
        help=f"comma-separated brokers out of {', '.join(BROKERS)} "
        f"(default {DEFAULT_SERVICES})",
    )
    parser.add_argument(
        "--state-dir",
        default=os.environ.get("MSGLOAD_STATE_DIR", DEFAULT_STATE_DIR),
        help="folder for pid files, logs and broker data (default .stack)",
    )
    for name, broker_class in BROKERS.items():
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=int(os.environ.get(f"{name.upper()}_PORT", broker_class.port)),
            help=f"port of {name} on 127.0.0.1 (default {broker_class.port})",
        )
    command: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, command = argv[:split], argv[split + 1 :]
    args = parser.parse_args(argv)
    args.command = command
    if (args.action == "run") != bool(args.command):
        parser.error("give a command after -- with run, and only with run")
    unknown = [name for name in args.services.split(",") if name not in BROKERS]
    if unknown:
        parser.error(
            f"unknown service {unknown[0]!r} in --services; choose from "
            f"{', '.join(BROKERS)}"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    # A broker that is still starting makes kafka-python log each refused
    # connection; the outcome of the check is what this command prints.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    state = StateDir(args.state_dir)
    names = args.services.split(",")
    brokers = [BROKERS[name](port=getattr(args, f"{name}_port")) for name in names]
    try:
        if args.action == "run":
            return run_command(args.command, brokers, state)
        return run_action(args.action, brokers, state)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run_command(command: list[str], brokers: list, state: StateDir) -> int:
    """Start brokers, run command, then stop the brokers this call started."""
    started: list = []
    try:
        for broker in brokers:
            was_running = state.running_pid(broker.name) is not None
            run_action("start", [broker], state)
            if not was_running and state.running_pid(broker.name) is not None:
                started.append(broker)
        running = [b.name for b in brokers if state.running_pid(b.name) is not None]
        environment = {**os.environ, "MSGLOAD_BROKERS": ",".join(running)}
        child = subprocess.Popen(command, env=environment)
        # Ctrl-C reaches the command too, as part of the terminal's process group.
        # This process ignores it (only after starting the command, which must not
        # inherit that) and waits for the command to write its results.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        forward = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        try:
            return child.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
            signal.signal(signal.SIGTERM, forward)
    finally:
        for broker in reversed(started):
            state.stop(broker.name)
        if started:
            print(f"Stopped {', '.join(b.name for b in started)}")


def run_action(action: str, brokers: list, state: StateDir) -> int:
    if action == "stop":
        for broker in reversed(brokers):
            stopped = state.stop(broker.name)
            print(f"{broker.name} {'stopped' if stopped else 'was not running'}")
        return 0
    status = 0
    for broker in brokers:
        reason = broker.available()
        if reason is not None:
            print(f"{broker.name} skipped: {reason}")
            continue
        if action == "start":
            print(broker.start(state))
            continue
        if state.running_pid(broker.name) is None:
            print(f"{broker.name} not running")
            status = 1
            continue
        try:
            broker.check()
            print(f"{broker.name} up on 127.0.0.1:{broker.port}")
        except Exception as error:  # noqa: BLE001 - reported, then the exit code
            print(f"{broker.name} running but not answering: {error}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
