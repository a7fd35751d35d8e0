"""Simulated patients (tests/data/screening_patients.yml, written blind) take the check over REST
against the real servers, answering each question in their own words: each reaches the
expected outcome, and no question is asked more than twice or the check more than it has."""

from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import yaml

from clinic.contraindication_rules import load_rules
from rest_conversations import new_sender, texts, through_consent

Say = Callable[[str, str], List[Dict]]
QUESTIONS = {question.text: key for key, question in load_rules().questions.items()}


def patients(name: str) -> List[Dict]:
    return yaml.safe_load((Path(__file__).parent / "data" / name).read_text(encoding="utf-8"))[
        "patients"
    ]


PATIENTS = patients("screening_patients.yml")
# Written blind after the fixes that the first set's misses led to (docs/real_questions.md).
FRESH = "screening_patients_fresh.yml"
RESULT = "Result of the check: "
URGENT = "What you describe may need urgent medical attention."


def test_there_are_enough_patients_who_answer_in_their_own_words() -> None:
    free_text = [p for p in PATIENTS if sum(len(a.split()) > 2 for a in p["answers"].values()) >= 2]
    assert len(PATIENTS) >= 30 and len(free_text) >= 20


def take_the_check(say: Say, patient: Dict) -> Tuple[Optional[str], Counter, List[str]]:
    """Play one patient through the check: the result message (None: no result), how often
    each question was asked, and the transcript."""
    sender = new_sender()
    opened = say(sender, patient["opening"])
    replies = texts(through_consent(say, sender, opened))  # the patient agrees to the check
    asked: Counter = Counter()
    transcript = [f"patient: {patient['opening']}", *texts(opened), *replies]
    while not any(reply.startswith(RESULT) for reply in replies):
        question = next((QUESTIONS[reply] for reply in replies if reply in QUESTIONS), None)
        if question is None or asked[question] >= 3 or sum(asked.values()) > 3 * len(QUESTIONS):
            return None, asked, transcript
        asked[question] += 1
        answer = patient["answers"][question]
        replies = texts(say(sender, answer))
        transcript += [f"patient: {answer}", *replies]
    return next(reply for reply in replies if reply.startswith(RESULT)), asked, transcript


# Right outcomes, measured: the first set 31 of 42 before other people, "skin is fine" and
# statements were read (issue 11), then 41 of 42; the fresh set, written blind after those
# fixes, 24 of 30, then 26. Their last misses ("No, never. My skin gets a bit dry in winter"
# read as not sure; "most moisturisers make my face sting" as urgent; two openings not read
# as asking for the check) were fixed (docs/real_questions.md): both sets are no longer
# blind, and every patient must reach the expected outcome. The third set, written blind
# after that, measured 24 of 30 before any change from it (four openings not read as asking
# for the check: "I'd like to be checked", "check pls", "am i ok to?", "could you check i'm
# alright to have it"; "omg yes, literally everything makes my face go red" not read as yes;
# "not sure ... can't tell if it's a breakout or not" read as no), then 30 of 30.
SETS = ("screening_patients.yml", FRESH, "screening_patients_third.yml")


@pytest.mark.parametrize("name", SETS)
def test_patients_answering_in_their_own_words_get_an_outcome_and_no_question_three_times(
    say: Say, name: str
) -> None:
    wrong, stuck = [], []
    group = patients(name)
    for patient in group:
        result, asked, transcript = take_the_check(say, patient)
        if any(URGENT in line for line in transcript):
            wrong.append(f"{patient['name']}: the urgent reply")  # cautious, but not the check
        elif max(asked.values(), default=0) > 2 or (result is None and asked):
            stuck.append("\n".join(transcript))
        elif result is None:  # the opening was not read as asking for the check
            wrong.append(f"{patient['name']}: the check did not start")
        elif not result.startswith(f"{RESULT}{patient['outcome']}."):
            wrong.append(
                f"{patient['name']}: {result.splitlines()[0]} (expected {patient['outcome']})"
            )
    print(
        f"\nsimulated patients ({name}): {len(group) - len(wrong) - len(stuck)} of {len(group)} "
        f"reach the expected outcome; wrong: {wrong}"
    )
    for transcript in stuck:
        print(f"\nstuck:\n{transcript}")
    # Never stuck in a loop: every patient gets a result, no question is asked a third time.
    assert len(group) >= 30
    assert stuck == [], stuck[:2]
    assert wrong == []
