"""What the servers write to their logs at the default level: no message text, no slot
value, no raw sender id; conversations appear by their hashed reference."""

import asyncio
import hashlib
import json
import time
import uuid
from typing import Callable, Dict, List


from clinic.log_privacy import conversation_ref
from fake_providers import FACEBOOK_APP_SECRET, SLACK_SIGNING_SECRET, FakeProviders
from scripts.ops.serve import Servers
from server_logs import read_logs
from test_messaging_apps import (
    hub_signature,
    messenger_payload,
    post_json,
    slack_event,
    slack_headers,
)
from test_sms import new_phone, post as post_sms, sms_form
from rest_conversations import new_sender
from widget_client import widget_client


def test_logs_hold_no_text_no_slot_value_and_only_hashed_conversation_ids(
    servers: Servers, say: Callable[[str, str], List[Dict]]
) -> None:
    sender = new_sender()
    marker = f"zebrafinch{uuid.uuid4().hex[:8]}"
    say(sender, f"hello, my name is {marker}")
    say(sender, "I have rosacea, can I still get microneedling?")
    say(sender, "check if I can get it")
    say(sender, f"no, I'm {marker} and my skin is fine")
    say(sender, "I want to talk to a human")

    logs = read_logs(servers)
    assert marker not in logs
    assert sender not in logs
    for value in ("rosacea", "Not recommended", "No contraindication found"):
        assert value not in logs, value
    assert servers.env["LOG_ID_SALT"]
    ref = conversation_ref(sender, servers.env["LOG_ID_SALT"])
    # The channel and the action server both log the conversation by its reference.
    assert f"Message received on rest for conversation {ref}" in logs
    assert (
        f"action_screening_result ran for conversation {ref}" in logs
        or f"action_assess_statement ran for conversation {ref}" in logs
    )


def test_no_log_line_holds_text_a_phone_number_or_a_reversible_id_on_any_channel(
    servers: Servers, say: Callable[[str, str], List[Dict]], providers: FakeProviders
) -> None:
    """Every channel, with messages Rasa would log verbatim (a leading `/`, `/{`, `/@`):
    no marker, no phone number, no sender id and no unsalted hash of one in any log."""
    marker = f"quokka{uuid.uuid4().hex[:8]}"
    phone = new_phone()
    typed = [
        f"/{marker}",
        f'/{{"x": "{marker}"}}',
        f"/@{marker}",
        f'/greet{{"{marker}": 1}}',
        f"/greet@0.9{marker}",
        f"my number is {phone}, {marker}",
    ]
    rest_sender = new_sender()
    for message in typed:
        say(rest_sender, message)
    for message in typed:
        assert post_sms(servers, sms_form(phone, message)) == 200
    psid, slack_user = f"psid{marker}", f"U{marker.upper()}"
    for message in typed:
        body = messenger_payload(psid, message)
        assert (
            post_json(
                servers.webhook_url("facebook"),
                body,
                {"X-Hub-Signature": hub_signature(FACEBOOK_APP_SECRET, body)},
            )
            == 200
        )
        body = slack_event(slack_user, message)
        assert (
            post_json(servers.webhook_url("slack"), body, slack_headers(SLACK_SIGNING_SECRET, body))
            == 200
        )
    asyncio.run(widget_messages(servers, typed))
    providers.wait_for(lambda r: phone in json.dumps(r.form or {}), timeout=30)
    time.sleep(2)  # Slack's connector answers before it handles the message

    logs = read_logs(servers)
    assert marker not in logs and marker.upper() not in logs
    for identifier in (phone, phone.lstrip("+"), rest_sender, psid, slack_user):
        assert identifier not in logs, identifier
        unsalted = hashlib.sha256(identifier.encode("utf-8")).hexdigest()
        assert unsalted[:12] not in logs and unsalted[:8] not in logs, identifier


async def widget_messages(servers: Servers, messages: List[str]) -> None:
    widget = await widget_client(servers)
    try:
        session_id = await widget.start_session()
        for message in messages:
            await widget.replies_to({"session_id": session_id, "message": message})
    finally:
        await widget.disconnect()
