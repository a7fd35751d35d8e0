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

A message in Spanish is read with the Spanish red flags (knowledge/red_flags_es.yml), and
only with them: "sin pus" is negated there, not in English. A message the input guard
took for English is read with the English ones and then the Spanish ones, so a short
Spanish message the language check missed ("tengo fiebre") is still urgent, and its reply
in Spanish. DIET, trained on English, is not trusted to call a message in another language
urgent: only a red flag makes it so, or the learned reader of that language
(clinic/urgency_classifier.py), which reads what the input guard took for that language
and finds the urgent messages the phrase list lacks the words for.
"""

import re
from typing import Any, Dict, List, Optional, Text, Tuple

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
from clinic.constants import ENGLISH
from clinic.red_flags import RED_FLAG_FILES, RedFlagMatcher, default_matcher
from clinic.urgency_classifier import EXAMPLE_FILES, UrgencyClassifier, default_classifier
from clinic.screening import NO, statement_verdict, yes_no_unsure
from nlu_components.domain_gate import OUT_OF_DOMAIN_KEY
from nlu_components.answerability import asks
from nlu_components.input_guard import (
    READ_TEXT,
    message_language,
    restore_read_text,
    set_language,
)
from nlu_components.intent_ranking import demote, put_first


def matchers_for(language: str) -> List[Tuple[str, RedFlagMatcher]]:
    """The red-flag matchers a message in `language` is read with, each with the language
    of its replies: a language with its own file alone; English, then the other files;
    any other language, the English file (a "pus" is a "pus")."""
    if language in RED_FLAG_FILES and language != ENGLISH:
        return [(language, default_matcher(language))]
    if language == ENGLISH:
        return [(name, default_matcher(name)) for name in RED_FLAG_FILES]
    return [(language, default_matcher(ENGLISH))]


def urgent_in(
    text: str,
    language: str,
    about_the_clinic: bool = True,
    reader: Optional[UrgencyClassifier] = None,
) -> Optional[str]:
    """The language of the reply when a matcher for `language` finds a red flag, or when
    the learned reader of `language` finds it urgent and the matcher did not rule it out,
    else None. `reader`: another than the language's own (an evaluation's, trained on part
    of the examples), so that what is measured is this very reading.

    What the first matcher read and ruled out ("without any pus") no later one reads again.
    A later one that finds red flags the first lacks names the message's language: "me
    sale pus y tengo fiebre", taken for English, has the English "pus" but also "fiebre"."""
    (first_language, first), *others = matchers_for(language)
    flags = first.urgent_flags(text, about_the_clinic)
    if not flags:
        # The phrases read it and ruled it out ("no tengo fiebre"): so does the reader.
        if first.rules_out(text):
            return None
        reader = reader or default_classifier(language)
        if reader is not None and reader.is_urgent(text):
            return language
    found = {m.text.lower() for m in flags}
    for other_language, other in others:
        if {m.text.lower() for m in other.urgent_flags(text, about_the_clinic)} - found:
            return other_language
    return first_language if flags else None


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
            language = message_language(message)
            if language != ENGLISH:
                if urgent_in(read, language) is None:
                    demote(message, self.intent, self.threshold, self.fallback_intent)
                continue
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
        for language in RED_FLAG_FILES:
            default_matcher(language)  # at start-up, not on the first patient's message
        for language in EXAMPLE_FILES:
            default_classifier(language)

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
            if not text or text.startswith("/"):
                continue
            language = message_language(message)
            reply_language = urgent_in(
                text, language, about_the_clinic=not message.get(OUT_OF_DOMAIN_KEY, False)
            )
            if reply_language is None:
                continue
            if reply_language != language:
                set_language(message, reply_language)
            put_first(message, self.intent)
        return messages
