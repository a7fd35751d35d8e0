"""Rasa adapter: a question that asks for something no answer of the article contains is
read as `out_of_scope`, with what the article does not say and the topic it does say
something relevant about (clinic/answerability.py, knowledge/answerability.yml).

It sets the entities `not_said` and `related_topic` on every message, so their slots
(scripts/buildtime/build_domain.py) always hold this message's verdict; `utter_cannot_answer` then
says "Our article doesn't say ... What it does say: ..." from them. Runs after DIET and
the FallbackClassifier, on the text they read, and before the urgent-symptom check,
which overrides everything.
"""

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clinic.answerability import NO_RELATED_TOPIC, NOT_SAID, RELATED_TOPIC, default_answerability
from clinic.extraction import extract_findings
from clinic.screening import is_question
from nlu_components.input_checks import first_sentence
from nlu_components.domain_gate import OUT_OF_DOMAIN_KEY
from nlu_components.input_guard import READ_TEXT

NOT_SAID_ENTITY = NOT_SAID
RELATED_ENTITY = RELATED_TOPIC
# Entity values when the message asks for nothing the article lacks / nothing is related.
NOTHING = "-"
# A statement of the patient's own condition or medication gets the check's verdict.
STATEMENT_INTENTS = frozenset({"ask_contraindications", "ask_medications", "ask_active_acne"})


def asks(text: str) -> bool:
    """The message's first sentence is, or ends in, a question ("its freezing out and my
    lips are chapped, which lip balm is good"). The first sentence decides, as it decides a
    long message's intent (input_checks.py), so a long answer is read as its short self."""
    clauses = re.split(r"[,;:]|\s-\s", first_sentence(text))
    return is_question(clauses[0]) or is_question(clauses[-1])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class AnswerabilityClassifier(GraphComponent):
    """Turns a nearby topic into the honest reply when the question asks for more."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "out_of_scope"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = config["intent"]
        self.answerability = default_answerability()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "AnswerabilityClassifier":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self.process_message(message)
        return messages

    def process_message(self, message: Message) -> None:
        not_said, related = NOTHING, NOTHING
        text = message.get(TEXT) or ""
        intent = message.get(INTENT) or {}
        ranking = [
            (item.get(INTENT_NAME_KEY), item.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            for item in message.get(INTENT_RANKING_KEY) or []
        ]
        top = intent.get(INTENT_NAME_KEY)
        if top and (not ranking or ranking[0][0] != top):
            ranking = [(top, intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0), *ranking]
        verdict = None
        if text and not text.startswith("/"):
            verdict = self.answerability.judge(
                text, ranking, about_the_clinic=not message.get(OUT_OF_DOMAIN_KEY, False)
            )
        # The patient's own condition, told as a statement ("still get flare ups on my
        # scalp") or asked about under a check topic, is for the check, not a question
        # the article fails to answer.
        read = message.get(READ_TEXT) or text  # all that was read of a long message
        if (
            verdict is not None
            and (top in STATEMENT_INTENTS or not asks(read))
            and extract_findings(read)
        ):
            verdict = None
        if verdict is not None:
            not_said, related = verdict.says, verdict.related or NO_RELATED_TOPIC
            confidence = intent.get(PREDICTED_CONFIDENCE_KEY) or 1.0
            honest = {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: confidence}
            others = [
                {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score}
                for name, score in ranking
                if name != self.intent
            ]
            message.set(INTENT, honest, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [honest, *others], add_to_output=True)
        entities = [
            entity
            for entity in message.get(ENTITIES) or []
            if entity.get(ENTITY_ATTRIBUTE_TYPE) not in (NOT_SAID_ENTITY, RELATED_ENTITY)
        ]
        for name, value in ((NOT_SAID_ENTITY, not_said), (RELATED_ENTITY, related)):
            entities.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: name,
                    ENTITY_ATTRIBUTE_VALUE: value,
                    ENTITY_ATTRIBUTE_START: 0,
                    ENTITY_ATTRIBUTE_END: 0,
                    EXTRACTOR: type(self).__name__,
                }
            )
        message.set(ENTITIES, entities, add_to_output=True)
