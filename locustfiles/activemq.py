"""Amazon MQ for ActiveMQ over STOMP: producers that wait for receipts, consumers
that acknowledge each message, one queue.

    locust -f locustfiles/activemq.py --headless -u 2 -r 2 -t 60s

Against an Amazon MQ broker, add its STOMP endpoint: --stomp-host
b-ID-1.mq.REGION.amazonaws.com --stomp-port 61614 --stomp-tls --stomp-user USER
--stomp-password PASSWORD
"""

from users import ActiveMQConsumerUser, ActiveMQProducerUser


class ActiveMQProducer(ActiveMQProducerUser):
    weight = 1


class ActiveMQConsumer(ActiveMQConsumerUser):
    weight = 1
