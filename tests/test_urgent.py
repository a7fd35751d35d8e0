"""Urgent symptoms: the red-flag matcher, the trained model with it, and the reply over REST."""

import logging
from pathlib import Path
from typing import Callable, Dict, List

import pytest
import yaml

from clinic.clinic_config import load_clinic_config
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clinic.red_flags import RedFlagsError, default_matcher, parse_red_flags
from nlu_components.urgent_symptoms import TrainedUrgentCheck
from scripts.evaluation.nlu_evaluation import Prediction, predict
from rest_conversations import new_sender

CASES = yaml.safe_load((Path(__file__).resolve().parent / "data" / "urgent_cases.yml").read_text())[
    "cases"
]
URGENT = "urgent_symptom"


@pytest.mark.parametrize(
    "text, urgent",
    [
        ("no fever but it's oozing", True),
        # Favour recall: a red flag told in the past tense still gets the urgent reply.
        ("i had a high temperature last night after the treatment", True),
        ("no fever", False),
        ("no fever, no pus, just a bit pink", False),
        ("is redness normal?", False),
        ("my sister had an infection after hers", False),
        ("what if it bleeds?", False),
        ("can microneedling cause an allergic reaction?", False),
        ("what are the risks of infection?", False),
        ("its oozing yellow stuff", True),
        ("cant breathe properly", True),
        ("can hardly breathe", True),
        ("my lips r swelling up", True),
        ("the swelling is getting worse every hour", True),
        ("is it normal that it's still bleeding after 2 days?", True),
        ("I'm dying to try this", False),
        ("can I book an emergency appointment?", False),
        ("i'm allergic to lidocaine, can i still have it done", False),
    ],
)
def test_red_flags(text: str, urgent: bool) -> None:
    assert default_matcher().is_urgent(text) is urgent


def test_red_flag_file_mistakes_are_named() -> None:
    with pytest.raises(RedFlagsError, match="expected a 'red_flags:' section"):
        parse_red_flags({"flags": []})
    with pytest.raises(RedFlagsError, match="red_flags.bleeding: must be a non-empty list"):
        parse_red_flags({"red_flags": {"bleeding": []}})
    with pytest.raises(RedFlagsError, match="resolved: must be a list of phrases"):
        parse_red_flags({"red_flags": {"bleeding": ["bleeding a lot"]}, "resolved": "all gone"})


def _report(name: str, predicted: List[bool]) -> Dict[str, float]:
    gold = [case["urgent"] for case in CASES]
    tp = sum(p and g for p, g in zip(predicted, gold))
    fp = sum(p and not g for p, g in zip(predicted, gold))
    fn = sum(g and not p for p, g in zip(predicted, gold))
    recall, precision = tp / (tp + fn), tp / (tp + fp)
    missed = [case["text"] for case, p in zip(CASES, predicted) if case["urgent"] and not p]
    print(
        f"\n{name}: {len(CASES)} messages ({sum(gold)} urgent): urgent recall {recall:.3f}, "
        f"precision {precision:.3f}; missed: {missed}"
    )
    return {"recall": recall, "precision": precision}


def trained_urgent_read_as(text: str, ranking: List[tuple]) -> str:
    """The intent the check of the trained urgent intent leaves, DIET having ranked
    `urgent_symptom` first and then `ranking`."""
    ranked = [{INTENT_NAME_KEY: URGENT, PREDICTED_CONFIDENCE_KEY: 0.6}] + [
        {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score} for name, score in ranking
    ]
    message = Message({TEXT: text, INTENT: ranked[0], INTENT_RANKING_KEY: ranked})
    TrainedUrgentCheck(TrainedUrgentCheck.get_default_config()).process([message])
    return message.get(INTENT)[INTENT_NAME_KEY]


@pytest.mark.parametrize(
    "text, ranking, expected",
    [
        # Told symptoms in words the matcher lacks stay urgent.
        ("the red patch is getting bigger and bigger", [("ask_side_effects", 0.3)], URGENT),
        ("really struggling to catch my breath since my treatment", [], URGENT),
        # A red flag, asked or not, stays urgent.
        (
            "is it normal that it's still bleeding after 2 days?",
            [("ask_side_effects", 0.3)],
            URGENT,
        ),
        ("it stopped bleeding but now it's oozing", [], URGENT),
        # A question with no red flag gets DIET's next intent, or the fallback below 0.3.
        (
            "my cheeks go red after a run, will that affect the treatment?",
            [("ask_contraindications", 0.35)],
            "ask_contraindications",
        ),
        (
            "its freezing out and my lips are so chapped, which lip balm is good",
            [("ask_side_effects", 0.1)],
            "nlu_fallback",
        ),
        # A problem told as over is not urgent on DIET's word alone.
        (
            "nicked myself shaving this morning, it stopped bleeding straight away",
            [("out_of_scope", 0.4)],
            "out_of_scope",
        ),
        (
            "my face felt warm for a few hours after my session, all gone now",
            [("ask_side_effects", 0.4)],
            "ask_side_effects",
        ),
        # What the check asks about, told of the patient's skin (sensitive to products), is
        # not a reaction to a treatment: the check reads it (a simulated patient's answer).
        (
            "yes very, most moisturisers make my face sting and go blotchy so i stick to like two "
            "products",
            [("ask_side_effects", 0.11)],
            "nlu_fallback",
        ),
        # A reply that opens with a no answers a question; a red flag in it is still urgent.
        ("not really, i use normal drugstore stuff and its fine", [("deny", 0.2)], "nlu_fallback"),
        (
            "no my skin is pretty tough honestly, i've used all sorts and it's never bothered me",
            [("deny", 0.17)],
            "nlu_fallback",
        ),
        ("no, but my lips are swelling up", [("deny", 0.2)], URGENT),
    ],
)
def test_the_trained_urgent_intent_alone_is_not_trusted_on_a_question_or_what_is_over(
    text: str, ranking: List[tuple], expected: str
) -> None:
    assert trained_urgent_read_as(text, ranking) == expected


def test_urgent_alone_counts_only_in_a_message_about_the_clinic() -> None:
    matcher = default_matcher()
    bank = "I believe my card has been stolen, what can I do? It's urgent."
    assert matcher.is_urgent(bank) and not matcher.is_urgent(bank, about_the_clinic=False)
    # A symptom is urgent whatever else the message is like.
    assert matcher.is_urgent("urgent: the bleeding won't stop", about_the_clinic=False)


def test_the_labelled_set_is_big_and_mixed() -> None:
    urgent = sum(case["urgent"] for case in CASES)
    assert len(CASES) >= 60 and 20 <= urgent <= len(CASES) - 20


def test_the_matcher_alone_catches_nearly_all() -> None:
    # The rule-based net must not lean on the trained intent: it alone catches at least
    # 95% (the combined figure, asserted below, must be 100%).
    figures = _report(
        "red-flag matcher alone", [default_matcher().is_urgent(c["text"]) for c in CASES]
    )
    assert figures["recall"] >= 0.95


def test_every_urgent_message_is_read_as_urgent(model_path: Path) -> None:
    logging.disable(logging.WARNING)
    try:
        predictions: List[Prediction] = predict(model_path, [(c["text"], "") for c in CASES])
    finally:
        logging.disable(logging.NOTSET)
    figures = _report(
        "trained model with the matcher", [p.predicted == URGENT for p in predictions]
    )
    assert figures["recall"] == 1.0
    # Messages that mention the face, washing, areas, timings, bills, cards, cars and
    # cooking: none may get the urgent reply.
    flagged = [
        c["text"]
        for c, p in zip(CASES, predictions)
        if c.get("precision_set") and p.predicted == URGENT
    ]
    print(
        f"precision set: {sum(bool(c.get('precision_set')) for c in CASES)} messages, "
        f"{len(flagged)} read as urgent: {flagged}"
    )
    assert sum(bool(c.get("precision_set")) for c in CASES) >= 60
    # Measured: 1-5 of 83 from the trained intent alone (the matcher flags none) before its
    # check (nlu_components/urgent_symptoms.py::TrainedUrgentCheck); none since.
    assert flagged == [], flagged


Say = Callable[[str, str], List[Dict]]


def test_the_urgent_reply_gives_the_emergency_number_and_the_clinic(say: Say) -> None:
    clinic = load_clinic_config()
    [reply] = [
        r["text"]
        for r in say(new_sender(), "help my face is swelling up and i cant breathe properly")
    ]
    assert clinic.emergency_number in reply and clinic.phone in reply


def test_an_urgent_symptom_mid_screening_comes_first_and_ends_the_screening(
    say: Say, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    say(sender, "am i a good candidate for microneedling?")
    replies = [
        r["text"] for r in say(sender, "no, but since my treatment yesterday it's oozing pus")
    ]
    assert replies == [expected_reply("utter_urgent")]
    # The screening is over: a "no" is no longer read as an answer.
    assert [r["text"] for r in say(sender, "no")] == [
        expected_reply("utter_answer_without_question")
    ]


@pytest.mark.parametrize(
    "message, urgent",
    [("no fever", False), ("no fever but it's oozing", True), ("is redness normal?", False)],
)
def test_a_negated_symptom_alone_is_not_urgent(
    say: Say, expected_reply: Callable[[str], str], message: str, urgent: bool
) -> None:
    replies = [r["text"] for r in say(new_sender(), message)]
    assert (replies == [expected_reply("utter_urgent")]) is urgent
