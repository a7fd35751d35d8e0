"""The trained model understands patients' own wording: accuracy on the held-out set."""

import logging
from collections import Counter
from pathlib import Path
from typing import List, Tuple

import pytest
import yaml

from scripts.evaluation.nlu_evaluation import (
    Prediction,
    accuracy,
    honesty,
    load_examples,
    load_near_domain,
    per_intent,
    predict,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# 0.905 for the model before issue 11 on this set (745 examples, 242 of them in real
# patients' wording, written blind); 0.867 after it, which trades a few answers for honest
# replies (docs/real_questions.md). A regression bound, not a target.
MIN_ACCURACY = 0.85
# Microneedling questions the article does not answer that get the honest reply
# (tests/data/near_domain_heldout.yml, written blind): about half did before issue 11.
# Measured 0.882-0.938 over this session's trainings of the same pipeline (training data
# and seeds move it; docs/nlu_evaluation.md has the spread over seeds); 0.523 before issue 11.
MIN_NEAR_DOMAIN_HONESTY = 0.88


def quietly_predicted(model_path: Path, examples: List[Tuple[str, str]]) -> List[Prediction]:
    logging.disable(logging.WARNING)
    try:
        return predict(model_path, examples)
    finally:
        logging.disable(logging.NOTSET)


@pytest.fixture(scope="module")
def predictions(model_path: Path) -> List[Prediction]:
    return quietly_predicted(model_path, load_examples())


def test_heldout_has_at_least_ten_examples_per_intent() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    counts = Counter(intent for _, intent in load_examples())
    assert set(counts) == set(domain["intents"])
    assert min(counts.values()) >= 10, counts


def test_heldout_examples_are_never_trained_on() -> None:
    trained = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        trained |= {text.lower() for text, _ in load_examples(path)}
    assert len(trained) > 500, "the training data was not found"
    leaked = [text for text, _ in load_examples() if text.lower() in trained]
    assert not leaked


def test_heldout_intent_accuracy(predictions: List[Prediction]) -> None:
    score = accuracy(predictions)
    report = "\n".join(
        f"{intent}: recall {row['recall']:.2f}" for intent, row in per_intent(predictions).items()
    )
    print(f"\nheld-out intent accuracy {score:.3f} on {len(predictions)} examples\n{report}")
    assert score >= MIN_ACCURACY


@pytest.fixture(scope="module")
def near_domain(model_path: Path) -> List[Prediction]:
    return quietly_predicted(model_path, load_near_domain())


def test_questions_the_article_does_not_answer_get_the_honest_reply(
    near_domain: List[Prediction],
) -> None:
    score = honesty(near_domain)
    answered = [
        (p.text, p.predicted)
        for p in near_domain
        if p.predicted not in ("out_of_scope", "nlu_fallback")
    ]
    print(
        f"\nnear-domain honesty {score:.3f} on {len(near_domain)} questions; answered instead: {answered}"
    )
    assert len(near_domain) >= 150
    assert score >= MIN_NEAR_DOMAIN_HONESTY, answered
