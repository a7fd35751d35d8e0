"""Answers in Spanish only from the clinic's reviewed translation file (clinic/translations.py):
the built domain with the test file tests/data/answers_es_test.yml, and without one."""

from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from clinic.clinic_config import load_clinic_config
from clinic.translations import TranslationsError, parse_translations
from scripts.buildtime.build_domain import build_domain

TEST_TRANSLATION = Path(__file__).resolve().parent / "data" / "answers_es_test.yml"
SPANISH = [{"type": "slot", "name": "patient_language", "value": "Spanish"}]
SLOTS = load_clinic_config().as_slots()


def built_responses(tmp_path: Path, translation: Path) -> Dict[str, List[Dict[str, Any]]]:
    out = build_domain(tmp_path / "domain", answers_es_path=translation)
    return yaml.safe_load((out / "domain.yml").read_text(encoding="utf-8"))["responses"]


def said(responses: Dict[str, List[Dict[str, Any]]], name: str, language: str, channel: str):
    """What Rasa's response generator says for `name` with the patient's language set."""
    slots = {**SLOTS, "patient_language": language}
    return TemplatedNaturalLanguageGenerator(responses).generate_from_slots(name, slots, channel)


def test_with_the_reviewed_file_a_spanish_patient_is_offered_its_topics_and_gets_them(
    tmp_path: Path,
) -> None:
    responses = built_responses(tmp_path, TEST_TRANSLATION)
    offer = said(responses, "utter_english_only", "Spanish", "rest")
    assert "solo en inglés" in offer["text"] and SLOTS["clinic_phone"] in offer["text"]
    assert offer["text"].endswith("Estos temas también los tengo en español:")
    assert [(b["title"], b["payload"]) for b in offer["buttons"]] == [
        ("¿Qué es el microneedling?", "/ask_what_is"),
        ("¿Duele?", "/ask_pain"),
    ]
    # The button keeps the Spanish slot, so the topic's answer comes from the file.
    answer = said(responses, "utter_what_is", "Spanish", "rest")["text"]
    assert answer.startswith("El microneedling es un tratamiento para la piel")
    by_sms = said(responses, "utter_what_is", "Spanish", "twilio")["text"]
    assert by_sms.startswith("El microneedling") and len(by_sms) <= 320
    assert said(responses, "utter_pain", "Spanish", "twilio")["text"].startswith("Antes del")
    # English patients and untranslated topics keep the article's words.
    assert said(responses, "utter_what_is", "English", "rest")["text"].startswith(
        "Microneedling is a skin care treatment"
    )
    assert (
        said(responses, "utter_sun", "Spanish", "rest")["text"]
        == said(responses, "utter_sun", "English", "rest")["text"]
    )
    assert "buttons" not in said(responses, "utter_english_only", "English", "rest")


def test_without_the_file_nothing_medical_is_in_spanish(tmp_path: Path) -> None:
    responses = built_responses(tmp_path, tmp_path / "absent.yml")
    offer = said(responses, "utter_english_only", "Spanish", "rest")
    assert "solo en inglés" in offer["text"] and not offer.get("buttons")
    assert all(
        not variation.get("condition")
        for name in ("utter_what_is", "utter_pain")
        for variation in responses[name]
    )


ANSWERS, INTENTS = ["utter_what_is", "utter_pain"], ["ask_what_is", "ask_pain"]


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"answers": {}}, "expected an 'answers:' section"),
        (
            {"offer": "x", "answers": {"utter_what_is": {"title": "t", "text": "x"}}},
            "reviewed_by: who reviewed",
        ),
        (
            {"reviewed_by": "Dr A", "offer": "x", "answers": {"utter_cost": {"title": "t"}}},
            "utter_cost: not an answer of the article",
        ),
        (
            {"reviewed_by": "Dr A", "offer": "x", "answers": {"utter_pain": {"text": "x"}}},
            "needs a 'title'",
        ),
        (
            {
                "reviewed_by": "Dr A",
                "offer": "x",
                "answers": {"utter_pain": {"title": "t", "text": "palabra " * 50}},
            },
            "add a shorter 'sms' text",
        ),
    ],
)
def test_an_incomplete_translation_file_is_refused_naming_the_problem(
    raw: Dict[str, Any], problem: str
) -> None:
    with pytest.raises(TranslationsError, match=problem):
        parse_translations(raw, ANSWERS, INTENTS)
