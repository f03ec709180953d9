"""The taskiq brokers that carry claimed job ids to `emporium worker` (core/jobs/runner.py).

Both are set up so that a worker outlives an idle queue and a broker restart: the worker is the only
process that drains the queue, so its listening loop ending is the end of every job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AsyncBroker, InMemoryBroker
from taskiq_redis import ListQueueBroker

log = structlog.get_logger(__name__)

# BRPOP waits this long for a job, then asks again. It must stay below the client's socket timeout
# (redis-py's default is 5 s): BRPOP with no timeout blocks for ever, and the socket timeout ends that
# read with a TimeoutError, which taskiq-redis does not catch, so an idle worker used to exit after 5 s.
# Keeping a socket timeout (rather than none) still notices a Redis that vanished without closing.
LISTEN_BLOCK_SECONDS = 2
SOCKET_TIMEOUT_SECONDS = 10.0
# After a lost connection (Redis restarting), wait this long before connecting again.
RECONNECT_SECONDS = 1.0


class RedisJobQueue(ListQueueBroker):
    """taskiq-redis's list queue, with a listening loop that survives idle time and Redis restarts."""

    async def listen(self) -> AsyncGenerator[bytes, None]:
        while True:
            try:
                async with Redis(connection_pool=self.connection_pool) as redis:
                    popped = await redis.brpop([self.queue_name], timeout=LISTEN_BLOCK_SECONDS)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # A message popped just as the connection broke is lost here; its claim lapses and the
                # relay sends the job again (core/jobs/runner.py), so nothing is lost for good.
                log.warning("job_queue_unreachable", error=str(exc))
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            if popped is not None:
                message = popped[1]
                yield message.encode() if isinstance(message, str) else message


def make_broker(url: str | None, queue: str = "emporium:jobs") -> AsyncBroker:
    """The broker ``url`` names (none: in-memory, jobs run in this process); ``queue`` is the Redis list,
    or the RabbitMQ exchange and queue (its dead letters go to ``<queue>.dead_letter``)."""
    if not url:
        return InMemoryBroker(await_inplace=True, propagate_exceptions=False)
    if url.startswith(("redis://", "rediss://")):
        return RedisJobQueue(url, queue_name=queue, socket_timeout=SOCKET_TIMEOUT_SECONDS)
    if url.startswith(("amqp://", "amqps://")):
        from taskiq_aio_pika import AioPikaBroker, Exchange, Queue

        # aio-pika's robust connections reconnect by themselves after a RabbitMQ restart.
        return AioPikaBroker(
            url,
            exchange=Exchange(name=queue),
            task_queues=[Queue(name=queue)],
            dead_letter_queue=Queue(name=f"{queue}.dead_letter"),
        )
    raise ValueError("EMPORIUM_JOBS_BROKER_URL must start with redis://, rediss://, amqp:// or amqps://")
