"""Locust event listeners that give every msgload scenario its options, results
folder, correctness counts across workers, drain period and end-of-run summary."""

import argparse
import atexit
import logging
import subprocess
import sys
from pathlib import Path

import gevent
from locust import events
from locust.html import get_html_report
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import (
    CSV_STATS_INTERVAL_SEC,
    PERCENTILES_TO_REPORT,
    StatsCSVFileWriter,
)

from users.backlog import BacklogSampler
from users.errors import ConfigError
from users.gates import WorkerWatch, add_gate_arguments, evaluate_gates, format_gates
from users.ledger import Ledger
from users.run import RunContext, new_run_id, utc_now
from users.settings import KNOWN_BROKERS, Settings, add_arguments
from users.summary import format_notes, format_table, summarize

logger = logging.getLogger(__name__)

__all__ = ["STOP_PUBLISHING_MESSAGE", "check_settings", "stop_publishing"]

STOP_PUBLISHING_MESSAGE = "msgload_stop_publishing"
REPORT_KEY = "msgload"
REPORT_TIMEOUT_S = 300
DEFAULT_EXPECT_WORKERS_MAX_WAIT_S = 300
EARLY_STOP_MARGIN_S = 2.0
_current_run: RunContext | None = None


# kafka-python logs every connection at INFO; a load test shows only its problems.
logging.getLogger("kafka").setLevel(logging.WARNING)


@events.init_command_line_parser.add_listener
def _add_arguments(parser) -> None:
    add_arguments(parser)
    add_gate_arguments(parser)
    # A worker connects to its master before any event reaches this plugin, so
    # the master host is checked while the command line is parsed.
    for action in parser._actions:
        if action.dest == "master_host":
            action.type = _master_host


def _scenario_name(options) -> str:
    locustfile = options.locustfile or "locustfile"
    first = locustfile[0] if isinstance(locustfile, list) else locustfile
    return Path(str(first).split(",")[0]).stem


def check_settings(environment) -> Settings:
    """Return the run's settings, checked for every user class of the scenario."""
    settings = Settings.from_options(environment.parsed_options)
    for user_class in environment.user_classes:
        check = getattr(user_class, "check_settings", None)
        if check is not None:
            check(settings)
    return settings


@events.init.add_listener
def _on_init(environment, runner, **_kwargs) -> None:
    options = environment.parsed_options
    if options is None:
        return
    started_at = utc_now()
    options.run_id = options.run_id or new_run_id(started_at)
    run = RunContext(options.run_id, _scenario_name(options), started_at)
    environment.msgload = run
    global _current_run
    _current_run = run
    if isinstance(runner, WorkerRunner):
        runner.register_message(
            STOP_PUBLISHING_MESSAGE, lambda **_: run.stop_publishing()
        )
        environment.events.report_to_master.add_listener(
            lambda data, **_: data.__setitem__(REPORT_KEY, run.ledger.take_pending())
        )
        return
    environment.events.worker_report.add_listener(
        lambda data, **_: run.ledger.merge(data.get(REPORT_KEY, {}))
    )
    run.options = dict(vars(options))
    atexit.register(_record_unfinished_run, run)
    run.workers_expected = options.expect_workers if options.master else 0
    _open_run_dir(environment, run)
    try:
        _keep_users_of_running_brokers(environment)
        if options.headless:
            run.settings = check_settings(environment)
    except ConfigError as error:
        _stop_on_config_error(environment, run, error)
    _settle_user_count(environment)


def _record_unfinished_run(run: RunContext) -> None:
    """Write run.json for a process that ends before its test ended, such as a master
    that gave up waiting for its workers."""
    if run.ended_at is not None or run.run_dir is None:
        return
    run.ended_at = utc_now()
    run.error = (
        "The process ended before the test finished (see the log: for example a "
        "master that gave up waiting for its workers)."
    )
    run.write_run_json()


def _settle_user_count(environment) -> None:
    options = environment.parsed_options
    classes = len(environment.user_classes)
    if options.headless and options.num_users is None:
        # One user per user class, so every producer has its consumer.
        options.num_users = options.spawn_rate = classes
    elif options.num_users is not None and options.num_users < classes:
        logger.warning(
            "%s users for %s user classes: some services get no producer or no "
            "consumer; use -u %s or more (make: USERS)",
            options.num_users,
            classes,
            classes,
        )
    if options.master and options.headless and not options.expect_workers_max_wait:
        # Without a bound, a master whose workers never connect waits forever.
        options.expect_workers_max_wait = DEFAULT_EXPECT_WORKERS_MAX_WAIT_S
        logger.info(
            "Waiting at most %s s for %s workers (--expect-workers-max-wait)",
            DEFAULT_EXPECT_WORKERS_MAX_WAIT_S,
            options.expect_workers,
        )


def _keep_users_of_running_brokers(environment) -> None:
    """Leave out the user classes whose local broker is not in --brokers."""
    options = environment.parsed_options
    brokers = [name for name in options.brokers.split(",") if name]
    unknown = [name for name in brokers if name not in KNOWN_BROKERS]
    if unknown:
        raise ConfigError(
            f"--brokers names an unknown broker {unknown[0]!r}; choose from "
            f"{', '.join(KNOWN_BROKERS)}."
        )
    if not brokers or options.target != "local":
        return
    kept = [
        user_class
        for user_class in environment.user_classes
        if not getattr(user_class, "broker", "") or user_class.broker in brokers
    ]
    left_out = [c for c in environment.user_classes if c not in kept]
    if not kept:
        needed = sorted({user_class.broker for user_class in left_out})
        raise ConfigError(
            f"No user of this scenario can run with --brokers {options.brokers}: "
            f"they need {', '.join(needed)}; start that broker (make: SERVICES) or "
            "choose another scenario."
        )
    for user_class in left_out:
        logger.warning(
            "Leaving out %s: its broker %s is not running here (--brokers %s)",
            user_class.__name__,
            user_class.broker,
            options.brokers,
        )
    environment.user_classes[:] = kept


def _master_host(host: str) -> str:
    if host.count(":") == 1:
        raise argparse.ArgumentTypeError(
            f"--master-host must be a host name without a port (got {host!r}); "
            "give the port with --master-port."
        )
    return host


def _exit_with(sentence: str) -> None:
    logger.error("%s", sentence)
    print(f"msgload: {sentence}", file=sys.stderr)
    sys.exit(2)


def _stop_on_config_error(environment, run: RunContext, error: ConfigError) -> None:
    run.config_error = str(error)
    run.ended_at = utc_now()
    run.write_run_json()
    print(f"msgload: {error}", file=sys.stderr, flush=True)
    if not run.options.get("skip_report"):
        # The report states what is missing, so the folder still explains the run.
        write_report(run)
    logger.error("%s", error)
    sys.exit(2)


def _open_run_dir(environment, run: RunContext) -> None:
    """Create the run folder and send Locust's CSV files and HTML report into it."""
    options = environment.parsed_options
    run_dir = (
        Path(options.results_dir) / f"{run.started_at:%Y%m%dT%H%M%SZ}-{run.scenario}"
    )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _exit_with(
            f"Cannot create the run folder {run_dir} ({error.strerror}); give a "
            "writable folder with --results-dir."
        )
    run.run_dir = run_dir
    if not options.html_file:
        options.html_file = str(run_dir / "locust.html")
    if not options.csv_prefix:
        # Locust has already decided on its own CSV writer by now, so this plugin
        # runs a second one instead of setting options.csv_prefix.
        writer = StatsCSVFileWriter(
            environment,
            PERCENTILES_TO_REPORT,
            str(run_dir / "locust"),
            full_history=True,
        )
        run.csv_greenlet = gevent.spawn(writer.stats_writer)
        run.csv_writer = writer
    run.write_run_json()
    logger.info("Results of run %s go to %s", run.run_id, run_dir)


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    run: RunContext = environment.msgload
    options = environment.parsed_options
    run.run_id = options.run_id
    # Each test of a web UI session counts afresh, as Locust's stats do.
    run.ledger = Ledger(options.run_id)
    run.publishing = True
    run.publishing_stopped_at = None
    run.test_started_at = utc_now()
    run.config_error = None
    try:
        run.settings = check_settings(environment)
    except ConfigError as error:
        run.settings = None
        run.config_error = str(error)
        logger.error("%s", error)
        if not isinstance(environment.runner, WorkerRunner):
            # Headless, the run ends with exit code 2; in the web UI only this
            # test stops, with the sentence in the UI's exceptions tab, so the option
            # can be corrected and the test started again.
            environment.runner.log_exception("msgload", str(error), "")
            environment.process_exit_code = 2
            stop = options.headless and environment.runner.quit
            gevent.spawn(stop or environment.runner.stop)
        return
    if environment.process_exit_code == 2 and not options.headless:
        environment.process_exit_code = None
    if isinstance(environment.runner, WorkerRunner):
        return
    run_time_s = options.run_time
    if run_time_s and run.settings.drain_s:
        gevent.spawn_later(
            run_time_s - run.settings.drain_s, stop_publishing, environment
        )
    if run.sampler is not None:
        # A web UI session's earlier test left its sampler running.
        run.sampler.stop()
    run.sampler = BacklogSampler(environment, run)
    run.sampler.start()
    if isinstance(environment.runner, MasterRunner) and run.worker_watch is None:
        run.worker_watch = WorkerWatch(environment.runner)


def stop_publishing(environment) -> None:
    """Stop the producers of this process and of every worker; consumers go on."""
    run: RunContext = environment.msgload
    run.stop_publishing()
    if isinstance(environment.runner, MasterRunner):
        environment.runner.send_message(STOP_PUBLISHING_MESSAGE)


@events.quitting.add_listener
def _on_quitting(environment, **_kwargs) -> None:
    run: RunContext | None = getattr(environment, "msgload", None)
    if run is None:
        return
    if isinstance(environment.runner, WorkerRunner):
        logger.info("Worker totals sent to the master: %s", run.ledger.sent_totals)
        return
    if run.ended_at is not None:
        # Locust's SIGTERM handler can shut down twice; the first summary counts.
        return
    run.ended_at = utc_now()
    _note_early_stop(environment, run)
    sampler = getattr(run, "sampler", None)
    if sampler is not None:
        sampler.stop()
    run.ledger.merge_own()
    run.summary = summarize(
        environment.runner.stats, run.ledger, run.publishing_stopped_at, sampler
    )
    if run.worker_watch is not None:
        run.worker_watch.stop()
        run.workers_lost = list(run.worker_watch.lost)
    drain_s = sampler.drain_s(run.publishing_stopped_at) if sampler else None
    run.gates = evaluate_gates(
        environment.parsed_options,
        run.summary,
        environment.runner.stats,
        drain_s,
        run.workers_lost,
    )
    if run.gates:
        failed = any(not gate["passed"] for gate in run.gates)
        environment.process_exit_code = 1 if failed else 0
    run.write_run_json()
    _finish_csv(run)
    _save_html_if_missing(environment)


def _note_early_stop(environment, run: RunContext) -> None:
    """Record in run.json a headless run stopped before its --run-time ended."""
    run_time_s = environment.parsed_options.run_time
    if not run_time_s or run.test_started_at is None:
        return
    ran_s = (run.ended_at - run.test_started_at).total_seconds()
    if ran_s < run_time_s - EARLY_STOP_MARGIN_S:
        run.error = (
            f"The run was stopped after {ran_s:.0f} s of its {run_time_s} s "
            "(Ctrl-C, SIGTERM or a stopped test); its counts cover that time only."
        )


def _save_html_if_missing(environment) -> None:
    """Write Locust's HTML report when Locust did not (it skips it on SIGTERM)."""
    html_file = environment.parsed_options.html_file
    if not html_file or Path(html_file).exists():
        return
    Path(html_file).write_text(
        get_html_report(environment, show_download_link=False), encoding="utf-8"
    )


@events.quit.add_listener
def _on_quit(**_kwargs) -> None:
    # Locust prints its own tables just before this event, so the summary and the
    # report's path are the last lines printed.
    run: RunContext | None = _current_run
    # Workers have no run folder; a run stopped by a wrong option has no summary.
    if run is None or run.run_dir is None or run.config_error or run.summary_printed:
        return
    run.summary_printed = True
    print_summary(run)
    if not run.options.get("skip_report"):
        write_report(run)


def write_report(run: RunContext) -> None:
    """Write the analysis report into the run folder, in a process of its own so
    pandas and matplotlib stay out of the load generator."""
    if run.run_dir is None:
        return
    command = [sys.executable, "-m", "analysis", "report", str(run.run_dir)]
    command += _scaling_report_arguments(run)
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=REPORT_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        logger.error(
            "The report of %s took over %s s; run %s",
            run.run_dir,
            REPORT_TIMEOUT_S,
            " ".join(command),
        )
        return
    if result.returncode != 0:
        logger.error("The report of %s failed: %s", run.run_dir, result.stderr.strip())
        return
    print(f"Report: {run.run_dir / 'report.html'}", flush=True)


def _scaling_report_arguments(run: RunContext) -> list[str]:
    """Return the report options for the scaling activities the autoscaling
    scenario wrote into the run folder, so the report shows its KPIs."""
    activities = run.run_dir / "scaling_activities.json"
    options = run.options
    if not activities.exists() or "scaling_resource_id" not in options:
        return []
    threshold = options["target_backlog_per_consumer"] * options["consumers_min"]
    return [
        "--events-json",
        str(activities),
        "--resource-id",
        str(options["scaling_resource_id"]),
        "--backlog-threshold",
        str(threshold),
    ]


def _finish_csv(run: RunContext) -> None:
    """Let the CSV writer this plugin started write the final numbers, then close."""
    writer = getattr(run, "csv_writer", None)
    if writer is None:
        return
    # The writer rewrites the files once per CSV_STATS_INTERVAL_SEC; one more pass
    # records the last samples before the files are closed.
    gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2)
    run.csv_greenlet.kill(block=True)
    writer.close_files()


def print_summary(run: RunContext) -> None:
    print()
    print(f"msgload summary of run {run.run_id} ({run.scenario})")
    print(format_table(run.summary))
    for note in format_notes(run.summary):
        print(f"Note: {note}")
    if run.gates:
        print("Gates:")
        print(format_gates(run.gates))
    if run.error:
        print(f"Note: {run.error}")
    if run.run_dir is not None:
        print(f"Results folder: {run.run_dir}")
    print(flush=True)
