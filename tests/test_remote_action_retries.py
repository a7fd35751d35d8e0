"""Action-server calls tried again when they never reached it (policies/remote_action_retries.py),
against a real loopback server that closes connections before reading a request, as the
action server does to a connection the busy Rasa server is too slow to write on."""

import asyncio
import json
from contextlib import asynccontextmanager
from typing import AsyncIterator, List

import aiohttp
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from policies import remote_action_retries as action_calls
from scripts.ops.processes import free_port

FLAG = {
    "events": [{"event": "slot", "name": "handoff_reason", "value": "requested"}],
    "responses": [],
}


class FlakyActionServer:
    """Closes the first `drops` connections at once; then answers each request with
    `status` and FLAG, or never when `hang`."""

    def __init__(self, drops: int, status: int = 200, hang: bool = False) -> None:
        self.drops, self.status, self.hang = drops, status, hang
        self.connections = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhook"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.connections <= self.drops:
            writer.close()
            return
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        if self.hang:
            await asyncio.sleep(30)
        body = json.dumps(FLAG).encode()
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d"
            b"\r\nConnection: close\r\n\r\n%s" % (self.status, len(body), body)
        )
        await writer.drain()
        writer.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator["FlakyActionServer"]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        try:
            yield self
        finally:
            server.close()


def call(endpoint: EndpointConfig, timeout_s: float = 10) -> object:
    return endpoint.request(
        json={"next_action": "action_flag_handoff"},
        method="post",
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )


def retrying(url: str) -> action_calls.RetryingEndpoint:
    return action_calls.RetryingEndpoint(EndpointConfig(url), "action_flag_handoff")


def test_rasa_alone_gives_up_when_the_server_closes_the_connection_first() -> None:
    async def scenario() -> None:
        async with FlakyActionServer(drops=1).running() as server:
            with pytest.raises(aiohttp.ClientConnectionError):
                await call(EndpointConfig(server.url))
        assert server.connections == 1

    asyncio.run(scenario())


def test_a_call_the_server_closed_before_reading_is_sent_again() -> None:
    async def scenario() -> None:
        async with FlakyActionServer(drops=2).running() as server:
            assert await call(retrying(server.url)) == FLAG
        assert server.connections == 3

    asyncio.run(scenario())


def test_a_server_that_keeps_closing_is_tried_a_bounded_number_of_times() -> None:
    async def scenario() -> None:
        async with FlakyActionServer(drops=100).running() as server:
            with pytest.raises(aiohttp.ClientConnectionError):
                await call(retrying(server.url))
        assert server.connections == len(action_calls.RETRY_DELAYS_S) + 1

    asyncio.run(scenario())


def test_a_refused_connection_is_tried_again_then_reported() -> None:
    async def scenario() -> None:
        attempts: List[float] = []
        original = action_calls.EndpointConfig.request

        async def counted(self: EndpointConfig, *args: object, **kwargs: object) -> object:
            attempts.append(1)
            return await original(self, *args, **kwargs)

        action_calls.EndpointConfig.request = counted  # type: ignore[assignment]
        try:
            with pytest.raises(aiohttp.ClientConnectorError):
                await call(retrying(f"http://127.0.0.1:{free_port()}/webhook"))
        finally:
            action_calls.EndpointConfig.request = original  # type: ignore[assignment]
        assert len(attempts) == len(action_calls.RETRY_DELAYS_S) + 1

    asyncio.run(scenario())


def test_an_error_reply_is_not_sent_again() -> None:
    async def scenario() -> None:
        async with FlakyActionServer(drops=0, status=500).running() as server:
            with pytest.raises(Exception) as raised:
                await call(retrying(server.url))
        assert getattr(raised.value, "status", None) == 500
        assert server.connections == 1

    asyncio.run(scenario())


def test_a_call_that_timed_out_is_not_sent_again() -> None:
    async def scenario() -> None:
        # The action may still be running: a second call could act twice.
        async with FlakyActionServer(drops=0, hang=True).running() as server:
            with pytest.raises(asyncio.TimeoutError):
                await call(retrying(server.url), timeout_s=0.5)
        assert server.connections == 1

    asyncio.run(scenario())


def test_the_handoff_flag_is_recorded_when_the_first_connections_close() -> None:
    async def scenario() -> None:
        action_calls.install()
        domain = Domain.from_dict(
            {
                "slots": {
                    "handoff_reason": {
                        "type": "categorical",
                        "values": ["requested"],
                        "mappings": [{"type": "custom"}],
                    }
                },
                "actions": ["action_flag_handoff"],
            }
        )
        tracker = DialogueStateTracker.from_events("patient", [UserUttered("a real person please")])
        async with FlakyActionServer(drops=2).running() as server:
            action = RemoteAction("action_flag_handoff", EndpointConfig(server.url))
            events = await action.run(
                CollectingOutputChannel(),
                TemplatedNaturalLanguageGenerator(domain.responses),
                tracker,
                domain,
            )
        assert events == [SlotSet("handoff_reason", "requested")]
        assert server.connections == 3

    asyncio.run(scenario())
