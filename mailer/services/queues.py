"""Queue health for the admin Queues page (the detail lives in rq-dashboard)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry

from mailer.queue import PRIORITY, get_redis

HEARTBEAT_KEY = "mailer:scheduler:heartbeat"


@dataclass(frozen=True)
class QueueState:
    name: str
    queued: int
    started: int
    failed: int


def queue_states() -> list[QueueState]:
    conn = get_redis()
    states = []
    for name in PRIORITY:
        queue = Queue(name, connection=conn)
        states.append(
            QueueState(
                name,
                queue.count,
                StartedJobRegistry(queue=queue).count,
                FailedJobRegistry(queue=queue).count,
            )
        )
    return states


def workers() -> list[Worker]:
    return Worker.all(connection=get_redis())


def record_heartbeat() -> None:
    get_redis().set(HEARTBEAT_KEY, int(time.time()))


def seconds_since_heartbeat() -> int | None:
    value = get_redis().get(HEARTBEAT_KEY)
    return None if value is None else int(time.time()) - int(value)
