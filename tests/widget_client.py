"""The website widget's side of the Socket.IO channel, for tests against the real servers."""

import asyncio
from typing import Any, Dict, List

import socketio

from scripts.ops.serve import Servers

REPLY_TIMEOUT_S = 8
# The replies of one message arrive together; this much silence ends them.
QUIET_S = 0.5


class Widget:
    """A socket connected from the clinic page's origin: the session ids confirmed to it
    and every bot message it heard, in order."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient()
        self.confirmed: List[str] = []
        self.heard: List[Dict] = []
        self.client.on("session_confirm", self.confirmed.append)
        self.client.on("bot_uttered", self.heard.append)

    async def connect(self, servers: Servers) -> "Widget":
        origin = servers.env["WEB_ORIGIN"].split(",")[0]
        await self.client.connect(
            servers.socket_url, headers={"Origin": origin}, transports=["websocket"]
        )
        return self

    async def start_session(self, request: Any = None) -> str:
        """Ask for a session as the widget does ({"session_id": None}: a new one); its id."""
        already = len(self.confirmed)
        await self.client.emit("session_request", {"session_id": request})
        for _ in range(int(REPLY_TIMEOUT_S / 0.05)):
            if len(self.confirmed) > already:
                return self.confirmed[-1]
            await asyncio.sleep(0.05)
        raise AssertionError("the server confirmed no session")

    async def replies_to(self, payload: Any) -> List[Dict]:
        """Emit one `user_uttered` payload; the bot messages that follow it."""
        already = len(self.heard)
        await self.client.emit("user_uttered", payload)
        waited = 0.0
        while len(self.heard) == already and waited < REPLY_TIMEOUT_S:
            await asyncio.sleep(0.05)
            waited += 0.05
        seen = -1
        while len(self.heard) != seen:
            seen = len(self.heard)
            await asyncio.sleep(QUIET_S)
        return self.heard[already:]

    async def disconnect(self) -> None:
        await self.client.disconnect()


async def widget_client(servers: Servers) -> Widget:
    return await Widget().connect(servers)
