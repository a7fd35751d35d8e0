"""Which turns of a conversation need a person at the clinic: pure logic, no Rasa, no database.

Read from the events a turn adds (as Rasa stores them, `event.as_dict()`), so the Rasa
server's tracker store can queue the alert in the same transaction that stores the turn:
an alert exists exactly when the turn it reports was stored.
"""

import hashlib
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

from clinic.constants import (
    CALLBACK_SLOT,
    HANDOFF_SLOT,
    PHONE_CHANNELS,
    REPEATED_FALLBACK,
    REQUESTED,
    UPSET,
    URGENT_RESPONSE,
    WHATSAPP_PREFIX,
)

# Reasons, as staff read them (the inbox and the alert's text say them in words); REQUESTED,
# UPSET and REPEATED_FALLBACK are the handoff_reason slot's values (clinic/constants.py).
URGENT = "urgent"  # the bot gave the urgent-symptom reply
CALLBACK = "callback"  # the patient asked to be called back and agreed to a call
UNDELIVERED_URGENT = "undelivered_urgent"  # an urgent reply that could not be sent (SMS)
REASONS = {
    URGENT: "The assistant gave the urgent-symptom reply",
    REQUESTED: "The patient asked to talk to a person",
    CALLBACK: "The patient asked to be called back",
    UPSET: "The patient is upset",
    REPEATED_FALLBACK: "The assistant could not answer two questions in a row",
    UNDELIVERED_URGENT: "An urgent-symptom reply could not be delivered",
}


@dataclass(frozen=True)
class Alert:
    """One alert as it is queued: no patient text unless the clinic turned that on."""

    key: str  # the same turn always gives the same key: queued once
    sender_id: str
    reason: str
    channel: str
    at: float  # when the turn happened (the triggering event's timestamp)
    callback_number: Optional[str] = None
    message_text: Optional[str] = None


def alert_key(sender_id: str, reason: str, at: Any) -> str:
    return hashlib.sha256(
        f"{sender_id}\x00{reason}\x00{at!r}".encode("utf-8", "replace")
    ).hexdigest()[:40]


def callback_number(sender_id: str, channel: str) -> Optional[str]:
    """The phone number a phone channel's conversation is with ("+1555..." by SMS,
    "whatsapp:+1555..." by WhatsApp), None for any other channel."""
    if channel not in PHONE_CHANNELS:
        return None
    return sender_id.removeprefix(WHATSAPP_PREFIX)


def latest_user_event(events: Sequence[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    return next((e for e in reversed(events) if e.get("event") == "user"), None)


def alerts_in_turn(
    sender_id: str,
    new_events: Sequence[Dict[str, Any]],
    earlier_events: Iterable[Dict[str, Any]] = (),
    include_text: bool = False,
) -> List[Alert]:
    """The alerts for the events a save adds. `earlier_events` are the conversation's stored
    events before them (for the channel and the patient's message when the new events
    hold no user message, and whether a callback was agreed earlier)."""
    earlier = list(earlier_events)
    user = latest_user_event(new_events) or latest_user_event(earlier)
    channel = (user or {}).get("input_channel") or "unknown"
    text = (user or {}).get("text") if include_text else None
    agreed = any(
        e.get("event") == "slot" and e.get("name") == CALLBACK_SLOT and e.get("value") is True
        for e in earlier
    )
    found: Dict[str, Alert] = {}
    for event in new_events:
        kind, at = event.get("event"), event.get("timestamp")
        reason: Optional[str] = None
        if kind == "action" and event.get("name") == URGENT_RESPONSE:
            reason = URGENT
        elif kind == "slot" and event.get("name") == HANDOFF_SLOT and event.get("value") in REASONS:
            reason = event["value"]
        elif kind == "slot" and event.get("name") == CALLBACK_SLOT and event.get("value") is True:
            agreed, reason = True, CALLBACK
        if reason is not None and reason not in found:
            found[reason] = Alert(
                alert_key(sender_id, reason, at),
                sender_id,
                reason,
                channel,
                float(at or 0),
                None,
                text,
            )
    number = callback_number(sender_id, channel) if agreed else None
    return [
        Alert(a.key, a.sender_id, a.reason, a.channel, a.at, number, a.message_text)
        for a in found.values()
    ]
