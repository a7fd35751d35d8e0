"""Reviewed translations of the article's answers, which only the clinic provides.

The assistant never translates at run time: a medical answer in Spanish comes only from
`knowledge/answers_es.yml`, a file the clinic writes and has reviewed (absent by default).
Without it, a Spanish question gets the Spanish reply that the assistant answers in
English, with the clinic's number. With it, that reply offers the translated topics as
buttons in Spanish (so no Spanish NLU is needed), and each topic's answer gets a Spanish
variation, chosen by the `patient_language` slot the button keeps. No Rasa imports.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Tuple

from clinic.data_files import problems_message, read_yaml

ANSWERS_ES_PATH = Path(__file__).resolve().parent.parent / "knowledge" / "answers_es.yml"
# As channels/sms.py's SMS_LIMIT: one SMS of concatenated segments.
SMS_LIMIT = 320
ANSWER_PREFIX, INTENT_PREFIX = "utter_", "ask_"


class TranslationsError(ValueError):
    """The translation file is unreadable or incomplete."""


@dataclass(frozen=True)
class TranslatedAnswer:
    response: str  # the article answer it translates (utter_what_is)
    title: str  # the button that offers it
    text: str
    sms: str  # the SMS text: `text` when that is short enough

    @property
    def payload(self) -> str:
        """The button's payload: the topic's question intent (ask_what_is)."""
        return "/" + INTENT_PREFIX + self.response[len(ANSWER_PREFIX) :]


@dataclass(frozen=True)
class Translations:
    reviewed_by: str
    offer: str  # said after "I answer in English", before the buttons
    answers: Tuple[TranslatedAnswer, ...]


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def parse_translations(
    raw: Any,
    article_answers: Iterable[str],
    intents: Iterable[str],
    source: str = "translations",
) -> Translations:
    """Validate the parsed YAML against the domain's article answers and intents, or raise
    listing every problem."""
    if not isinstance(raw, dict) or not isinstance(raw.get("answers"), dict) or not raw["answers"]:
        raise TranslationsError(f"{source}: expected an 'answers:' section of translated answers.")
    problems: List[str] = []
    reviewed_by, offer = _text(raw.get("reviewed_by")), _text(raw.get("offer"))
    if not reviewed_by:
        problems.append("reviewed_by: who reviewed the translation, and when, is required")
    if not offer:
        problems.append("offer: the sentence that offers the translated topics is required")
    known, intent_names = set(article_answers), set(intents)
    answers: List[TranslatedAnswer] = []
    for response, entry in raw["answers"].items():
        where = f"answers.{response}"
        if response not in known:
            problems.append(
                f"{where}: not an answer of the article (one of {', '.join(sorted(known))})"
            )
            continue
        entry = entry if isinstance(entry, dict) else {}
        title, text = _text(entry.get("title")), _text(entry.get("text"))
        sms = _text(entry.get("sms")) or text
        if not title or not text:
            problems.append(f"{where}: needs a 'title' (the button) and a 'text' (the answer)")
            continue
        if len(sms) > SMS_LIMIT:
            problems.append(
                f"{where}: by SMS it is {len(sms)} characters, more than {SMS_LIMIT}: "
                "add a shorter 'sms' text"
            )
        answer = TranslatedAnswer(str(response), title, text, sms)
        if answer.payload[1:] not in intent_names:
            problems.append(f"{where}: no intent {answer.payload[1:]} asks for it")
        answers.append(answer)
    if problems:
        raise TranslationsError(problems_message(source, problems))
    return Translations(reviewed_by, offer, tuple(answers))


def load_translations(
    path: Path, article_answers: Iterable[str], intents: Iterable[str]
) -> Translations:
    return parse_translations(
        read_yaml(path, TranslationsError), article_answers, intents, source=str(path)
    )


def with_translations(
    responses: Dict[str, List[Dict[str, Any]]],
    translations: Translations,
    condition: List[Dict[str, Any]],
    offered_in: str,
) -> Dict[str, List[Dict[str, Any]]]:
    """The responses with each translated answer's variations under `condition` (the
    language's slot), and the web variation of `offered_in` under it offering them."""
    result = {name: [dict(v) for v in variations] for name, variations in responses.items()}
    for answer in translations.answers:
        result[answer.response] = [
            {"condition": [dict(c) for c in condition], "text": answer.text},
            {"condition": [dict(c) for c in condition], "channel": "twilio", "text": answer.sms},
            *result[answer.response],
        ]
    buttons = [{"title": a.title, "payload": a.payload} for a in translations.answers]
    for variation in result[offered_in]:
        if variation.get("condition") == condition and not variation.get("channel"):
            variation["text"] = f"{variation['text']} {translations.offer}"
            variation["buttons"] = buttons
    return result
