"""What a phone call needs that a chat does not: choices said aloud, speech read as a choice.

Pure functions with no Rasa imports, so they are tested in milliseconds; the Twilio voice
adapter (channels/twilio_voice.py) calls them. Twilio's speech recognition writes what a
caller said as a sentence ("Yes.", "Not sure.", "A person, please."), so a choice is read
from the words, not the exact text.
"""

import re
from typing import Any, Dict, Iterable, List, Optional

from clinic.constants import URGENT_RESPONSE

# What callers say to be put through, as the greeting invites them ("say 'person'").
PERSON_PHRASES = frozenset(
    {
        "person",
        "a person",
        "real person",
        "a real person",
        "human",
        "a human",
        "operator",
        "receptionist",
        "someone",
        "somebody",
        "agent",
        "talk to a person",
        "speak to a person",
        "connect me",
        # The Spanish replies say «persona» (knowledge/voice.yml responses_es).
        "persona",
        "una persona",
        "hablar con una persona",
    }
)
# The intent the other channels' "I want to talk to someone" gets (data/nlu/conversation.yml).
PERSON_PAYLOAD = "/request_human"
_POLITE = re.compile(r"\b(please|thanks|thank you|i want|i'd like|i would like|can i have)\b")


def normalised(speech: str) -> str:
    """Lower case, punctuation and extra spaces gone: "Not sure." -> "not sure"."""
    return " ".join(re.sub(r"[^\w\s']", " ", speech.lower()).split())


def asks_for_person(speech: str) -> bool:
    """Whether the caller asked to be put through, in the words the greeting suggests."""
    words = " ".join(_POLITE.sub(" ", normalised(speech)).split())
    return words in PERSON_PHRASES


def chosen_payload(speech: str, buttons: List[Dict[str, Any]]) -> Optional[str]:
    """The payload of the offered button the caller said ("yes", "Not sure.", "stop the
    check"), or None when the speech names none of them."""
    said = normalised(speech)
    if not said:
        return None
    for button in buttons:
        payload = str(button.get("payload", ""))
        names = {normalised(str(button.get("title", "")))}
        if not payload.startswith("/"):
            names.add(normalised(payload))
        if said in names or said.removesuffix(" please") in names:
            return payload
    return None


def spoken_choices(buttons: Iterable[Dict[str, Any]]) -> str:
    """The buttons as the caller hears them: "Say yes, no, not sure, or stop the check."."""
    titles = [normalised(str(button.get("title", ""))) for button in buttons]
    titles = [title for title in titles if title]
    if not titles:
        return ""
    if len(titles) == 1:
        return f"Say {titles[0]}."
    if len(titles) == 2:
        return f"Say {titles[0]} or {titles[1]}."
    return f"Say {', '.join(titles[:-1])}, or {titles[-1]}."


def urgent_first(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The turn's messages with the urgent reply first: a caller hears the emergency
    number before anything else (the disclaimer of a first turn included)."""
    urgent = [m for m in messages if m.get("utter_action") == URGENT_RESPONSE]
    return urgent + [m for m in messages if m.get("utter_action") != URGENT_RESPONSE]


def speech_hints(buttons: Iterable[Dict[str, Any]]) -> str:
    """Twilio's Gather `hints`: the words the caller is likely to say next."""
    words = [normalised(str(button.get("title", ""))) for button in buttons]
    return ", ".join(dict.fromkeys([*filter(None, words), "person"]))
