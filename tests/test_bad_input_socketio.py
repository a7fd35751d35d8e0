"""Odd input over the widget's Socket.IO channel, against the real servers: the same clear
replies as over REST, and payloads Rasa's own handler would crash on are ignored."""

import asyncio
from typing import Any, List

from scripts.ops.serve import Servers
from server_logs import log_sizes, logged_since
from widget_client import widget_client


SESSION = object()  # in a payload: the session id the server confirmed


async def exchange(servers: Servers, messages: List[Any]) -> List[List[str]]:
    """Send each payload as the widget does and collect the bot's texts for each."""
    widget = await widget_client(servers)
    try:
        session_id = await widget.start_session()
        answers = []
        for payload in messages:
            if isinstance(payload, dict):
                payload = {
                    key: session_id if value is SESSION else value for key, value in payload.items()
                }
            answers.append([reply.get("text", "") for reply in await widget.replies_to(payload)])
        return answers
    finally:
        await widget.disconnect()


def test_odd_widget_messages_get_clear_replies_and_the_chat_goes_on(servers: Servers) -> None:
    session = SESSION
    logs_before = log_sizes(servers)
    payloads: List[Any] = [
        {"session_id": session, "message": 42},
        {"session_id": session, "message": "/restart"},
        {"session_id": session, "message": "Tut die Behandlung weh?"},
        {"session_id": session, "message": "Does it hurt?" + " " * 5000 + "price?"},
        "just a string",
        {"session_id": ["not", "a", "string"], "message": "hi"},
        {"session_id": session, "message": "hi", "metadata": "not json"},
        {"session_id": session, "message": "what is microneedling?"},
    ]
    answers = asyncio.run(exchange(servers, payloads))
    number, slash, foreign, long, text_payload, bad_session, bad_metadata, normal = answers
    assert number[0].startswith("I'm a virtual assistant")
    assert "I didn't find any words" in number[-1]
    assert slash and 'commands that start with "/"' in slash[0]
    assert foreign and "English only" in foreign[0]
    assert long and "long message" in long[-1]
    assert text_payload == [] and bad_session == []  # nothing to answer, nothing broken
    assert bad_metadata and bad_metadata[0].startswith("Hi")
    assert normal and normal[-1].startswith("Microneedling is a skin care treatment")
    new_lines = logged_since(servers, logs_before).splitlines()
    assert not [line for line in new_lines if "Traceback" in line or "ERROR" in line]
