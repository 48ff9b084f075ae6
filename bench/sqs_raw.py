"""The raw boto3 SendMessage loop that msgload's SQS user is measured against."""

import time

import boto3
from botocore.config import Config

from bench.config import LOCAL_CREDENTIALS, LOCAL_REGION, SQS_CLIENT_CONFIG
from bench.measure import Window

__all__ = ["run_sqs_raw"]


def run_sqs_raw(args) -> dict:
    """Send one message per call for the warm-up and the window; return the result."""
    client = boto3.client(
        "sqs",
        endpoint_url=args.endpoint_url,
        region_name=LOCAL_REGION,
        config=Config(**SQS_CLIENT_CONFIG),
        **LOCAL_CREDENTIALS,
    )
    queue_url = client.create_queue(QueueName=args.name)["QueueUrl"]
    body = "x" * args.message_size_bytes
    window = Window()

    def send_until(deadline_s: float) -> None:
        while time.perf_counter() < deadline_s:
            started_s = time.perf_counter()
            client.send_message(QueueUrl=queue_url, MessageBody=body)
            window.record(started_s)

    send_until(time.perf_counter() + args.warmup_s)
    window.open()
    send_until(window.start_s + args.duration_s)
    window.close()
    return window.result()
