"""Amazon SNS with fan-out to an SQS queue: publishers, and consumers of the queue.

locust -f locustfiles/sns.py --headless -u 4 -r 4 -t 60s
"""

from users import SnsProducerUser, SnsSqsConsumerUser


class SnsProducer(SnsProducerUser):
    weight = 1


class SnsSqsConsumer(SnsSqsConsumerUser):
    weight = 1
