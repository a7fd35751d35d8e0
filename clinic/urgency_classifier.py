"""A learned reader of urgency, for a language whose red-flag phrases miss how patients say it.

The Spanish phrase list (knowledge/red_flags_es.yml) found about two urgent messages in three
of a blind set: each new set of patients' messages brought wordings it lacked ("siento como
si tuviera un elefante sentado en el pecho"). This reader learns from labelled messages
(knowledge/urgent_examples_es.yml) instead: character and word n-grams, accents folded, with
a logistic regression. It is trained when the Rasa server starts, in well under a second, so
a message the clinic adds to the file is learned at the next start. It reads only messages
in its own language, beside the phrase list, never instead of it (nlu_components/
urgent_symptoms.py). Pure logic: no Rasa imports.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from clinic.constants import SPANISH
from clinic.data_files import problems_message, read_yaml
from clinic.extraction import fold_accents

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
EXAMPLE_FILES = {SPANISH: KNOWLEDGE / "urgent_examples_es.yml"}
# Chosen by leaving out each blind set of the examples in turn and reading it with a reader
# trained on the other five (scripts/evaluation/spanish_reader_folds.py, docs/safety.md): at
# 0.4 and C=16 it missed 3 of 335 urgent messages and raised 6 false alarms in 334; at 0.5,
# 5 and 4. Favour recall.
THRESHOLD = 0.4
REGULARISATION_C = 16.0
# Fewer examples than this of either kind teach nothing worth trusting.
MIN_EXAMPLES = 20
# A shorter message gives the n-grams too little to go on: a bare "no" scored 0.51, as
# urgent messages so often say "no puedo" or "no para". The phrase list still reads it.
MIN_WORDS = 3


class UrgentExamplesError(ValueError):
    """The examples file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class UrgentExamples:
    urgent: Tuple[str, ...]
    not_urgent: Tuple[str, ...]


def parse_examples(raw: object, source: str = "urgent examples") -> UrgentExamples:
    """Validate the parsed YAML, or raise listing every problem."""
    if not isinstance(raw, dict):
        raise UrgentExamplesError(f"{source}: expected 'urgent:' and 'not_urgent:' lists.")
    problems: List[str] = []
    lists: Dict[str, Tuple[str, ...]] = {}
    for key in ("urgent", "not_urgent"):
        values = raw.get(key)
        if not isinstance(values, list) or not all(
            isinstance(v, str) and v.strip() for v in values
        ):
            problems.append(f"{key}: expected a list of messages (non-empty text)")
            continue
        if len(values) < MIN_EXAMPLES:
            problems.append(f"{key}: {len(values)} messages; at least {MIN_EXAMPLES} are needed")
        lists[key] = tuple(v.strip() for v in values)
    if not problems:
        both = set(lists["urgent"]) & set(lists["not_urgent"])
        problems += [f"in both lists: {text!r}" for text in sorted(both)]
    if problems:
        raise UrgentExamplesError(problems_message(source, problems))
    return UrgentExamples(lists["urgent"], lists["not_urgent"])


def load_examples(path: Path) -> UrgentExamples:
    return parse_examples(read_yaml(path, UrgentExamplesError), source=str(path))


def _folded(text: str) -> str:
    return fold_accents(text.lower())


class UrgencyClassifier:
    """Says whether a message reads like the urgent examples rather than the others."""

    def __init__(
        self,
        examples: UrgentExamples,
        threshold: float = THRESHOLD,
        regularisation_c: float = REGULARISATION_C,
    ) -> None:
        self.threshold = threshold
        features = make_union(
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), preprocessor=_folded, sublinear_tf=True
            ),
            TfidfVectorizer(
                analyzer="word", ngram_range=(1, 2), preprocessor=_folded, sublinear_tf=True
            ),
        )
        # Balanced: the two kinds weigh the same however many of each the clinic adds.
        regression = LogisticRegression(C=regularisation_c, max_iter=2000, class_weight="balanced")
        self.pipeline: Any = make_pipeline(features, regression)
        texts: Sequence[str] = (*examples.urgent, *examples.not_urgent)
        labels = [1] * len(examples.urgent) + [0] * len(examples.not_urgent)
        self.pipeline.fit(texts, labels)

    def probability(self, text: str) -> float:
        return float(self.pipeline.predict_proba([text])[0][1])

    def is_urgent(self, text: str) -> bool:
        return len(text.split()) >= MIN_WORDS and self.probability(text) >= self.threshold


@lru_cache(maxsize=None)
def default_classifier(language: str) -> Optional[UrgencyClassifier]:
    """The reader of a language that has an examples file (EXAMPLE_FILES), else None."""
    path = EXAMPLE_FILES.get(language)
    return UrgencyClassifier(load_examples(path)) if path is not None else None
