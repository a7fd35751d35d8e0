"""Readable names for what patients ask (intents) and for the replies the report counts."""

from typing import Any, Dict

from clinic.constants import REPEATED_FALLBACK, REQUESTED, UPSET

INTENT_TOPICS: Dict[str, str] = {
    "ask_what_is": "What microneedling is",
    "ask_benefits": "What it can do",
    "ask_scars": "Scars",
    "ask_pain": "Does it hurt",
    "ask_side_effects": "Side effects and recovery",
    "ask_sun": "The sun afterwards",
    "ask_contraindications": "Who shouldn't get it / own skin condition",
    "ask_medications": "Medications",
    "ask_active_acne": "Active acne",
    "ask_permanence": "How long results last",
    "ask_results_timing": "When results show",
    "ask_procedure": "How it is done",
    "ask_alternatives": "If it is not for me",
    "check_candidacy": "Suitability check (screening)",
    "affirm": "Yes (answer)",
    "deny": "No (answer)",
    "unsure": "Not sure (answer)",
    "stop_screening": "Stop the check",
    "urgent_symptom": "Urgent symptoms",
    "express_frustration": "Frustration",
    "request_human": "Talk to a person",
    "request_booking": "Booking",
    "greet": "Greeting",
    "goodbye": "Goodbye",
    "thank": "Thanks",
    "bot_challenge": "Are you a bot?",
    "ask_capabilities": "What can you do?",
    "show_menu": "Menu",
    "out_of_scope": "Not covered by the article",
    "nlu_fallback": "Not understood",
}

# Replies that mean the message itself could not be read; its intent would be a guess.
UNREADABLE_REPLIES: Dict[str, str] = {
    "utter_english_only": "Another language",
    "utter_english_only_named": "Another language",
    "utter_no_words": "No words (empty, emoji, symbols)",
    "utter_typed_command": "Typed command (/...)",
}

# Why a message went unanswered, by what the assistant replied or read.
UNANSWERED_REASONS: Dict[str, str] = {
    "out_of_scope": "Not covered by the article",
    "nlu_fallback": "Not understood",
    "utter_english_only": "Another language",
    "utter_english_only_named": "Another language",
    "utter_no_words": "No words",
}

SCREENING_SOURCES: Dict[str, str] = {
    "action_screening_result": "Screening conversation",
    "action_assess_statement": "One-shot question",
}

HANDOFF_REASONS: Dict[str, str] = {
    REQUESTED: "Asked for a person",
    UPSET: "Upset",
    REPEATED_FALLBACK: "Two unanswered questions in a row",
}


def topic_name(intent: str) -> str:
    """The readable name of an intent; an intent added later still shows legibly."""
    return INTENT_TOPICS.get(intent) or intent.replace("_", " ").capitalize()


# Rasa's input_channel names as the clinic knows the channels.
CHANNEL_NAMES: Dict[str, str] = {
    "socketio": "Website chat",
    "rest": "REST API",
    "twilio": "SMS",
    "whatsapp": "WhatsApp",
    "facebook": "Messenger",
    "slack": "Slack",
    "telegram": "Telegram",
    "cmdline": "Terminal (make shell)",
}


# `make shell` (scripts/ops/chat.py) talks to the REST channel and says so in the metadata.
SHELL_CLIENT = "make-shell"


def channel_of(user_event: Dict[str, Any]) -> str:
    """The channel a stored user event came from, `make shell`'s chats apart from the REST API's."""
    channel = user_event.get("input_channel") or "unknown"
    if channel == "rest" and (user_event.get("metadata") or {}).get("client") == SHELL_CLIENT:
        return "cmdline"
    return channel


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)
