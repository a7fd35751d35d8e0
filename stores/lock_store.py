"""Rasa's Redis lock store, except that a message is never stranded behind a dead replica.

Rasa's ticket lock gives each message a ticket that expires `lock_lifetime` seconds after it
was issued, even while the message is still waiting in line. When a replica dies holding a
conversation's lock, the message retried on another replica waits for the dead ticket to
expire; if its own ticket expires in the same polling interval (both issued within a
second), Rasa's loop waits for a ticket that no longer exists until the request times out.
Here a waiting message whose ticket has expired queues again instead.
"""

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncGenerator, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


class ClinicRedisLockStore(RedisLockStore):
    """`type: stores.lock_store.ClinicRedisLockStore` in endpoints.yml, with the `redis` settings."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            while True:
                lock = self.get_lock(conversation_id)
                if lock is None or not any(
                    t.number == ticket for t in lock.tickets if not t.has_expired()
                ):
                    ticket = self.issue_ticket(conversation_id, lock_lifetime)
                    continue
                if not lock.is_locked(ticket):
                    break
                await asyncio.sleep(wait_time_in_seconds)
                self.update_lock(conversation_id)
            yield lock
        finally:
            self.cleanup(conversation_id, ticket)
