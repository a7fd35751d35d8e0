"""Rasa adapter: a message with a red flag is read as `urgent_symptom`, whatever DIET thought.

The trained `urgent_symptom` intent alone is not enough for a health assistant; the
rule-based matcher (actions/red_flags.py) runs on every message, in the Rasa server, so
the urgent reply needs no action server and comes in any state of the conversation.
"""

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from actions.red_flags import default_matcher
from nlu_components.domain_gate import OUT_OF_DOMAIN_KEY
from nlu_components.input_guard import restore_read_text


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class UrgentSymptomClassifier(GraphComponent):
    """Overrides the predicted intent with `urgent_symptom` when a red flag is found."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "urgent_symptom"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = config["intent"]
        self.matcher = default_matcher()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UrgentSymptomClassifier":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            restore_read_text(message)  # a long message's intent came from its first sentence
            text = message.get(TEXT)
            # Button payloads ("/affirm") are not symptoms.
            if not text or text.startswith("/") or not self.matcher.is_urgent(
                    text, about_the_clinic=not message.get(OUT_OF_DOMAIN_KEY, False)):
                continue
            urgent = {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [item for item in message.get(INTENT_RANKING_KEY) or []
                       if item.get(INTENT_NAME_KEY) != self.intent]
            message.set(INTENT, urgent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [urgent, *ranking], add_to_output=True)
        return messages
