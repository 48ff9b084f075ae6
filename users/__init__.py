"""Locust user classes for messaging services, and what they share.

Importing this package imports locust first, so gevent's monkey-patching happens
before boto3, botocore or urllib3 are loaded, and registers msgload's event
listeners (options, results folder, correctness counts, summary).
"""

import locust  # noqa: F401 - must come first: it monkey-patches for gevent

from users import plugin
from users.activemq import ActiveMQConsumerUser, ActiveMQProducerUser
from users.base import ConsumerUser, MsgloadUser, ProducerUser
from users.envelope import Stamp
from users.errors import BatchEntryError, BrokerError, ConfigError
from users.kafka import KafkaConsumerUser, KafkaProducerUser
from users.kinesis import KinesisConsumerUser, KinesisProducerUser
from users.ledger import Ledger, SeqSet
from users.rabbitmq import RabbitMQConsumerUser, RabbitMQProducerUser
from users.settings import Settings
from users.sns import SnsProducerUser, SnsSqsConsumerUser
from users.sqs import SqsConsumerUser, SqsProducerUser
from users.sqs_fifo import SqsFifoConsumerUser, SqsFifoProducerUser
from users.timing import elapsed_ms, report

__all__ = [
    "ActiveMQConsumerUser",
    "ActiveMQProducerUser",
    "BatchEntryError",
    "BrokerError",
    "ConfigError",
    "ConsumerUser",
    "KafkaConsumerUser",
    "KafkaProducerUser",
    "KinesisConsumerUser",
    "KinesisProducerUser",
    "Ledger",
    "MsgloadUser",
    "ProducerUser",
    "RabbitMQConsumerUser",
    "RabbitMQProducerUser",
    "SeqSet",
    "Settings",
    "SnsProducerUser",
    "SnsSqsConsumerUser",
    "SqsConsumerUser",
    "SqsFifoConsumerUser",
    "SqsFifoProducerUser",
    "SqsProducerUser",
    "Stamp",
    "elapsed_ms",
    "plugin",
    "report",
]
