"""Over REST and SMS against the real servers: a question that asks for what the article does
not say is told so, with what the article does say marked as such; "is it for me?" starts
the check. (The wording here is the issue's; the held-out sets measure the rest.)"""

from pathlib import Path
from typing import Callable, Dict, List

import pytest
import yaml

from clinic.contraindication_rules import load_rules
from rest_conversations import is_consent, new_sender, texts
from test_sms import Text, new_phone, text  # noqa: F401 (the SMS fixture)

Say = Callable[[str, str], List[Dict]]
QUESTIONS = [question.text for question in load_rules().questions.values()]
# The second set was written blind after the `for_me` cues were fitted to the first's misses.
FOR_ME_SETS = ("for_me_questions.yml", "for_me_questions_fresh.yml", "for_me_questions_third.yml")
NOT_SAID = "Our article doesn't say "


def answer(say: Say, message: str) -> str:
    """The reply to `message` as a new conversation's first question, disclaimer left out."""
    return texts(say(new_sender(), message))[-1]


@pytest.mark.parametrize(
    "message, not_said, topics",
    [
        (
            "which parts of the body can it be used on?",
            "which parts of the body it can be used on",
            ["utter_benefits"],
        ),
        (
            "how many sessions of microneedling will i need for my acne scars?",
            "how many sessions you would need",
            ["utter_scars", "utter_results_timing", "utter_permanence"],
        ),
        (
            "how long before microneedling do i have to stop using retinol?",
            "how long, in minutes, days or weeks or anything about that product",
            ["utter_medications"],
        ),
        (
            "can i exercise the day after microneedling?",
            "anything about exercise afterwards",
            ["utter_side_effects"],
        ),
    ],
)
def test_a_question_the_article_does_not_answer_gets_what_it_does_say(
    say: Say, expected_reply: Callable[[str], str], message: str, not_said: str, topics: List[str]
) -> None:
    reply = answer(say, message)
    assert reply in [
        f"{NOT_SAID}{not_said}. What it does say: {expected_reply(topic)}" for topic in topics
    ], reply


def test_a_price_question_says_the_article_does_not_say_and_gives_the_clinic(say: Say) -> None:
    reply = answer(say, "how much does microneedling cost?")
    assert reply.startswith(f"{NOT_SAID}what it costs. Please contact the clinic on ")
    assert "What it does say" not in reply


def test_an_answered_question_still_gets_its_answer(
    say: Say, expected_reply: Callable[[str], str]
) -> None:
    assert answer(say, "does microneedling hurt?") == expected_reply("utter_pain")
    assert answer(say, "when can i put makeup back on after microneedling?") == expected_reply(
        "utter_side_effects"
    )


def test_by_sms_the_honest_reply_is_short(text: Text) -> None:  # noqa: F811
    replies = text(new_phone(), "how many sessions of microneedling will i need?")
    honest = [reply for reply in replies if reply.startswith(NOT_SAID)]
    assert honest and len(honest[0]) <= 480, replies


@pytest.mark.parametrize("name", FOR_ME_SETS)
def test_is_it_for_me_starts_the_check_and_never_gets_cannot_answer(
    say: Say, expected_reply: Callable[[str], str], name: str
) -> None:
    questions = yaml.safe_load((Path(__file__).parent / "data" / name).read_text(encoding="utf-8"))[
        "questions"
    ]
    cannot = expected_reply("utter_cannot_answer")
    who_not = expected_reply("utter_contraindications")
    started, refused = [], []
    for question in questions:
        replies = texts(say(new_sender(), question))
        if (
            any(q in replies for q in QUESTIONS)
            or any(map(is_consent, replies))
            or who_not in replies
        ):
            started.append(question)
        # "Am I too old?" asks what the article does not say (age): honest about that, and
        # quoting who shouldn't have it, it is not refused.
        if cannot in replies or any(
            reply.startswith(NOT_SAID) and who_not not in reply for reply in replies
        ):
            refused.append(question)
    print(
        f"\n'for me' questions ({name}): {len(started)} of {len(questions)} start the check or get who "
        f"shouldn't; can't answer: {refused}"
    )
    assert len(questions) >= 30
    # Measured: the first set 41 of 50 started the check and 4 got "can't answer" before
    # the `for_me` cues, now 47 of 50 and none. The fresh set (written blind after them)
    # measured 25 of 40 and 12 refused with the first cues, then 35 and 3 (long messages
    # with a time or a price told as context, "before I spend the money"), now 38 and none;
    # cues were added from its misses, so it is no longer blind either. The third set,
    # written blind after that, measured 29 of 30 before any change from it; its one other
    # ("I'm a 60 year old man ... am I too old?") gets "Our article doesn't say anything
    # about age" with who shouldn't have it, which is the honest answer. None may be refused.
    assert refused == []
    assert len(started) >= 0.8 * len(questions), sorted(set(questions) - set(started))
