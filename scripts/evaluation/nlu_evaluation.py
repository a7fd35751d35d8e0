"""Score a trained model's intent predictions on labelled examples (the held-out set)."""

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HELDOUT_PATH = PROJECT_ROOT / "tests" / "data" / "nlu_heldout.yml"
FALLBACK = "nlu_fallback"
# The fallback and out_of_scope give the patient the same "I can't answer that" reply.
SAME_REPLY = {FALLBACK: "out_of_scope"}


@dataclass(frozen=True)
class Prediction:
    """What the model made of one example."""

    text: str
    expected: str
    predicted: str
    # (intent, confidence) from the classifier, best first, without the fallback.
    ranking: Tuple[Tuple[str, float], ...]
    # The topic whose answer the honest reply quotes ("What it does say: ..."), if any
    # (nlu_components/answerability.py).
    related: Optional[str] = None


def load_examples(path: Path = HELDOUT_PATH) -> List[Tuple[str, str]]:
    """(text, intent) pairs from a Rasa NLU YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples = []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            text = line.strip()
            if text.startswith("- "):
                examples.append((text[2:].strip(), block["intent"]))
    return examples


def predict(model_path: Path, examples: Iterable[Tuple[str, str]]) -> List[Prediction]:
    """Parse every example with the trained model."""
    import logging

    import structlog
    from rasa.core.agent import Agent

    # Rasa's structlog debug lines would print every parsed text.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    agent = Agent.load(str(model_path))

    async def parse_all() -> List[Prediction]:
        results = []
        for text, expected in examples:
            parsed = await agent.parse_message(text)
            ranking = tuple(
                (item["name"], float(item["confidence"]))
                for item in parsed.get("intent_ranking", [])
                if item["name"] != FALLBACK
            )
            related = next(
                (
                    entity["value"]
                    for entity in parsed.get("entities", [])
                    if entity.get("entity") == "related_topic"
                ),
                None,
            )
            results.append(Prediction(text, expected, parsed["intent"]["name"], ranking, related))
        return results

    return asyncio.run(parse_all())


NEAR_DOMAIN_PATH = HELDOUT_PATH.parent / "near_domain_heldout.yml"
# What gives a patient the honest "our article doesn't say" (or "I can't answer that").
HONEST_INTENTS = frozenset({"out_of_scope", FALLBACK})


def load_near_domain(path: Path = NEAR_DOMAIN_PATH) -> List[Tuple[str, str]]:
    """(text, "out_of_scope") for the microneedling questions the article does not answer."""
    questions = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    return [(question["text"], "out_of_scope") for question in questions]


def honesty(predictions: List[Prediction]) -> float:
    """The share of predictions that give the honest reply rather than an answer."""
    return sum(p.predicted in HONEST_INTENTS for p in predictions) / len(predictions)


def is_correct(expected: str, predicted: str, related: Optional[str] = None) -> bool:
    """The patient got the expected reply: the intent's own, or the honest reply that
    quotes the expected topic's answer as what the article does say."""
    if predicted == "out_of_scope" and related and related == expected:
        return True
    return SAME_REPLY.get(predicted, predicted) == expected


def accuracy(predictions: List[Prediction]) -> float:
    return sum(is_correct(p.expected, p.predicted, p.related) for p in predictions) / len(
        predictions
    )


def with_fallback(prediction: Prediction, threshold: float, ambiguity: float) -> str:
    """The intent Rasa's FallbackClassifier would give for these thresholds."""
    ranking = prediction.ranking
    if not ranking:
        return FALLBACK
    top = ranking[0][1]
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    if top < threshold or top - second < ambiguity:
        return FALLBACK
    return ranking[0][0]


def threshold_table(
    predictions: List[Prediction], thresholds: Iterable[float], ambiguity: float
) -> List[Dict[str, float]]:
    """Accuracy, in-scope questions lost to the fallback, and out-of-scope caught, per threshold."""
    rows = []
    in_scope = [p for p in predictions if p.expected != "out_of_scope"]
    out_scope = [p for p in predictions if p.expected == "out_of_scope"]
    for threshold in thresholds:
        predicted = {id(p): with_fallback(p, threshold, ambiguity) for p in predictions}
        rows.append(
            {
                "threshold": threshold,
                "accuracy": sum(is_correct(p.expected, predicted[id(p)]) for p in predictions)
                / len(predictions),
                "in_scope_lost_to_fallback": sum(predicted[id(p)] == FALLBACK for p in in_scope)
                / len(in_scope),
                "out_of_scope_caught": sum(
                    is_correct(p.expected, predicted[id(p)]) for p in out_scope
                )
                / len(out_scope),
            }
        )
    return rows


def per_intent(predictions: List[Prediction]) -> Dict[str, Dict[str, float]]:
    """Precision, recall and support per expected intent (fallback counted as out_of_scope)."""
    true_pos: Counter = Counter()
    predicted_count: Counter = Counter()
    support: Counter = Counter()
    for p in predictions:
        label = (
            p.expected
            if is_correct(p.expected, p.predicted, p.related)
            else SAME_REPLY.get(p.predicted, p.predicted)
        )
        support[p.expected] += 1
        predicted_count[label] += 1
        if label == p.expected:
            true_pos[label] += 1
    report: Dict[str, Dict[str, float]] = defaultdict(dict)
    for intent in sorted(support):
        report[intent] = {
            "precision": true_pos[intent] / predicted_count[intent]
            if predicted_count[intent]
            else 0.0,
            "recall": true_pos[intent] / support[intent],
            "support": support[intent],
        }
    return dict(report)


def errors(predictions: List[Prediction]) -> List[Prediction]:
    return [p for p in predictions if not is_correct(p.expected, p.predicted, p.related)]
