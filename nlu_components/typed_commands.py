"""Rasa adapter: typed commands ("/...") are checked before Rasa's parser sees them.

Rasa reads a message that starts with "/" as `/intent@confidence{entities}` with a regular
expression, runs the whole NLU pipeline on it unbounded (the input guard leaves such text
alone so button payloads reach the parser intact), and logs what it could not read
verbatim at WARNING. One 2 MB "/..." message held every other patient up for 55 s. Every
channel, and the HTTP API's parse endpoint, goes through MessageProcessor.parse_message,
so the check wraps it: only an exact "/intent_name" of the domain is parsed; anything else
that reads as a command gets parse data saying nothing, and the guarded turn
(policies/turn_plan.py) answers it with `utter_typed_command`.
"""

from typing import Any, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)

from nlu_components.input_checks import command_intent, reads_as_command

# Rasa's own intent for "not understood", always in the domain.
UNREAD_INTENT = "nlu_fallback"
_rasa_parse_message = MessageProcessor.parse_message


def unread_command(text: Text) -> Dict[Text, Any]:
    """Parse data for a typed command that is not followed: no intent guessed from it."""
    intent = {INTENT_NAME_KEY: UNREAD_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
    return {TEXT: text, INTENT: intent, INTENT_RANKING_KEY: [intent], ENTITIES: []}


async def parse_message(
    self: MessageProcessor,
    message: UserMessage,
    tracker: Optional[DialogueStateTracker] = None,
    only_output_properties: bool = True,
) -> Dict[Text, Any]:
    text = message.text
    if reads_as_command(text):
        intents = self.domain.intents if self.domain else []
        if command_intent(text, intents) is None:
            return unread_command(text)
    return await _rasa_parse_message(self, message, tracker, only_output_properties)


def install() -> None:
    MessageProcessor.parse_message = parse_message  # type: ignore[assignment]
