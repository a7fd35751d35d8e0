"""Rasa adapters: a message with a red flag is read as `urgent_symptom`, whatever DIET thought;
and DIET's `urgent_symptom` alone is trusted for what patients tell, not for what they ask.

The trained `urgent_symptom` intent alone is not enough for a health assistant; the
rule-based matcher (clinic/red_flags.py) runs on every message, in the Rasa server, so
the urgent reply needs no action server and comes in any state of the conversation.

The trained intent still catches symptoms told in words the matcher lacks ("the red
patch is getting bigger and bigger"). On a question in which the matcher finds no red
flag ("my cheeks go red after a run, will that affect the treatment?", "which lip balm
is good for chapped lips?"), on a symptom the matcher read and found not urgent ("it
stopped bleeding straight away"), or on what the check asks about ("most moisturisers
make my face sting", sensitive skin, told as the answer to the check), or on a reply that
opens with a no ("not really, i use normal stuff and it's fine"), it was a false alarm: such a message is read as the
classifier's next intent, before the domain gate and the answerability check see it.
"""

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clinic.contraindication_rules import load_rules
from clinic.extraction import default_extractor
from clinic.red_flags import default_matcher
from clinic.screening import NO, statement_verdict, yes_no_unsure
from nlu_components.domain_gate import OUT_OF_DOMAIN_KEY
from nlu_components.answerability import asks
from nlu_components.input_guard import READ_TEXT, restore_read_text
from nlu_components.intent_ranking import demote, put_first


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class TrainedUrgentCheck(GraphComponent):
    """Reads a message that DIET alone calls urgent as the next intent DIET ranked when it
    is a question with no red flag, or names a red flag the matcher read as not urgent."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Below `threshold`, the next intent is the fallback's, as in the FallbackClassifier.
        return {"intent": "urgent_symptom", "threshold": 0.3, "fallback_intent": "nlu_fallback"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = config["intent"]
        self.threshold = float(config["threshold"])
        self.fallback_intent = config["fallback_intent"]
        self.matcher = default_matcher()
        self.rules = load_rules()
        self.extractor = default_extractor()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TrainedUrgentCheck":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            text = message.get(TEXT)
            if intent.get(INTENT_NAME_KEY) != self.intent or not text or text.startswith("/"):
                continue
            read = message.get(READ_TEXT) or text
            if (
                not self.matcher.rules_out(read)
                and not self.tells_a_finding(read)
                and not self.opens_with_no(read)
                and (not asks(text) or self.matcher.is_urgent(read))
            ):
                continue
            demote(message, self.intent, self.threshold, self.fallback_intent)
        return messages

    def tells_a_finding(self, text: str) -> bool:
        """No red flag, and the check reads it as the patient's own finding ("most
        moisturisers make my face sting": sensitive skin), which the check answers."""
        return (
            not self.matcher.is_urgent(text)
            and statement_verdict(self.rules, self.extractor.mentions(text)) is not None
        )

    def opens_with_no(self, text: str) -> bool:
        """No red flag, and a reply that opens with a no ("not really, i use normal drugstore
        stuff and it's fine"): it answers a question, it tells no symptom."""
        first = re.split(r"[,.;!?]", text, maxsplit=1)[0]
        return not self.matcher.is_urgent(text) and yes_no_unsure(first) == NO


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
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "UrgentSymptomClassifier":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            restore_read_text(message)  # a long message's intent came from its first sentence
            text = message.get(TEXT)
            # Button payloads ("/affirm") are not symptoms.
            if (
                not text
                or text.startswith("/")
                or not self.matcher.is_urgent(
                    text, about_the_clinic=not message.get(OUT_OF_DOMAIN_KEY, False)
                )
            ):
                continue
            put_first(message, self.intent)
        return messages
