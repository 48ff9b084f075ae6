"""The project's error names: configuration errors, and broker errors with a code.

Broker errors from botocore and kafka-python are translated here, at one boundary,
keeping the original chained and the service's error code visible in Locust's
failure table.
"""

import botocore.exceptions
import kafka.errors

__all__ = ["BatchEntryError", "BrokerError", "ConfigError", "translate"]


class ConfigError(Exception):
    """A wrong option: the run stops before the first request with this sentence."""


class BrokerError(Exception):
    """A broker call that failed, carrying the service's error code."""

    def __init__(self, code: str, message: str = "", retriable: bool = False) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.retriable = retriable


class BatchEntryError(BrokerError):
    """One failed entry in a batch response whose other entries succeeded."""


def translate(error: BaseException) -> BrokerError:
    """Return error as a BrokerError with the service's code; chain the original."""
    if isinstance(error, BrokerError):
        return error
    translated = _translate(error)
    translated.__cause__ = error
    return translated


def _translate(error: BaseException) -> BrokerError:
    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code") or "ClientError"
        return BrokerError(code, details.get("Message", ""), _aws_retriable(error))
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return BrokerError(type(error).__name__, str(error), retriable=True)
    if isinstance(error, kafka.errors.KafkaError):
        return BrokerError(type(error).__name__, _kafka_message(error), error.retriable)
    return BrokerError(type(error).__name__, str(error))


def _aws_retriable(error: botocore.exceptions.ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status >= 500 or status == 429


def _kafka_message(error: kafka.errors.KafkaError) -> str:
    # kafka-python repeats the whole request in some messages; the first line is
    # enough to group failures in Locust's table.
    text = str(error).split("\n")[0]
    return text[:200]
