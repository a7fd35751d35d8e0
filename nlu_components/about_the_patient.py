"""Rasa adapter: a message about the patient themself goes to the contraindication check,
whatever topic the intent classifier found in it or not.

- A statement of their own condition or medication ("diagnosed with psoriasis in 2009",
  "I was on blood thinners last year, not anymore") gets the check's verdict. DIET,
  trained on questions, read many such statements as out of scope, small talk, a
  symptom or a topic they do not ask about ("I stopped using Retin-A last month" as the
  answer on permanence), so the same answer got a verdict, another answer or "I can't
  answer that" depending on its wording or on what followed it. Which statements count
  is decided by the check's own helper (clinic/screening.py::statement_verdict) on all
  of the text that was read, so the reply and the routing cannot disagree.
- A question whether it suits them that no topic answers ("would my skin be ok with
  it?", cues in knowledge/answerability.yml `for_me`) starts the check instead of
  getting "I can't answer that".

Runs after the answerability component (an honest "our article doesn't say" stands) and
before the red-flag matcher, which overrides everything.
"""

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clinic.answerability import default_answerability
from clinic.constants import UNANSWERED_INTENTS
from clinic.contraindication_rules import load_rules
from clinic.extraction import default_extractor
from clinic.screening import NO, YES, statement_verdict, yes_no_unsure
from nlu_components.answerability import NOT_SAID_ENTITY, NOTHING, STATEMENT_INTENTS, asks
from nlu_components.domain_gate import OUT_OF_DOMAIN_KEY
from nlu_components.input_guard import READ_TEXT
from nlu_components.intent_ranking import demote, put_first

# What a statement about the patient is never taken from: a request of its own ("can I
# talk to someone about my rosacea?") and the check itself.
KEPT = frozenset(
    {
        "request_human",
        "request_booking",
        "show_menu",
        "stop_screening",
        "bot_challenge",
        "ask_capabilities",
        "check_candidacy",
    }
)
# A question about the patient's condition keeps its topic ("I have rosacea, does it
# hurt?") unless the classifier found none, or only small talk or a symptom in it (a
# real red flag is still found by the matcher after this component).
QUESTION_ROUTED_FROM = frozenset(UNANSWERED_INTENTS) | {
    "urgent_symptom",
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "unsure",
}


# A question whether it suits the patient starts the check when no topic was found in it,
# or before a booking ("check whether it suits me, I'm thinking of booking").
FOR_ME_ROUTED_FROM = frozenset(UNANSWERED_INTENTS) | {"request_booking"}
# Or when DIET read a topic below this confidence with the check among its first guesses.
# ("I would like to establish whether microneedling would be appropriate for me" read as
# the alternatives at 0.56, the check next.)
UNSURE_TOPIC_CONFIDENCE = 0.6
FOR_ME_GUESSES = 3
# Below this, an intent read instead of the check is the fallback's (as the FallbackClassifier).
UNSURE_CHECK_CONFIDENCE = 0.3


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class AboutThePatientClassifier(GraphComponent):
    """Routes a statement of the patient's own findings, or a question whether it suits
    them, to the check."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"statement_intent": "ask_contraindications", "check_intent": "check_candidacy"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.statement_intent = config["statement_intent"]
        self.check_intent = config["check_intent"]
        self.rules = load_rules()
        self.extractor = default_extractor()
        self.answerability = default_answerability()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "AboutThePatientClassifier":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = self.routed_intent(message)
            if intent:
                put_first(message, intent)
            elif self.answer_read_as_the_check(message):
                demote(message, self.check_intent, UNSURE_CHECK_CONFIDENCE)
        return messages

    def answer_read_as_the_check(self, message: Message) -> bool:
        """A yes or no answer that DIET read as asking for the check, without confidence
        and without asking for it ("no, products are fine on me" mid-check): the check
        would start again and ask the same questions again."""
        intent = message.get(INTENT) or {}
        text = message.get(TEXT) or ""
        if (
            intent.get(INTENT_NAME_KEY) != self.check_intent
            or (intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= UNSURE_TOPIC_CONFIDENCE
        ):
            return False
        first = re.split(r"[,.;!?]", text, maxsplit=1)[0]
        return yes_no_unsure(first) in (YES, NO) and not self.answerability.asks_if_for_me(text)

    def routed_intent(self, message: Message) -> Optional[str]:
        """The check's intent this message is about, or None to keep the predicted one."""
        classified = message.get(TEXT)
        text = message.get(READ_TEXT) or classified  # all that was read of a long one
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if not text or text.startswith("/"):
            return None
        # What the article does not say, asked in a question, keeps the honest reply; told in
        # a statement of the patient's own finding ("there's something in my night cream"),
        # the finding gets the verdict.
        told = not self.not_said(message) or not self.answerability.asked_in_a_question(text)
        if (
            told
            and intent not in KEPT
            and intent not in STATEMENT_INTENTS
            and (not asks(text) or intent in QUESTION_ROUTED_FROM)
            and statement_verdict(self.rules, self.extractor.mentions(text)) is not None
        ):
            return self.statement_intent
        # As the intent classifier, a long message's question is read on its first sentence.
        # What the article does not say keeps the honest reply, unless it is only a time
        # or a price told beside the question.
        if self.not_said(message) and not self.answerability.told_only_as_context(classified):
            return None
        about_the_clinic = not message.get(
            OUT_OF_DOMAIN_KEY, False
        ) or self.answerability.about_microneedling(classified)
        if (
            (
                intent in FOR_ME_ROUTED_FROM
                or self.unsure_topic(message)
                or (intent not in KEPT and self.answerability.requests_the_check(classified))
            )
            and about_the_clinic
            and self.answerability.asks_if_for_me(classified)
        ):
            return self.check_intent
        return None

    def unsure_topic(self, message: Message) -> bool:
        """DIET read a topic without confidence and had the check among its first guesses
        ("would my skin be ok with microneedling" as the answer on what it is, 0.49)."""
        intent = message.get(INTENT) or {}
        ranking = [item.get(INTENT_NAME_KEY) for item in message.get(INTENT_RANKING_KEY) or []]
        return (
            intent.get(INTENT_NAME_KEY) in self.answerability.topics
            and (intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < UNSURE_TOPIC_CONFIDENCE
            and self.check_intent in ranking[:FOR_ME_GUESSES]
        )

    @staticmethod
    def not_said(message: Message) -> bool:
        """The answerability component found something the article does not say."""
        return any(
            entity.get(ENTITY_ATTRIBUTE_TYPE) == NOT_SAID_ENTITY
            and entity.get(ENTITY_ATTRIBUTE_VALUE) not in (None, NOTHING)
            for entity in message.get(ENTITIES) or []
        )
