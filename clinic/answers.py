"""The article's answers, built from the article itself.

`knowledge/answers.yml` names, for each topic response and each of its variants (the
default one and the SMS one), the article's sentences it quotes, in order: each by its
section (the heading above it) and its opening words. The built text is those sentences as
the current article words them, joined by spaces, plus any text the file marks
`not_from_the_article` (the SMS prompt "Reply MORE for the full answer."). So when the
clinic rewords a sentence, the next build says the new words; when a quoted sentence is
gone, or its opening words now fit two sentences, the build stops naming the response, the
section and the opening words.

The only edits a quotation makes are the ones `clinic.article` accepts as quoting: the
article's typo fixed (always), and, where a reference asks for it with `drop`, a leading
"However," / "For example," (`opener`) or an "also" (`also`) left out when the sentence
stands on its own. A `drop` that no longer applies (the clinic reworded the sentence)
leaves the article's sentence as it is.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from clinic.article import (
    ARTICLE_PATH,
    DROPPABLE_OPENERS,
    TYPO_FIXES,
    sentences,
    ungrounded_sentences,
)
from clinic.data_files import problems_message, read_yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ANSWERS_PATH = PROJECT_ROOT / "knowledge" / "answers.yml"

# The variants a response may have: the default one, and the SMS one (Rasa's channel twilio).
VARIANT_CHANNELS: Dict[str, Optional[str]] = {"default": None, "sms": "twilio"}
DROPS = ("opener", "also")
LITERAL = "not_from_the_article"


class AnswersError(ValueError):
    """The answers file is missing or broken, or names a sentence the article lacks."""


@dataclass(frozen=True)
class Section:
    heading: str
    sentences: Tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    """A sentence of the article: its section's heading and its opening words."""

    section: str
    starts: str
    drop: Tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerPart:
    """One sentence of an answer: quoted from the article (`reference` set) or fixed text."""

    text: str
    reference: Optional[Reference] = None


@dataclass(frozen=True)
class Variant:
    response: str
    name: str  # "default" or "sms"
    parts: Tuple[AnswerPart, ...]

    @property
    def channel(self) -> Optional[str]:
        return VARIANT_CHANNELS[self.name]

    @property
    def text(self) -> str:
        return " ".join(part.text for part in self.parts)

    def as_response(self) -> Dict[str, str]:
        """The variant as a response of Rasa's domain (channel first, as domain.yml wrote it)."""
        return {"channel": self.channel, "text": self.text} if self.channel else {"text": self.text}


def _words(text: str) -> str:
    return " ".join(text.split())


def is_heading(paragraph: str) -> bool:
    """A heading is a paragraph of one line that does not end as a sentence does (with a
    full stop or !): the article's are questions and its title."""
    return "\n" not in paragraph and not paragraph.rstrip().endswith((".", "!"))


def article_sections(text: str) -> List[Section]:
    """The article's sections, each the sentences of the paragraphs under a heading (the
    title's section holds the introduction)."""
    found: List[Section] = []
    heading = ""
    body: List[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if is_heading(paragraph):
            if heading or body:
                found.append(Section(heading, tuple(body)))
            heading, body = _words(paragraph), []
        else:
            body.extend(_words(sentence) for sentence in sentences(paragraph))
    if heading or body:
        found.append(Section(heading, tuple(body)))
    return found


def quoted(sentence: str, drop: Tuple[str, ...] = ()) -> str:
    """The article's sentence as an answer quotes it: the typo fixed, and what `drop`
    names left out when it is there."""
    for typo, fix in TYPO_FIXES.items():
        sentence = sentence.replace(typo, fix)
    if "opener" in drop:
        for opener in DROPPABLE_OPENERS:
            if sentence.lower().startswith(opener):
                rest = sentence[len(opener) :]
                sentence = rest[:1].upper() + rest[1:]
                break
    if "also" in drop:
        sentence = re.sub(r"\balso\b ", "", sentence)
    return sentence


def resolve(reference: Reference, sections: List[Section]) -> Tuple[Optional[str], Optional[str]]:
    """(the quoted sentence, None), or (None, why it cannot be found)."""
    matching = [section for section in sections if section.heading == _words(reference.section)]
    if not matching:
        return None, f'the article has no section headed "{reference.section}"'
    starts = _words(reference.starts)
    found = [s for section in matching for s in section.sentences if s.startswith(starts)]
    if not found:
        return None, (
            f'section "{reference.section}" has no sentence starting "{reference.starts}" '
            "(the sentence was removed, or its opening words changed)"
        )
    if len(found) > 1:
        return None, (
            f'{len(found)} sentences of section "{reference.section}" start '
            f'"{reference.starts}": give more of its opening words'
        )
    return quoted(found[0], reference.drop), None


def _reference(entry: Any, where: str, problems: List[str]) -> Optional[Reference]:
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(key), str) and entry[key].strip() for key in ("section", "starts")
    ):
        problems.append(
            f"{where}: needs 'section' (a heading of the article) and 'starts' "
            f"(the sentence's opening words), or '{LITERAL}'"
        )
        return None
    unknown = sorted(set(entry) - {"section", "starts", "drop"})
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)}")
    drop_raw = entry.get("drop") or []
    drop = [drop_raw] if isinstance(drop_raw, str) else drop_raw
    if not isinstance(drop, list) or not set(drop) <= set(DROPS):
        problems.append(f"{where}.drop: may name only {' and '.join(DROPS)}")
        drop = []
    return Reference(entry["section"], entry["starts"], tuple(drop))


def parse_answers(
    raw: object, article_text: str, source: str = "answers"
) -> Dict[str, List[Variant]]:
    """Build every answer from the article, or raise listing every problem."""
    if not isinstance(raw, dict) or not isinstance(raw.get("answers"), dict) or not raw["answers"]:
        raise AnswersError(f"{source}: expected an 'answers:' section naming the responses.")
    sections = article_sections(article_text)
    problems: List[str] = []
    answers: Dict[str, List[Variant]] = {}
    for response, entry in raw["answers"].items():
        if (
            not str(response).startswith("utter_")
            or not isinstance(entry, dict)
            or not entry
            or not set(entry) <= set(VARIANT_CHANNELS)
        ):
            problems.append(
                f"{response}: must be an utter_ response with a 'default' and "
                "optionally an 'sms' list of sentences"
            )
            continue
        if "default" not in entry:
            problems.append(f"{response}: needs a 'default' variant")
        variants = []
        for name, entries in entry.items():
            label = f"{response} ({name})"
            if not isinstance(entries, list) or not entries:
                problems.append(f"{label}: must be a list of sentences")
                continue
            parts: List[AnswerPart] = []
            for number, item in enumerate(entries, 1):
                where = f"{label}, sentence {number}"
                if isinstance(item, dict) and set(item) == {LITERAL}:
                    if not isinstance(item[LITERAL], str) or not item[LITERAL].strip():
                        problems.append(f"{where}: '{LITERAL}' must be a text")
                    else:
                        parts.append(AnswerPart(_words(item[LITERAL])))
                    continue
                reference = _reference(item, where, problems)
                if reference is None:
                    continue
                text, problem = resolve(reference, sections)
                if text is None:
                    problems.append(f"{where}: {problem}")
                else:
                    parts.append(AnswerPart(text, reference))
            variants.append(Variant(str(response), str(name), tuple(parts)))
        answers[str(response)] = sorted(
            variants, key=lambda v: list(VARIANT_CHANNELS).index(v.name)
        )
    if problems:
        headings = ", ".join(f'"{section.heading}"' for section in sections if section.heading)
        raise AnswersError(
            problems_message(source, problems)
            + f"\nThe article's headings: {headings}.\nPoint each reference at a sentence the "
            'article has (docs/clinic_guide.md, "Editing the article"), or put the sentence back.'
        )
    return answers


def grounding_problems(
    answers: Mapping[str, List[Variant]], article_path: Path = ARTICLE_PATH
) -> List[str]:
    """Each sentence an answer gives as the article's that the article does not say."""
    return [
        f"{variant.response} ({variant.name}): not a sentence of the article: {sentence!r}"
        for variants in answers.values()
        for variant in variants
        for part in variant.parts
        if part.reference is not None
        for sentence in ungrounded_sentences(part.text, article_path)
    ]


def load_answers(
    path: Path = ANSWERS_PATH, article_path: Path = ARTICLE_PATH
) -> Dict[str, List[Variant]]:
    """The article's answers, built from the current article and checked against it."""
    try:
        article_text = Path(article_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnswersError(f"{article_path}: the article is missing.") from None
    source = _shown(path)
    answers = parse_answers(read_yaml(path, AnswersError), article_text, source)
    problems = grounding_problems(answers, article_path)
    if problems:
        raise AnswersError(problems_message(source, problems))
    return answers


def _shown(path: Path) -> str:
    """The file as the clinic knows it: relative to the project when it is in it."""
    resolved = Path(path).resolve()
    return (
        str(resolved.relative_to(PROJECT_ROOT))
        if resolved.is_relative_to(PROJECT_ROOT)
        else str(path)
    )


def with_article_answers(
    domain: Mapping[str, Any], path: Path = ANSWERS_PATH, article_path: Path = ARTICLE_PATH
) -> Dict[str, Any]:
    """A copy of the domain with the article's answers as its first responses."""
    answers = load_answers(path, article_path)
    responses = dict(domain.get("responses") or {})
    twice = sorted(set(answers) & set(responses))
    if twice:
        raise AnswersError(
            f"{_shown(path)}: {', '.join(twice)} also written in domain.yml: an article answer "
            "is written in knowledge/answers.yml only"
        )
    built = {
        name: [variant.as_response() for variant in variants] for name, variants in answers.items()
    }
    return {**domain, "responses": {**built, **responses}}
