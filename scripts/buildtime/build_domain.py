"""Assemble the domain Rasa trains on: `domain.yml`, the clinic's details as slots, and
the screening's questions as a response.

- The clinic's details become `clinic_*` slots with initial values, so responses in
  `domain.yml` read them (`{clinic_phone}`) and need no action server to show them.
- The screening form asks with `utter_ask_screening_answer`: one variation per question of
  `knowledge/contraindications.yml`, chosen by the `screening_question` slot that the form's
  validation sets. An action on the action server used to do this: a round trip on every
  screening turn (docs/benchmark.md).
- The honest reply `utter_cannot_answer` gets one variation per topic of
  `knowledge/answerability.yml`: "Our article doesn't say {not_said}. What it does say:"
  and that topic's answer, copied from its response here, chosen by the `related_topic`
  slot that nlu_components/answerability.py sets from the message; its own text in
  domain.yml stays the reply to everything else.
- Every response gets a `channel: twilio_voice` variant for the phone line
  (channels/twilio_voice.py), for each of its conditions: the article's answers say their
  first one or two sentences, in the article's words; the screening's questions their first
  sentence; every other response its text in `knowledge/voice.yml`. Clinic details are
  written in as words ("nine one one"), buttons become the words to say ("yes", "no"), and
  a text that breaks the phone line's rules (clinic/spoken.py) stops the build.
- With the clinic's reviewed Spanish translation (`knowledge/answers_es.yml`, absent by
  default; clinic/translations.py), each translated answer gets a Spanish variation and the
  Spanish "I answer in English" reply offers those topics as buttons.
"""

import sys
from pathlib import Path
from typing import Any, Dict, List

import yaml

from clinic.answerability import (
    ANSWERABILITY_PATH,
    NO_RELATED_TOPIC,
    NOT_SAID,
    RELATED_TOPIC,
    Answerability,
    AnswerabilityError,
    load_answerability,
)
from clinic.answers import AnswersError, load_answers, with_article_answers
from clinic.article import sentences
from clinic.clinic_config import CLINIC_CONFIG_PATH, ClinicConfigError, load_clinic_config
from clinic.constants import CANNOT_ANSWER_RESPONSE, LANGUAGE_SLOT, SPANISH, VOICE_CHANNEL
from clinic.contraindication_rules import CONSENT, RULES_PATH, Rules, RulesError, load_rules
from clinic.spoken import (
    CONSENT_KEY,
    VOICE_PATH,
    VoiceTexts,
    VoiceTextsError,
    fill,
    first_sentences,
    load_voice_texts,
    spoken_slots,
    spoken_slots_es,
    voice_problems,
)
from clinic.translations import (
    ANSWERS_ES_PATH,
    TranslationsError,
    load_translations,
    with_translations,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_DOMAIN_DIR = PROJECT_ROOT / "build" / "domain"


def clinic_domain(slot_values: dict) -> dict:
    """A domain fragment declaring one text slot per clinic detail."""
    slots = {
        name: {
            "type": "text",
            "initial_value": value,
            "influence_conversation": False,
            "mappings": [{"type": "custom"}],
        }
        for name, value in slot_values.items()
    }
    return {"version": "3.1", "slots": slots}


ANSWER_BUTTONS = [
    {"title": "Yes", "payload": "yes"},
    {"title": "No", "payload": "no"},
    {"title": "Not sure", "payload": "not sure"},
    {"title": "Stop the check", "payload": "stop"},
]
QUESTION_RESPONSE = "utter_ask_screening_answer"
QUESTION_SLOT = "screening_question"


CONSENT_BUTTONS = [
    {"title": "Yes, go on", "payload": "yes"},
    {"title": "No, thanks", "payload": "no"},
]


# The condition of the Spanish variations (the patient_language slot set by the input guard).
SPANISH_CONDITION = [{"type": "slot", "name": LANGUAGE_SLOT, "value": SPANISH}]
# What tells channels/twilio_voice.py to say a variation in Spanish.
SPANISH_SPOKEN = {"spoken_language": "es"}


def voice_variant(
    text: str,
    slots: Dict[str, str],
    condition: Any = None,
    buttons: Any = None,
    custom: Any = None,
) -> Dict[str, Any]:
    """A `channel: twilio_voice` variation: the clinic's details said as words, and the
    buttons as the words a caller says ("Yes, go on" -> "yes")."""
    variation: Dict[str, Any] = {}
    if condition:
        variation["condition"] = [dict(item) for item in condition]
    variation["channel"] = VOICE_CHANNEL
    variation["text"] = " ".join(fill(text, slots).split())
    if buttons:
        variation["buttons"] = [
            {"title": str(b["title"]).split(",")[0].strip().lower(), "payload": b["payload"]}
            for b in buttons
        ]
    if custom:
        variation["custom"] = dict(custom)
    return variation


def with_voice_variants(
    responses: Dict[str, List[Dict[str, Any]]],
    texts: VoiceTexts,
    slots: Dict[str, str],
    slots_es: Dict[str, str],
) -> Dict[str, List[Dict[str, Any]]]:
    """domain.yml's responses (and the article's answers) with their phone-line variation
    added: the article's answers their first sentences, the others knowledge/voice.yml's text;
    a Spanish variation gets a Spanish one (`responses_es:`, or the reviewed translation's
    first sentences), said by a Spanish voice."""
    missing = sorted(set(responses) - set(texts.responses) - set(load_answers()))
    if missing:
        raise VoiceTextsError(
            f"{VOICE_PATH.name}: no spoken text for {', '.join(missing)} (add it under responses:)"
        )
    built: Dict[str, List[Dict[str, Any]]] = {}
    for name, variations in responses.items():
        default = next(v for v in variations if not v.get("channel") and not v.get("condition"))
        if name in texts.responses:
            text = texts.responses[name]
        else:  # an article answer: its first sentences, in the article's words
            text = first_sentences(default["text"])
        # Answers (yes, no) are said as choices; a menu of topics ("/ask_pain") is said in
        # the voice text's words instead: nine choices are too many to listen to.
        answers = [b for b in default.get("buttons") or [] if not str(b["payload"]).startswith("/")]
        spanish = [
            v
            for v in variations
            if v.get("condition") == SPANISH_CONDITION and not v.get("channel")
        ]
        voiced = [voice_variant(text, slots, buttons=answers)]
        for variation in spanish:
            if name in texts.responses_es:
                text_es = texts.responses_es[name]
            elif name in texts.responses:
                raise VoiceTextsError(
                    f"{VOICE_PATH.name}: {name} has a Spanish variation but no spoken Spanish "
                    "text (add it under responses_es:)"
                )
            else:  # a reviewed translation of an article answer: its first sentences
                text_es = first_sentences(variation["text"])
            voiced.append(
                voice_variant(text_es, slots_es, SPANISH_CONDITION, custom=SPANISH_SPOKEN)
            )
        built[name] = [*variations, *voiced]
    return built


def voice_rule_problems(responses: Dict[str, List[Dict[str, Any]]]) -> List[str]:
    """Every response's phone-line variations against the rules: one for each condition
    its other variations have, each short, with words for numbers (clinic/spoken.py)."""
    problems: List[str] = []
    for name, variations in responses.items():
        voiced = [v for v in variations if v.get("channel") == VOICE_CHANNEL]
        wanted = {repr(v.get("condition")) for v in variations if not v.get("channel")}
        if wanted - {repr(v.get("condition")) for v in voiced}:
            problems.append(f"{name}: a condition without a phone-line variation")
        for variation in voiced:
            text = variation["text"]
            found = voice_problems(text)
            if variation.get("buttons") and len(sentences(text)) > 1:
                found.append("more than one sentence before its spoken choices")
            problems.extend(f"{name}: {problem}: {text!r}" for problem in found)
    return problems


def screening_domain(rules: Rules, voice: Any = None) -> Dict[str, Any]:
    """A domain fragment: the question response, one variation per question, and one for
    the consent asked before the first question; by phone too when `voice` (the voice texts
    and the spoken slots) is given."""
    consent = [
        {
            "condition": [{"type": "slot", "name": QUESTION_SLOT, "value": CONSENT}],
            "text": text,
            "buttons": [dict(button) for button in CONSENT_BUTTONS],
            **channel,
        }
        for text, channel in ((rules.consent_sms, {"channel": "twilio"}), (rules.consent_text, {}))
    ]
    variations: List[Dict[str, Any]] = consent + [
        {
            "condition": [{"type": "slot", "name": QUESTION_SLOT, "value": key}],
            "text": question.text,
            "buttons": [dict(button) for button in ANSWER_BUTTONS],
        }
        for key, question in rules.questions.items()
    ]
    if voice is not None:
        texts, slots = voice[0], voice[1]
        consent_condition = [{"type": "slot", "name": QUESTION_SLOT, "value": CONSENT}]
        variations.append(
            voice_variant(texts.responses[CONSENT_KEY], slots, consent_condition, CONSENT_BUTTONS)
        )
        variations.extend(
            voice_variant(
                sentences(question.text)[0],
                slots,
                [{"type": "slot", "name": QUESTION_SLOT, "value": key}],
                ANSWER_BUTTONS,
            )
            for key, question in rules.questions.items()
        )
    return {"version": "3.1", "responses": {QUESTION_RESPONSE: variations}}


NOT_SAID_SLOT = NOT_SAID
RELATED_SLOT = RELATED_TOPIC
# An SMS answer that is cut short says this; in a "what it does say" quote it is left out.
SMS_MORE_PROMPT = "Reply MORE for the full answer."


def _said(text: str) -> str:
    return " ".join(text.replace(SMS_MORE_PROMPT, "").split())


def answerability_domain(
    answerability: Answerability, domain: Dict[str, Any], voice: Any = None
) -> Dict[str, Any]:
    """A domain fragment: the slots the answerability component fills, and the honest reply
    with a variation per related topic (web and SMS, and by phone when `voice` is given),
    then domain.yml's own variations."""
    responses = domain["responses"]
    variations: List[Dict[str, Any]] = []
    for intent, topic in answerability.topics.items():
        condition = [{"type": "slot", "name": RELATED_SLOT, "value": intent}]
        if voice is not None:
            default = next(a for a in responses[topic.response] if not a.get("channel"))
            variations.append(
                voice_variant(
                    f"Our article doesn't say {{{NOT_SAID_SLOT}}}. What it does say: "
                    f"{sentences(_said(default['text']))[0]}",
                    voice[1],
                    condition,
                )
            )
        for answer in responses[topic.response]:
            variation: Dict[str, Any] = {
                "condition": [dict(item) for item in condition],
                "text": f"Our article doesn't say {{{NOT_SAID_SLOT}}}. What it does say: "
                f"{_said(answer['text'])}",
            }
            if answer.get("channel"):
                variation["channel"] = answer["channel"]
            variations.append(variation)
    no_related = [{"type": "slot", "name": RELATED_SLOT, "value": NO_RELATED_TOPIC}]
    if voice is not None:
        variations.append(
            voice_variant(
                f"Our article doesn't say {{{NOT_SAID_SLOT}}}. To ask the clinic, say "
                '"person", or call {clinic_phone}.',
                voice[1],
                no_related,
            )
        )
    variations.append(
        {
            "condition": no_related,
            "text": f"Our article doesn't say {{{NOT_SAID_SLOT}}}. Please contact the clinic on "
            "{clinic_phone} ({clinic_opening_hours}) or book a consultation at "
            "{clinic_booking_url}.",
        }
    )
    slots = {
        name: {
            "type": "text",
            "influence_conversation": False,
            "mappings": [{"type": "from_entity", "entity": name}],
        }
        for name in (NOT_SAID_SLOT, RELATED_SLOT)
    }
    return {
        "version": "3.1",
        "entities": [NOT_SAID_SLOT, RELATED_SLOT],
        "slots": slots,
        # domain.yml's own reply last (the phone line's before it: any order works).
        "responses": {
            CANNOT_ANSWER_RESPONSE: variations
            + (
                [voice_variant(voice[0].responses[CANNOT_ANSWER_RESPONSE], voice[1])]
                if voice is not None
                else []
            )
            + list(responses[CANNOT_ANSWER_RESPONSE])
        },
    }


def build_domain(
    out_dir: Path = BUILD_DOMAIN_DIR,
    config_path: Path = CLINIC_CONFIG_PATH,
    rules_path: Path = RULES_PATH,
    answerability_path: Path = ANSWERABILITY_PATH,
    answers_es_path: Path = ANSWERS_ES_PATH,
) -> Path:
    """Write the assembled domain folder and return it."""
    config = load_clinic_config(config_path)
    rules = load_rules(rules_path)
    voice = (load_voice_texts(config), spoken_slots(config), spoken_slots_es(config))
    # The article's answers (knowledge/answers.yml) built from the article, first.
    written = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    domain = with_article_answers(written)
    if answers_es_path.exists():
        article_answers = set(domain["responses"]) - set(written["responses"])
        translations = load_translations(answers_es_path, article_answers, domain["intents"])
        domain["responses"] = with_translations(
            domain["responses"],
            translations,
            SPANISH_CONDITION,
            offered_in=SPANISH_OFFER,
        )
    answerability = load_answerability(answerability_path, responses=list(domain["responses"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    # utter_cannot_answer is written whole in answerability.yml: Rasa keeps one file's copy.
    domain["responses"] = with_voice_variants(
        {
            name: variations
            for name, variations in domain["responses"].items()
            if name != CANNOT_ANSWER_RESPONSE
        },
        *voice,
    )
    screening = screening_domain(rules, voice)
    answerable = answerability_domain(
        answerability,
        with_article_answers(
            yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
        ),
        voice,
    )
    problems = voice_rule_problems(
        {**domain["responses"], **screening["responses"], **answerable["responses"]}
    )
    if problems:
        raise VoiceTextsError(
            "The phone line's replies break its rules:\n  - " + "\n  - ".join(problems)
        )
    _write_if_changed(
        out_dir / "domain.yml",
        "# Generated from domain.yml by scripts/buildtime/build_domain.py.\n"
        + yaml.safe_dump(domain, sort_keys=False, allow_unicode=True, width=100),
    )
    _write_if_changed(
        out_dir / "clinic.yml", _fragment(clinic_domain(config.as_slots()), config_path)
    )
    _write_if_changed(out_dir / "screening.yml", _fragment(screening, rules_path))
    _write_if_changed(out_dir / "answerability.yml", _fragment(answerable, answerability_path))
    return out_dir


# The reply that offers the translated topics: "I answer in English", in Spanish.
SPANISH_OFFER = "utter_english_only"


def _fragment(domain: Dict[str, Any], source: Path) -> str:
    header = f"# Generated from knowledge/{source.name} by scripts/buildtime/build_domain.py.\n"
    return header + yaml.safe_dump(domain, sort_keys=False, allow_unicode=True)


def _write_if_changed(path: Path, text: str) -> None:
    # Unchanged files keep their timestamps, so make does not retrain for nothing.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    try:
        build_domain()
    except ClinicConfigError as error:
        sys.exit(f"Cannot start: the clinic config is invalid.\n{error}")
    except RulesError as error:
        sys.exit(f"Cannot start: the contraindication rules are invalid.\n{error}")
    except AnswerabilityError as error:
        sys.exit(f"Cannot start: knowledge/answerability.yml is invalid.\n{error}")
    except VoiceTextsError as error:
        sys.exit(
            f"Cannot start: the phone line's texts (knowledge/voice.yml) are invalid.\n{error}"
        )
    except TranslationsError as error:
        sys.exit(f"Cannot start: the reviewed Spanish answers are invalid.\n{error}")
    except AnswersError as error:
        sys.exit(
            f"Cannot start: an article answer (knowledge/answers.yml) cannot be built from the article.\n{error}"
        )
