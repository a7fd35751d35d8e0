"""The contraindication check's decisions: outcomes from findings, answers to questions, the reply.

Pure functions over the rules file and the extractor's findings: no Rasa imports.
A finding is a (condition key, status) pair, status being current, past or unsure;
in slots it is stored as the text "condition:status".
"""

import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from clinic.constants import NO_CONTRAINDICATION, NOT_RECOMMENDED
from clinic.contraindication_rules import IGNORED, Rules
from clinic.extraction import CURRENT, FAMILY, NEGATED, PAST, UNSURE, Mention, patient_findings

Finding = Tuple[str, str]
YES, NO = "yes", "no"

_UNSURE_WORDS = re.compile(
    r"\b(not (really |quite |too )?sure|unsure|maybe|don'?t know|do not know|dunno|idk|"
    r"no idea|possibly|perhaps|not certain|might|i think so|hard to say|can'?t remember|"
    r"cannot remember)\b"
)
# "a bit", "kind of": some of it, so not sure, unless a firm no came first and the degree
# word is about something else ("No, never. My skin gets a bit dry in winter").
_DEGREE_WORDS = re.compile(r"\b(kind of|kinda|sort of|a little|a bit)\b")
_FIRM_NO = re.compile(
    r"^\W*(no+|nope|nop|nah|none|never|i don'?t|i do not|i'?ve never|i have never|"
    r"not at all)\b[^,.;!?]*[,.;!?]"
)
# An interjection before the answer ("omg yes", "hmm no") does not hide it.
_OPENER = r"^\W*((omg|oh|ah|ugh|um+|erm+|hmm+|well|haha|lol|honestly|tbh)\W+)*"
_NO_WORDS = re.compile(
    _OPENER + r"(no+|nope|nop|nah|naw|n|none|nothing|nothin|nada|never|negative|not really|no way|"
    r"i wouldn'?t say so|not that i know( of)?|not that i'?m aware( of)?|"
    r"i don'?t|i do not|i'?m not|i am not|not at all|neither|not at the moment|not right now|"
    r"not currently|not now|not at present|not these days)\b"
)
_YES_WORDS = re.compile(
    _OPENER + r"(yes+|yeah|yea|yep|yup|ya|y|sure|correct|definitely|absolutely|of course|"
    r"i do|i am|i have|i'?m on|i take|i use|affirmative|ok|okay|true|right)\b"
)


# "my sister has eczema but I don't": someone else's condition, and not the patient's.
_NOT_ME = re.compile(
    r"\b(i don'?t|i do not|i haven'?t|i have not|i'?m not|i am not|not me|i'?m fine|i am fine|"
    r"i'?m ok(ay)?|none myself|not myself|i never|i'?ve never|i dont)\b"
)
# "only my teeth are sensitive, skin is fine": whatever else it says, a no about the skin.
_SKIN_FINE = re.compile(
    r"\b(my )?skin('s| is) (fine|ok|okay|normal|good|great|clear|totally fine)\b"
)
_QUESTION_WORDS = (
    "what",
    "how",
    "when",
    "why",
    "who",
    "where",
    "which",
    "does",
    "do",
    "is",
    "are",
    "can",
    "could",
    "will",
    "would",
    "should",
    "shall",
    "am",
)
# Replies to one question that the check could not read as an answer before it records
# "not sure" and moves on: a patient is never asked the same question a third time.
MAX_UNREAD_REPLIES = 2


def is_question(text: str) -> bool:
    """A question back to the assistant ("wait, does it hurt?"), not an attempt at an answer."""
    lowered = text.strip().lower()
    words = re.findall(r"[a-z']+", lowered)
    openers = (
        words[:2]
        if words[:1] in (["wait"], ["ok"], ["okay"], ["so"], ["and"], ["but"])
        else words[:1]
    )
    return lowered.endswith("?") or any(word in _QUESTION_WORDS for word in openers)


@dataclass(frozen=True)
class Reason:
    """One finding behind the outcome, with the article's sentence for it."""

    condition: str
    name: str
    status: str
    outcome: str
    article: str


@dataclass(frozen=True)
class Assessment:
    outcome: str
    reasons: Tuple[Reason, ...]


def yes_no_unsure(text: str) -> Optional[str]:
    """Read a short answer as yes, no or unsure; None when it is none of them."""
    lowered = text.lower().strip()
    if _UNSURE_WORDS.search(lowered):
        return UNSURE
    firm_no = _FIRM_NO.match(lowered)
    if _DEGREE_WORDS.search(lowered) and not (
        firm_no and not _DEGREE_WORDS.search(firm_no.group())
    ):
        return UNSURE
    if _NO_WORDS.search(lowered) or _SKIN_FINE.search(lowered):
        return NO
    if _YES_WORDS.search(lowered):
        return YES
    return None


def outcome_for(rules: Rules, finding: Finding) -> Optional[str]:
    """The outcome one finding leads to, or None when the rules ignore it."""
    condition = rules.conditions[finding[0]]
    outcome = {
        CURRENT: condition.outcome,
        PAST: condition.when_past,
        UNSURE: condition.when_unsure,
    }[finding[1]]
    return None if outcome == IGNORED else outcome


def assess(rules: Rules, findings: Iterable[Finding]) -> Assessment:
    """The strongest outcome among the findings, and every finding that counts."""
    reasons = []
    for finding in dict.fromkeys(findings):
        outcome = outcome_for(rules, finding)
        if outcome is None:
            continue
        condition = rules.conditions[finding[0]]
        reasons.append(
            Reason(condition.key, condition.name, finding[1], outcome, condition.article)
        )
    if not reasons:
        return Assessment(NO_CONTRAINDICATION, ())
    reasons.sort(key=lambda r: rules.strength(r.outcome))
    return Assessment(reasons[0].outcome, tuple(reasons))


def decided(rules: Rules, findings: Iterable[Finding]) -> bool:
    """True once nothing a later question could reveal would change the outcome."""
    return assess(rules, findings).outcome == NOT_RECOMMENDED


def answered_questions(rules: Rules, findings: Iterable[Finding]) -> List[str]:
    """Questions the findings already answer (the patient said it before being asked)."""
    return list(dict.fromkeys(rules.conditions[c].question for c, _ in findings))


def questions_covered(
    rules: Rules, findings: Iterable[Finding], mentions: Iterable[Mention]
) -> List[str]:
    """Questions a statement already answers: by a finding, or by a no in passing
    ("I don't have eczema or rosacea")."""
    denied = [rules.conditions[m.condition].question for m in mentions if m.status == NEGATED]
    return list(dict.fromkeys(answered_questions(rules, findings) + denied))


@dataclass(frozen=True)
class StatementVerdict:
    """What the check decides on a one-shot statement ("I have rosacea")."""

    assessment: Assessment
    findings: List[Finding]
    # Every question of the check is answered by the statement.
    complete: bool


def statement_verdict(rules: Rules, mentions: Sequence[Mention]) -> Optional[StatementVerdict]:
    """The check's verdict on a statement about the patient, or None when it names nothing
    the check decides on (then the topic's general answer is the reply). The action that
    answers the statement and the NLU that routes a statement to it both ask this."""
    findings = patient_findings(mentions)
    assessment = assess(rules, findings)
    complete = set(questions_covered(rules, findings, mentions)) >= set(rules.questions)
    if not assessment.reasons and not complete:
        return None
    return StatementVerdict(assessment, findings, complete)


_GO_ON = re.compile(
    _OPENER + r"(go on|go ahead|carry on|continue|let'?s (go|do it|start|begin)|"
    r"fine|alright|all right|please|start|begin|yes please|sounds good|happy to)\b"
)
_NOT_NOW = re.compile(
    _OPENER + r"(not now|no thanks|no thank you|rather not|i'?d rather not|"
    r"don'?t|do not|skip)\b"
)


def consent_reply(text: str) -> Optional[str]:
    """The patient's reply to the consent before the check: yes, no, or None (neither)."""
    lowered = text.lower().strip()
    if _NOT_NOW.search(lowered):
        return NO
    kind = yes_no_unsure(lowered)
    if kind in (YES, NO):
        return kind
    return YES if kind is None and _GO_ON.search(lowered) else None


def next_question(rules: Rules, answered: Sequence[str]) -> Optional[str]:
    """The first question, in the file's order, that has no answer yet."""
    return next((key for key in rules.questions if key not in answered), None)


def answer_question(
    rules: Rules, question: str, text: str, mentions: Sequence[Mention]
) -> Tuple[bool, List[Finding]]:
    """Read the patient's answer to one question.

    Returns whether the question is answered and the findings the answer gives
    (which may be about other questions too: "no, but I'm on Accutane").
    """
    findings = patient_findings(mentions)
    about_this = [f for f in findings if rules.conditions[f[0]].question == question]
    if about_this:
        return True, findings
    if any(
        m.status == NEGATED and rules.conditions[m.condition].question == question for m in mentions
    ):
        # Doubt wins over a negation ("not sure, i can't tell if it's a breakout or not").
        if yes_no_unsure(text) == UNSURE:
            return True, findings + [(rules.questions[question].yes_means, UNSURE)]
        return True, findings
    if any(
        m.status == FAMILY and rules.conditions[m.condition].question == question for m in mentions
    ) and _NOT_ME.search(text.lower()):
        return True, findings
    kind = yes_no_unsure(text)
    yes_means = rules.questions[question].yes_means
    if findings and kind != NO:
        # "I'm on Accutane" to the skin question answers another question, not this one.
        return False, findings
    if kind == YES:
        return True, findings + [(yes_means, CURRENT)]
    if kind == UNSURE:
        return True, findings + [(yes_means, UNSURE)]
    if kind == NO:
        return True, findings
    return False, findings


def asks_back(rules: Rules, question: str, text: str, findings: Sequence[Finding]) -> bool:
    """A question back that says nothing about what was asked ("im a bit sensitive to pain
    tbh, does it hurt much?"): answered as a question, not read as "a bit" = not sure."""
    about_this = any(rules.conditions[condition].question == question for condition, _ in findings)
    return not about_this and is_question(text) and len(re.findall(r"\w+", text)) >= 3


def unread_reply(
    rules: Rules, question: str, findings: List[Finding], answered: List[str], unread: int
) -> Tuple[bool, List[Finding], List[str]]:
    """After a reply the check could not read: whether to move on, and the findings and
    answered questions then. The second unread reply to a question records "not sure"."""
    if unread < MAX_UNREAD_REPLIES:
        return False, findings, answered
    unsure = (rules.questions[question].yes_means, UNSURE)
    return (
        True,
        list(dict.fromkeys(findings + [unsure])),
        list(dict.fromkeys(answered + [question])),
    )


def to_slot(findings: Iterable[Finding]) -> List[str]:
    return [f"{condition}:{status}" for condition, status in dict.fromkeys(findings)]


def from_slot(values: Optional[Iterable[str]], rules: Rules) -> List[Finding]:
    """Findings from the slot, dropping anything that is not a known condition and status."""
    findings = []
    for value in values or []:
        condition, _, status = str(value).partition(":")
        if condition in rules.conditions and status in (CURRENT, PAST, UNSURE):
            findings.append((condition, status))
    return findings


def _said(reason: Reason) -> str:
    if reason.status == PAST:
        return f"You mentioned {reason.name} in the past"
    if reason.status == UNSURE:
        return f"You're not sure about {reason.name}"
    return f"You mentioned {reason.name}"


def reply_text(rules: Rules, assessment: Assessment, contact: str) -> str:
    """The patient-facing result: label, every reason with the article's sentence, next steps."""
    lines = [f"Result of the check: {assessment.outcome}."]
    for reason in assessment.reasons:
        line = f'- {_said(reason)} ({reason.outcome}). Our article says: "{reason.article}"'
        if reason.status in (PAST, UNSURE):
            line += f" {rules.doctor_sentence}"
        lines.append(line)
    if not assessment.reasons:
        lines.append("- Nothing you told me matches the conditions our article lists.")
    lines.append(rules.next_steps[assessment.outcome])
    lines.append(contact)
    return "\n".join(lines)
