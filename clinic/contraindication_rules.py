"""The rules of the contraindication check, loaded from the clinic-editable YAML file."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from clinic.article import ungrounded_sentences
from clinic.constants import OUTCOMES
from clinic.data_files import problems_message, read_yaml

RULES_PATH = Path(__file__).resolve().parent.parent / "knowledge" / "contraindications.yml"

IGNORED = "none"
# The step before the first question: the `screening_question` slot's value while the check
# waits for the patient's yes to go on.
CONSENT = "consent"


class RulesError(ValueError):
    """The rules file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Condition:
    """One thing the check looks for, and what it means for the patient."""

    key: str
    name: str
    question: str
    outcome: str
    when_past: str
    when_unsure: str
    article: str
    synonyms: Tuple[str, ...]
    # Lasts for years (eczema, psoriasis, rosacea): said to have started in the past, it
    # is still current unless the patient says it has gone.
    chronic: bool = False


@dataclass(frozen=True)
class Question:
    """A screening question; `yes` to it, without naming anything, means `yes_means`."""

    key: str
    text: str
    yes_means: str


@dataclass(frozen=True)
class Rules:
    outcomes: Tuple[str, ...]
    doctor_sentence: str
    next_steps: Dict[str, str]
    questions: Dict[str, Question]
    conditions: Dict[str, Condition]
    not_findings: Tuple[str, ...]
    # Said before the first question (the check goes on only on yes), and the reply to no.
    consent_text: str = ""
    consent_declined: str = ""
    consent_sms: str = ""

    def strength(self, outcome: str) -> int:
        """Lower is stronger."""
        return self.outcomes.index(outcome)


def _text(section: Dict[str, Any], key: str, where: str, problems: List[str]) -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: '{key}' must be non-empty text")
        return ""
    return " ".join(value.split())


def _outcome(
    section: Dict[str, Any], key: str, where: str, problems: List[str], allow_ignored: bool = False
) -> str:
    value = section.get(key)
    allowed = OUTCOMES[:-1] + ((IGNORED,) if allow_ignored else ())
    if value not in allowed:
        problems.append(f"{where}: '{key}' is {value!r}; use one of: {', '.join(allowed)}")
    return str(value)


def _grounded(sentence: str, where: str, problems: List[str]) -> None:
    if sentence and ungrounded_sentences(sentence):
        problems.append(f"{where}: not a sentence of the article: {sentence!r}")


def _flag(section: Dict[str, Any], key: str, where: str, problems: List[str]) -> bool:
    value = section.get(key, False)
    if not isinstance(value, bool):
        problems.append(f"{where}: '{key}' must be true or false")
        return False
    return value


def parse_rules(raw: Any, source: str = "rules") -> Rules:
    """Validate the parsed YAML and return the rules, or raise listing every problem."""
    if not isinstance(raw, dict):
        raise RulesError(f"{source}: expected sections outcomes, questions, conditions.")
    problems: List[str] = []
    if tuple(raw.get("outcomes") or ()) != OUTCOMES:
        problems.append(f"outcomes must be exactly, strongest first: {list(OUTCOMES)}")
    doctor_sentence = _text(raw, "doctor_sentence", "top level", problems)
    _grounded(doctor_sentence, "doctor_sentence", problems)
    steps: Dict[str, Any] = raw["next_steps"] if isinstance(raw.get("next_steps"), dict) else {}
    next_steps = {outcome: _text(steps, outcome, "next_steps", problems) for outcome in OUTCOMES}

    questions: Dict[str, Question] = {}
    for key, section in (raw.get("questions") or {}).items():
        where = f"questions.{key}"
        if not isinstance(section, dict):
            problems.append(f"{where}: expected text and yes_means")
            continue
        questions[key] = Question(
            key,
            _text(section, "text", where, problems),
            _text(section, "yes_means", where, problems),
        )
    if not questions:
        problems.append("questions: at least one screening question is needed")

    conditions: Dict[str, Condition] = {}
    seen_synonyms: Dict[str, str] = {}
    for key, section in (raw.get("conditions") or {}).items():
        where = f"conditions.{key}"
        if not isinstance(section, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        synonyms = section.get("synonyms") or []
        if not isinstance(synonyms, list) or not all(
            isinstance(s, str) and s.strip() for s in synonyms
        ):
            problems.append(f"{where}: 'synonyms' must be a list of words or phrases")
            synonyms = []
        for synonym in synonyms:
            other = seen_synonyms.setdefault(synonym.lower().strip(), key)
            if other != key:
                problems.append(f"{where}: synonym {synonym!r} is also listed under {other}")
        question = _text(section, "question", where, problems)
        if question and question not in questions:
            problems.append(f"{where}: question {question!r} is not under questions")
        article = _text(section, "article", where, problems)
        _grounded(article, f"{where}.article", problems)
        conditions[key] = Condition(
            key=key,
            name=_text(section, "name", where, problems),
            question=question,
            outcome=_outcome(section, "outcome", where, problems),
            when_past=_outcome(section, "when_past", where, problems, allow_ignored=True),
            when_unsure=_outcome(section, "when_unsure", where, problems, allow_ignored=True),
            article=article,
            synonyms=tuple(s.strip() for s in synonyms),
            chronic=_flag(section, "chronic", where, problems),
        )
    if not conditions:
        problems.append("conditions: at least one condition is needed")
    for asked in questions.values():
        if asked.yes_means and asked.yes_means not in conditions:
            problems.append(
                f"questions.{asked.key}: yes_means {asked.yes_means!r} is not a condition"
            )

    not_findings = raw.get("not_findings") or []
    if not isinstance(not_findings, list) or not all(isinstance(s, str) for s in not_findings):
        problems.append("not_findings must be a list of phrases")
        not_findings = []
    consent: Dict[str, Any] = raw["consent"] if isinstance(raw.get("consent"), dict) else {}
    consent_text = _text(consent, "text", "consent", problems)
    consent_declined = _text(consent, "declined", "consent", problems)
    consent_sms = _text(consent, "sms_text", "consent", problems)
    if CONSENT in questions:
        problems.append(
            f"questions: '{CONSENT}' is the consent step's name; name the question otherwise"
        )
    if problems:
        raise RulesError(problems_message(source, problems))
    return Rules(
        OUTCOMES,
        doctor_sentence,
        next_steps,
        questions,
        conditions,
        tuple(not_findings),
        consent_text,
        consent_declined,
        consent_sms,
    )


def load_rules(path: Optional[Path] = None) -> Rules:
    """Read and validate the rules file."""
    path = path or RULES_PATH
    return parse_rules(read_yaml(path, RulesError), source=str(path))
