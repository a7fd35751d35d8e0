"""The one way our components override the predicted intent: the new intent first in the
ranking, the classifier's other guesses after it (the report and later components read them)."""

from typing import Any, Dict, List, Optional, Text

from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


def without(message: Message, intent: Text) -> List[Dict[Text, Any]]:
    """The message's intent ranking with `intent` left out."""
    return [
        item
        for item in message.get(INTENT_RANKING_KEY) or []
        if item.get(INTENT_NAME_KEY) != intent
    ]


def put_first(message: Message, intent: Text, confidence: float = 1.0) -> None:
    """Make `intent` the message's intent, first in its ranking."""
    chosen = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: confidence}
    ranking = without(message, intent)
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)


def demote(
    message: Message, intent: Text, threshold: float, fallback: Text = "nlu_fallback"
) -> None:
    """Read the message as the classifier's next guess after `intent`, or as `fallback`
    when that guess is below `threshold` (as the FallbackClassifier would)."""
    ranking = without(message, intent)
    best: Optional[Dict[Text, Any]] = ranking[0] if ranking else None
    if best is None or (best.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < threshold:
        chosen = {INTENT_NAME_KEY: fallback, PREDICTED_CONFIDENCE_KEY: 1.0}
    else:
        chosen = {
            INTENT_NAME_KEY: best[INTENT_NAME_KEY],
            PREDICTED_CONFIDENCE_KEY: best.get(PREDICTED_CONFIDENCE_KEY),
        }
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
