"""Amazon SQS under a step load: producer users grow in equal steps over fixed
consumers, to find the load at which the backlog starts to grow.

    locust -f locustfiles/step.py --headless --step-users 2 --step-length-s 60 \
        --steps 5 --consumer-users 2 --publish-rate 100 --drain-s 30
"""

from locustfiles.shapes import StepShape
from users import SqsConsumerUser, SqsProducerUser

__all__ = ["SqsConsumer", "SqsProducer", "StepShape"]


class SqsProducer(SqsProducerUser):
    weight = 1


class SqsConsumer(SqsConsumerUser):
    weight = 1
