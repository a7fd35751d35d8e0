"""Calls to the action server, tried again when the request never reached it.

Rasa 3.6 gives up on a custom action at the first connection error, and under load the
first try can fail before a byte is sent: 500 conversations at once lost 139 of 400
handoff flags to "Cannot write to closing transport" (docs/safety.md, "A person when
they need one"). A call is tried again, after a short pause, only when no reply came back at all:
the connection was refused, or closed or reset before a response. Nothing the action
server did reaches the conversation without a reply (the Rasa server applies the events it
returns), and our actions change nothing else, so a second try cannot act twice. A reply
with an error status, a timeout (the action may still be running) or a certificate
problem is not tried again; Rasa handles those as before.
"""

import asyncio
import logging
import random
from typing import Any, Awaitable, Callable, Optional, Sequence, TypeVar

import aiohttp
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Pauses before the second, third and fourth try: about 0.7 s in all, so a patient whose
# action server is really down gets the "temporarily unavailable" reply almost as soon.
RETRY_DELAYS_S = (0.1, 0.2, 0.4)


def never_reached(error: BaseException) -> bool:
    """True when the action server cannot have answered: refused, closed or reset first."""
    if isinstance(
        error, (asyncio.TimeoutError, aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)
    ):
        return False
    return isinstance(error, (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError))


async def with_retries(
    call: Callable[[], Awaitable[T]],
    what: str,
    delays: Sequence[float] = RETRY_DELAYS_S,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> T:
    """`call()`, tried once more after each delay while it fails before any reply."""
    for attempt, delay in enumerate(delays, start=1):
        try:
            return await call()
        except aiohttp.ClientError as error:
            if not never_reached(error):
                raise
            logger.warning(
                "Action server call for '%s' failed before a reply (%s, try %d of "
                "%d); trying again.",
                what,
                type(error).__name__,
                attempt,
                len(delays) + 1,
            )
        # Jitter, so calls that failed together do not all come back at the same moment.
        await sleep(delay * random.uniform(0.5, 1.5))
    return await call()


class RetryingEndpoint(EndpointConfig):
    """The action endpoint, its requests tried again when they never reached the server."""

    def __init__(self, endpoint: EndpointConfig, action_name: str) -> None:
        # The same settings, so Rasa's comparisons and copies see the same endpoint.
        self.__dict__.update(endpoint.__dict__)
        self.action_name = action_name

    async def request(self, *args: Any, **kwargs: Any) -> Optional[Any]:
        parent = super().request
        return await with_retries(lambda: parent(*args, **kwargs), self.action_name)


_rasa_init = RemoteAction.__init__


def _init(self: RemoteAction, name: str, action_endpoint: Optional[EndpointConfig]) -> None:
    if action_endpoint is not None and not isinstance(action_endpoint, RetryingEndpoint):
        action_endpoint = RetryingEndpoint(action_endpoint, name)
    _rasa_init(self, name, action_endpoint)


def install() -> None:
    RemoteAction.__init__ = _init  # type: ignore[assignment]


__all__ = ["RETRY_DELAYS_S", "RetryingEndpoint", "install", "never_reached", "with_retries"]
