"""What SMS needs that a chat widget does not: keywords, numbered buttons, short parts.

Pure functions with no Rasa imports, so they are tested in milliseconds; the Twilio
adapter (channels/twilio.py) calls them.
"""

import re
from typing import Any, Dict, Iterable, List, Optional

from clinic.clinic_config import ClinicConfig

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


def help_text(clinic: ClinicConfig) -> str:
    """The reply to HELP: the clinic's contact details."""
    return (
        f"{clinic.name}: call {clinic.phone} ({clinic.opening_hours}) or book at "
        f"{clinic.booking_url}. In an emergency call {clinic.emergency_number}. "
        f"Privacy: {clinic.privacy_url} Text DELETE to delete this conversation, STOP to "
        f"stop messages."
    )


def with_numbered_buttons(text: str, buttons: Iterable[Dict[str, Any]]) -> str:
    """The message and its buttons as one SMS: "... Reply 1 for Yes, 2 for No."."""
    titles = [str(button.get("title", "")).rstrip("?.! ") for button in buttons]
    if not titles:
        return text
    options = ", ".join(f"{number} for {title}" for number, title in enumerate(titles, 1))
    return f"{text}\nReply {options}."


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
