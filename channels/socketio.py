"""Rasa's SocketIO channel for the clinic page's chat widget, open only to the page's origin."""

from importlib.metadata import version
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

import logging

from engineio.async_drivers import sanic as engineio_sanic
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic

from actions.log_privacy import conversation_ref

from channels.web_origins import parse_allowed_origins


logger = logging.getLogger(__name__)
MAX_SESSION_ID_CHARS = 128


def message_fields(data: Any, metadata_key: str,
                   socket_id: Optional[str]) -> Optional[Tuple[str, str, Dict[str, Any]]]:
    """The sender, text and metadata of a widget message, or None when there is no usable
    sender: the payload's session id, or `socket_id` without session persistence. Text
    that isn't a string counts as empty (it gets the "no words" reply)."""
    if not isinstance(data, dict):
        return None
    sender = data.get("session_id") if socket_id is None else socket_id
    if not isinstance(sender, str) or not sender.strip() \
            or len(sender) > MAX_SESSION_ID_CHARS or not sender.isprintable():
        return None
    text = data.get("message")
    metadata = data.get(metadata_key)
    return sender, text if isinstance(text, str) else "", \
        metadata if isinstance(metadata, dict) else {}


def create_engineio_route(app: Sanic, engineio_server: Any, engineio_endpoint: str) -> None:
    """Engine.IO's route on sanic, marked as able to serve WebSockets.

    When a widget's WebSocket closes, Engine.IO's handler returns no response, which sanic
    accepts only from a handler marked `is_websocket`; unmarked (engineio's own route), it
    logged "Invalid response type None" with a traceback for some of the closes.
    """
    async def handle_request(request: Any, *args: Any, **kwargs: Any) -> Any:
        return await engineio_server.handle_request(request, *args, **kwargs)

    handle_request.is_websocket = True  # type: ignore[attr-defined]
    app.add_route(handle_request, engineio_endpoint, methods=["GET", "POST", "OPTIONS"])
    app.enable_websocket()


engineio_sanic._async["create_route"] = create_engineio_route


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
        sio = self.sio

        # Replaces Rasa's handler, which crashes on a payload that isn't an object with a
        # string message, and takes any session id.
        async def handle_message(sid: Text, data: Any) -> None:
            fields = message_fields(data, self.metadata_key,
                                    None if self.session_persistence else sid)
            if fields is None:
                logger.info("A widget message without a usable session id was ignored.")
                return
            session_id, text, metadata = fields
            logger.info("Message received on socketio for conversation %s (%d characters).",
                        conversation_ref(session_id), len(text))
            await on_new_message(UserMessage(
                text, SocketIOOutput(sio, self.bot_message_evt), session_id,
                input_channel=self.name(), metadata=metadata))

        self.sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        return socketio_blueprint
