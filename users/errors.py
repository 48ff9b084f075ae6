"""The project's error names: configuration errors, and broker errors with a code.

Broker errors from botocore, kafka-python, pika and stomp.py are translated here,
at one boundary, keeping the original chained and the service's error code visible
in Locust's failure table.
"""

import re

import botocore.exceptions
import kafka.errors
import pika.exceptions
import stomp.exception

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
    if isinstance(error, pika.exceptions.AMQPError):
        return _amqp_error(error)
    if isinstance(error, stomp.exception.StompException):
        return BrokerError(type(error).__name__, str(error), retriable=True)
    return BrokerError(type(error).__name__, str(error))


def _aws_retriable(error: botocore.exceptions.ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status >= 500 or status == 429


def _kafka_message(error: kafka.errors.KafkaError) -> str:
    """Return the first line of error's text with its numbers as N.

    kafka-python repeats the whole request in some messages, starts others with the
    class name, and puts record counts, partitions and milliseconds in them; Locust
    groups failures by their text, so one outage would otherwise fill many rows.
    """
    text = str(error).split("\n")[0]
    text = text.removeprefix(f"{type(error).__name__}: ")
    return NUMBER.sub("N", text)[:200]


NUMBER = re.compile(r"\d+")


def _amqp_error(error: pika.exceptions.AMQPError) -> BrokerError:
    """Return a pika error under its AMQP reply code and name ("404 NOT_FOUND"), or
    under the class of the error pika wrapped ("ConnectionRefusedError")."""
    retriable = isinstance(error, pika.exceptions.AMQPConnectionError)
    if isinstance(error, pika.exceptions.UnroutableError) and error.messages:
        returned = error.messages[0].method
        code = f"{returned.reply_code} {returned.reply_text}"
        return BrokerError(code, str(error))
    cause = _amqp_cause(error)
    reply_code = getattr(cause, "reply_code", None)
    if reply_code is not None:
        text = str(cause.reply_text)
        name = text.split(" ", 1)[0]
        code = f"{reply_code} {name}" if name.isupper() else str(reply_code)
        return BrokerError(code, text, retriable)
    return BrokerError(type(cause).__name__, str(cause) or repr(cause), retriable)


def _amqp_cause(error: BaseException) -> BaseException:
    # pika wraps a failed connection in up to three layers (connection error,
    # workflow failure, phase error); the innermost one names what went wrong.
    cause = error
    for _ in range(5):
        inner = getattr(cause, "exception", None)
        if inner is None and getattr(cause, "exceptions", None):
            inner = cause.exceptions[-1]
        if inner is None and cause.args and isinstance(cause.args[0], BaseException):
            inner = cause.args[0]
        if not isinstance(inner, BaseException):
            break
        cause = inner
    return cause
