"""Find what a patient says about themself: conditions and medications, with their context.

spaCy (`spacy.blank("en")`, no pretrained model exists here) with medspaCy's target
matcher for the synonyms in the rules file and ConText for negation, someone else, past,
uncertainty and hypotheticals. Pure functions: no Rasa imports.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from clinic.contraindication_rules import Rules, load_rules
from clinic.data_files import problems_message, read_yaml
from clinic.english_words import spacy_english_words

CURRENT, PAST, UNSURE = "current", "past", "unsure"
NEGATED, FAMILY, HYPOTHETICAL = "negated", "family", "hypothetical"
# The patient's own findings; the other statuses are not about the patient now or ever.
PATIENT_STATUSES = (CURRENT, PAST, UNSURE)
NOT_A_FINDING = "NOT_A_FINDING"
_GAP = "GAP_TARGET"

# ConText category -> status, strongest first: "I never had eczema" is negated, not past.
_STATUS_BY_CATEGORY = (
    ("NEGATED_EXISTENCE", NEGATED),
    ("FAMILY", FAMILY),
    ("HYPOTHETICAL", HYPOTHETICAL),
    ("HISTORICAL", PAST),
    ("POSSIBLE_EXISTENCE", UNSURE),
)

# Lay phrasing medspaCy's clinical defaults miss, as (phrase, category, direction): the
# clinic-editable term table, read once when the module is imported.
EXTRACTION_TERMS_PATH = (
    Path(__file__).resolve().parent.parent / "knowledge" / "extraction_terms.yml"
)
_CATEGORIES = (
    "NEGATED_EXISTENCE",
    "POSSIBLE_EXISTENCE",
    "HISTORICAL",
    "FAMILY",
    "HYPOTHETICAL",
    "PSEUDO",
    "SELF",
    "TERMINATE",
)
_DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO")


class ExtractionTermsError(ValueError):
    """The term table is missing, unreadable or malformed."""


def parse_lay_context(
    raw: object, source: str = "extraction terms"
) -> Tuple[Tuple[str, str, str], ...]:
    """Validate the parsed YAML, or raise listing every problem."""
    entries = raw.get("lay_context") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ExtractionTermsError(
            f"{source}: expected a 'lay_context:' list of [phrase, category, direction] entries."
        )
    problems: List[str] = []
    for number, entry in enumerate(entries, start=1):
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and all(isinstance(part, str) for part in entry)
            and entry[0].strip()
        ):
            problems.append(
                f'lay_context entry {number}: {entry!r} is not ["phrase", CATEGORY, DIRECTION]'
                f" (quote the phrase)"
            )
            continue
        if entry[1] not in _CATEGORIES:
            problems.append(
                f"lay_context entry {number} ({entry[0]!r}): category {entry[1]!r} is not "
                f"one of {', '.join(_CATEGORIES)}"
            )
        if entry[2] not in _DIRECTIONS:
            problems.append(
                f"lay_context entry {number} ({entry[0]!r}): direction {entry[2]!r} is not "
                f"one of {', '.join(_DIRECTIONS)}"
            )
    if problems:
        raise ExtractionTermsError(problems_message(source, problems))
    return tuple((phrase, category, direction) for phrase, category, direction in entries)


def load_lay_context(path: Path = EXTRACTION_TERMS_PATH) -> Tuple[Tuple[str, str, str], ...]:
    return parse_lay_context(read_yaml(path, ExtractionTermsError), source=str(path))


_LAY_CONTEXT = load_lay_context()

# "I've had eczema for years" is current: the contraction splits into two tokens.
_HAVE_HAD = [{"LOWER": {"IN": ["'ve", "ve", "have", "has", "'s"]}}, {"LOWER": "had"}]

# A question that opens the sentence ("does psoriasis matter?", "is accutane a problem?")
# asks in general, unless the patient names it as theirs ("is my rosacea a problem?").
_QUESTION_OPENERS = ["does", "do", "is", "are", "can", "could", "will", "would", "should", "how"]
_OWN = {"my", "i", "i'm", "im", "me", "mine"}
_NOT_A_QUESTION = {"hardly", "barely", "not", "only"}


def _general_question(target: Any, modifier: Any, span_between: Any) -> bool:
    # "can hardly breathe" is a statement, not a question.
    words = [token.lower_ for token in span_between] + [target[0].lower_]
    return not any(word in _OWN or word in _NOT_A_QUESTION for word in words)


def _asked_as_a_question(target: Any, modifier: Any, span_between: Any) -> bool:
    # "will my skin be sensitive after the treatment?" asks; "I had a fever after the
    # treatment" tells, and stays a finding.
    sentence = target.sent
    return sentence.text.rstrip().endswith("?") or sentence[0].lower_ in _QUESTION_OPENERS


# Telling the patient shares a family member's condition ("and so do I").
_ME_TOO = re.compile(
    r"\b(so do i|me too|i do too|i have it too|same here|as do i|i also have it)\b"
)
# Generic medication words, superseded when the same text names the medication.
_GENERIC_MEDICATION = {
    "medication",
    "medications",
    "medicine",
    "medicines",
    "meds",
    "med",
    "pills",
    "tablets",
    "prescription",
}
# How many words before a "... word" target its required word may stand.
_WINDOW = 6
_ENDED = {
    "anymore",
    "any more",
    "not anymore",
    "no longer",
    "is gone",
    "gone now",
    "it's gone",
    "its gone",
}

# Said of a chronic condition (eczema, psoriasis, rosacea), only these make it past: a
# diagnosis date or "as a kid" alone is not a recovery. Looked for after the mention,
# anywhere in the message ("had eczema as a kid, but it cleared up years ago").
_RESOLVED = re.compile(
    r"\b(gone|cleared|clear now|clear since|clear for|went away|gone away|healed|grew out of|"
    r"grown out of|outgrew|no longer|not anymore|anymore|any more|none since|none for|"
    r"not since|nothing (at all )?since|never came back|(hasn'?t|has not|never) come back|"
    r"haven'?t had it|not had it|in remission|cured|got rid of|resolved|disappeared|"
    r"fine now|stopped having)\b"
)
# Past context that means long over, not earlier today (an urgent symptom "I had this
# morning" still counts; "a reaction once, years ago" does not).
_LONG_AGO = {
    "years ago",
    "as a kid",
    "as a child",
    "as a baby",
    "as a teen",
    "as a teenager",
    "when i was younger",
    "growing up",
    "in high school",
    "in my teens",
    "in my twenties",
    "in my 20s",
    "in my thirties",
    "in my 30s",
    "last year",
    "a while ago",
    "ages ago",
    "back in",
    # knowledge/red_flags_es.yml's HISTORICAL cues of long ago (accents folded)
    "hace anos",
    "hace muchos anos",
    "hace un ano",
    "hace dos anos",
    "hace tres anos",
    "hace varios anos",
    "hace mucho",
    "hace mucho tiempo",
    "el ano pasado",
    "hace un mes",
    "hace meses",
    "la vez pasada",
    "la otra vez",
    "la ultima vez",
    "de nina",
    "de nino",
    "de pequena",
    "de pequeno",
    "de adolescente",
    "cuando era joven",
    "cuando era nina",
    "cuando era nino",
}
# ... unless the patient says it did not go ("it never really went away").
_NOT_RESOLVED = re.compile(
    r"\b(never|not|hasn'?t|has not|didn'?t|did not|won'?t|doesn'?t|never really|not really|"
    r"hasn'?t really) (really |fully |completely |totally )?(gone|cleared|went away|gone away|"
    r"go away|healed|clear(ed)? up)\b"
)

# medspaCy defaults written for clinical notes that misread patients' words:
# "fragrance free" is not a negation, "worried about my rosacea" is not uncertainty,
# "hydrocortisone as needed" is not hypothetical, a resolved condition is past.
_CLINICAL_ONLY = {
    "free",
    "resolved",
    "now resolved",
    "no longer present",
    "worried about",
    "concerned about",
    "as needed",
    "return",
    "decline",
    "prophylaxis",
}


def _default_context_rules_path() -> str:
    import medspacy.context.context as context_module

    # Where medspaCy itself looks for its English defaults.
    return str(
        Path(context_module.__file__).resolve().parents[2]
        / "resources"
        / "en"
        / "context_rules.json"
    )


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def alternatives(phrase: str) -> List[str]:
    """The phrases a term-table entry stands for: "hinchado|hinchada" is either word, so one
    line says "labios|lengua ... hinchados|hinchada" for each part and each form."""
    return [part.strip() for part in phrase.split("|") if part.strip()]


def fold_accents(text: str) -> str:
    """`text` without accents ("hinchazón" -> "hinchazon"): patients often leave them out,
    by SMS especially, so another language's phrases and messages are matched folded."""
    return "".join(
        char for char in unicodedata.normalize("NFD", text) if not unicodedata.combining(char)
    )


@dataclass(frozen=True)
class Mention:
    """A condition or medication named in the text, and how it was said."""

    condition: str
    text: str
    status: str
    # Said to be long over ("years ago", "as a kid"), not just earlier today.
    long_ago: bool = False


def _damerau_at_most_one(a: str, b: str) -> bool:
    """True when `a` becomes `b` by one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _fuzzy_vocabulary(synonyms: Mapping[str, Sequence[str]]) -> Dict[str, str]:
    words = {}
    for phrases in synonyms.values():
        for synonym in phrases:
            # A gap entry's words are context, not phrases to correct a typo towards.
            for word in [] if "..." in synonym else alternatives(synonym):
                if " " not in word and len(word) >= 6:
                    words[word.lower()] = word.lower()
    return words


def correct_typos(text: str, vocabulary: Dict[str, str]) -> str:
    """Replace a word one typo away from a one-word synonym (same first letter) with it;
    an English word is not a typo ("shaving" is not "shaking")."""
    english = spacy_english_words()

    def fix(match: "re.Match[str]") -> str:
        word = match.group(0)
        lower = word.lower()
        if len(lower) < 6 or lower in vocabulary or lower in english:
            return word
        for known in vocabulary:
            if known[0] == lower[0] and _damerau_at_most_one(lower, known):
                return known
        return word

    return _WORD.sub(fix, text)


class Extractor:
    """The spaCy + medspaCy pipeline: labelled phrases found in text, each with its context.

    `synonyms` maps a label to its phrases; `not_findings` are phrases that contain one but
    mean something else. A generic word labelled `generic_label` ("meds") is dropped when
    the same text names one of the `specific_labels` ("Accutane").
    """

    def __init__(
        self,
        synonyms: Mapping[str, Sequence[str]],
        not_findings: Sequence[str] = (),
        generic_label: Optional[str] = None,
        specific_labels: Sequence[str] = (),
        chronic_labels: Sequence[str] = (),
        language: str = "en",
        lay_context: Optional[Sequence[Tuple[str, str, str]]] = None,
    ) -> None:
        """`language`: spaCy's code of the language the phrases are in. English reads them with
        medspaCy's English defaults, knowledge/extraction_terms.yml and the rules below;
        another language with its own `lay_context` entries only (its negation cues and the
        rest, as data), and with accents folded."""
        import spacy
        from loguru import logger as loguru_logger
        from medspacy.context import ConTextRule
        from medspacy.target_matcher import TargetRule

        # medspaCy's dependencies log every step at DEBUG through loguru.
        loguru_logger.remove()
        self.generic_label = generic_label
        self.specific_labels = set(specific_labels)
        self.chronic_labels = set(chronic_labels)
        self.english = language == "en"
        if not self.english:
            synonyms = {
                label: [fold_accents(p) for p in phrases] for label, phrases in synonyms.items()
            }
            not_findings = [fold_accents(phrase) for phrase in not_findings]
        self.vocabulary = _fuzzy_vocabulary(synonyms)
        self.nlp = spacy.blank(language)
        self.nlp.add_pipe("sentencizer")
        # medspaCy's pipes, typed by spaCy as a plain Pipe.
        matcher: Any = self.nlp.add_pipe("medspacy_target_matcher")
        # "skin ... sensitive": the target is "sensitive", labelled by whichever required
        # word comes shortly before it, so the words in between stay free to negate or
        # qualify it. One word may serve several labels ("pain ... worse", "swelling ... worse").
        self.gap_labels: Dict[str, Dict[str, Set[str]]] = {}
        targets = []
        for label, phrases in synonyms.items():
            for synonym in phrases:
                literal = synonym.lower()
                if "..." in literal:
                    before, after = (part.strip() for part in literal.split("...", 1))
                    for literal in alternatives(after):
                        required = self.gap_labels.setdefault(literal, {}).setdefault(label, set())
                        required.update(alternatives(before))
                    continue
                targets += [TargetRule(literal, label) for literal in alternatives(literal)]
        targets += [TargetRule(literal, _GAP) for literal in self.gap_labels]
        targets += [TargetRule(phrase.lower(), NOT_A_FINDING) for phrase in not_findings]
        matcher.add(targets)
        context: Any = self.nlp.add_pipe("medspacy_context", config={"rules": None})
        if not self.english:
            context.add(
                [
                    ConTextRule(fold_accents(literal), category, direction=direction)
                    for literal, category, direction in lay_context or ()
                ]
            )
        else:
            self._add_english_context(context)
        # medspaCy 1.3's `terminating_types` option is lost (it keeps an iterator), so set
        # the terminations on the rules: the patient's own words end these scopes.
        for rule in context.rules:
            if rule.category in ("FAMILY", "HISTORICAL"):
                rule.terminated_by.add("SELF")

    @staticmethod
    def _add_english_context(context: Any) -> None:
        """medspaCy's English defaults, the term table, and the rules for English phrasing."""
        from medspacy.context import ConTextRule

        context.add(
            [
                rule
                for rule in ConTextRule.from_json(_default_context_rules_path())
                if rule.literal not in _CLINICAL_ONLY
            ]
        )
        context.add(
            [
                ConTextRule(literal, category, direction=direction)
                for literal, category, direction in _LAY_CONTEXT
            ]
        )
        context.add(
            [
                ConTextRule("have had", "PSEUDO", pattern=_HAVE_HAD, direction="PSEUDO"),
                # "will my skin be sensitive after the treatment?" asks about an effect, not a finding.
                *(
                    ConTextRule(
                        phrase,
                        "HYPOTHETICAL",
                        direction="BACKWARD",
                        max_scope=3,
                        on_modifies=_asked_as_a_question,
                    )
                    for phrase in (
                        "after the treatment",
                        "after treatment",
                        "after microneedling",
                        "after the procedure",
                        "afterwards",
                        "afterward",
                    )
                ),
                # "will it make my skin sensitive?" asks; "creams make my face sting" tells.
                ConTextRule(
                    "make my", "HYPOTHETICAL", direction="FORWARD", on_modifies=_asked_as_a_question
                ),
                ConTextRule(
                    "question opener",
                    "HYPOTHETICAL",
                    direction="FORWARD",
                    max_scope=4,
                    pattern=[{"LOWER": {"IN": _QUESTION_OPENERS}, "IS_SENT_START": True}],
                    on_modifies=_general_question,
                ),
                # "eczema no." / "psoriasis? nope" answer a listed condition with a no.
                ConTextRule(
                    "trailing no",
                    "NEGATED_EXISTENCE",
                    direction="BACKWARD",
                    max_scope=2,
                    pattern=[{"LOWER": {"IN": ["no", "nope", "nah"]}}, {"IS_PUNCT": True}],
                ),
            ]
        )

    def mentions(self, text: str) -> List[Mention]:
        """Every condition named in `text`, each with its status."""
        corrected = correct_typos(text if self.english else fold_accents(text), self.vocabulary)
        doc = self.nlp(corrected)
        me_too = bool(_ME_TOO.search(corrected.lower()))
        found = []
        for entity in doc.ents:
            labels = self._gap_labels_of(entity) if entity.label_ == _GAP else [entity.label_]
            if entity.label_ == NOT_A_FINDING:
                continue
            status = self._status(entity, me_too)
            long_ago = any(
                m.category == "HISTORICAL" and m.rule.literal in _LONG_AGO
                for m in entity._.modifiers
            )
            found += [
                Mention(
                    label,
                    entity.text,
                    self._chronic_status(entity, status, corrected.lower())
                    if label in self.chronic_labels
                    else status,
                    long_ago,
                )
                for label in labels
            ]
        named = {m.status for m in found if m.condition in self.specific_labels}
        return [
            m
            for m in found
            if not (
                m.condition == self.generic_label
                and m.text.lower() in _GENERIC_MEDICATION
                and m.status in named
            )
        ]

    @classmethod
    def for_rules(cls, rules: Rules) -> "Extractor":
        """The extractor of the contraindication check, from its rules file."""
        generic = rules.conditions.get("other_medication")
        specific = [
            key
            for key, condition in rules.conditions.items()
            if generic and condition.question == generic.question and key != generic.key
        ]
        return cls(
            {key: condition.synonyms for key, condition in rules.conditions.items()},
            rules.not_findings,
            generic.key if generic else None,
            specific,
            [key for key, condition in rules.conditions.items() if condition.chronic],
        )

    def _gap_labels_of(self, entity: Any) -> List[str]:
        """The labels whose required word stands shortly before this gap target, or before
        a shorter gap target it ends with: "toda la cara" wins the match over "cara", but
        "se me hinchó toda la cara" is still "hinchó ... cara"."""
        labels: List[str] = []
        for start in range(entity.start, entity.end):
            literal = entity.doc[start : entity.end].text.lower()
            window = entity.doc[max(entity.sent.start, start - _WINDOW) : start].text.lower()
            labels += [
                label
                for label, words in self.gap_labels.get(literal, {}).items()
                if label not in labels
                and any(re.search(rf"\b{re.escape(word)}\b", window) for word in words)
            ]
        return labels

    @staticmethod
    def _chronic_status(entity: Any, status: str, text: str) -> str:
        """A chronic condition is past only when the patient says it went; a diagnosis
        date alone is not a recovery ("diagnosed with rosacea a few years ago")."""
        if status not in (CURRENT, PAST):
            return status
        after = text[entity.start_char :]
        if _RESOLVED.search(after) and not _NOT_RESOLVED.search(after):
            return PAST
        if status == PAST and any(m.category == "POSSIBLE_EXISTENCE" for m in entity._.modifiers):
            return UNSURE
        return CURRENT

    @staticmethod
    def _status(entity: Any, me_too: bool) -> str:
        # A cue inside the phrase itself ("n't" of "bleeding won't stop") is part of it.
        modifiers = [
            m for m in entity._.modifiers if not entity.start <= m.modifier_span[0] < entity.end
        ]
        categories = {modifier.category for modifier in modifiers}
        if me_too and "FAMILY" in categories:
            categories.discard("FAMILY")
        # "not on accutane anymore": ended, so past rather than never.
        if "NEGATED_EXISTENCE" in categories and any(
            m.category == "HISTORICAL" and m.rule.literal in _ENDED for m in modifiers
        ):
            categories.discard("NEGATED_EXISTENCE")
        return next((s for c, s in _STATUS_BY_CATEGORY if c in categories), CURRENT)


@lru_cache(maxsize=1)
def default_extractor() -> Extractor:
    return Extractor.for_rules(load_rules())


def patient_findings(mentions: Iterable[Mention]) -> List[Tuple[str, str]]:
    """(condition, status) pairs about the patient, without repeats, in order of mention."""
    seen: List[Tuple[str, str]] = []
    for mention in mentions:
        pair = (mention.condition, mention.status)
        if mention.status in PATIENT_STATUSES and pair not in seen:
            seen.append(pair)
    return seen


def extract_findings(text: str, extractor: Optional[Extractor] = None) -> List[Tuple[str, str]]:
    """The patient's own findings in `text`."""
    return patient_findings((extractor or default_extractor()).mentions(text))
