"""Start, check and stop the local brokers that stand in for AWS on 127.0.0.1."""

from stack.activemq import ActiveMQBroker
from stack.brokers import Broker, MotoBroker, TansuBroker
from stack.process import StackError, StateDir
from stack.rabbitmq import RabbitMQBroker

__all__ = [
    "BROKERS",
    "ActiveMQBroker",
    "Broker",
    "MotoBroker",
    "RabbitMQBroker",
    "StackError",
    "StateDir",
    "TansuBroker",
]

# The order is the start order; stopping goes in reverse.
BROKERS: dict[str, type[Broker]] = {
    "moto": MotoBroker,
    "kafka": TansuBroker,
    "rabbitmq": RabbitMQBroker,
    "activemq": ActiveMQBroker,
}
