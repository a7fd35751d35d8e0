"""No public channel can reach another patient's conversation: the REST webhook and the
widget's socket continue only conversations the server issued, never a phone number.

The attack these replay (an outside security test): posting to the REST webhook with an
SMS patient's phone number as `sender`, starting the check and answering "no" made the bot
repeat that patient's stated medication and stored the answers in the patient's record;
re-sending an SMS's MessageSid as X-Request-ID over REST returned that SMS's replies.
"""

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

from widget_client import widget_client

from channels import conversation_ids
from fake_providers import FakeProviders
from rest_conversations import new_sender
from scripts.ops.serve import Servers
from test_sms import new_phone, post as post_sms, sms_form

SECRET = "s" * 40


def post_rest(
    servers: Servers, body: Dict[str, Any], headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Any, Dict[str, str]]:
    request = urllib.request.Request(
        servers.rest_url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def stored_texts(servers: Servers, sender: str) -> List[str]:
    import sqlite3

    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()
    return [json.loads(data).get("text") or "" for (data,) in rows]


def test_an_issued_id_is_verified_and_nothing_else_is() -> None:
    rest_id = conversation_ids.issue(conversation_ids.REST, SECRET)
    assert rest_id.startswith("rest:")
    assert conversation_ids.verified(conversation_ids.REST, rest_id, SECRET) == rest_id
    assert conversation_ids.issue(conversation_ids.REST, SECRET) != rest_id
    token, signature = rest_id[len("rest:") :].rsplit(".", 1)
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for forged in (
        f"rest:{token}.{flipped}",
        f"web:{token}.{signature}",
        f"rest:x{token}.{signature}",
        "+15550102040",
        "rest:me",
        "",
        None,
        42,
        ["rest:a"],
        rest_id + "x" * 100,
    ):
        assert conversation_ids.verified(conversation_ids.REST, forged, SECRET) is None, forged
    assert conversation_ids.verified(conversation_ids.REST, rest_id, "t" * 40) is None


def test_a_rest_request_without_sender_starts_a_conversation_it_can_continue(
    servers: Servers,
) -> None:
    status, replies, headers = post_rest(servers, {"message": "check if I can get it"})
    assert status == 200 and replies
    sender = headers["X-Conversation-Id"]
    assert sender.startswith("rest:") and {r["recipient_id"] for r in replies} == {sender}
    status, replies, _ = post_rest(servers, {"sender": sender, "message": "no"})
    assert status == 200
    assert all(r["recipient_id"] == sender for r in replies)
    # The conversation went on: "no" answered the screening's first question.
    assert stored_texts(servers, sender).count("no") == 1
    status, other, headers = post_rest(servers, {"message": "check if I can get it"})
    assert headers["X-Conversation-Id"] != sender


def test_rest_cannot_read_or_write_an_sms_patients_conversation(
    servers: Servers, providers: FakeProviders
) -> None:
    phone = new_phone()
    medication = "isotretinoin"
    sms = sms_form(phone, f"I take {medication}, can I get microneedling?")
    assert post_sms(servers, sms) == 200
    before = stored_texts(servers, phone)
    assert any(medication in text for text in before)

    for message in ("check if I can get it", "no", "what did I tell you?"):
        status, answer, _ = post_rest(servers, {"sender": phone, "message": message})
        assert status == 403, (status, answer)
        assert medication not in json.dumps(answer)
        assert 'Leave "sender" out' in answer["error"]
    # The MessageSid of the SMS as a message id, on a REST conversation: not its replies.
    status, replies, _ = post_rest(
        servers,
        {"sender": new_sender(), "message": "hello"},
        headers={"X-Request-ID": sms["MessageSid"]},
    )
    assert status == 200 and medication not in json.dumps(replies)
    status, _, _ = post_rest(
        servers, {"sender": phone, "message": "hello"}, headers={"X-Request-ID": sms["MessageSid"]}
    )
    assert status == 403
    assert stored_texts(servers, phone) == before


def test_rest_cannot_continue_a_widget_conversation_or_an_id_it_made_up(servers: Servers) -> None:
    web_id = conversation_ids.issue(conversation_ids.WIDGET, servers.env["CONVERSATION_ID_SECRET"])
    for sender in (web_id, "me", "default", "rest:me", new_sender() + "0"):
        status, answer, _ = post_rest(servers, {"sender": sender, "message": "hello"})
        assert status == 403, sender
        assert stored_texts(servers, sender) == []


async def widget_session(
    servers: Servers, requests: List[Any], messages: List[Dict[str, Any]]
) -> Tuple[List[str], List[Dict]]:
    """Ask for each session in turn, send the messages; the confirmed ids and replies."""
    widget = await widget_client(servers)
    client, confirmed, replies = widget.client, widget.confirmed, widget.heard
    try:
        for request in requests:
            await client.emit("session_request", request)
            await asyncio.sleep(0.5)
        for message in messages:
            await client.emit("user_uttered", message)
            await asyncio.sleep(3)
        return confirmed, replies
    finally:
        await client.disconnect()


def test_the_widget_gets_its_own_conversation_never_a_phone_number(servers: Servers) -> None:
    phone = new_phone()
    assert (
        post_sms(servers, sms_form(phone, "I take isotretinoin, can I get microneedling?")) == 200
    )
    before = stored_texts(servers, phone)
    confirmed, replies = asyncio.run(
        widget_session(
            servers,
            [{"session_id": phone}],
            [{"session_id": phone, "message": "what did I say?"}, {"message": "does it hurt?"}],
        )
    )
    [session] = confirmed
    assert session.startswith("web:") and session != phone
    assert stored_texts(servers, phone) == before
    # The message naming the phone number was ignored; the plain one went to the socket's own.
    assert "does it hurt?" in stored_texts(servers, session)
    assert "what did I say?" not in stored_texts(servers, session)
    assert replies and "isotretinoin" not in json.dumps(replies)


def test_a_widget_continues_an_issued_session_and_is_in_one_room_at_a_time(
    servers: Servers,
) -> None:
    [first], _ = asyncio.run(widget_session(servers, [None], []))
    confirmed, replies = asyncio.run(
        widget_session(
            servers, [{"session_id": first}], [{"session_id": first, "message": "does it hurt?"}]
        )
    )
    assert confirmed == [first] and replies
    assert "does it hurt?" in stored_texts(servers, first)

    # A socket that asks for another conversation leaves the first one's room.
    async def switch_and_listen() -> Tuple[List[str], List[Dict]]:
        widget = await widget_client(servers)
        listener, confirmed, heard = widget.client, widget.confirmed, widget.heard
        try:
            await listener.emit("session_request", {"session_id": first})
            await asyncio.sleep(0.5)
            await listener.emit("session_request", None)
            await asyncio.sleep(0.5)
            _, answered = await widget_session(
                servers,
                [{"session_id": first}],
                [{"session_id": first, "message": "what is microneedling?"}],
            )
            assert answered
            await asyncio.sleep(1)
            return confirmed, heard
        finally:
            await listener.disconnect()

    confirmed, heard = asyncio.run(switch_and_listen())
    assert confirmed[0] == first and confirmed[1] != first
    assert heard == []
