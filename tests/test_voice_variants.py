"""Every response has a short spoken variant for the phone line, built with the domain:
at most two sentences, numbers as words, the article's answers in the article's words."""

from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from clinic.answers import load_answers
from clinic.article import sentences, ungrounded_sentences
from clinic.clinic_config import load_clinic_config
from clinic.constants import URGENT_RESPONSE, VOICE_CHANNEL
from clinic.spoken import VoiceTextsError, digit_by_digit, voice_problems
from scripts.buildtime import build_domain as build

CLINIC = load_clinic_config()


@pytest.fixture(scope="module")
def responses(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[Dict[str, Any]]]:
    """Every response of the built domain, from all its files."""
    out = build.build_domain(tmp_path_factory.mktemp("domain"))
    found: Dict[str, List[Dict[str, Any]]] = {}
    for path in sorted(out.glob("*.yml")):
        found.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses", {}))
    return found


def spoken(variations: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [v for v in variations if v.get("channel") == VOICE_CHANNEL]


def build_with_variations(
    added: Dict[str, Dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Build the domain from domain.yml with a variation added to each named response."""
    domain = yaml.safe_load((build.PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variation in added.items():
        domain["responses"].setdefault(name, []).append(variation)
    project = tmp_path / "project"
    project.mkdir()
    (project / "domain.yml").write_text(yaml.safe_dump(domain), encoding="utf-8")
    monkeypatch.setattr(build, "PROJECT_ROOT", project)
    return build.build_domain(tmp_path / "out")


def test_every_response_and_condition_has_a_spoken_variant(responses: Dict[str, Any]) -> None:
    assert len(responses) > 30
    for name, variations in responses.items():
        conditions = {repr(v.get("condition")) for v in variations if not v.get("channel")}
        assert conditions == {repr(v.get("condition")) for v in spoken(variations)}, name


def test_every_spoken_variant_keeps_the_rules(responses: Dict[str, Any]) -> None:
    for name, variations in responses.items():
        for variation in spoken(variations):
            text = variation["text"]
            assert not voice_problems(text), (name, text, voice_problems(text))
            assert len(sentences(text)) <= (1 if variation.get("buttons") else 2), (name, text)


def test_the_article_answers_say_their_first_sentences_in_the_articles_words(
    responses: Dict[str, Any],
) -> None:
    for name, variants in load_answers().items():
        [variation] = spoken(responses[name])
        full = sentences(variants[0].text)
        said = sentences(variation["text"])
        assert said == full[: len(said)] and 1 <= len(said) <= 2, name
        assert not ungrounded_sentences(variation["text"]), name


def test_the_urgent_reply_says_the_emergency_number_first(responses: Dict[str, Any]) -> None:
    [urgent, urgent_es] = spoken(responses[URGENT_RESPONSE])
    for variation, spanish in ((urgent, False), (urgent_es, True)):
        first = sentences(variation["text"])[0]
        # "nine one one", "nueve uno uno"
        assert digit_by_digit(CLINIC.emergency_number, spanish) in first
        assert CLINIC.emergency_number not in variation["text"]
        assert digit_by_digit(CLINIC.phone, spanish) in variation["text"]
    assert urgent_es["custom"] == {"spoken_language": "es"}
    assert "custom" not in urgent


def test_the_spanish_variations_are_said_in_spanish(responses: Dict[str, Any]) -> None:
    """Each Spanish variation has a spoken Spanish one, marked for the Spanish voice."""
    found = 0
    for name, variations in responses.items():
        for variation in spoken(variations):
            if variation.get("condition") == build.SPANISH_CONDITION:
                found += 1
                assert variation["custom"] == {"spoken_language": "es"}, name
                assert "our website" not in variation["text"], name
                assert "nine" not in variation["text"], name
            else:
                assert "custom" not in variation, name
    assert found == 3  # the disclaimer, the English-only reply and the urgent reply
    [_, english_only] = spoken(responses["utter_english_only"])
    assert "«persona»" in english_only["text"]


def test_a_spanish_variation_without_a_spoken_spanish_text_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses = {"utter_goodbye": {"condition": build.SPANISH_CONDITION, "text": "¡Adiós!"}}
    with pytest.raises(VoiceTextsError, match="utter_goodbye has a Spanish variation"):
        build_with_variations(responses, tmp_path, monkeypatch)


def test_the_greeting_offers_a_person(responses: Dict[str, Any]) -> None:
    [greet] = spoken(responses["utter_greet"])
    assert 'say "person" to be connected' in greet["text"]


def test_buttons_become_the_words_to_say(responses: Dict[str, Any]) -> None:
    questions = spoken(responses[build.QUESTION_RESPONSE])
    consent = [q for q in questions if q["condition"][0]["value"] == "consent"]
    assert [b["title"] for b in consent[0]["buttons"]] == ["yes", "no"]
    asked = [q for q in questions if q["condition"][0]["value"] != "consent"]
    for question in asked:
        assert [b["title"] for b in question["buttons"]] == [
            "yes",
            "no",
            "not sure",
            "stop the check",
        ]
        assert [b["payload"] for b in question["buttons"]] == ["yes", "no", "not sure", "stop"]
    # The menu's nine topics are said in words instead of as nine choices.
    [menu] = spoken(responses["utter_menu"])
    assert "buttons" not in menu


def test_a_response_without_a_spoken_text_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(VoiceTextsError, match="no spoken text for utter_new_thing"):
        build_with_variations(
            {"utter_new_thing": {"text": "Something new."}}, tmp_path, monkeypatch
        )


def test_a_reviewed_translation_is_said_in_spanish_its_first_sentences(tmp_path: Path) -> None:
    """With the clinic's reviewed translation, a translated answer is said in Spanish: its
    first sentences, marked for the Spanish voice; untranslated answers keep one variation."""
    translation = build.PROJECT_ROOT / "tests" / "data" / "answers_es_test.yml"
    out = build.build_domain(tmp_path / "out", answers_es_path=translation)
    built = yaml.safe_load((out / "domain.yml").read_text(encoding="utf-8"))["responses"]
    translated = yaml.safe_load(translation.read_text(encoding="utf-8"))["answers"]
    for name, answer in translated.items():
        [english, spanish] = spoken(built[name])
        assert spanish["condition"] == build.SPANISH_CONDITION
        assert spanish["custom"] == {"spoken_language": "es"}
        said = sentences(spanish["text"])
        assert said == sentences(" ".join(answer["text"].split()))[: len(said)], name
        assert "custom" not in english
    untranslated = set(load_answers()) - set(translated)
    assert untranslated and all(len(spoken(built[name])) == 1 for name in untranslated)
