"""What SMS and WhatsApp need that a chat widget does not: keywords, numbered buttons,
short parts, WhatsApp addresses.

Pure functions with no Rasa imports, so they are tested in milliseconds; the Twilio
adapters (channels/twilio.py, channels/whatsapp.py) call them.
"""

import re
from typing import Any, Dict, Iterable, List, Optional

from clinic.clinic_config import ClinicConfig
from clinic.constants import WHATSAPP_PREFIX

# The keywords carriers and Twilio treat as opt-out, opt-in and help requests when they
# are the whole message (https://help.twilio.com/articles/223134027).
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "UNSTOP"})
# Twilio also opts a stopped number back in on YES; only then is YES a keyword, because
# "yes" is also an answer to the screening's questions.
START_WHEN_STOPPED = frozenset({"YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Texted after STOP (no reply can reach a stopped number): the conversation is deleted.
# Before STOP, "delete" is a message like any other, and the assistant asks to confirm.
DELETE_WHEN_STOPPED = frozenset({"DELETE", "FORGET ME"})
MORE_KEYWORD = "MORE"

STOP, START, HELP, MORE, DELETE = "stop", "start", "help", "more", "delete"

# One SMS of concatenated segments; the limit the issue sets for SMS variants.
SMS_LIMIT = 320
# A WhatsApp address is "whatsapp:" and the number in E.164 form (Twilio's own spelling).
E164_NUMBER = re.compile(r"^\+[1-9][0-9]{6,14}$")


def keyword(body: str, stopped: bool) -> Optional[str]:
    """The SMS keyword a whole message is (stop, start, help, more), or None."""
    word = re.sub(r"[\s.!]+$", "", body.strip()).upper()
    if word in STOP_KEYWORDS:
        return STOP
    if word in START_KEYWORDS or (stopped and word in START_WHEN_STOPPED):
        return START
    if stopped and word in DELETE_WHEN_STOPPED:
        return DELETE
    if word in HELP_KEYWORDS:
        return HELP
    if word == MORE_KEYWORD:
        return MORE
    return None


def help_text(clinic: ClinicConfig, verb: str = "Text") -> str:
    """The reply to HELP: the clinic's contact details (`verb`: "Send" on WhatsApp)."""
    return (
        f"{clinic.name}: call {clinic.phone} ({clinic.opening_hours}) or book at "
        f"{clinic.booking_url}. In an emergency call {clinic.emergency_number}. "
        f"Privacy: {clinic.privacy_url} {verb} DELETE to delete this conversation, STOP to "
        f"stop messages."
    )


def whatsapp_stopped_text(clinic: ClinicConfig) -> str:
    """WhatsApp's answer to STOP: Twilio confirms an opt-out only for SMS numbers."""
    return (
        f"You won't get any more messages from {clinic.name}'s assistant here. Send START "
        f"to talk to it again. To reach the clinic, call {clinic.phone}; in an emergency, call "
        f"{clinic.emergency_number}."
    )


def whatsapp_started_text(clinic: ClinicConfig) -> str:
    """WhatsApp's answer to START (Twilio confirms it only for SMS numbers)."""
    return (
        f"Welcome back to {clinic.name}'s assistant. Ask me anything about microneedling, or "
        f"send HELP for the clinic's contact details."
    )


def whatsapp_address(number: str) -> Optional[str]:
    """The WhatsApp address (whatsapp:+15550100999) of a number written with or without
    "whatsapp:"; None when it is no E.164 number."""
    bare = number.strip().removeprefix(WHATSAPP_PREFIX)
    return WHATSAPP_PREFIX + bare if E164_NUMBER.match(bare) else None


def is_whatsapp_address(address: str) -> bool:
    """Whether a webhook's From is a WhatsApp user ("whatsapp:+<number>"), not a phone's SMS."""
    return address.startswith(WHATSAPP_PREFIX) and whatsapp_address(address) == address


def with_numbered_buttons(text: str, buttons: Iterable[Dict[str, Any]]) -> str:
    """The message and its buttons as one SMS: "... Reply 1 for Yes, 2 for No."."""
    titles = [str(button.get("title", "")).rstrip("?.! ") for button in buttons]
    if not titles:
        return text
    options = ", ".join(f"{number} for {title}" for number, title in enumerate(titles, 1))
    return f"{text}\nReply {options}."


def with_button_list(text: str, buttons: Iterable[Dict[str, Any]]) -> str:
    """The message and its buttons as a numbered list, one a line (WhatsApp: no length to
    save, and the full titles read better than SMS's one-line "Reply 1 for ...")."""
    titles = [str(button.get("title", "")) for button in buttons]
    if not titles:
        return text
    options = "\n".join(f"{number}. {title}" for number, title in enumerate(titles, 1))
    return f"{text}\n\n{options}\n\nReply with a number."


def chosen_payload(body: str, buttons: List[Dict[str, Any]]) -> Optional[str]:
    """The payload of the button a reply such as "2" picks, or None if it picks none."""
    number = body.strip().rstrip(".")
    if not number.isdigit() or not buttons:
        return None
    index = int(number) - 1
    if 0 <= index < len(buttons):
        return str(buttons[index]["payload"])
    return None


def latest_bot_turn(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The bot messages (as stored event dicts) sent since the patient's last message."""
    turn: List[Dict[str, Any]] = []
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            turn.insert(0, event)
    return turn


def offered_buttons(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The buttons of the last message of the latest bot turn that offered any."""
    for event in reversed(latest_bot_turn(events)):
        buttons = (event.get("data") or {}).get("buttons")
        if buttons:
            return list(buttons)
    return []


def answer_to_expand(events: List[Dict[str, Any]]) -> Optional[str]:
    """The response (utter_...) of the latest bot turn that told the patient to reply MORE."""
    for event in reversed(latest_bot_turn(events)):
        if MORE_KEYWORD in (event.get("text") or "") and (event.get("metadata") or {}).get(
            "utter_action"
        ):
            return str(event["metadata"]["utter_action"])
    return None


def split_message(text: str, limit: int = SMS_LIMIT) -> List[str]:
    """Split text into parts of at most `limit` characters, at sentence ends where possible."""
    parts: List[str] = []
    current = ""
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        while len(sentence) > limit:  # one sentence longer than a part: cut at a space
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                parts.append(current)
                current = ""
            parts.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        candidate = f"{current} {sentence}".strip()
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = sentence
    if current:
        parts.append(current)
    return parts
