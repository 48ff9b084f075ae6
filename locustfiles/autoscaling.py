"""Consumer autoscaling on Amazon SQS: producer users grow in steps, the backlog
grows, and the consumers have to scale out to catch up.

Against AWS (--target aws) the scenario only produces: the consumers are your own
service (ECS, Kubernetes, Lambda), scaled by your own policy. With --target local
a stand-in consumer pool scales itself like a target tracking policy on backlog
per consumer, and writes each scale-out to scaling_activities.json in the run
folder. Only the consumers scale; the producer steps are fixed in advance.

    locust -f locustfiles/autoscaling.py --headless --steps 4 --step-length-s 30 \
        --step-users 1 --publish-rate 100 --processing-ms 20 \
        --target-backlog-per-consumer 50 --consumers-max 10 --drain-s 30
"""

import logging

from locust import events

from locustfiles import shapes
from users import SqsConsumerUser, SqsProducerUser
from users.autoscaling import (
    DEFAULT_RESOURCE_ID,
    SCALING_ACTIVITIES_FILE,
    ConsumerScaler,
    ProcessingTimeMixin,
    ScalingActivityLog,
    ScalingPolicy,
)
from users.errors import ConfigError
from users.settings import Settings
from users.sqs import sqs_client

logger = logging.getLogger(__name__)

__all__ = ["AutoscalingShape", "SqsConsumer", "SqsProducer"]

DEFAULT_CONSUMERS_MIN = 1
DEFAULT_CONSUMERS_MAX = 10
DEFAULT_TARGET_BACKLOG_PER_CONSUMER = 100.0
DEFAULT_SCALE_OUT_COOLDOWN_S = 30.0
DEFAULT_EVALUATION_INTERVAL_S = 10.0


@events.init_command_line_parser.add_listener
def _add_scaler_arguments(parser) -> None:
    group = parser.add_argument_group("msgload stand-in consumer autoscaling (local)")
    option = group.add_argument
    option(
        "--consumers-min",
        type=int,
        default=DEFAULT_CONSUMERS_MIN,
        help="consumer users at the start, and the fewest the scaler keeps",
    )
    option(
        "--consumers-max",
        type=int,
        default=DEFAULT_CONSUMERS_MAX,
        help="maximum consumer users the scaler starts",
    )
    option(
        "--target-backlog-per-consumer",
        type=float,
        default=DEFAULT_TARGET_BACKLOG_PER_CONSUMER,
        help="visible messages per consumer above which the scaler adds consumers",
    )
    option(
        "--scale-out-cooldown-s",
        type=float,
        default=DEFAULT_SCALE_OUT_COOLDOWN_S,
        help="seconds after a scale-out before the next one",
    )
    option(
        "--evaluation-interval-s",
        type=float,
        default=DEFAULT_EVALUATION_INTERVAL_S,
        help="seconds between the scaler's readings of the backlog",
    )
    option(
        "--scaling-resource-id",
        default=DEFAULT_RESOURCE_ID,
        help="ResourceId written in scaling_activities.json; pass the same to "
        "`python -m analysis report --resource-id`",
    )


def scaling_policy(options) -> ScalingPolicy:
    """Return the scaler's policy from the options, checked."""
    policy = ScalingPolicy(
        min_capacity=options.consumers_min,
        max_capacity=options.consumers_max,
        target_backlog_per_consumer=options.target_backlog_per_consumer,
        scale_out_cooldown_s=options.scale_out_cooldown_s,
        evaluation_interval_s=options.evaluation_interval_s,
    )
    if policy.min_capacity < 1:
        raise ConfigError("--consumers-min must be 1 or more.")
    if policy.max_capacity < policy.min_capacity:
        raise ConfigError(
            f"--consumers-max ({policy.max_capacity}) must be at least "
            f"--consumers-min ({policy.min_capacity})."
        )
    if policy.target_backlog_per_consumer <= 0:
        raise ConfigError("--target-backlog-per-consumer must be above 0.")
    if policy.scale_out_cooldown_s < 0:
        raise ConfigError("--scale-out-cooldown-s must be 0 or more.")
    if policy.evaluation_interval_s <= 0:
        raise ConfigError("--evaluation-interval-s must be above 0.")
    return policy


def visible_messages_reader(settings: Settings):
    """Return a function that reads the queue's ApproximateNumberOfMessages."""
    client = sqs_client(settings)

    def read_backlog() -> float:
        url = client.get_queue_url(QueueName=settings.queue_name)["QueueUrl"]
        attributes = client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return float(attributes["ApproximateNumberOfMessages"])

    return read_backlog


class SqsProducer(SqsProducerUser):
    weight = 1


class SqsConsumer(ProcessingTimeMixin, SqsConsumerUser):
    weight = 1


class AutoscalingShape(shapes.StepShape):
    """Producer users in steps; consumer users as many as the scaler requests.

    With --target aws no consumer user starts and no scaler runs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.scaler: ConsumerScaler | None = None

    def consumers_at(self, run_time_s: float) -> int:
        return 0 if self.scaler is None else self.scaler.desired

    def prepare(self) -> bool:
        if not super().prepare():
            return False
        environment = self.runner.environment
        options = environment.parsed_options
        if options is None or options.target != "local":
            self.consumer_classes = []
            logger.info("Autoscaling scenario against AWS: producers only")
            return True
        try:
            self.scaler = self.build_scaler(environment)
        except ConfigError as error:
            shapes.stop_on_config_error(environment, error)
            return False
        self.scaler.start()
        return True

    def build_scaler(self, environment) -> ConsumerScaler:
        options = environment.parsed_options
        policy = scaling_policy(options)
        settings = Settings.from_options(options)
        run_dir = environment.msgload.run_dir
        path = None if run_dir is None else run_dir / SCALING_ACTIVITIES_FILE
        consumer_names = [user_class.__name__ for user_class in self.consumer_classes]

        def running_consumers() -> int:
            counts = self.runner.user_classes_count
            return sum(counts.get(name, 0) for name in consumer_names)

        return ConsumerScaler(
            policy,
            visible_messages_reader(settings),
            running_consumers,
            ScalingActivityLog(path, options.scaling_resource_id),
        )

    def finish(self) -> None:
        super().finish()
        if self.scaler is not None:
            self.scaler.stop()
            self.scaler = None
