"""Apache Kafka or Amazon MSK: asynchronous producers and one consumer group.

locust -f locustfiles/kafka_msk.py --headless -u 4 -r 4 -t 60s
"""

from users import KafkaConsumerUser, KafkaProducerUser


class KafkaProducer(KafkaProducerUser):
    weight = 1


class KafkaConsumer(KafkaConsumerUser):
    weight = 1
