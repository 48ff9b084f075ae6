"""Amazon Kinesis Data Streams: producers put records, consumers read every shard.

locust -f locustfiles/kinesis.py --headless -u 4 -r 4 -t 60s --shards 2
"""

from users import KinesisConsumerUser, KinesisProducerUser


class KinesisProducer(KinesisProducerUser):
    weight = 1


class KinesisConsumer(KinesisConsumerUser):
    weight = 1
