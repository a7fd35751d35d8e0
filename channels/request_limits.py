"""Bounded request bodies for every webhook of ours, refused with 413 beyond their size.

Sanic reads a route's whole body before its handler runs, up to its REQUEST_MAX_SIZE
(100 MB unless set): an unsigned 7.9 MB form to the SMS webhook held every patient up for
17 s before its 403. Here each webhook's routes become streaming routes that read at most
what their channel ever sends (the declared Content-Length is refused at once, a chunked
body as soon as it passes the limit), within a total time however slowly it trickles in.
The server-wide limits (channels/server_limits.py) are installed with the first of them.
"""

import asyncio
import logging
from typing import Any, Awaitable, Callable

from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import server_limits

logger = logging.getLogger(__name__)

KB = 1024
# An SMS webhook is a few kB: 1,600 characters of Body, each up to 9 bytes URL-encoded.
TWILIO_MAX_BYTES = 32 * KB
# 20,000 characters of message text, JSON-escaped, and a little metadata.
REST_MAX_BYTES = 128 * KB
# Messenger batches several events in one request; a Slack message is at most 40,000
# characters (its interactive payloads are smaller).
MESSENGER_MAX_BYTES = 256 * KB
SLACK_MAX_BYTES = 256 * KB
# However slowly a client sends, its body is read within this time or refused with 408.
BODY_SECONDS = 10.0

Handler = Callable[..., Awaitable[HTTPResponse]]


class BodyTooLarge(ValueError):
    pass


def too_large(max_bytes: int) -> HTTPResponse:
    return response.text(
        f"Request body too large: this webhook accepts at most {max_bytes // KB} kB.", status=413
    )


async def receive_body(request: Request, max_bytes: int, seconds: float = BODY_SECONDS) -> None:
    """Read the body into request.body; BodyTooLarge beyond `max_bytes`, TimeoutError
    beyond `seconds`."""
    stream = request.stream
    if stream is None or not stream.request_body:
        return
    # Sanic's own check, per request: it refuses a larger Content-Length before reading
    # a byte, and a chunked body as soon as it passes the limit.
    stream.request_max_size = max_bytes
    try:
        await asyncio.wait_for(request.receive_body(), seconds)
    except PayloadTooLarge:
        raise BodyTooLarge() from None
    except asyncio.TimeoutError:
        # Answer and close, instead of Sanic reading the rest of the body after answering.
        stream.keep_alive = False
        stream.request_body = None
        raise


def bounded(handler: Handler, max_bytes: int) -> Handler:
    """`handler` as a streaming handler that first reads at most `max_bytes` of body."""

    async def read_then_handle(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        try:
            await receive_body(request, max_bytes)
        except BodyTooLarge:
            logger.warning("request.rejected reason=body_too_large path=%s", request.path)
            return too_large(max_bytes)
        except asyncio.TimeoutError:
            logger.warning("request.rejected reason=body_too_slow path=%s", request.path)
            return response.text("Request body too slow.", status=408)
        return await handler(request, *args, **kwargs)

    read_then_handle.__name__ = handler.__name__
    read_then_handle.__qualname__ = handler.__qualname__
    # What sanic looks for: it then leaves the body to the handler instead of reading it.
    read_then_handle.is_stream = True  # type: ignore[attr-defined]
    return read_then_handle


def limit_bodies(blueprint: Blueprint, max_bytes: int) -> Blueprint:
    """The blueprint with each of its routes reading at most `max_bytes` of body (also a
    blueprint written by Rasa), and the server-wide limits installed at start-up."""
    blueprint._future_routes = {
        route
        if route.websocket
        else route._replace(handler=bounded(route.handler, max_bytes), stream=True)
        for route in blueprint._future_routes
    }
    blueprint.listener("before_server_start")(server_limits.install)
    return blueprint
