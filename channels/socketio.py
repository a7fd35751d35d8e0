"""Rasa's SocketIO channel for the clinic page's chat widget, open only to the page's origin.

Rasa's own channel lets the browser name the conversation: the `session_id` of
`session_request` (joined as a room, as many as a socket asks for) and of every
`user_uttered`. Anyone could then read and write any patient's conversation, an SMS
patient's by their phone number. Here the server issues the id (channels/conversation_ids.py):
a socket continues a conversation only with an id this server gave out (the widget keeps
it in the tab), else it gets a new one; each socket is in one conversation's room at a
time, and its messages go to that conversation only.
"""

from importlib.metadata import version
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

import logging

from engineio.async_drivers import sanic as engineio_sanic
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic

from clinic.log_privacy import conversation_ref

from channels import conversation_ids
from channels.web_origins import parse_allowed_origins


logger = logging.getLogger(__name__)
SESSION_KEY = "conversation_id"


def message_fields(
    data: Any, metadata_key: str, session_id: Optional[str]
) -> Optional[Tuple[str, str, Dict[str, Any]]]:
    """The sender, text and metadata of a widget message, or None when it has no
    conversation: the socket has none yet, or the payload names another one. Text that
    isn't a string counts as empty (it gets the "no words" reply)."""
    if not isinstance(data, dict) or session_id is None:
        return None
    named = data.get("session_id")
    if named is not None and named != session_id:
        return None
    text = data.get("message")
    metadata = data.get(metadata_key)
    return (
        session_id,
        text if isinstance(text, str) else "",
        metadata if isinstance(metadata, dict) else {},
    )


def requested_session(args: Tuple[Any, ...]) -> Any:
    """The session id a `session_request` asks to continue (anything, checked later)."""
    data = args[0] if args else None
    return data.get("session_id") if isinstance(data, dict) else None


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
        raise RuntimeError(
            f"socketio: session_persistence needs python-socketio < 5.10 with "
            f"Rasa 3.6, found {socketio_version}; see requirements.in"
        )


class RoomOutput(SocketIOOutput):
    """Sends the replies to one room, whatever recipient id Rasa names."""

    def __init__(self, sio: Any, bot_message_evt: Text, room: Text) -> None:
        super().__init__(sio, bot_message_evt)
        self.room = room

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        await super()._send_message(self.room, response)

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        await super().send_custom_json(self.room, {**json_message, "room": self.room})


class WidgetSocketIOInput(SocketIOInput):
    """SocketIOInput whose Engine.IO server accepts only the configured origins."""

    allowed_origins: List[str]
    id_secret: str

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
        channel.id_secret = conversation_ids.secret_from_env()
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

        # A client may emit an event with any number of arguments: the first one counts.
        async def session_request(sid: Text, *args: Any) -> None:
            session_id = conversation_ids.verified(
                conversation_ids.WIDGET, requested_session(args), self.id_secret
            ) or conversation_ids.issue(conversation_ids.WIDGET, self.id_secret)
            session = await sio.get_session(sid, namespace=self.namespace)
            previous = session.get(SESSION_KEY)
            if previous and previous != session_id:
                sio.leave_room(sid, previous, namespace=self.namespace)
            session[SESSION_KEY] = session_id
            await sio.save_session(sid, session, namespace=self.namespace)
            if self.session_persistence:
                sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        # Replaces Rasa's handler, which crashes on a payload that isn't an object with a
        # string message, and takes any session id.
        async def handle_message(sid: Text, *args: Any) -> None:
            session = await sio.get_session(sid, namespace=self.namespace)
            fields = message_fields(
                args[0] if args else None, self.metadata_key, session.get(SESSION_KEY)
            )
            if fields is None:
                logger.info("A widget message outside the socket's conversation was ignored.")
                return
            session_id, text, metadata = fields
            # Without session persistence the replies go to the socket alone.
            room = session_id if self.session_persistence else sid
            logger.info(
                "Message received on socketio for conversation %s (%d characters).",
                conversation_ref(session_id),
                len(text),
            )
            await on_new_message(
                UserMessage(
                    text,
                    RoomOutput(sio, self.bot_message_evt, room),
                    session_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        self.sio.on("session_request", session_request, namespace=self.namespace)
        self.sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        return socketio_blueprint
