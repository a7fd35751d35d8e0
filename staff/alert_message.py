"""What staff read in an alert: the email's subject and text, the webhook's JSON. Pure logic.

An alert says why and where, never who: the conversation is named by the same salted
reference as in the logs (clinic/log_privacy.py), never by its sender id (for SMS, the
patient's phone number). The number is only there when the patient agreed to a call back,
and the patient's message only when the clinic turned `include_message_text` on.
"""

import textwrap
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from clinic.log_privacy import conversation_ref
from staff.alert_rules import CALLBACK, REASONS, UNDELIVERED_URGENT, URGENT
from staff.alert_store import Delivery

CHANNELS = {
    "twilio": "SMS",
    "whatsapp": "WhatsApp",
    "rest": "REST/website API",
    "socketio": "website chat",
    "facebook": "Messenger",
    "slack": "Slack",
    "telegram": "Telegram",
}
_URGENT_REASONS = {URGENT, UNDELIVERED_URGENT}
_INBOX_STEP = (
    "Open the conversation in the staff inbox (link above), then mark the alert handled there."
)
_WHAT_TO_DO = {
    URGENT: [
        "Call the patient back now on the number above.",
        "No number is given: reply to the patient on the channel they used.",
    ],
    UNDELIVERED_URGENT: [
        "The patient did not get the urgent-symptom advice: call them now on the number above.",
        "No number is given: reach the patient on the channel they used.",
    ],
    CALLBACK: [
        "Call the patient back on the number above.",
        "No number is given: reply to the patient on the channel they used.",
    ],
}
_DEFAULT_TO_DO = [
    "Contact the patient on the number above.",
    "Reply to the patient on the channel they used.",
]


def channel_text(channel: str) -> str:
    return CHANNELS.get(channel, channel)


def reason_text(reason: str) -> str:
    return REASONS.get(reason, reason)


def iso_time(at: float) -> str:
    return (
        datetime.fromtimestamp(at, timezone.utc)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def readable_time(at: float) -> str:
    moment = datetime.fromtimestamp(at, timezone.utc)
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} UTC"


def alert_link(inbox_url: str, alert_id: int) -> str:
    return f"{inbox_url.rstrip('/')}/alerts/{alert_id}"


def _message_text(delivery: Delivery, include_text: bool) -> Optional[str]:
    # Both: the clinic may have turned the text off after this alert was queued with it.
    return delivery.message_text if include_text and delivery.message_text else None


def email_subject(delivery: Delivery, clinic_name: str) -> str:
    """E.g. "[Riverside Skin Clinic assistant] Urgent: the assistant gave the urgent-symptom reply (SMS)"."""
    label = "Urgent" if delivery.reason in _URGENT_REASONS else "Needs a person"
    reason = reason_text(delivery.reason)
    return (
        f"[{clinic_name} assistant] {label}: {reason[:1].lower()}{reason[1:]} "
        f"({channel_text(delivery.channel)})"
    )


def email_body(delivery: Delivery, clinic_name: str, inbox_url: str, include_text: bool) -> str:
    """The plain-text email staff read."""
    lines = [
        f"{reason_text(delivery.reason)}.",
        "",
        f"Channel:       {channel_text(delivery.channel)}",
        f"When:          {readable_time(delivery.created_at)} ({iso_time(delivery.created_at)})",
        f"Conversation:  {conversation_ref(delivery.sender_id)} (its reference in the "
        f"assistant's logs)",
        f"Staff inbox:   {alert_link(inbox_url, delivery.alert_id)}",
    ]
    if delivery.callback_number:
        lines.append(f"Call back on:  {delivery.callback_number}")
    text = _message_text(delivery, include_text)
    if text:
        lines += ["", "The patient's message:", *(f"  > {line}" for line in text.splitlines())]
    first, otherwise = _WHAT_TO_DO.get(delivery.reason, _DEFAULT_TO_DO)
    steps: List[str] = [first if delivery.callback_number else otherwise, _INBOX_STEP]
    lines += [
        "",
        "What to do:",
        *(textwrap.fill(step, 76, initial_indent="- ", subsequent_indent="  ") for step in steps),
        "",
        textwrap.fill(
            f"Sent by the {clinic_name} assistant. An email with the same "
            f"reference is the same alert, sent again.",
            76,
        ),
        f"Reference: {delivery.key}",
    ]
    # Lines under 78 characters: the email goes out as plain 7-bit text, readable as sent.
    return "\n".join(lines) + "\n"


def webhook_payload(delivery: Delivery, inbox_url: str, include_text: bool) -> Dict[str, Any]:
    """The webhook's JSON body; its `id` is the same for every retry of the alert."""
    payload: Dict[str, Any] = {
        "id": delivery.key,
        "reason": delivery.reason,
        "reason_text": reason_text(delivery.reason),
        "channel": delivery.channel,
        "created_at": iso_time(delivery.created_at),
        "conversation_ref": conversation_ref(delivery.sender_id),
        "inbox_url": alert_link(inbox_url, delivery.alert_id),
        "callback_number": delivery.callback_number or None,
    }
    text = _message_text(delivery, include_text)
    if text:
        payload["message_text"] = text
    return payload
