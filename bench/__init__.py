"""The performance harness: msgload's producer users against the raw clients.

`python -m bench` (or `make bench`) starts its own local brokers, runs each raw
client and the matching msgload user alternately for a few rounds, and writes the
medians, the ratios to raw and the issue's targets to bench/RESULTS.md.
"""

__all__: list[str] = []
