"""What SMS needs that a chat widget does not: keywords, numbered buttons, short parts.

Pure functions with no Rasa imports, so they are tested in milliseconds; the Twilio
adapter (channels/twilio.py) calls them.
"""

import re
from typing import Any, Dict, Iterable, List, Optional

from actions.clinic_config import ClinicConfig

# The keywords carriers and Twilio treat as opt-out, opt-in and help requests when they
# are the whole message (https://help.twilio.com/articles/223134027).
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "UNSTOP"})
# Twilio also opts a stopped number back in on YES; only then is YES a keyword, because
# "yes" is also an answer to the screening's questions.
START_WHEN_STOPPED = frozenset({"YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
MORE_KEYWORD = "MORE"

STOP, START, HELP, MORE = "stop", "start", "help", "more"

# One SMS of concatenated segments; the limit the issue sets for SMS variants.
SMS_LIMIT = 320

# The GSM 03.38 basic character set and its extension table: text outside it is sent
# as UCS-2, which cuts a segment from 153 to 67 characters and may garble on old phones.
GSM7_BASIC = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
GSM7_EXTENSION = "^{}\\[~]|\u20ac\f"
GSM7 = frozenset(GSM7_BASIC + GSM7_EXTENSION)


def keyword(body: str, stopped: bool) -> Optional[str]:
    """The SMS keyword a whole message is (stop, start, help, more), or None."""
    word = re.sub(r"[\s.!]+$", "", body.strip()).upper()
    if word in STOP_KEYWORDS:
        return STOP
    if word in START_KEYWORDS or (stopped and word in START_WHEN_STOPPED):
        return START
    if word in HELP_KEYWORDS:
        return HELP
    if word == MORE_KEYWORD:
        return MORE
    return None


def help_text(clinic: ClinicConfig) -> str:
    """The reply to HELP: the clinic's contact details."""
    return (f"{clinic.name}: call {clinic.phone} ({clinic.opening_hours}) or book at "
            f"{clinic.booking_url}. In an emergency call {clinic.emergency_number}. "
            f"Text STOP to stop messages.")


def non_gsm7(text: str) -> List[str]:
    """The characters of `text` an SMS cannot carry in GSM-7."""
    return sorted({char for char in text if char not in GSM7})


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
        if MORE_KEYWORD in (event.get("text") or "") and (event.get("metadata") or {}).get("utter_action"):
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
