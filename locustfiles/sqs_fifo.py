"""Amazon SQS FIFO queue: producers spread over message groups, consumers check order.

locust -f locustfiles/sqs_fifo.py --headless -u 4 -r 4 -t 60s --fifo-groups 8
"""

from users import SqsFifoConsumerUser, SqsFifoProducerUser


class SqsFifoProducer(SqsFifoProducerUser):
    weight = 1


class SqsFifoConsumer(SqsFifoConsumerUser):
    weight = 1
