"""Simulated patients (tests/screening_patients.yml, written blind) take the check over REST
against the real servers, answering each question in their own words: each reaches the
expected outcome, and no question is asked more than twice or the check more than it has."""

from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List

import pytest
import yaml

from actions.contraindication_rules import load_rules
from rest_conversations import new_sender

Say = Callable[[str, str], List[Dict]]
QUESTIONS = {question.text: key for key, question in load_rules().questions.items()}
PATIENTS = yaml.safe_load((Path(__file__).parent / "screening_patients.yml").read_text(
    encoding="utf-8"))["patients"]
RESULT = "Result of the check: "


def texts(replies: List[Dict]) -> List[str]:
    return [reply["text"] for reply in replies if "text" in reply]


def test_there_are_enough_patients_who_answer_in_their_own_words() -> None:
    free_text = [p for p in PATIENTS if sum(len(a.split()) > 2 for a in p["answers"].values()) >= 2]
    assert len(PATIENTS) >= 30 and len(free_text) >= 20


@pytest.mark.parametrize("patient", PATIENTS, ids=[p["name"] for p in PATIENTS])
def test_a_patient_answering_in_their_own_words_reaches_the_outcome(say: Say, patient: Dict) -> None:
    sender = new_sender()
    replies = texts(say(sender, patient["opening"]))
    asked: Counter = Counter()
    transcript = [f"patient: {patient['opening']}", *replies]
    while not any(reply.startswith(RESULT) for reply in replies):
        question = next((QUESTIONS[reply] for reply in replies if reply in QUESTIONS), None)
        assert question is not None, "\n".join(transcript)
        asked[question] += 1
        assert asked[question] <= 2 and sum(asked.values()) <= len(QUESTIONS) + 2, "\n".join(transcript)
        answer = patient["answers"][question]
        replies = texts(say(sender, answer))
        transcript += [f"patient: {answer}", *replies]
    result = next(reply for reply in replies if reply.startswith(RESULT))
    assert result.startswith(f"{RESULT}{patient['outcome']}."), "\n".join(transcript)
    # Read as answers: every question asked once, within the number of questions.
    assert max(asked.values(), default=1) == 1 and sum(asked.values()) <= len(QUESTIONS), \
        "\n".join(transcript)
