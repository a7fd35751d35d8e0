"""The one way our components override the predicted intent: the new intent first in the
ranking, the classifier's other guesses after it (the report and later components read them)."""

from typing import Any, Dict, List, Text

from rasa.shared.nlu.constants import (
    INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


def without(message: Message, intent: Text) -> List[Dict[Text, Any]]:
    """The message's intent ranking with `intent` left out."""
    return [item for item in message.get(INTENT_RANKING_KEY) or []
            if item.get(INTENT_NAME_KEY) != intent]


def put_first(message: Message, intent: Text, confidence: float = 1.0) -> None:
    """Make `intent` the message's intent, first in its ranking."""
    chosen = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: confidence}
    ranking = without(message, intent)
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
