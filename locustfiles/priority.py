"""Priority queues on Amazon SQS: does high priority traffic stay fast while a
backlog of low priority traffic builds up?

Producers send --high-priority-share of their publish calls to --high-queue-name
and the rest to --low-queue-name; consumers poll by --priority-mode (strict or
weighted). The summary has one row per priority class ("SQS high", "SQS low").

    locust -f locustfiles/priority.py --headless -u 4 -r 4 -t 120s \
        --publish-rate 100 --processing-ms 5 --priority-mode strict
"""

from users.priority import SqsPriorityConsumerUser, SqsPriorityProducerUser


class PriorityProducer(SqsPriorityProducerUser):
    weight = 1


class PriorityConsumer(SqsPriorityConsumerUser):
    weight = 1
