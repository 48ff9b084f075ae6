"""Create boto3 clients for the live path, and parse the times AWS returns."""

from __future__ import annotations

import logging
import os
from datetime import datetime

import pandas as pd

__all__ = ["make_client", "to_utc"]

logger = logging.getLogger(__name__)


def make_client(service_name: str, region: str, endpoint_url: str):
    """Return a boto3 client for service_name at endpoint_url.

    The endpoint is required so that nothing reaches AWS by default. The EC2
    instance metadata lookup is switched off, because botocore would otherwise
    try 169.254.169.254 when no credentials are configured.
    """
    import boto3

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    logger.info("Connecting %s client to %s in %s", service_name, endpoint_url, region)
    return boto3.session.Session().client(
        service_name, region_name=region, endpoint_url=endpoint_url
    )


def to_utc(value: object) -> pd.Timestamp:
    """Parse an AWS time as UTC: a datetime, Unix seconds or ISO 8601 text.

    boto3 returns datetimes; the AWS CLI writes ISO 8601 text, or Unix seconds for
    JSON-protocol services when its timestamp format is "wire".
    """
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
    elif isinstance(value, int | float):
        stamp = pd.Timestamp(value, unit="s")
    else:
        stamp = pd.Timestamp(str(value))
    if stamp.tzinfo is None:
        return stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC")
