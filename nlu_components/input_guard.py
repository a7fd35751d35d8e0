"""Rasa adapter: first in the pipeline, it hands the NLU a clean, bounded text and notes
what the patient should be told (input_checks.py has the logic).

The note goes into the parse data as `input_check` ({"truncated", "no_words",
"other_language", "language_confident"}), where the dialogue policy
(policies/clinic_rule_policy.py) reads it. The message's language also goes out as the
entity `patient_language` ("English", "Spanish", "French", ...), whose slot chooses the
Spanish variations of the fixed replies. Button payloads ("/affirm") pass untouched, so
they keep the language of the message before them.

A long message's intent is classified on its first sentence (input_checks.py says why), so
the components between this one and the last see only that sentence; the last one
(urgent_symptoms.py) puts the whole bounded text back with `restore_read_text`, so the
red-flag matcher and the actions read all of it.
"""

import json
from typing import Any, Dict, List, Optional, Text

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
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic.constants import ENGLISH, LANGUAGE_SLOT
from nlu_components.input_checks import MAX_READ_CHARS, LanguageCheck, readable, words

INPUT_CHECK = "input_check"
READ_TEXT = "read_text"  # the bounded text, while the classifiers read less of it
VOCABULARY_FILE = "vocabulary.json"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class InputGuard(GraphComponent):
    """Cleans and bounds each message; learns the patients' words from the training data."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_chars": MAX_READ_CHARS}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[List[str]] = None,
    ) -> None:
        self.max_chars = config["max_chars"]
        self.model_storage = model_storage
        self.resource = resource
        self.vocabulary = vocabulary or []
        self.language = LanguageCheck(self.vocabulary)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "InputGuard":
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "InputGuard":
        with model_storage.read_from(resource) as directory:
            vocabulary = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        guard = cls(config, model_storage, resource, vocabulary)
        guard.language.warm_up()  # at start-up, not on the first patient's message
        return guard

    def train(self, training_data: TrainingData) -> Resource:
        # The words patients use with us ("microneedling", "accutane") are English here.
        vocabulary = sorted(
            {
                word
                for example in training_data.training_examples
                for word in words(example.get(TEXT) or "")
            }
        )
        with self.model_storage.write_to(self.resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(vocabulary), encoding="utf-8")
        return self.resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and text.startswith("/"):
                continue
            read = readable(text, self.max_chars)
            message.set(TEXT, read.classified)
            if read.classified != read.text:
                message.set(READ_TEXT, read.text)
            other = self.language.detect(read.text)
            check = {
                "truncated": read.truncated,
                "no_words": not read.has_words,
                "other_language": other.name if other else None,
                "language_confident": bool(other and other.confident),
            }
            if any(check.values()):
                message.set(INPUT_CHECK, check, add_to_output=True)
            set_language(message, other.name if other else ENGLISH)
        return messages


def set_language(message: Message, language: str) -> None:
    """The message's `patient_language` entity, replacing any earlier one."""
    entities = [
        entity
        for entity in message.get(ENTITIES) or []
        if entity.get(ENTITY_ATTRIBUTE_TYPE) != LANGUAGE_SLOT
    ]
    entities.append(
        {
            ENTITY_ATTRIBUTE_TYPE: LANGUAGE_SLOT,
            ENTITY_ATTRIBUTE_VALUE: language,
            ENTITY_ATTRIBUTE_START: 0,
            ENTITY_ATTRIBUTE_END: 0,
            EXTRACTOR: InputGuard.__name__,
        }
    )
    message.set(ENTITIES, entities, add_to_output=True)


def message_language(message: Message) -> str:
    """The language the input guard (or the urgent check) set on the message."""
    return next(
        (
            str(entity.get(ENTITY_ATTRIBUTE_VALUE))
            for entity in message.get(ENTITIES) or []
            if entity.get(ENTITY_ATTRIBUTE_TYPE) == LANGUAGE_SLOT
        ),
        ENGLISH,
    )


def restore_read_text(message: Message) -> None:
    """The message's text back to all that was read, after the intent classifiers."""
    read = message.get(READ_TEXT)
    if read:
        message.set(TEXT, read)
