"""Amazon SQS under a ramp: producer users rise evenly over fixed consumers, to
see publish and end-to-end latency change with the load.

    locust -f locustfiles/ramp.py --headless --ramp-from-users 1 \
        --ramp-to-users 10 --ramp-over-s 120 --ramp-hold-s 30 --consumer-users 2 \
        --publish-rate 100 --drain-s 30
"""

from locustfiles.shapes import RampShape
from users import SqsConsumerUser, SqsProducerUser

__all__ = ["RampShape", "SqsConsumer", "SqsProducer"]


class SqsProducer(SqsProducerUser):
    weight = 1


class SqsConsumer(SqsConsumerUser):
    weight = 1
