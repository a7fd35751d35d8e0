"""Assemble the domain Rasa trains on: `domain.yml`, the clinic's details as slots, and
the screening's questions as a response.

- The clinic's details become `clinic_*` slots with initial values, so responses in
  `domain.yml` read them (`{clinic_phone}`) and need no action server to show them.
- The screening form asks with `utter_ask_screening_answer`: one variation per question of
  `knowledge/contraindications.yml`, chosen by the `screening_question` slot that the form's
  validation sets. An action on the action server used to do this: a round trip on every
  screening turn (docs/benchmark.md).
"""

import sys
from pathlib import Path
from typing import Any, Dict, List

import yaml

from actions.clinic_config import CLINIC_CONFIG_PATH, ClinicConfigError, load_clinic_config
from actions.contraindication_rules import RULES_PATH, Rules, RulesError, load_rules

PROJECT_ROOT = Path(__file__).resolve().parent.parent
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


def screening_domain(rules: Rules) -> Dict[str, Any]:
    """A domain fragment: the question response, one variation per question."""
    variations: List[Dict[str, Any]] = [
        {"condition": [{"type": "slot", "name": QUESTION_SLOT, "value": key}],
         "text": question.text, "buttons": [dict(button) for button in ANSWER_BUTTONS]}
        for key, question in rules.questions.items()]
    return {"version": "3.1", "responses": {QUESTION_RESPONSE: variations}}


def build_domain(out_dir: Path = BUILD_DOMAIN_DIR, config_path: Path = CLINIC_CONFIG_PATH,
                 rules_path: Path = RULES_PATH) -> Path:
    """Write the assembled domain folder and return it."""
    config = load_clinic_config(config_path)
    rules = load_rules(rules_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_if_changed(out_dir / "domain.yml", (PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    _write_if_changed(out_dir / "clinic.yml", _fragment(clinic_domain(config.as_slots()), config_path))
    _write_if_changed(out_dir / "screening.yml", _fragment(screening_domain(rules), rules_path))
    return out_dir


def _fragment(domain: Dict[str, Any], source: Path) -> str:
    header = f"# Generated from knowledge/{source.name} by scripts/build_domain.py.\n"
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
