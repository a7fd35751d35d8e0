"""Answerability (clinic/answerability.py, knowledge/answerability.yml): a question that asks
for what no answer of the article contains is told so, never given a nearby answer as if
it were the answer; and the honest replies built from it quote only the article."""

from pathlib import Path
from typing import List, Optional, Tuple

import pytest
import yaml

from clinic.answerability import (
    AnswerabilityError,
    default_answerability,
    load_answerability,
    parse_answerability,
    uncovered_facts,
)
from clinic.answers import with_article_answers
from clinic.article import ungrounded_sentences
from clinic.constants import CANNOT_ANSWER_RESPONSE
from scripts.buildtime.build_domain import SMS_MORE_PROMPT, build_domain

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# domain.yml with the article's answers built from the article, as build/domain has them.
DOMAIN = with_article_answers(
    yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
)
ANSWERABILITY = default_answerability()


def judged(text: str, *ranking: Tuple[str, float]) -> Optional[Tuple[str, Optional[str]]]:
    verdict = ANSWERABILITY.judge(text, list(ranking))
    return None if verdict is None else (verdict.says, verdict.related)


def test_every_topic_answer_declares_facts_it_really_contains() -> None:
    texts = {name: variants[0]["text"] for name, variants in DOMAIN["responses"].items()}
    assert uncovered_facts(ANSWERABILITY, texts) == []
    assert len(ANSWERABILITY.topics) == 13


@pytest.mark.parametrize(
    "text, ranking, expected",
    [
        # The examples: a nearby topic was given as if it answered these.
        (
            "which parts of the body can it be used on?",
            [("ask_benefits", 0.8)],
            ("which parts of the body it can be used on", "ask_benefits"),
        ),
        (
            "how many sessions will i need for my acne scars",
            [("ask_scars", 0.7)],
            ("how many sessions you would need", "ask_scars"),
        ),
        (
            "how long before microneedling should i stop using retinol?",
            [("ask_medications", 0.5)],
            (
                "how long, in minutes, days or weeks or anything about that product",
                "ask_medications",
            ),
        ),
        (
            "can i wash my face the night after microneedling",
            [("out_of_scope", 0.6), ("ask_side_effects", 0.2)],
            ("anything about washing your face afterwards", "ask_side_effects"),
        ),
        (
            "is microneedling safe for darker skin tones?",
            [("ask_contraindications", 0.6)],
            ("anything about microneedling and darker skin", "ask_contraindications"),
        ),
        (
            "Microneedling And Botox: Can You Combine Them?",
            [("out_of_scope", 0.9)],
            ("anything about microneedling with botox", "ask_alternatives"),
        ),
        ("how much does microneedling cost", [("out_of_scope", 0.9)], ("what it costs", None)),
        (
            "how many weeks until i see results from microneedling",
            [("ask_results_timing", 0.9)],
            ("how long, in minutes, days or weeks", "ask_results_timing"),
        ),
    ],
)
def test_a_question_asking_for_what_no_answer_contains_is_told_so(
    text: str, ranking: List[Tuple[str, float]], expected: Tuple[str, Optional[str]]
) -> None:
    assert judged(text, *ranking) == expected


@pytest.mark.parametrize(
    "text, ranking",
    [
        ("does it hurt?", [("ask_pain", 0.9)]),
        ("when can i wear makeup again, a few days after?", [("ask_side_effects", 0.9)]),
        ("will my skin peel afterwards", [("ask_side_effects", 0.6)]),
        ("when will i see results", [("ask_results_timing", 0.9)]),
        # Out of scope and not about microneedling: the plain "I can't answer that".
        ("how much does a flight to paris cost", [("out_of_scope", 0.9)]),
        ("how many days until my car insurance renews", [("out_of_scope", 0.9)]),
        # Not a question the article's answers are judged on.
        ("how much does it cost to book", [("request_booking", 0.9)]),
    ],
)
def test_a_question_the_answer_covers_is_left_to_it(
    text: str, ranking: List[Tuple[str, float]]
) -> None:
    assert judged(text, *ranking) is None


def test_a_question_about_the_clinic_needs_no_word_for_microneedling() -> None:
    ranking = [("out_of_scope", 0.8), ("ask_benefits", 0.1)]
    assert judged("which parts of the body can it be used on?", *ranking) is None
    verdict = ANSWERABILITY.judge(
        "which parts of the body can it be used on?", ranking, about_the_clinic=True
    )
    assert (verdict.says, verdict.related) == (
        "which parts of the body it can be used on",
        "ask_benefits",
    )


def test_a_question_read_as_out_of_scope_quotes_the_related_topic_ranked_highest() -> None:
    ranking = [("out_of_scope", 0.7), ("ask_results_timing", 0.2), ("ask_permanence", 0.1)]
    assert judged("how many sessions of microneedling", *ranking)[1] == "ask_results_timing"
    assert (
        judged("how many sessions of microneedling", ("out_of_scope", 0.9))[1] == "ask_permanence"
    )


def test_cues_are_whole_words_and_gaps_are_bounded() -> None:
    kinds = lambda text: [kind.name for kind, _ in ANSWERABILITY.asked_for(text)]  # noqa: E731
    assert kinds("is it costly") == []  # "cost" is a word of its own
    assert kinds("any fees?") == ["price"]
    answerability = parse_answerability(
        {
            "topics": {"ask_pain": {"response": "utter_pain", "covers": ["numbing cream"]}},
            "kinds": {"price": {"says": "what it costs", "cues": ["how ... cost"]}},
            "context": ["microneedling"],
        }
    )
    asked = lambda text: [kind.name for kind, _ in answerability.asked_for(text)]  # noqa: E731
    assert asked("how much would a session cost") == ["price"]
    assert asked("how is it done and what would one whole session of it cost") == []


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda raw: raw["topics"]["ask_pain"].update(response="utter_nothing"),
            "not a response of the domain",
        ),
        (
            lambda raw: raw["kinds"]["price"].update(related=["ask_prices"]),
            "'ask_prices' is not a topic",
        ),
        (lambda raw: raw["kinds"]["price"].pop("says"), "needs 'says'"),
        (lambda raw: raw["kinds"]["price"].update(cues="cost"), "must be a list of phrases"),
        (
            lambda raw: raw["kinds"]["price"].update(says="anything about {label}"),
            "must be labelled groups",
        ),
        (
            lambda raw: raw["topics"]["ask_pain"].update(answers=["prices"]),
            "'prices' is not a kind",
        ),
        (lambda raw: raw.update(for_me=["for me"]), "for_me: must have 'cues'"),
        (lambda raw: raw["for_me"].update(unless="if"), "for_me.unless: must be a list of phrases"),
        (lambda raw: raw["for_me"].update(told_as_context=["prices"]), "'prices' is not a kind"),
    ],
)
def test_mistakes_in_the_file_are_named(change, message: str) -> None:
    raw = yaml.safe_load(
        (PROJECT_ROOT / "knowledge" / "answerability.yml").read_text(encoding="utf-8")
    )
    change(raw)
    with pytest.raises(AnswerabilityError, match=message):
        parse_answerability(raw, responses=list(DOMAIN["responses"]))


@pytest.mark.parametrize(
    "text, for_me",
    [
        ("would my skin be ok with microneedling", True),
        ("can i actually get it or not", True),
        ("Am I someone who can get microneedling?", True),
        ("can i get my brows waxed after microneedling", False),
        ("can i get microneedling if i have a cold sore", False),
        ("can i get a refund", False),
        # Fresh blind "for me" questions (tests/data/for_me_questions_fresh.yml, simulated patients).
        ("My skin: will it tolerate microneedling?", True),
        ("hi, i'd like to see if i can get microneedling, mainly for my scarring", True),
        # What the article does not say, asked in the same clause, is the question.
        ("how much would it cost for me", False),
        # Texting spellings (`for_me.spelled_out`), and the check asked for by name.
        ("wld i b able 2 get microneedling", True),
        ("check if im ok 4 microneedling", True),
        ("quick one - could i have this treatment?", True),
    ],
)
def test_a_question_whether_it_suits_the_patient_is_told_apart(text: str, for_me: bool) -> None:
    assert ANSWERABILITY.asks_if_for_me(text) is for_me


@pytest.mark.parametrize(
    "text, asks",
    [
        ("hi, i'd like to see if i can get microneedling, mainly for my scarring", True),
        ("can you check whether i'm suitable", True),
        (
            "would my skin be ok with microneedling",
            False,
        ),  # for me, but not a request for the check
        ("can you check if i can get it after a peel", False),
    ],
)
def test_a_request_for_the_check_is_told_apart(text: str, asks: bool) -> None:
    assert ANSWERABILITY.requests_the_check(text) is asks


def test_the_honest_replies_quote_only_the_article_and_stay_short_on_sms(tmp_path: Path) -> None:
    built = yaml.safe_load(
        (build_domain(tmp_path) / "answerability.yml").read_text(encoding="utf-8")
    )
    variants = built["responses"][CANNOT_ANSWER_RESPONSE]
    quoting = [v for v in variants if "What it does say: " in v["text"]]
    assert {v["condition"][0]["value"] for v in quoting} == set(ANSWERABILITY.topics)
    for variant in quoting:
        lead, quote = variant["text"].split("What it does say: ")
        assert lead == "Our article doesn't say {not_said}. "
        assert not ungrounded_sentences(quote), variant
        if variant.get("channel") == "twilio":
            assert SMS_MORE_PROMPT not in quote and len(quote) < 320, variant
    # The reply to everything else is domain.yml's own, last, without a condition.
    assert variants[-1] == DOMAIN["responses"][CANNOT_ANSWER_RESPONSE][0]
    assert load_answerability().kinds == ANSWERABILITY.kinds


def test_a_hedged_answer_with_a_question_mark_asks_for_nothing() -> None:
    answerability = default_answerability()
    assert not answerability.asked_in_a_question(
        "maybe retinol? there's something in my night cream"
    )
    assert answerability.asked_in_a_question("I'm on accutane. Can I use retinol after it?")
    # A texting spelling of the treatment's name in a "for me" question.
    assert answerability.asks_if_for_me("cn i get microneedlin done or not")
