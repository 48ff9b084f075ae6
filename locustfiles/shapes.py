"""Load shapes for msgload scenarios: step, spike and ramp of producer users.

A shape sets how many producer users run at each second of the run. Consumer users
stay at --consumer-users for the whole run, so the backlog shows what the extra
load does to a fixed consumer capacity. Each shape runs its load profile, then
--drain-s seconds in which the producers stop publishing and the consumers empty
the backlog; the run ends with the drain. Locust ignores --users and --spawn-rate
when a locustfile has a shape, so leave them out, and leave out --run-time too: a
shape's own length sets the run's length.

Import one shape class into a locustfile to use it (Locust uses the first shape
class it finds in the locustfile's namespace):

    from locustfiles.shapes import StepShape
"""

import logging
import math

from locust import LoadTestShape, events

from users import plugin
from users.base import ConsumerUser, ProducerUser
from users.errors import ConfigError
from users.settings import DEFAULT_DRAIN_S

logger = logging.getLogger(__name__)

__all__ = [
    "MsgloadShape",
    "RampShape",
    "SpikeShape",
    "StepShape",
    "stop_on_config_error",
]

DEFAULT_CONSUMER_USERS = 1
# Locust kills a stopped user at once unless --stop-timeout is set, and a producer
# killed between its send and the acknowledgement leaves messages that were sent
# but never counted as published.
DEFAULT_STOP_TIMEOUT_S = 5.0
CONSUMERS = "consumers"
PRODUCERS = "producers"


@events.init_command_line_parser.add_listener
def _add_shape_arguments(parser) -> None:
    group = parser.add_argument_group("msgload load shapes (step, spike, ramp)")
    option = group.add_argument
    option(
        "--consumer-users",
        type=int,
        default=None,
        help=f"consumer users for the whole run of a shape (default "
        f"{DEFAULT_CONSUMER_USERS})",
    )
    option(
        "--step-users",
        type=int,
        default=None,
        help=f"producer users added at each step (default {StepShape.step_users})",
    )
    option(
        "--step-length-s",
        type=float,
        default=None,
        help=f"seconds each step lasts (default {StepShape.step_length_s:g})",
    )
    option(
        "--steps",
        type=int,
        default=None,
        help=f"number of steps (default {StepShape.steps})",
    )
    option(
        "--spike-base-users",
        type=int,
        default=None,
        help=f"producer users before and after the spike (default "
        f"{SpikeShape.base_users})",
    )
    option(
        "--spike-users",
        type=int,
        default=None,
        help=f"producer users during the spike (default {SpikeShape.spike_users})",
    )
    option(
        "--spike-start-s",
        type=float,
        default=None,
        help=f"seconds from the start to the spike (default "
        f"{SpikeShape.spike_start_s:g})",
    )
    option(
        "--spike-length-s",
        type=float,
        default=None,
        help=f"seconds the spike lasts (default {SpikeShape.spike_length_s:g})",
    )
    option(
        "--spike-duration-s",
        type=float,
        default=None,
        help=f"seconds of load in all, before the drain (default "
        f"{SpikeShape.duration_s:g})",
    )
    option(
        "--ramp-from-users",
        type=int,
        default=None,
        help=f"producer users at the start of the ramp (default "
        f"{RampShape.from_users})",
    )
    option(
        "--ramp-to-users",
        type=int,
        default=None,
        help=f"producer users at the end of the ramp (default {RampShape.to_users})",
    )
    option(
        "--ramp-over-s",
        type=float,
        default=None,
        help=f"seconds the ramp lasts (default {RampShape.over_s:g})",
    )
    option(
        "--ramp-hold-s",
        type=float,
        default=None,
        help=f"seconds at --ramp-to-users after the ramp, before the drain "
        f"(default {RampShape.hold_s:g})",
    )


class MsgloadShape(LoadTestShape):
    """A load profile of producer users, then a drain, over fixed consumer users.

    tick() requests one group of user classes at a time (the 3-tuple form),
    so producers and consumers are counted apart: the producer count follows
    producers_at(), the consumer count follows consumers_at().
    """

    abstract = True

    consumer_users: int = DEFAULT_CONSUMER_USERS
    """Consumer users for the whole run."""

    drain_s: float = DEFAULT_DRAIN_S
    """Seconds after the load profile in which producers stop publishing and
    consumers empty the backlog. Read from --drain-s."""

    option_attributes: dict[str, str] = {"consumer_users": "consumer_users"}
    """Attribute name of this shape for each option destination that sets it."""

    def __init__(self) -> None:
        super().__init__()
        self.producer_classes: list[type] = []
        self.consumer_classes: list[type] = []
        self._prepared = False
        self._publishing_stopped = False
        self._requested = {CONSUMERS: 0, PRODUCERS: 0}
        self._last_tick: tuple = (0, 1)

    @property
    def load_s(self) -> float:
        """Seconds of the load profile, before the drain."""
        raise NotImplementedError

    @property
    def total_s(self) -> float:
        """Seconds of the whole run: the load profile and the drain."""
        return self.load_s + self.drain_s

    def producers_at(self, run_time_s: float) -> int:
        """Return the producer users of the load profile at run_time_s."""
        raise NotImplementedError

    def consumers_at(self, run_time_s: float) -> int:
        return self.consumer_users

    def check(self) -> None:
        """Raise ConfigError naming the first wrong parameter and how to fix it."""
        _require(self.consumer_users >= 0, "--consumer-users must be 0 or more.")
        _require(self.drain_s >= 0, "--drain-s must be 0 or more.")

    def configure(self, options) -> None:
        """Set each parameter given on the command line, then check them all."""
        for destination, attribute in self.option_attributes.items():
            value = getattr(options, destination, None)
            if value is not None:
                setattr(self, attribute, value)
        drain_s = getattr(options, "drain_s", None)
        if drain_s is not None:
            self.drain_s = drain_s
        self.check()

    def users_at(self, run_time_s: float) -> dict[str, int] | None:
        """Return the users of each group at run_time_s; None once the run is over.

        During the drain the producers stay at the profile's last count, idle.
        """
        if run_time_s >= self.total_s:
            return None
        profile_time_s = min(run_time_s, self.load_s)
        return {
            CONSUMERS: self.consumers_at(run_time_s),
            PRODUCERS: self.producers_at(profile_time_s),
        }

    def tick(self):
        if not self._prepared and not self.prepare():
            return None
        run_time_s = self.get_run_time()
        if run_time_s >= self.load_s and not self._publishing_stopped:
            self._publishing_stopped = True
            logger.info(
                "Load shape %s reached its end at %.0f s; draining for %g s",
                type(self).__name__,
                run_time_s,
                self.drain_s,
            )
            self.stop_publishing()
        target_users = self.users_at(run_time_s)
        if target_users is None:
            self.finish()
            return None
        change = self.next_change(target_users)
        if change is not None:
            self._last_tick = change
        return self._last_tick

    def next_change(self, target_users: dict[str, int]) -> tuple | None:
        """Return Locust's (total users, spawn rate, user classes) for the first
        group whose count differs from target_users, consumers first, or None when
        every group has its count.

        The spawn rate equals the change, so each change takes effect within one
        second.
        """
        groups = {CONSUMERS: self.consumer_classes, PRODUCERS: self.producer_classes}
        for group, classes in groups.items():
            if not classes or target_users[group] == self._requested[group]:
                continue
            change = abs(target_users[group] - self._requested[group])
            self._requested[group] = target_users[group]
            # NOTE: Locust stops the most recently started users first, whatever
            # their class, so lowering a group is exact only while that group's
            # users were the last ones started. The shapes here lower producers
            # only, after consumers started first.
            total = sum(
                count for name, count in self._requested.items() if groups[name]
            )
            return total, float(max(1, change)), list(classes)
        return None

    def prepare(self) -> bool:
        """Read options and sort the user classes into producers and consumers;
        return False after logging a configuration error."""
        self._prepared = True
        self._publishing_stopped = False
        self._requested = {CONSUMERS: 0, PRODUCERS: 0}
        environment = self.runner.environment
        self.sort_user_classes(environment.user_classes)
        if not environment.stop_timeout:
            environment.stop_timeout = DEFAULT_STOP_TIMEOUT_S
        options = environment.parsed_options
        try:
            if options is not None:
                self.configure(options)
            else:
                self.check()
        except ConfigError as error:
            stop_on_config_error(environment, error)
            return False
        logger.info(
            "Load shape %s: %.0f s of load, then %g s of drain",
            type(self).__name__,
            self.load_s,
            self.drain_s,
        )
        return True

    def sort_user_classes(self, user_classes: list[type]) -> None:
        self.producer_classes = [c for c in user_classes if issubclass(c, ProducerUser)]
        self.consumer_classes = [c for c in user_classes if issubclass(c, ConsumerUser)]

    def stop_publishing(self) -> None:
        """Start the drain: producers stop, on this process and on every worker."""
        plugin.stop_publishing(self.runner.environment)

    def finish(self) -> None:
        """Called once when the shape ends the run."""
        self._prepared = False


class StepShape(MsgloadShape):
    """Adds step_users producer users every step_length_s seconds, steps times.

    The first step starts at 0 s with step_users producers; the load profile lasts
    steps * step_length_s seconds.
    """

    step_users: int = 2
    """Producer users added at each step. Set by --step-users."""

    step_length_s: float = 60.0
    """Seconds each step lasts. Set by --step-length-s."""

    steps: int = 5
    """Number of steps. Set by --steps."""

    option_attributes = {
        **MsgloadShape.option_attributes,
        "step_users": "step_users",
        "step_length_s": "step_length_s",
        "steps": "steps",
    }

    @property
    def load_s(self) -> float:
        return self.steps * self.step_length_s

    def producers_at(self, run_time_s: float) -> int:
        step = min(self.steps, math.floor(run_time_s / self.step_length_s) + 1)
        return step * self.step_users

    def check(self) -> None:
        super().check()
        _require(self.step_users >= 1, "--step-users must be 1 or more.")
        _require(self.step_length_s > 0, "--step-length-s must be above 0.")
        _require(self.steps >= 1, "--steps must be 1 or more.")


class SpikeShape(MsgloadShape):
    """Runs base_users producers, jumps to spike_users for spike_length_s seconds
    from spike_start_s, then falls back to base_users until duration_s."""

    base_users: int = 1
    """Producer users before and after the spike. Set by --spike-base-users."""

    spike_users: int = 10
    """Producer users during the spike (not added to base_users). Set by
    --spike-users."""

    spike_start_s: float = 60.0
    """Seconds from the start of the run to the spike. Set by --spike-start-s."""

    spike_length_s: float = 30.0
    """Seconds the spike lasts. Set by --spike-length-s."""

    duration_s: float = 180.0
    """Seconds of the load profile, before the drain. Set by --spike-duration-s."""

    option_attributes = {
        **MsgloadShape.option_attributes,
        "spike_base_users": "base_users",
        "spike_users": "spike_users",
        "spike_start_s": "spike_start_s",
        "spike_length_s": "spike_length_s",
        "spike_duration_s": "duration_s",
    }

    @property
    def load_s(self) -> float:
        return self.duration_s

    def producers_at(self, run_time_s: float) -> int:
        spike_end_s = self.spike_start_s + self.spike_length_s
        if self.spike_start_s <= run_time_s < spike_end_s:
            return self.spike_users
        return self.base_users

    def check(self) -> None:
        super().check()
        _require(self.base_users >= 0, "--spike-base-users must be 0 or more.")
        _require(self.spike_users >= 1, "--spike-users must be 1 or more.")
        _require(self.spike_start_s >= 0, "--spike-start-s must be 0 or more.")
        _require(self.spike_length_s > 0, "--spike-length-s must be above 0.")
        spike_end_s = self.spike_start_s + self.spike_length_s
        _require(
            spike_end_s <= self.duration_s,
            f"The spike ends at {spike_end_s:g} s, after --spike-duration-s "
            f"({self.duration_s:g} s); raise --spike-duration-s or start the spike "
            "earlier.",
        )


class RampShape(MsgloadShape):
    """Moves the producer users from from_users to to_users evenly over over_s
    seconds, then keeps to_users for hold_s seconds."""

    from_users: int = 1
    """Producer users at the start of the ramp. Set by --ramp-from-users."""

    to_users: int = 10
    """Producer users at the end of the ramp. Set by --ramp-to-users."""

    over_s: float = 120.0
    """Seconds the ramp lasts. Set by --ramp-over-s."""

    hold_s: float = 0.0
    """Seconds at to_users after the ramp, before the drain. Set by --ramp-hold-s."""

    option_attributes = {
        **MsgloadShape.option_attributes,
        "ramp_from_users": "from_users",
        "ramp_to_users": "to_users",
        "ramp_over_s": "over_s",
        "ramp_hold_s": "hold_s",
    }

    @property
    def load_s(self) -> float:
        return self.over_s + self.hold_s

    def producers_at(self, run_time_s: float) -> int:
        done = min(1.0, run_time_s / self.over_s)
        return round(self.from_users + (self.to_users - self.from_users) * done)

    def check(self) -> None:
        super().check()
        _require(self.from_users >= 0, "--ramp-from-users must be 0 or more.")
        _require(self.to_users >= 0, "--ramp-to-users must be 0 or more.")
        _require(self.over_s > 0, "--ramp-over-s must be above 0.")
        _require(self.hold_s >= 0, "--ramp-hold-s must be 0 or more.")


def stop_on_config_error(environment, error: ConfigError) -> None:
    """Log error and end the run with exit code 2, without a summary."""
    logger.error("%s", error)
    environment.process_exit_code = 2
    run = getattr(environment, "msgload", None)
    if run is not None:
        run.config_error = str(error)
        run.write_run_json()


def _require(condition: bool, sentence: str) -> None:
    if not condition:
        raise ConfigError(sentence)
