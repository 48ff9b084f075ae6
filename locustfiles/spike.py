"""Amazon SQS under a spike: a short burst of producer users over fixed consumers,
to see how high the backlog climbs and how long it takes to drain.

    locust -f locustfiles/spike.py --headless --spike-base-users 1 \
        --spike-users 10 --spike-start-s 60 --spike-length-s 30 \
        --spike-duration-s 180 --consumer-users 2 --publish-rate 100 --drain-s 30
"""

from locustfiles.shapes import SpikeShape
from users import SqsConsumerUser, SqsProducerUser

__all__ = ["SpikeShape", "SqsConsumer", "SqsProducer"]


class SqsProducer(SqsProducerUser):
    weight = 1


class SqsConsumer(SqsConsumerUser):
    weight = 1
