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
from clinic.answers import AnswersError, with_article_answers
from clinic.clinic_config import CLINIC_CONFIG_PATH, ClinicConfigError, load_clinic_config
from clinic.constants import CANNOT_ANSWER_RESPONSE, LANGUAGE_SLOT, SPANISH
from clinic.contraindication_rules import CONSENT, RULES_PATH, Rules, RulesError, load_rules
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


def screening_domain(rules: Rules) -> Dict[str, Any]:
    """A domain fragment: the question response, one variation per question, and one for
    the consent asked before the first question."""
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
    return {"version": "3.1", "responses": {QUESTION_RESPONSE: variations}}


NOT_SAID_SLOT = NOT_SAID
RELATED_SLOT = RELATED_TOPIC
# An SMS answer that is cut short says this; in a "what it does say" quote it is left out.
SMS_MORE_PROMPT = "Reply MORE for the full answer."


def _said(text: str) -> str:
    return " ".join(text.replace(SMS_MORE_PROMPT, "").split())


def answerability_domain(answerability: Answerability, domain: Dict[str, Any]) -> Dict[str, Any]:
    """A domain fragment: the slots the answerability component fills, and the honest reply
    with a variation per related topic (web and SMS), then domain.yml's own variations."""
    responses = domain["responses"]
    variations: List[Dict[str, Any]] = []
    for intent, topic in answerability.topics.items():
        condition = [{"type": "slot", "name": RELATED_SLOT, "value": intent}]
        for answer in responses[topic.response]:
            variation: Dict[str, Any] = {
                "condition": [dict(item) for item in condition],
                "text": f"Our article doesn't say {{{NOT_SAID_SLOT}}}. What it does say: "
                f"{_said(answer['text'])}",
            }
            if answer.get("channel"):
                variation["channel"] = answer["channel"]
            variations.append(variation)
    variations.append(
        {
            "condition": [{"type": "slot", "name": RELATED_SLOT, "value": NO_RELATED_TOPIC}],
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
        "responses": {CANNOT_ANSWER_RESPONSE: variations + list(responses[CANNOT_ANSWER_RESPONSE])},
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
    # The article's answers (knowledge/answers.yml) built from the article, first.
    written = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    domain = with_article_answers(written)
    if answers_es_path.exists():
        article_answers = set(domain["responses"]) - set(written["responses"])
        translations = load_translations(answers_es_path, article_answers, domain["intents"])
        domain["responses"] = with_translations(
            domain["responses"],
            translations,
            [{"type": "slot", "name": LANGUAGE_SLOT, "value": SPANISH}],
            offered_in=SPANISH_OFFER,
        )
    answerability = load_answerability(answerability_path, responses=list(domain["responses"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    # utter_cannot_answer is written whole in answerability.yml: Rasa keeps one file's copy.
    domain["responses"] = {
        name: variations
        for name, variations in domain["responses"].items()
        if name != CANNOT_ANSWER_RESPONSE
    }
    _write_if_changed(
        out_dir / "domain.yml",
        "# Generated from domain.yml by scripts/buildtime/build_domain.py.\n"
        + yaml.safe_dump(domain, sort_keys=False, allow_unicode=True, width=100),
    )
    _write_if_changed(
        out_dir / "clinic.yml", _fragment(clinic_domain(config.as_slots()), config_path)
    )
    _write_if_changed(out_dir / "screening.yml", _fragment(screening_domain(rules), rules_path))
    _write_if_changed(
        out_dir / "answerability.yml",
        _fragment(
            answerability_domain(
                answerability,
                with_article_answers(
                    yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
                ),
            ),
            answerability_path,
        ),
    )
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
    except TranslationsError as error:
        sys.exit(f"Cannot start: the reviewed Spanish answers are invalid.\n{error}")
    except AnswersError as error:
        sys.exit(
            f"Cannot start: an article answer (knowledge/answers.yml) cannot be built from the article.\n{error}"
        )
