"""Which Kinesis shards each process reads, and the read position of each shard.

The consumer users of one process share that process's shards. With workers, the
master waits until every worker has spawned its users, ranks the workers that run a
Kinesis consumer, and sends each one its rank; the worker of rank r takes the shards
at positions p with p mod (workers with consumers) == r.
"""

import dataclasses
import logging
import time

import locust
from locust.runners import MasterRunner, WorkerRunner

logger = logging.getLogger(__name__)

__all__ = [
    "SHARE_TIMEOUT_S",
    "SHARE_WAIT_S",
    "ShardCursor",
    "ShardPool",
    "list_shard_ids",
    "send_shares",
    "stop_waiting_for_share",
    "waiting_for_share",
    "worker_share",
]

SHARE_MESSAGE = "msgload_kinesis_share"
SHARE_WAIT_S = 0.5
SHARE_TIMEOUT_S = 60.0
_assigned_share: dict = {}
"""On a worker: {"rank": r or None, "of": n} as the master sent it for this run."""


def list_shard_ids(client, stream: str) -> list[str]:
    shard_ids: list[str] = []
    request = {"StreamName": stream}
    while True:
        response = client.list_shards(**request)
        shard_ids += [shard["ShardId"] for shard in response["Shards"]]
        token = response.get("NextToken")
        if not token:
            return shard_ids
        request = {"NextToken": token}


def worker_share(shard_ids: list[str], environment) -> list[str]:
    """Return the shards this process reads: all of them, or on a worker those at
    positions p with p mod (workers with consumers) == the rank the master sent."""
    if not isinstance(environment.runner, WorkerRunner):
        return shard_ids
    rank, readers = _assigned_share.get("rank"), _assigned_share.get("of", 0)
    share = (
        []
        if rank is None
        else [
            shard
            for position, shard in enumerate(shard_ids)
            if position % readers == rank
        ]
    )
    if share:
        logger.info("This worker reads shards %s", ", ".join(share))
    else:
        logger.warning("This worker reads no shard of %s shards", len(shard_ids))
    return share


def waiting_for_share(environment) -> bool:
    """Return True on a worker whose share of the shards the master has not sent."""
    return isinstance(environment.runner, WorkerRunner) and "of" not in _assigned_share


@locust.events.init.add_listener
def _register_share_messages(environment, runner, **_kwargs) -> None:
    if isinstance(runner, WorkerRunner):
        runner.register_message(SHARE_MESSAGE, _on_share)
        environment.events.test_start.add_listener(lambda **_: _assigned_share.clear())
    elif isinstance(runner, MasterRunner):
        environment.events.spawning_complete.add_listener(
            lambda **_: send_shares(environment)
        )


def _on_share(environment, msg, **_kwargs) -> None:
    if "of" not in _assigned_share:
        _assigned_share.update(msg.data)


def stop_waiting_for_share() -> None:
    """Read no shard on this worker: the master's share never came."""
    _assigned_share.update({"rank": None, "of": 0})


def send_shares(environment) -> None:
    """Rank the workers that run a Kinesis consumer and send each worker its rank."""
    consumers = [
        user_class.__name__
        for user_class in environment.user_classes
        if getattr(user_class, "reads_kinesis_shards", False)
    ]
    if not consumers:
        return
    runner = environment.runner
    readers = sorted(
        client.id
        for client in runner.clients.values()
        if any(client.user_classes_count.get(name, 0) for name in consumers)
    )
    for client in list(runner.clients.values()):
        rank = readers.index(client.id) if client.id in readers else None
        runner.send_message(
            SHARE_MESSAGE, {"rank": rank, "of": len(readers)}, client.id
        )
    logger.info("Kinesis shards spread over %s workers with consumers", len(readers))


@dataclasses.dataclass
class ShardCursor:
    """The read position of one shard: its next iterator and last record read."""

    shard_id: str
    iterator: str | None = None
    last_sequence: str | None = None
    due_s: float = 0.0
    busy: bool = False
    closed: bool = False


class ShardPool:
    """The shards one process reads, handed to one reader at a time each."""

    def __init__(self, shard_ids: list[str]) -> None:
        self.cursors = [ShardCursor(shard_id) for shard_id in shard_ids]

    def take(self) -> ShardCursor | None:
        """Return the idle open shard that has waited longest past its due time."""
        now = time.monotonic()
        ready = [c for c in self.open_cursors() if not c.busy and c.due_s <= now]
        if not ready:
            return None
        cursor = min(ready, key=lambda c: c.due_s)
        cursor.busy = True
        return cursor

    def release(self, cursor: ShardCursor, interval_s: float) -> None:
        cursor.busy = False
        cursor.due_s = time.monotonic() + interval_s

    def wait_s(self, interval_s: float) -> float:
        """Return the seconds until a shard is due, at most interval_s."""
        idle = [c.due_s for c in self.open_cursors() if not c.busy]
        if not idle:
            return interval_s
        return min(interval_s, max(0.0, min(idle) - time.monotonic()))

    def open_cursors(self) -> list[ShardCursor]:
        return [cursor for cursor in self.cursors if not cursor.closed]
