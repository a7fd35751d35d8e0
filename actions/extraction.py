"""Find what a patient says about themself: conditions and medications, with their context.

spaCy (`spacy.blank("en")`, no pretrained model exists here) with medspaCy's target
matcher for the synonyms in the rules file and ConText for negation, someone else, past,
uncertainty and hypotheticals. Pure functions: no Rasa imports.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from actions.contraindication_rules import Rules, load_rules
from actions.english_words import spacy_english_words

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

# Lay phrasing medspaCy's clinical defaults miss. (literal, category, direction); a
# longer phrase wins over a shorter one it overlaps ("not sure if" over "not" and "if").
_LAY_CONTEXT: Tuple[Tuple[str, str, str], ...] = (
    # negation
    ("don't have", "NEGATED_EXISTENCE", "FORWARD"),
    ("dont have", "NEGATED_EXISTENCE", "FORWARD"),
    ("do not have", "NEGATED_EXISTENCE", "FORWARD"),
    ("haven't got", "NEGATED_EXISTENCE", "FORWARD"),
    ("havent got", "NEGATED_EXISTENCE", "FORWARD"),
    ("never", "NEGATED_EXISTENCE", "FORWARD"),
    ("never had", "NEGATED_EXISTENCE", "FORWARD"),
    ("never taken", "NEGATED_EXISTENCE", "FORWARD"),
    ("never used", "NEGATED_EXISTENCE", "FORWARD"),
    ("never been on", "NEGATED_EXISTENCE", "FORWARD"),
    ("not on", "NEGATED_EXISTENCE", "FORWARD"),
    ("not taking", "NEGATED_EXISTENCE", "FORWARD"),
    ("not using", "NEGATED_EXISTENCE", "FORWARD"),
    ("nope", "NEGATED_EXISTENCE", "BIDIRECTIONAL"),
    ("nah", "NEGATED_EXISTENCE", "BIDIRECTIONAL"),
    ("none", "NEGATED_EXISTENCE", "FORWARD"),
    ("nothing", "NEGATED_EXISTENCE", "FORWARD"),
    ("nothing like", "NEGATED_EXISTENCE", "FORWARD"),
    ("free of", "NEGATED_EXISTENCE", "FORWARD"),
    ("not", "NEGATED_EXISTENCE", "BACKWARD"),
    # uncertainty
    ("not sure", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("not sure if", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("not sure whether", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("not really sure", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("not certain", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("unsure", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("unsure if", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("don't know if", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("dont know if", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("no idea if", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("idk if", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("might", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("might be", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("may have", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("maybe", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("possibly", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("probably", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("i think", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("i guess", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("could be", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("could it be", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("could this be", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("could the", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("perhaps", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("suspect", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("hard to say", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("can't remember", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("undiagnosed", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("never diagnosed", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("never been diagnosed", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("never got diagnosed", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("never got them diagnosed", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("never got it diagnosed", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("not diagnosed", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    # past
    ("used to", "HISTORICAL", "BIDIRECTIONAL"),
    ("had", "HISTORICAL", "FORWARD"),
    ("was on", "HISTORICAL", "FORWARD"),
    ("were on", "HISTORICAL", "FORWARD"),
    ("went on", "HISTORICAL", "FORWARD"),
    ("took", "HISTORICAL", "FORWARD"),
    ("stopped", "HISTORICAL", "BIDIRECTIONAL"),
    ("quit", "HISTORICAL", "FORWARD"),
    ("came off", "HISTORICAL", "FORWARD"),
    ("finished", "HISTORICAL", "BIDIRECTIONAL"),
    ("as a kid", "HISTORICAL", "BACKWARD"),
    ("as a child", "HISTORICAL", "BACKWARD"),
    ("as a baby", "HISTORICAL", "BACKWARD"),
    ("as a teen", "HISTORICAL", "BACKWARD"),
    ("as a teenager", "HISTORICAL", "BACKWARD"),
    ("when i was", "HISTORICAL", "BIDIRECTIONAL"),
    ("when i was younger", "HISTORICAL", "BIDIRECTIONAL"),
    ("growing up", "HISTORICAL", "BIDIRECTIONAL"),
    ("in high school", "HISTORICAL", "BIDIRECTIONAL"),
    ("in my teens", "HISTORICAL", "BIDIRECTIONAL"),
    ("in my twenties", "HISTORICAL", "BIDIRECTIONAL"),
    ("in my 20s", "HISTORICAL", "BIDIRECTIONAL"),
    ("in my thirties", "HISTORICAL", "BIDIRECTIONAL"),
    ("in my 30s", "HISTORICAL", "BIDIRECTIONAL"),
    ("years ago", "HISTORICAL", "BACKWARD"),
    ("last year", "HISTORICAL", "BIDIRECTIONAL"),
    ("in the past", "HISTORICAL", "BIDIRECTIONAL"),
    ("back in", "HISTORICAL", "BIDIRECTIONAL"),
    ("gone now", "HISTORICAL", "BACKWARD"),
    ("is gone", "HISTORICAL", "BACKWARD"),
    ("it's gone", "HISTORICAL", "BACKWARD"),
    ("its gone", "HISTORICAL", "BACKWARD"),
    ("fine now", "HISTORICAL", "BACKWARD"),
    ("went away", "HISTORICAL", "BACKWARD"),
    ("cleared up", "HISTORICAL", "BACKWARD"),
    ("healed", "HISTORICAL", "BACKWARD"),
    ("healed now", "HISTORICAL", "BACKWARD"),
    ("cleared", "HISTORICAL", "BIDIRECTIONAL"),
    ("grew out of", "HISTORICAL", "FORWARD"),
    ("outgrew", "HISTORICAL", "FORWARD"),
    ("no longer", "HISTORICAL", "BIDIRECTIONAL"),
    ("not anymore", "HISTORICAL", "BACKWARD"),
    ("ended", "HISTORICAL", "BACKWARD"),
    ("anymore", "HISTORICAL", "BACKWARD"),
    ("any more", "HISTORICAL", "BACKWARD"),
    ("haven't had it", "HISTORICAL", "BACKWARD"),
    ("haven't had it for years", "HISTORICAL", "BACKWARD"),
    ("previously", "HISTORICAL", "BIDIRECTIONAL"),
    ("a while ago", "HISTORICAL", "BACKWARD"),
    ("ages ago", "HISTORICAL", "BACKWARD"),
    # still current: "have had eczema for years", "since I was a kid", "on and off"
    ("have had", "PSEUDO", "PSEUDO"),
    ("has had", "PSEUDO", "PSEUDO"),
    ("had it for", "PSEUDO", "PSEUDO"),
    ("since i was", "PSEUDO", "PSEUDO"),
    ("since i was a kid", "PSEUDO", "PSEUDO"),
    ("since i was a baby", "PSEUDO", "PSEUDO"),
    ("since i was a child", "PSEUDO", "PSEUDO"),
    ("since childhood", "PSEUDO", "PSEUDO"),
    ("on and off", "PSEUDO", "PSEUDO"),
    ("still have", "PSEUDO", "PSEUDO"),
    ("can't remember the name", "PSEUDO", "PSEUDO"),
    ("can't remember the names", "PSEUDO", "PSEUDO"),
    ("cant remember the name", "PSEUDO", "PSEUDO"),
    ("don't remember the name", "PSEUDO", "PSEUDO"),
    ("forget the name", "PSEUDO", "PSEUDO"),
    ("forgot the name", "PSEUDO", "PSEUDO"),
    # someone else
    ("my mom", "FAMILY", "FORWARD"),
    ("my mum", "FAMILY", "FORWARD"),
    ("my mother", "FAMILY", "FORWARD"),
    ("my dad", "FAMILY", "FORWARD"),
    ("my father", "FAMILY", "FORWARD"),
    ("my sister", "FAMILY", "FORWARD"),
    ("my brother", "FAMILY", "FORWARD"),
    ("my daughter", "FAMILY", "FORWARD"),
    ("my son", "FAMILY", "FORWARD"),
    ("my kid", "FAMILY", "FORWARD"),
    ("my child", "FAMILY", "FORWARD"),
    ("my husband", "FAMILY", "FORWARD"),
    ("my wife", "FAMILY", "FORWARD"),
    ("my partner", "FAMILY", "FORWARD"),
    ("my boyfriend", "FAMILY", "FORWARD"),
    ("my girlfriend", "FAMILY", "FORWARD"),
    ("my friend", "FAMILY", "FORWARD"),
    ("my mate", "FAMILY", "FORWARD"),
    ("my bestie", "FAMILY", "FORWARD"),
    ("a friend", "FAMILY", "FORWARD"),
    ("my aunt", "FAMILY", "FORWARD"),
    ("my uncle", "FAMILY", "FORWARD"),
    ("my cousin", "FAMILY", "FORWARD"),
    ("my twin", "FAMILY", "FORWARD"),
    # A pet is someone else too ("my dog had a fever").
    ("my dog", "FAMILY", "FORWARD"),
    ("my cat", "FAMILY", "FORWARD"),
    ("my pet", "FAMILY", "FORWARD"),
    ("my puppy", "FAMILY", "FORWARD"),
    ("my kitten", "FAMILY", "FORWARD"),
    ("the dog", "FAMILY", "FORWARD"),
    ("the cat", "FAMILY", "FORWARD"),
    ("my gran", "FAMILY", "FORWARD"),
    ("my grandma", "FAMILY", "FORWARD"),
    ("my grandmother", "FAMILY", "FORWARD"),
    ("my grandpa", "FAMILY", "FORWARD"),
    ("my roommate", "FAMILY", "FORWARD"),
    ("my coworker", "FAMILY", "FORWARD"),
    ("my colleague", "FAMILY", "FORWARD"),
    ("my nan", "FAMILY", "FORWARD"),
    ("my nana", "FAMILY", "FORWARD"),
    ("my granny", "FAMILY", "FORWARD"),
    ("my grandad", "FAMILY", "FORWARD"),
    ("my grandfather", "FAMILY", "FORWARD"),
    ("my teenager", "FAMILY", "FORWARD"),
    ("my teen", "FAMILY", "FORWARD"),
    ("my kids", "FAMILY", "FORWARD"),
    ("my children", "FAMILY", "FORWARD"),
    ("my niece", "FAMILY", "FORWARD"),
    ("my nephew", "FAMILY", "FORWARD"),
    ("my fiance", "FAMILY", "FORWARD"),
    ("my fiancé", "FAMILY", "FORWARD"),
    ("my flatmate", "FAMILY", "FORWARD"),
    ("my housemate", "FAMILY", "FORWARD"),
    ("my neighbour", "FAMILY", "FORWARD"),
    ("my neighbor", "FAMILY", "FORWARD"),
    # Said of someone just named ("that's my daughter, she has psoriasis").
    ("he has", "FAMILY", "FORWARD"),
    ("she has", "FAMILY", "FORWARD"),
    ("he's got", "FAMILY", "FORWARD"),
    ("she's got", "FAMILY", "FORWARD"),
    ("he had", "FAMILY", "FORWARD"),
    ("she had", "FAMILY", "FORWARD"),
    ("runs in my family", "FAMILY", "BACKWARD"),
    ("runs in the family", "FAMILY", "BACKWARD"),
    # general questions and what-ifs
    ("what if", "HYPOTHETICAL", "FORWARD"),
    ("if i get", "HYPOTHETICAL", "FORWARD"),
    ("if i have", "HYPOTHETICAL", "FORWARD"),
    ("if i'm", "HYPOTHETICAL", "FORWARD"),
    ("if im", "HYPOTHETICAL", "FORWARD"),
    ("if i need", "HYPOTHETICAL", "FORWARD"),
    ("if you have", "HYPOTHETICAL", "FORWARD"),
    ("if you get", "HYPOTHETICAL", "FORWARD"),
    ("if you're", "HYPOTHETICAL", "FORWARD"),
    ("if someone", "HYPOTHETICAL", "FORWARD"),
    ("in case", "HYPOTHETICAL", "FORWARD"),
    ("people with", "HYPOTHETICAL", "FORWARD"),
    ("people who have", "HYPOTHETICAL", "FORWARD"),
    ("people taking", "HYPOTHETICAL", "FORWARD"),
    ("people on", "HYPOTHETICAL", "FORWARD"),
    ("someone with", "HYPOTHETICAL", "FORWARD"),
    ("someone on", "HYPOTHETICAL", "FORWARD"),
    ("someone taking", "HYPOTHETICAL", "FORWARD"),
    ("anyone with", "HYPOTHETICAL", "FORWARD"),
    ("anyone on", "HYPOTHETICAL", "FORWARD"),
    ("anyone taking", "HYPOTHETICAL", "FORWARD"),
    ("those with", "HYPOTHETICAL", "FORWARD"),
    ("patients with", "HYPOTHETICAL", "FORWARD"),
    ("worried about getting", "HYPOTHETICAL", "FORWARD"),
    ("afraid of getting", "HYPOTHETICAL", "FORWARD"),
    ("cause a", "HYPOTHETICAL", "FORWARD"),
    ("cause", "HYPOTHETICAL", "FORWARD"),
    ("give me", "HYPOTHETICAL", "FORWARD"),
    ("what is", "HYPOTHETICAL", "FORWARD"),
    ("what's", "HYPOTHETICAL", "FORWARD"),
    ("whats", "HYPOTHETICAL", "FORWARD"),
    ("what about", "HYPOTHETICAL", "FORWARD"),
    ("signs of", "HYPOTHETICAL", "FORWARD"),
    ("symptoms of", "HYPOTHETICAL", "FORWARD"),
    ("risk of", "HYPOTHETICAL", "FORWARD"),
    ("risks of", "HYPOTHETICAL", "FORWARD"),
    ("chance of", "HYPOTHETICAL", "FORWARD"),
    ("chances of", "HYPOTHETICAL", "FORWARD"),
    # The patient speaking about themself ends a family member's scope (and only that:
    # a comma must not end "no eczema, psoriasis or rosacea").
    ("i", "SELF", "FORWARD"),
    ("i'm", "SELF", "FORWARD"),
    ("im", "SELF", "FORWARD"),
    ("me", "SELF", "FORWARD"),
    ("myself", "SELF", "FORWARD"),
    ("but", "SELF", "FORWARD"),
    (",", "SELF", "FORWARD"),
    (";", "SELF", "FORWARD"),
    # A new clause about something else ends every scope.
    ("just", "TERMINATE", "TERMINATE"),
    ("only", "TERMINATE", "TERMINATE"),
    ("except", "TERMINATE", "TERMINATE"),
    ("apart from", "TERMINATE", "TERMINATE"),
    ("other than", "TERMINATE", "TERMINATE"),
    ("besides", "TERMINATE", "TERMINATE"),
    ("and i", "TERMINATE", "TERMINATE"),
    ("and i'm", "TERMINATE", "TERMINATE"),
    ("and im", "TERMINATE", "TERMINATE"),
)

# "I've had eczema for years" is current: the contraction splits into two tokens.
_HAVE_HAD = [{"LOWER": {"IN": ["'ve", "ve", "have", "has", "'s"]}}, {"LOWER": "had"}]

# A question that opens the sentence ("does psoriasis matter?", "is accutane a problem?")
# asks in general, unless the patient names it as theirs ("is my rosacea a problem?").
_QUESTION_OPENERS = ["does", "do", "is", "are", "can", "could", "will", "would", "should", "how"]
_OWN = {"my", "i", "i'm", "im", "me", "mine"}
_NOT_A_QUESTION = {"hardly", "barely", "not", "only"}


def _general_question(target: object, modifier: object, span_between: object) -> bool:
    # "can hardly breathe" is a statement, not a question.
    words = [token.lower_ for token in span_between] + [target[0].lower_]
    return not any(word in _OWN or word in _NOT_A_QUESTION for word in words)


def _asked_as_a_question(target: object, modifier: object, span_between: object) -> bool:
    # "will my skin be sensitive after the treatment?" asks; "I had a fever after the
    # treatment" tells, and stays a finding.
    sentence = target.sent
    return sentence.text.rstrip().endswith("?") or sentence[0].lower_ in _QUESTION_OPENERS


# Telling the patient shares a family member's condition ("and so do I").
_ME_TOO = re.compile(r"\b(so do i|me too|i do too|i have it too|same here|as do i|i also have it)\b")
# Generic medication words, superseded when the same text names the medication.
_GENERIC_MEDICATION = {"medication", "medications", "medicine", "medicines", "meds", "med",
                       "pills", "tablets", "prescription"}
# How many words before a "... word" target its required word may stand.
_WINDOW = 6
_ENDED = {"anymore", "any more", "not anymore", "no longer", "is gone", "gone now", "it's gone",
          "its gone"}

# Said of a chronic condition (eczema, psoriasis, rosacea), only these make it past: a
# diagnosis date or "as a kid" alone is not a recovery. Looked for after the mention,
# anywhere in the message ("had eczema as a kid, but it cleared up years ago").
_RESOLVED = re.compile(
    r"\b(gone|cleared|clear now|clear since|clear for|went away|gone away|healed|grew out of|"
    r"grown out of|outgrew|no longer|not anymore|anymore|any more|none since|none for|"
    r"not since|nothing (at all )?since|never came back|(hasn'?t|has not|never) come back|"
    r"haven'?t had it|not had it|in remission|cured|got rid of|resolved|disappeared|"
    r"fine now|stopped having)\b")
# Past context that means long over, not earlier today (an urgent symptom "I had this
# morning" still counts; "a reaction once, years ago" does not).
_LONG_AGO = {"years ago", "as a kid", "as a child", "as a baby", "as a teen", "as a teenager",
             "when i was younger", "growing up", "in high school", "in my teens", "in my twenties",
             "in my 20s", "in my thirties", "in my 30s", "last year", "a while ago", "ages ago",
             "back in"}
# ... unless the patient says it did not go ("it never really went away").
_NOT_RESOLVED = re.compile(
    r"\b(never|not|hasn'?t|has not|didn'?t|did not|won'?t|doesn'?t|never really|not really|"
    r"hasn'?t really) (really |fully |completely |totally )?(gone|cleared|went away|gone away|"
    r"go away|healed|clear(ed)? up)\b")

# medspaCy defaults written for clinical notes that misread patients' words:
# "fragrance free" is not a negation, "worried about my rosacea" is not uncertainty,
# "hydrocortisone as needed" is not hypothetical, a resolved condition is past.
_CLINICAL_ONLY = {"free", "resolved", "now resolved", "no longer present", "worried about",
                  "concerned about", "as needed", "return", "decline", "prophylaxis"}


def _default_context_rules_path() -> str:
    import medspacy.context.context as context_module

    # Where medspaCy itself looks for its English defaults.
    return str(Path(context_module.__file__).resolve().parents[2] / "resources" / "en" / "context_rules.json")


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


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
        return (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _fuzzy_vocabulary(synonyms: Mapping[str, Sequence[str]]) -> Dict[str, str]:
    words = {}
    for phrases in synonyms.values():
        for synonym in phrases:
            if " " not in synonym and len(synonym) >= 6:
                words[synonym.lower()] = synonym.lower()
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

    def __init__(self, synonyms: Mapping[str, Sequence[str]], not_findings: Sequence[str] = (),
                 generic_label: Optional[str] = None, specific_labels: Sequence[str] = (),
                 chronic_labels: Sequence[str] = ()) -> None:
        import spacy
        from loguru import logger as loguru_logger
        from medspacy.context import ConTextRule
        from medspacy.target_matcher import TargetRule

        # medspaCy's dependencies log every step at DEBUG through loguru.
        loguru_logger.remove()
        self.generic_label = generic_label
        self.specific_labels = set(specific_labels)
        self.chronic_labels = set(chronic_labels)
        self.vocabulary = _fuzzy_vocabulary(synonyms)
        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")
        matcher = self.nlp.add_pipe("medspacy_target_matcher")
        # "skin ... sensitive": the target is "sensitive", labelled by whichever required
        # word comes shortly before it, so the words in between stay free to negate or
        # qualify it. One word may serve several labels ("pain ... worse", "swelling ... worse").
        self.gap_labels: Dict[str, Dict[str, set]] = {}
        targets = []
        for label, phrases in synonyms.items():
            for synonym in phrases:
                literal = synonym.lower()
                if "..." in literal:
                    before, literal = (part.strip() for part in literal.split("...", 1))
                    self.gap_labels.setdefault(literal, {}).setdefault(label, set()).add(before)
                    continue
                targets.append(TargetRule(literal, label))
        targets += [TargetRule(literal, _GAP) for literal in self.gap_labels]
        targets += [TargetRule(phrase.lower(), NOT_A_FINDING) for phrase in not_findings]
        matcher.add(targets)
        context = self.nlp.add_pipe("medspacy_context", config={"rules": None})
        context.add([
            rule for rule in ConTextRule.from_json(_default_context_rules_path())
            if rule.literal not in _CLINICAL_ONLY
        ])
        context.add([
            ConTextRule(literal, category, direction=direction)
            for literal, category, direction in _LAY_CONTEXT
        ])
        context.add([
            ConTextRule("have had", "PSEUDO", pattern=_HAVE_HAD, direction="PSEUDO"),
            # "will my skin be sensitive after the treatment?" asks about an effect, not a finding.
            *(ConTextRule(phrase, "HYPOTHETICAL", direction="BACKWARD", max_scope=3,
                          on_modifies=_asked_as_a_question)
              for phrase in ("after the treatment", "after treatment", "after microneedling",
                             "after the procedure", "afterwards", "afterward")),
            # "will it make my skin sensitive?" asks; "creams make my face sting" tells.
            ConTextRule("make my", "HYPOTHETICAL", direction="FORWARD",
                        on_modifies=_asked_as_a_question),
            ConTextRule(
                "question opener", "HYPOTHETICAL", direction="FORWARD", max_scope=4,
                pattern=[{"LOWER": {"IN": _QUESTION_OPENERS}, "IS_SENT_START": True}],
                on_modifies=_general_question,
            ),
            # "eczema no." / "psoriasis? nope" answer a listed condition with a no.
            ConTextRule("trailing no", "NEGATED_EXISTENCE", direction="BACKWARD", max_scope=2,
                        pattern=[{"LOWER": {"IN": ["no", "nope", "nah"]}}, {"IS_PUNCT": True}]),
        ])
        # medspaCy 1.3's `terminating_types` option is lost (it keeps an iterator), so set
        # the terminations on the rules: the patient's own words end these scopes.
        for rule in context.rules:
            if rule.category in ("FAMILY", "HISTORICAL"):
                rule.terminated_by.add("SELF")

    def mentions(self, text: str) -> List[Mention]:
        """Every condition named in `text`, each with its status."""
        corrected = correct_typos(text, self.vocabulary)
        doc = self.nlp(corrected)
        me_too = bool(_ME_TOO.search(corrected.lower()))
        found = []
        for entity in doc.ents:
            labels = self._gap_labels_of(entity) if entity.label_ == _GAP else [entity.label_]
            if entity.label_ == NOT_A_FINDING:
                continue
            status = self._status(entity, me_too)
            long_ago = any(m.category == "HISTORICAL" and m.rule.literal in _LONG_AGO
                           for m in entity._.modifiers)
            found += [Mention(label, entity.text,
                              self._chronic_status(entity, status, corrected.lower())
                              if label in self.chronic_labels else status, long_ago)
                      for label in labels]
        named = {m.status for m in found if m.condition in self.specific_labels}
        return [m for m in found if not (m.condition == self.generic_label and
                                         m.text.lower() in _GENERIC_MEDICATION and m.status in named)]

    @classmethod
    def for_rules(cls, rules: Rules) -> "Extractor":
        """The extractor of the contraindication check, from its rules file."""
        generic = rules.conditions.get("other_medication")
        specific = [key for key, condition in rules.conditions.items()
                    if generic and condition.question == generic.question and key != generic.key]
        return cls({key: condition.synonyms for key, condition in rules.conditions.items()},
                   rules.not_findings, generic.key if generic else None, specific,
                   [key for key, condition in rules.conditions.items() if condition.chronic])

    def _gap_labels_of(self, entity: object) -> List[str]:
        """The labels whose required word stands shortly before this gap target."""
        window = entity.doc[max(entity.sent.start, entity.start - _WINDOW):entity.start].text.lower()
        return [label for label, words in self.gap_labels.get(entity.text.lower(), {}).items()
                if any(re.search(rf"\b{re.escape(word)}\b", window) for word in words)]

    @staticmethod
    def _chronic_status(entity: object, status: str, text: str) -> str:
        """A chronic condition is past only when the patient says it went; a diagnosis
        date alone is not a recovery ("diagnosed with rosacea a few years ago")."""
        if status not in (CURRENT, PAST):
            return status
        after = text[entity.start_char:]
        if _RESOLVED.search(after) and not _NOT_RESOLVED.search(after):
            return PAST
        if status == PAST and any(m.category == "POSSIBLE_EXISTENCE" for m in entity._.modifiers):
            return UNSURE
        return CURRENT

    @staticmethod
    def _status(entity: object, me_too: bool) -> str:
        # A cue inside the phrase itself ("n't" of "bleeding won't stop") is part of it.
        modifiers = [m for m in entity._.modifiers
                     if not entity.start <= m.modifier_span[0] < entity.end]
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
