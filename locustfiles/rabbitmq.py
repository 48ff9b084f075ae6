"""Amazon MQ for RabbitMQ: producers with publisher confirms, consumers with manual
acknowledgements, one queue.

    locust -f locustfiles/rabbitmq.py --headless -u 2 -r 2 -t 60s

Against an Amazon MQ broker, add its endpoint:
--amqp-url amqps://USER:PASSWORD@b-ID.mq.REGION.amazonaws.com:5671/
"""

from users import RabbitMQConsumerUser, RabbitMQProducerUser


class RabbitMQProducer(RabbitMQProducerUser):
    weight = 1


class RabbitMQConsumer(RabbitMQConsumerUser):
    weight = 1
