"""Messenger and Slack against the real servers: only a correctly signed message reaches the
assistant; its reply goes to the loopback fake of Facebook's or Slack's API."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Callable, Dict, List

from fake_providers import FACEBOOK_APP_SECRET, SLACK_SIGNING_SECRET, FakeProviders, Received
from scripts.ops.serve import Servers

StoredEvents = Callable[[str, str], List[Dict]]
# How long a rejected message is given to (wrongly) show up before we call it silence.
GRACE_SECONDS = 3


def post_json(url: str, body: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def messenger_payload(sender: str, text: str) -> bytes:
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "PAGE1",
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": sender},
                            "recipient": {"id": "PAGE1"},
                            "timestamp": 1,
                            "message": {"mid": f"m_{uuid.uuid4().hex}", "text": text},
                        }
                    ],
                }
            ],
        }
    ).encode("utf-8")


def hub_signature(secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


def messenger_replies_to(sender: str) -> Callable[[Received], bool]:
    return lambda r: (
        r.path.endswith("/me/messages")
        and r.json.get("recipient", {}).get("id") == sender
        and "message" in r.json
    )


def test_messenger_answers_only_a_correctly_signed_message(
    servers: Servers, providers: FakeProviders, stored_events: StoredEvents
) -> None:
    signed, forged = f"psid-{uuid.uuid4().hex[:10]}", f"psid-{uuid.uuid4().hex[:10]}"
    body = messenger_payload(signed, "does it hurt?")
    assert (
        post_json(
            servers.webhook_url("facebook"),
            body,
            {"X-Hub-Signature": hub_signature(FACEBOOK_APP_SECRET, body)},
        )
        == 200
    )
    replies = providers.wait_for(messenger_replies_to(signed))
    assert any("numbing cream" in r.json["message"].get("text", "") for r in replies)
    assert [e["text"] for e in stored_events(signed, "user")] == ["does it hurt?"]

    body = messenger_payload(forged, "does it hurt?")
    assert (
        post_json(
            servers.webhook_url("facebook"),
            body,
            {"X-Hub-Signature": hub_signature("not-the-app-secret", body)},
        )
        == 403
    )
    time.sleep(GRACE_SECONDS)
    assert providers.requests(lambda r: forged in json.dumps(r.json)) == []
    assert stored_events(forged, "user") == []


def eventually(read: Callable[[], List], timeout: float = 30) -> List:
    """What `read` returns once it is not empty (Slack's connector answers before it stores)."""
    deadline = time.monotonic() + timeout
    while not (found := read()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def slack_event(user: str, text: str) -> bytes:
    return json.dumps(
        {
            "token": "t",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "authed_users": ["UBOT"],
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": f"D{user}",
                "user": user,
                "text": text,
                "ts": f"{time.time():.6f}",
            },
        }
    ).encode("utf-8")


def slack_headers(secret: str, body: bytes) -> Dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(
        secret.encode("utf-8"), f"v0:{timestamp}:".encode("utf-8") + body, hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


def slack_replies_in(channel: str) -> Callable[[Received], bool]:
    def match(r: Received) -> bool:
        fields = r.json if isinstance(r.json, dict) else r.form
        return r.path.endswith("/chat.postMessage") and fields.get("channel") == channel

    return match


def test_slack_answers_only_a_correctly_signed_message(
    servers: Servers, providers: FakeProviders, stored_events: StoredEvents
) -> None:
    signed, forged = f"U{uuid.uuid4().hex[:10].upper()}", f"U{uuid.uuid4().hex[:10].upper()}"
    body = slack_event(signed, "does it hurt?")
    assert (
        post_json(servers.webhook_url("slack"), body, slack_headers(SLACK_SIGNING_SECRET, body))
        == 200
    )
    replies = providers.wait_for(slack_replies_in(f"D{signed}"))
    assert any("numbing cream" in json.dumps(r.json or r.form) for r in replies)
    stored = eventually(lambda: stored_events(signed, "user"))
    assert [e["text"] for e in stored] == ["does it hurt?"]

    body = slack_event(forged, "does it hurt?")
    assert (
        post_json(servers.webhook_url("slack"), body, slack_headers("not-the-secret", body)) == 400
    )
    time.sleep(GRACE_SECONDS)
    assert providers.requests(slack_replies_in(f"D{forged}")) == []
    assert stored_events(forged, "user") == []
