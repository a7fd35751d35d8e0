"""The learned reader of Spanish urgency (clinic/urgency_classifier.py), beside the phrase
list: it finds urgent messages told in words the list lacks, leaves what the list ruled out,
reads only messages taken for Spanish, and refuses a broken examples file."""

from pathlib import Path

import pytest
import yaml

from clinic.constants import ENGLISH, SPANISH
from clinic.red_flags import default_matcher
from clinic.urgency_classifier import (
    EXAMPLE_FILES,
    MIN_EXAMPLES,
    UrgencyClassifier,
    UrgentExamplesError,
    default_classifier,
    load_examples,
    parse_examples,
)
from nlu_components.urgent_symptoms import urgent_in

HELDOUT = Path(__file__).resolve().parent / "data" / "spanish_heldout.yml"
# Urgent, in words the phrase list lacks; written for this test, in no examples file.
UNLISTED_URGENT = [
    "se me está poniendo la nariz de un color raro, como ceniza",
    "la cara se me puso como un globo y siento que me voy al piso",
    "tengo la mejilla durísima, brillante y me arde al tocarla, cada hora está peor",
]


@pytest.mark.parametrize("text", UNLISTED_URGENT)
def test_the_reader_finds_urgency_the_phrase_list_has_no_words_for(text: str) -> None:
    assert not default_matcher(SPANISH).is_urgent(text)
    assert urgent_in(text, SPANISH) == SPANISH


@pytest.mark.parametrize(
    "text",
    [
        # The phrase list read "fiebre" and ruled it out: the reader does not overrule it.
        "no tengo fiebre",
        "sin fiebre ni pus",
        "¿y si me sale pus?",
        "hola, ¿a qué hora abren mañana?",
        "¿cuánto cuesta una sesión de microneedling?",
        "tengo la piel un poco roja y tirante, ¿es normal?",
        # Too short for the reader: a bare "no" once scored 0.51.
        "no",
        "no gracias",
    ],
)
def test_what_the_list_ruled_out_and_everyday_messages_stay_calm(text: str) -> None:
    assert urgent_in(text, SPANISH) is None


def test_the_reader_reads_only_messages_taken_for_spanish() -> None:
    # Taken for English, a message is read by the phrase lists alone (both of them).
    assert urgent_in(UNLISTED_URGENT[0], ENGLISH) is None
    assert default_classifier(ENGLISH) is None


def test_the_held_out_set_is_read_as_measured() -> None:
    """tests/data/spanish_heldout.yml, written blind and never in the examples: the phrase
    list and the reader together, as the Rasa server reads a Spanish message. The figures
    measured are in docs/safety.md; this guards against a large fall."""
    heldout = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    examples = load_examples(EXAMPLE_FILES[SPANISH])
    assert not set(heldout["urgent"] + heldout["not_urgent"]) & set(
        examples.urgent + examples.not_urgent
    )
    found = sum(urgent_in(t, SPANISH) == SPANISH for t in heldout["urgent"])
    alarms = sum(urgent_in(t, SPANISH) == SPANISH for t in heldout["not_urgent"])
    assert found >= 0.95 * len(heldout["urgent"]), found
    assert alarms <= 0.15 * len(heldout["not_urgent"]), alarms


def test_a_clinics_added_example_is_learned() -> None:
    examples = load_examples(EXAMPLE_FILES[SPANISH])
    calm = "mi gato tiene la cara hinchada y no para de estornudar"
    before = UrgencyClassifier(examples).probability(calm)
    taught = parse_examples(
        {"urgent": list(examples.urgent), "not_urgent": [*examples.not_urgent, calm]}
    )
    assert UrgencyClassifier(taught).probability(calm) < before


def test_a_broken_examples_file_is_refused_with_every_problem() -> None:
    with pytest.raises(UrgentExamplesError, match="expected 'urgent:' and 'not_urgent:'"):
        parse_examples(["a list"])
    few = ["me sale pus"] * (MIN_EXAMPLES - 1)
    with pytest.raises(UrgentExamplesError) as raised:
        parse_examples({"urgent": few, "not_urgent": [""]})
    assert f"urgent: {MIN_EXAMPLES - 1} messages; at least {MIN_EXAMPLES}" in str(raised.value)
    assert "not_urgent: expected a list of messages" in str(raised.value)
    both = [f"mensaje {i}" for i in range(MIN_EXAMPLES)]
    with pytest.raises(UrgentExamplesError, match="in both lists: 'mensaje 0'"):
        parse_examples({"urgent": both, "not_urgent": both})
