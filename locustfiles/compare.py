"""Every service side by side, with the same message size, batch size and rate.

Each service gets one producer and one consumer user per group of users, so
-u 8 runs two of each for SQS and Kafka.

    locust -f locustfiles/compare.py --headless -u 8 -r 8 -t 60s --publish-rate 200
"""

from users import (
    KafkaConsumerUser,
    KafkaProducerUser,
    SqsConsumerUser,
    SqsProducerUser,
)


class SqsProducer(SqsProducerUser):
    weight = 1


class SqsConsumer(SqsConsumerUser):
    weight = 1


class KafkaProducer(KafkaProducerUser):
    weight = 1


class KafkaConsumer(KafkaConsumerUser):
    weight = 1
