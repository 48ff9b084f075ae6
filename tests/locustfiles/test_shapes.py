"""Load shapes: users per class at given seconds, the drain and the run's end.

tick() is driven with a fake clock, and its results go through Locust's own users
dispatcher, so the counts per class are the ones Locust would start.
"""

import argparse

import pytest
from locust.dispatch import UsersDispatcher
from locust.runners import WorkerNode

from locustfiles.shapes import RampShape, SpikeShape, StepShape
from users import ConfigError, SqsConsumerUser, SqsProducerUser


class Producer(SqsProducerUser):
    weight = 1


class Consumer(SqsConsumerUser):
    weight = 1


class ShapeDriver:
    """Runs a shape's ticks at chosen seconds through Locust's users dispatcher."""

    def __init__(self, shape) -> None:
        self.shape = shape
        self.clock_s = 0.0
        shape.get_run_time = lambda: self.clock_s
        shape.sort_user_classes([Producer, Consumer])
        shape._prepared = True
        self.stopped_publishing_at: list[float] = []
        shape.stop_publishing = lambda: self.stopped_publishing_at.append(self.clock_s)
        self.dispatcher = UsersDispatcher([WorkerNode("worker")], [Producer, Consumer])
        self.last_tick = None
        self.ended = False

    def at(self, seconds: float) -> dict[str, int] | None:
        """Tick once a second up to seconds; return users per class, None once
        the shape ended the run."""
        while self.clock_s <= seconds and not self.ended:
            self.tick()
            self.clock_s += 1.0
        if self.ended:
            return None
        return dict(self.dispatcher._users_on_workers["worker"])

    def tick(self) -> None:
        result = self.shape.tick()
        if result is None:
            self.ended = True
            return
        if result == self.last_tick:
            return
        self.last_tick = result
        users, spawn_rate, user_classes = (*result, None)[:3]
        self.dispatcher.new_dispatch(users, spawn_rate, user_classes)
        for _ in self.dispatcher:
            pass


def step_shape(**parameters) -> StepShape:
    shape = StepShape()
    for name, value in {"drain_s": 5.0, **parameters}.items():
        setattr(shape, name, value)
    return shape


def test_step_shape_adds_producers_each_step():
    driver = ShapeDriver(step_shape(step_users=2, step_length_s=10, steps=3))

    assert driver.at(5) == {"Consumer": 1, "Producer": 2}
    assert driver.at(15) == {"Consumer": 1, "Producer": 4}
    assert driver.at(25) == {"Consumer": 1, "Producer": 6}


def test_step_shape_holds_producers_during_drain():
    driver = ShapeDriver(step_shape(step_users=2, step_length_s=10, steps=3))

    assert driver.at(32) == {"Consumer": 1, "Producer": 6}
    assert driver.stopped_publishing_at == [30.0]


def test_step_shape_ends_after_drain():
    driver = ShapeDriver(step_shape(step_users=1, step_length_s=10, steps=2))

    assert driver.at(24) is not None
    assert driver.at(25) is None
    assert driver.stopped_publishing_at == [20.0]


def test_step_shape_keeps_consumers_fixed():
    driver = ShapeDriver(
        step_shape(step_users=3, step_length_s=5, steps=4, consumer_users=2)
    )

    consumers = [driver.at(second)["Consumer"] for second in (1, 6, 11, 16, 21)]

    assert consumers == [2, 2, 2, 2, 2]


def test_spike_shape_rises_and_falls_back():
    shape = SpikeShape()
    shape.base_users, shape.spike_users = 2, 8
    shape.spike_start_s, shape.spike_length_s = 10, 5
    shape.duration_s, shape.drain_s = 30, 5
    driver = ShapeDriver(shape)

    assert driver.at(5) == {"Consumer": 1, "Producer": 2}
    assert driver.at(12) == {"Consumer": 1, "Producer": 8}
    assert driver.at(20) == {"Consumer": 1, "Producer": 2}
    assert driver.at(36) is None
    assert driver.stopped_publishing_at == [30.0]


def test_ramp_shape_moves_evenly():
    shape = RampShape()
    shape.from_users, shape.to_users = 0, 10
    shape.over_s, shape.hold_s, shape.drain_s = 10, 5, 0
    driver = ShapeDriver(shape)

    producers = [driver.at(second)["Producer"] for second in (2, 5, 10, 14)]

    assert producers == [2, 5, 10, 10]
    assert driver.at(15) is None


def test_ramp_shape_down_lowers_producers_only():
    shape = RampShape()
    shape.from_users, shape.to_users, shape.over_s = 6, 2, 4
    driver = ShapeDriver(shape)

    assert driver.at(1) == {"Consumer": 1, "Producer": 5}
    assert driver.at(3) == {"Consumer": 1, "Producer": 3}
    assert driver.at(6) == {"Consumer": 1, "Producer": 2}


def test_shape_reads_options_with_units():
    shape = StepShape()
    options = argparse.Namespace(
        step_users=4,
        step_length_s=20.0,
        steps=2,
        consumer_users=3,
        drain_s=7.0,
    )

    shape.configure(options)

    assert (shape.step_users, shape.step_length_s, shape.steps) == (4, 20.0, 2)
    assert shape.consumer_users == 3
    assert shape.total_s == 47.0


def test_shape_option_left_out_keeps_default():
    shape = SpikeShape()

    shape.configure(argparse.Namespace(spike_users=None, drain_s=None))

    assert shape.spike_users == SpikeShape.spike_users
    assert shape.drain_s == SpikeShape.drain_s


def test_spike_past_duration_rejected():
    shape = SpikeShape()
    options = argparse.Namespace(spike_start_s=100.0, spike_duration_s=120.0)

    with pytest.raises(ConfigError, match="--spike-duration-s"):
        shape.configure(options)
