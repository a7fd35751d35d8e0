"""The NLU components on Spanish messages, in process without a model: the input guard sets
the message's language, the urgent checks read Spanish red flags and do not trust DIET's
urgent intent on another language."""

from typing import Dict, List, Optional

import pytest
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from nlu_components.input_guard import INPUT_CHECK, InputGuard, message_language
from nlu_components.urgent_symptoms import TrainedUrgentCheck, UrgentSymptomClassifier

URGENT = "urgent_symptom"


@pytest.fixture(scope="module")
def guard() -> InputGuard:
    return InputGuard(InputGuard.get_default_config(), None, None, vocabulary=["microneedling"])  # type: ignore[arg-type]


def read(guard: InputGuard, text: str, diet: str = "nlu_fallback") -> Message:
    """The message as the pipeline leaves it: the guard, DIET's intent (given), the checks."""
    ranked = [{INTENT_NAME_KEY: diet, PREDICTED_CONFIDENCE_KEY: 0.6}] + [
        {INTENT_NAME_KEY: "nlu_fallback", PREDICTED_CONFIDENCE_KEY: 0.3}
    ]
    message = Message({TEXT: text})
    guard.process([message])
    message.set(INTENT, ranked[0])
    message.set(INTENT_RANKING_KEY, ranked)
    TrainedUrgentCheck(TrainedUrgentCheck.get_default_config()).process([message])
    UrgentSymptomClassifier(UrgentSymptomClassifier.get_default_config()).process([message])
    return message


def language_entities(message: Message) -> List[Optional[str]]:
    entities: List[Dict] = message.get(ENTITIES) or []
    return [e.get("value") for e in entities if e.get("entity") == "patient_language"]


@pytest.mark.parametrize(
    "text, intent, language",
    [
        ("me sale pus y tengo fiebre", URGENT, "Spanish"),
        ("la hinchazón no para de crecer", URGENT, "Spanish"),
        ("no tengo fiebre", "nlu_fallback", "Spanish"),
        ("does microneedling hurt?", "nlu_fallback", "English"),
        ("there's pus and a fever", URGENT, "English"),
        ("Combien de temps dure la récupération après le traitement ?", "nlu_fallback", "French"),
    ],
)
def test_the_language_and_the_urgent_intent_of_a_message(
    guard: InputGuard, text: str, intent: str, language: str
) -> None:
    message = read(guard, text)
    assert message.get(INTENT)[INTENT_NAME_KEY] == intent
    assert language_entities(message) == [language]


def test_diet_alone_does_not_make_a_message_in_another_language_urgent(guard: InputGuard) -> None:
    assert read(guard, "no tengo fiebre", diet=URGENT).get(INTENT)[INTENT_NAME_KEY] != URGENT
    assert read(guard, "no puedo respirar", diet=URGENT).get(INTENT)[INTENT_NAME_KEY] == URGENT


@pytest.mark.parametrize(
    "text, language",
    [
        ("tengo fiebre", "Spanish"),
        # "pus" is an English red flag too; "fiebre" says the message is Spanish.
        ("me sale pus y tengo fiebre", "Spanish"),
        ("there's pus and a fever", "English"),
    ],
)
def test_a_spanish_red_flag_taken_for_english_is_urgent_and_answered_in_spanish(
    guard: InputGuard, text: str, language: str
) -> None:
    # As if the language check had read it as English (with the trained vocabulary, "me",
    # "sale", "pus" and "y" are known words): the Spanish list still reads it.
    guard.language.detect = lambda text: None  # type: ignore[method-assign]
    try:
        message = read(guard, text)
    finally:
        del guard.language.detect
    assert message.get(INTENT)[INTENT_NAME_KEY] == URGENT
    assert message_language(message) == language


def test_the_guard_notes_whether_the_language_model_is_sure(guard: InputGuard) -> None:
    sure = read(guard, "Combien de temps dure la récupération après le traitement ?")
    assert sure.get(INPUT_CHECK) == {
        "truncated": False,
        "no_words": False,
        "other_language": "French",
        "language_confident": True,
    }
    assert read(guard, "Est-ce que ça fait mal ?").get(INPUT_CHECK)["language_confident"] is False
