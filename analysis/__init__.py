"""Read a msgload run, merge it with CloudWatch metrics and scaling events, report.

Importing this package loads nothing heavy: pandas, matplotlib and boto3 load with the
step modules that need them, and nothing here imports Locust or gevent.
"""

__all__ = [
    "aws",
    "cloudwatch",
    "errors",
    "events",
    "kpis",
    "live",
    "plots",
    "read",
    "report",
    "summary",
    "timeline",
]
