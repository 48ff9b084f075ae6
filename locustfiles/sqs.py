"""Amazon SQS standard queue: producers send batches, consumers long-poll and delete.

locust -f locustfiles/sqs.py --headless -u 4 -r 4 -t 60s
"""

from users import SqsConsumerUser, SqsProducerUser


class SqsProducer(SqsProducerUser):
    weight = 1


class SqsConsumer(SqsConsumerUser):
    weight = 1
