"""Fetch CloudWatch metrics and scaling events for a run's window from the APIs."""

from __future__ import annotations

import logging

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from analysis import cloudwatch, events
from analysis.aws import make_client
from analysis.errors import AnalysisInputError

__all__ = ["fetch_live"]

logger = logging.getLogger(__name__)


def fetch_live(options, resources, start, end) -> tuple[pd.DataFrame, list[dict]]:
    """Return (CloudWatch samples, scaling events) fetched from options.endpoint_url.

    Application Auto Scaling and ECS are asked only when --resource-id is given;
    an API the endpoint does not offer is logged and skipped.
    """
    if start is None or end is None:
        raise AnalysisInputError(
            "The run's start and end are unknown (no run.json and no samples), so "
            "--live cannot choose a window; add run.json to the run folder."
        )
    region, url = options.region, options.endpoint_url
    try:
        metrics_client = make_client("cloudwatch", region, url)
        queries = cloudwatch.build_queries(resources, options.period_s)
        samples = (
            cloudwatch.fetch_metric_data(metrics_client, queries, start, end)
            if queries
            else cloudwatch.results_to_samples([])
        )
    except (BotoCoreError, ClientError) as error:
        raise AnalysisInputError(
            f"GetMetricData at {url} failed ({error}); check --endpoint-url and "
            "--region."
        ) from error
    found = _optional(
        "DescribeAlarmHistory",
        lambda: events.fetch_alarm_history(
            metrics_client, start, end, options.alarm_name, options.resource_id
        ),
    )
    if options.resource_id:
        scaling = make_client("application-autoscaling", region, url)
        ecs = make_client("ecs", region, url)
        for resource_id in options.resource_id:
            found += _optional(
                "DescribeScalingActivities",
                lambda rid=resource_id: events.fetch_scaling_activities(
                    scaling, rid, start
                ),
            )
            found += _optional(
                "DescribeServices",
                lambda rid=resource_id: events.fetch_service_events(ecs, rid),
            )
    return samples, found


def _optional(operation: str, call) -> list[dict]:
    try:
        return call()
    except (BotoCoreError, ClientError) as error:
        logger.warning("Skipping %s, which failed: %s", operation, error)
        return []
