"""Rasa's SocketIO channel for the clinic page's chat widget, open only to the page's origin."""

from importlib.metadata import version
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from channels.web_origins import parse_allowed_origins


def check_session_persistence_works(session_persistence: bool, socketio_version: str) -> None:
    """Fail at start-up instead of silently sending replies to an empty room.

    From python-socketio 5.10 on, enter_room is a coroutine that Rasa 3.6 does not await
    (RasaHQ/rasa#13027), so a persistent session never joins its room.
    """
    major_minor = tuple(int(part) for part in socketio_version.split(".")[:2])
    if session_persistence and major_minor >= (5, 10):
        raise RuntimeError(f"socketio: session_persistence needs python-socketio < 5.10 with "
                           f"Rasa 3.6, found {socketio_version}; see requirements.in")


class WidgetSocketIOInput(SocketIOInput):
    """SocketIOInput whose Engine.IO server accepts only the configured origins."""

    allowed_origins: List[str]

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        assert isinstance(channel, WidgetSocketIOInput)
        check_session_persistence_works(channel.session_persistence, version("python-socketio"))
        try:
            channel.allowed_origins = parse_allowed_origins(credentials.get("allowed_origins"))
        except ValueError as problem:
            raise ValueError(f"credentials.yml, socketio channel: {problem}") from None
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_blueprint = super().blueprint(on_new_message)
        assert self.sio is not None
        # Rasa passes cors_allowed_origins=[], which turns Engine.IO's Origin check off and
        # lets any website open the socket. With a list, a handshake from another origin
        # gets a 400.
        self.sio.eio.cors_allowed_origins = self.allowed_origins
        # Sanic-Cors (rasa run --cors) already adds the CORS headers to every response;
        # Engine.IO adding them too sends two Access-Control-Allow-Origin headers, which
        # browsers reject. So Engine.IO only checks the Origin.
        self.sio.eio._cors_headers = lambda environ: []
        return socketio_blueprint
