"""Answerability: does any answer of the article contain what the patient asked for?

Pure logic over knowledge/answerability.yml (no Rasa imports; the adapter is
nlu_components/answerability.py). Each topic answer declares the facts it contains; each
kind of thing the article never gives (a number of sessions, a price, a body area, ...)
has cue phrases. A question that asks for such a thing is not answered with the nearest
topic as if that were the answer: it gets "Our article doesn't say ...", and the topic's
answer only as what the article does say.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Pattern, Sequence, Tuple

from clinic.article import ungrounded_sentences
from clinic.constants import UNANSWERED_INTENTS
from clinic.data_files import problems_message, read_yaml
from clinic.extraction import UNSURE
from clinic.screening import is_question, yes_no_unsure

ANSWERABILITY_PATH = Path(__file__).resolve().parent.parent / "knowledge" / "answerability.yml"
# A question read as one of UNANSWERED_INTENTS (whose reply is the honest "can't answer")
# may still get the honest reply with a related answer quoted.
# The entities nlu_components/answerability.py sets and the slots of the same names that
# scripts/buildtime/build_domain.py declares and the honest reply reads; the related topic's value
# when nothing in the article is relevant.
NOT_SAID = "not_said"
RELATED_TOPIC = "related_topic"
NO_RELATED_TOPIC = "none"
# Words a "... " in a cue may skip.
MAX_GAP_WORDS = 4


class AnswerabilityError(ValueError):
    """The answerability file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class Topic:
    intent: str
    response: str
    covers: Tuple[str, ...]
    answers: FrozenSet[str]


@dataclass(frozen=True)
class Kind:
    name: str
    says: str
    related: Tuple[str, ...]
    cues: Tuple[Tuple[Optional[str], Pattern[str]], ...]  # (label, pattern)
    unless: Tuple[Pattern[str], ...]


@dataclass(frozen=True)
class NotSaid:
    """What the article does not say, and the topic whose answer to quote (or None)."""

    kind: str
    says: str
    related: Optional[str]


@dataclass(frozen=True)
class Answerability:
    topics: Mapping[str, Topic]
    kinds: Tuple[Kind, ...]
    context: Tuple[Pattern[str], ...]
    # A patient asking whether it suits them, and what makes it another question
    # (knowledge/answerability.yml `for_me`).
    for_me: Tuple[Pattern[str], ...] = ()
    for_me_unless: Tuple[Pattern[str], ...] = ()
    # Kinds that a question whether it suits the patient may tell as context ("a few weeks
    # before the wedding."), the question still being whether it suits them.
    told_as_context: FrozenSet[str] = frozenset()
    # Cues that ask for the check itself ("see if i can get it"), and texting spellings
    # read as words ("4" as "for") in these questions only.
    for_me_requests: Tuple[Pattern[str], ...] = ()
    spelled_out: Mapping[str, str] = field(default_factory=dict)

    def for_me_clauses(self, text: str) -> List[str]:
        """The clauses that ask whether it suits the patient (normalised, spelled out), with
        nothing in them that makes it another question or asks for what the article does
        not say ("how much would it cost for me")."""
        found = []
        for clause in re.split(r"[.!?,;\n]+", text):
            lowered = " ".join(
                self.spelled_out.get(word, word) for word in normalised(clause).split()
            )
            if (
                any(pattern.search(lowered) for pattern in (*self.for_me, *self.for_me_requests))
                and not any(pattern.search(lowered) for pattern in self.for_me_unless)
                and not self.asked_for(clause)
            ):
                found.append(lowered)
        return found

    def requests_the_check(self, text: str) -> bool:
        """A clause asks for the check itself ("i'd like to see if i can get microneedling")."""
        return any(
            pattern.search(clause)
            for clause in self.for_me_clauses(text)
            for pattern in self.for_me_requests
        )

    def asks_if_for_me(self, text: str) -> bool:
        """Some clause asks whether it suits the patient and nothing in that clause makes it
        another question (an "if" earlier in a long message does not), nor asks for what
        the article does not say ("how much would it cost for me"). A time or a price told
        in another clause is context ("... a few weeks before. i just want to know if i'd
        be ok to have it"). "My skin: will it tolerate it?" is one clause."""
        return bool(self.for_me_clauses(text))

    def told_only_as_context(self, text: str) -> bool:
        """What the article does not say is found only in statements, and is only of the
        kinds told as context (`for_me.told_as_context`): "we were thinking of booking it a
        few weeks before. i just want to know if i'd be ok to have it" asks no time, while
        "I am breastfeeding. Can I still have it?" asks about breastfeeding."""
        for sentence in sentences_and_lines(text):
            kinds = {kind.name for kind, _ in self.asked_for(sentence)}
            if kinds and (is_question(sentence) or not kinds <= self.told_as_context):
                return False
        return True

    def asked_in_a_question(self, text: str) -> bool:
        """Some question in `text` asks for what the article does not say: "I'm on
        Accutane. How long before should I stop?" does; "maybe retinol? there's something in
        my night cream" tells a product, and asks for nothing the article lacks."""
        return any(
            is_question(sentence) and not hedged_answer(sentence) and self.asked_for(sentence)
            for sentence in sentences_and_lines(text)
        )

    def asked_for(self, text: str) -> List[Tuple[Kind, Optional[str]]]:
        """The kinds `text` asks for, each with the label of its first cue, in file order."""
        lowered = normalised(text)
        found = []
        for kind in self.kinds:
            if any(pattern.search(lowered) for pattern in kind.unless):
                continue
            label = next(
                ((label,) for label, pattern in kind.cues if pattern.search(lowered)), None
            )
            if label is not None:
                found.append((kind, label[0]))
        return found

    def about_microneedling(self, text: str) -> bool:
        lowered = normalised(text)
        return any(pattern.search(lowered) for pattern in self.context)

    def judge(
        self, text: str, ranking: Sequence[Tuple[str, float]], about_the_clinic: bool = False
    ) -> Optional[NotSaid]:
        """What the article does not say that `text` asks for, given the intent ranking
        (best first); None when the predicted answer (if any) contains what was asked.
        `about_the_clinic`: the message is like what patients ask (the domain gate), so a
        question read as out of scope is about microneedling even without saying so
        ("which parts of the body can it be used on?")."""
        if not ranking or not text:
            return None
        top = ranking[0][0]
        if top in self.topics:
            answers = self.topics[top].answers
            missing = [
                (kind, label) for kind, label in self.asked_for(text) if kind.name not in answers
            ]
            if missing:
                return NotSaid(missing[0][0].name, said(missing), top)
            return None
        if top in UNANSWERED_INTENTS and (about_the_clinic or self.about_microneedling(text)):
            asked = self.asked_for(text)
            if asked:
                return NotSaid(
                    asked[0][0].name,
                    said(asked),
                    related_topic([kind for kind, _ in asked], ranking),
                )
        return None


def said(asked: Sequence[Tuple[Kind, Optional[str]]]) -> str:
    """What the article does not say, for the first two kinds asked."""
    return " or ".join(kind.says.replace("{label}", label or "") for kind, label in asked[:2])


def related_topic(kinds: Sequence[Kind], ranking: Sequence[Tuple[str, float]]) -> Optional[str]:
    """Of the topics related to the kinds asked, the one the classifier ranked highest,
    else the first kind's first."""
    related = [topic for kind in kinds for topic in kind.related]
    if not related:
        return None
    ranked = [intent for intent, _ in ranking if intent in related]
    return ranked[0] if ranked else related[0]


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w'\-]+", " ", text.lower().replace("’", "'")).split())


def cue_pattern(phrase: str) -> Pattern[str]:
    """A whole-word pattern for `phrase`; "a ... b" allows up to MAX_GAP_WORDS words between."""
    parts = [normalised(part) for part in phrase.split("...")]
    gap = rf"(?:\s+\S+){{0,{MAX_GAP_WORDS}}}\s+"
    body = gap.join(r"[\s\-]+".join(re.escape(word) for word in part.split()) for part in parts)
    return re.compile(rf"(?<![\w']){body}(?![\w'])")


def _phrases(value: object, where: str, problems: List[str]) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(item, str) and item.strip() for item in value
    ):
        problems.append(f"{where}: must be a list of phrases")
        return ()
    return tuple(item.strip() for item in value)


def parse_answerability(
    raw: object, responses: Optional[Sequence[str]] = None, source: str = "answerability"
) -> Answerability:
    """Validate the parsed YAML, or raise listing every problem. `responses`, when given,
    are the domain's response names, which each topic's `response` must be one of."""
    if not isinstance(raw, dict):
        raise AnswerabilityError(f"{source}: expected 'topics:', 'kinds:' and 'context:' sections.")
    problems: List[str] = []
    kinds_raw: Dict[Any, Any] = raw["kinds"] if isinstance(raw.get("kinds"), dict) else {}
    if not kinds_raw:
        problems.append("kinds: must name at least one kind of thing the article does not give")
    topics: Dict[str, Topic] = {}
    for intent, entry in (raw.get("topics") or {}).items():
        where = f"topics.{intent}"
        if not isinstance(entry, dict) or not isinstance(entry.get("response"), str):
            problems.append(f"{where}: needs a 'response'")
            continue
        if responses is not None and entry["response"] not in responses:
            problems.append(
                f"{where}.response: {entry['response']!r} is not a response of the domain"
            )
        covers = _phrases(entry.get("covers"), f"{where}.covers", problems)
        answers = frozenset(
            _phrases(entry.get("answers") or [], f"{where}.answers", problems)
            if entry.get("answers")
            else ()
        )
        for unknown in sorted(answers - set(kinds_raw)):
            problems.append(f"{where}.answers: {unknown!r} is not a kind")
        topics[str(intent)] = Topic(str(intent), entry["response"], covers, answers)
    if not topics:
        problems.append("topics: must list the topic answers")
    kinds: List[Kind] = []
    for name, entry in kinds_raw.items():
        where = f"kinds.{name}"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("says"), str)
            or not entry["says"].strip()
        ):
            problems.append(f"{where}: needs 'says', completing \"Our article doesn't say ...\"")
            continue
        related = (
            _phrases(entry.get("related") or [], f"{where}.related", problems)
            if entry.get("related")
            else ()
        )
        for unknown in [topic for topic in related if topic not in topics]:
            problems.append(f"{where}.related: {unknown!r} is not a topic")
        raw_cues = entry.get("cues")
        groups = raw_cues.items() if isinstance(raw_cues, dict) else [(None, raw_cues)]
        cues = [
            (label, cue_pattern(phrase))
            for label, phrases in groups
            for phrase in _phrases(
                phrases, f"{where}.cues" + (f".{label}" if label else ""), problems
            )
        ]
        if "{label}" in entry["says"] and not isinstance(raw_cues, dict):
            problems.append(f"{where}: 'says' uses {{label}}, so 'cues' must be labelled groups")
        unless = tuple(
            cue_pattern(phrase)
            for phrase in (
                _phrases(entry["unless"], f"{where}.unless", problems)
                if entry.get("unless")
                else ()
            )
        )
        kinds.append(Kind(str(name), entry["says"].strip(), related, tuple(cues), unless))
    context = _phrases(raw.get("context"), "context", problems)
    for_me = raw.get("for_me") or {}
    if not isinstance(for_me, dict):
        problems.append("for_me: must have 'cues' (and may have 'unless')")
        for_me = {}
    for_me_cues = _phrases(for_me["cues"], "for_me.cues", problems) if for_me.get("cues") else ()
    for_me_unless = (
        _phrases(for_me["unless"], "for_me.unless", problems) if for_me.get("unless") else ()
    )
    told = (
        _phrases(for_me["told_as_context"], "for_me.told_as_context", problems)
        if for_me.get("told_as_context")
        else ()
    )
    for name in set(told) - {kind.name for kind in kinds}:
        problems.append(f"for_me.told_as_context: {name!r} is not a kind")
    requests = (
        _phrases(for_me["requests"], "for_me.requests", problems) if for_me.get("requests") else ()
    )
    spelled_out = for_me.get("spelled_out") or {}
    if not isinstance(spelled_out, dict) or not all(
        isinstance(v, str) and v.strip() for v in spelled_out.values()
    ):
        problems.append("for_me.spelled_out: must map texting spellings to words")
        spelled_out = {}
    if problems:
        raise AnswerabilityError(problems_message(source, problems))
    return Answerability(
        topics,
        tuple(kinds),
        tuple(cue_pattern(phrase) for phrase in context),
        tuple(cue_pattern(phrase) for phrase in for_me_cues),
        tuple(cue_pattern(phrase) for phrase in for_me_unless),
        frozenset(told),
        tuple(cue_pattern(phrase) for phrase in requests),
        {str(k).lower(): normalised(v) for k, v in spelled_out.items()},
    )


def load_answerability(
    path: Path = ANSWERABILITY_PATH, responses: Optional[Sequence[str]] = None
) -> Answerability:
    return parse_answerability(read_yaml(path, AnswerabilityError), responses, source=str(path))


@lru_cache(maxsize=1)
def sentences_and_lines(text: str) -> List[str]:
    return re.split(r"(?<=[.!?])\s+|\n", text)


def hedged_answer(sentence: str) -> bool:
    """A few words of doubt with a question mark ("maybe retinol?"): an answer, not a question."""
    return len(re.findall(r"[\w']+", sentence)) <= 4 and yes_no_unsure(sentence) == UNSURE


def default_answerability() -> Answerability:
    return load_answerability()


def uncovered_facts(answerability: Answerability, response_texts: Mapping[str, str]) -> List[str]:
    """Each declared fact that its topic's answer does not contain, or that is not the
    article's: the declarations must describe what patients are actually told."""
    problems = []
    for topic in answerability.topics.values():
        text = normalised(response_texts.get(topic.response, ""))
        for fact in topic.covers:
            if normalised(fact) not in text:
                problems.append(f"{topic.intent}: {fact!r} is not in {topic.response}")
        if response_texts.get(topic.response) and ungrounded_sentences(
            response_texts[topic.response]
        ):
            problems.append(f"{topic.response} is not the article's")
    return problems
