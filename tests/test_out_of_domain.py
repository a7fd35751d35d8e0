"""Everyday requests that have nothing to do with the clinic (Banking77's whole test split,
3,080 queries written by others and never trained on), each the first message of a new
conversation over the real REST channel: almost none may get a microneedling answer or
the urgent reply, and chit-chat is still answered as such (scripts/evaluation/eval_out_of_domain.py;
the figures go to var/test-results/ood.json). About 2 minutes on the 2-CPU machine.
"""

import csv
from typing import Iterator, List, Optional

import pytest
import yaml

from clinic.answers import with_article_answers
from scripts.evaluation.eval_out_of_domain import (
    ARTICLE,
    ARTICLE_REPLIES,
    CANNOT_ANSWER,
    CHIT_CHAT,
    CORPUS,
    MAX_MICRONEEDLING_RATE,
    MAX_URGENT_RATE,
    MICRONEEDLING,
    NO_REPLY,
    SCREENING,
    URGENT,
    VERDICT,
    Evaluation,
    classify,
    evaluate,
    load_corpus,
    write_summary,
)
from scripts.evaluation.nlu_evaluation import load_examples
from scripts.ops.serve import PROJECT_ROOT, Servers


@pytest.fixture(scope="module")
def evaluation(servers: Servers) -> Iterator[Evaluation]:
    result = evaluate(servers)
    write_summary(result)
    print(result.report())
    yield result


def examples(evaluation: Evaluation, *kinds: str) -> str:
    return "\n".join(
        f"{t.kind}: {t.text!r} -> {t.intent} ({t.confidence or 0:.2f}) {t.replies}"
        for t in evaluation.turns
        if t.kind in kinds
    )[:3000]


def test_the_evaluation_set_is_banking77s_test_split_never_trained_on() -> None:
    queries = load_corpus()
    assert len(queries) == 3080 and len({c for _, c in queries}) == 77
    trained = {
        text.lower()
        for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml")
        for text, _ in load_examples(path)
    }
    assert [t for t, _ in queries if t.lower() in trained] == []
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        assert csv.DictReader(handle).fieldnames == ["text", "category"]


def test_the_article_answers_are_the_thirteen_topic_responses() -> None:
    domain = with_article_answers(
        yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    )
    assert len(ARTICLE_REPLIES) == 13 and ARTICLE_REPLIES <= set(domain["responses"])


@pytest.mark.parametrize(
    "replies, outcome, kind",
    [
        (["utter_disclaimer", "utter_urgent"], None, URGENT),
        (["utter_urgent", "utter_disclaimer", "utter_pain"], None, URGENT),
        (["utter_disclaimer", "action_assess_statement"], "Postpone", VERDICT),
        (["utter_disclaimer", "action_start_screening"], None, SCREENING),
        (["utter_disclaimer", "action_assess_statement", "utter_active_acne"], None, ARTICLE),
        (["utter_disclaimer", "utter_cannot_answer"], None, CANNOT_ANSWER),
        (["utter_disclaimer", "utter_greet"], None, CHIT_CHAT),
        (["utter_disclaimer"], None, CHIT_CHAT),
        ([], None, NO_REPLY),
    ],
)
def test_what_a_turn_counts_as(replies: List[str], outcome: Optional[str], kind: str) -> None:
    assert classify(replies, outcome) == kind


def test_every_everyday_request_is_answered(evaluation: Evaluation) -> None:
    assert len(evaluation.turns) == 3080
    assert evaluation.counts[NO_REPLY] == 0, [
        (t.text, t.error) for t in evaluation.turns if t.kind == NO_REPLY
    ][:5]


def test_everyday_requests_get_no_microneedling_answer(evaluation: Evaluation) -> None:
    # An article answer, a verdict, or the start of the suitability check.
    assert evaluation.rate(*MICRONEEDLING) <= MAX_MICRONEEDLING_RATE, (
        f"{evaluation.report()}\n{examples(evaluation, *MICRONEEDLING)}"
    )


def test_everyday_requests_are_not_escalated_as_urgent(evaluation: Evaluation) -> None:
    assert evaluation.rate(URGENT) <= MAX_URGENT_RATE, (
        f"{evaluation.report()}\n{examples(evaluation, URGENT)}"
    )


def test_chit_chat_is_still_answered_as_such(evaluation: Evaluation) -> None:
    assert len(evaluation.chit_chat) >= 8
    assert evaluation.chit_chat_wrong == []


HOTELS = PROJECT_ROOT / "tests" / "data" / "corpora" / "nlupp_hotels.csv"
# A domain the gate was never shown (its unrelated examples are Banking77's): measured
# 3.9% microneedling answers and 0.1% urgent (docs/real_questions.md). Regression bounds;
# the targets (0.5%, 0.1%) are met on Banking77 only.
MAX_HOTELS_MICRONEEDLING_RATE = 0.05
MAX_HOTELS_URGENT_RATE = 0.005


def test_a_domain_never_trained_on_gets_few_microneedling_answers(servers: Servers) -> None:
    hotels = evaluate(servers, corpus=HOTELS)
    write_summary(hotels, PROJECT_ROOT / "var" / "test-results" / "ood_hotels.json")
    print(hotels.report())
    assert len(hotels.turns) == 997 and hotels.counts[NO_REPLY] == 0
    assert hotels.rate(*MICRONEEDLING) <= MAX_HOTELS_MICRONEEDLING_RATE, hotels.report()
    assert hotels.rate(URGENT) <= MAX_HOTELS_URGENT_RATE, hotels.report()
