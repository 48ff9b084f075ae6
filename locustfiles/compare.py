"""Every service side by side, with the same message size, batch size and rate.

Each service has one producer and one consumer user class, all with the same
weight, so by default (one user per class) every service gets one producer and one
consumer. Services whose local broker does not run are left out (see --brokers).

    locust -f locustfiles/compare.py --headless -t 75s --drain-s 15 --publish-rate 100
"""

from users import (
    ActiveMQConsumerUser,
    ActiveMQProducerUser,
    KafkaConsumerUser,
    KafkaProducerUser,
    KinesisConsumerUser,
    KinesisProducerUser,
    RabbitMQConsumerUser,
    RabbitMQProducerUser,
    SnsProducerUser,
    SnsSqsConsumerUser,
    SqsConsumerUser,
    SqsFifoConsumerUser,
    SqsFifoProducerUser,
    SqsProducerUser,
)


class SqsProducer(SqsProducerUser):
    pass


class SqsConsumer(SqsConsumerUser):
    pass


class SqsFifoProducer(SqsFifoProducerUser):
    pass


class SqsFifoConsumer(SqsFifoConsumerUser):
    pass


class SnsProducer(SnsProducerUser):
    pass


class SnsConsumer(SnsSqsConsumerUser):
    pass


class KinesisProducer(KinesisProducerUser):
    pass


class KinesisConsumer(KinesisConsumerUser):
    pass


class KafkaProducer(KafkaProducerUser):
    pass


class KafkaConsumer(KafkaConsumerUser):
    pass


class RabbitMQProducer(RabbitMQProducerUser):
    pass


class RabbitMQConsumer(RabbitMQConsumerUser):
    pass


class ActiveMQProducer(ActiveMQProducerUser):
    pass


class ActiveMQConsumer(ActiveMQConsumerUser):
    pass
