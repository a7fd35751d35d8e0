"""A message about the patient goes to the check, whatever the intent classifier made of it
(nlu_components/about_the_patient.py): a statement of their own condition or medication
gets the verdict, whatever its wording or the text after it; a question whether it suits
them that no topic answers starts the check instead of "I can't answer that"."""

from functools import partial
from typing import Callable, Dict, List, Optional

import pytest
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from nlu_components.answerability import NOT_SAID_ENTITY, NOTHING
from nlu_components.domain_gate import OUT_OF_DOMAIN_KEY
from nlu_components.about_the_patient import AboutThePatientClassifier
from rest_conversations import new_sender

Say = Callable[[str, str], List[Dict]]
CHECK = "ask_contraindications"
START = "check_candidacy"


@pytest.fixture(scope="module")
def component() -> AboutThePatientClassifier:
    return AboutThePatientClassifier(AboutThePatientClassifier.get_default_config())


def routed(
    component: AboutThePatientClassifier,
    text: str,
    intent: str,
    not_said: str = NOTHING,
    out_of_domain: bool = False,
) -> Optional[str]:
    message = Message(
        {
            TEXT: text,
            OUT_OF_DOMAIN_KEY: out_of_domain,
            INTENT: {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 0.6},
            INTENT_RANKING_KEY: [{INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 0.6}],
            ENTITIES: [{"entity": NOT_SAID_ENTITY, "value": not_said}],
        }
    )
    component.process([message])
    return message.get(INTENT)[INTENT_NAME_KEY]


@pytest.mark.parametrize(
    "text, intent",
    [
        # What DIET made of these on the model of 2 December (each got no verdict).
        ("Diagnosed with psoriasis in 2009", "out_of_scope"),
        ("I'm taking Absorica", "express_frustration"),
        ("I stopped using Retin-A last month because I read you should", "ask_permanence"),
        ("I was on blood thinners after my surgery last year, not anymore", "urgent_symptom"),
        ("hi, I have rosacea", "greet"),
        ("I have eczema, is that a problem?", "nlu_fallback"),
    ],
)
def test_a_statement_about_the_patient_goes_to_the_check(
    component: AboutThePatientClassifier, text: str, intent: str
) -> None:
    assert routed(component, text, intent) == CHECK


@pytest.mark.parametrize(
    "text, intent, not_said",
    [
        # A question under a topic keeps its answer; a request stays a request.
        ("I have rosacea, does it hurt?", "ask_pain", NOTHING),
        ("I have rosacea, can I talk to a person?", "request_human", NOTHING),
        ("I have rosacea, check if I can get it", "check_candidacy", NOTHING),
        # Nothing about the patient: another person's condition, no condition, a button.
        ("my husband has rosacea", "out_of_scope", NOTHING),
        ("I had a lovely weekend", "out_of_scope", NOTHING),
        ("/affirm", "affirm", NOTHING),
        # The honest reply stands for a question the article does not answer.
        ("I have eczema, can it be used on my neck?", "out_of_scope", "which parts of the body"),
    ],
)
def test_what_is_not_a_statement_for_the_check_keeps_its_intent(
    component: AboutThePatientClassifier, text: str, intent: str, not_said: str
) -> None:
    assert routed(component, text, intent, not_said) == intent


@pytest.mark.parametrize(
    "text, out_of_domain",
    [
        ("would my skin be ok with microneedling", False),
        ("ok so can i actually get it or not lol", False),
        ("Am I someone who can get microneedling?", True),  # the treatment is named
    ],
)
def test_a_question_whether_it_suits_the_patient_starts_the_check(
    component: AboutThePatientClassifier, text: str, out_of_domain: bool
) -> None:
    assert routed(component, text, "out_of_scope", out_of_domain=out_of_domain) == START


@pytest.mark.parametrize(
    "text, not_said, out_of_domain",
    [
        # Fresh blind "for me" questions that got "our article doesn't say" or "I can't answer
        # that": a time or an article told as context, the question whether it suits them.
        (
            "hi!! my sister's getting married in june and we were thinking of booking microneedling "
            "together a few weeks before. i just want to know if i'd be ok to have it too, i've never "
            "had anything like this done",
            "how long, in minutes, days or weeks",
            False,
        ),
        (
            "I've been reading your article and I'm keen, but before I spend the money I'd like to "
            "know whether there's any reason I personally shouldn't have it.",
            NOTHING,
            True,
        ),
    ],
)
def test_a_for_me_question_with_context_starts_the_check(
    component: AboutThePatientClassifier, text: str, not_said: str, out_of_domain: bool
) -> None:
    assert routed(component, text, "out_of_scope", not_said, out_of_domain) == START


def read_as(component: AboutThePatientClassifier, text: str, ranking: List[tuple]) -> str:
    """The intent the component leaves on `text` when DIET ranked it as `ranking`."""
    message = Message(
        {
            TEXT: text,
            INTENT: {INTENT_NAME_KEY: ranking[0][0], PREDICTED_CONFIDENCE_KEY: ranking[0][1]},
            INTENT_RANKING_KEY: [
                {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score} for name, score in ranking
            ],
        }
    )
    component.process([message])
    return message.get(INTENT)[INTENT_NAME_KEY]


def test_a_for_me_question_read_as_a_topic_without_confidence_starts_the_check(
    component: AboutThePatientClassifier,
) -> None:
    read = partial(read_as, component)
    # What DIET made of it on the model of a fresh clone (2 December).
    assert (
        read(
            "would my skin be ok with microneedling",
            [("ask_what_is", 0.49), (START, 0.13), ("ask_contraindications", 0.11)],
        )
        == START
    )
    assert (
        read(
            "Good afternoon. I would like to establish whether microneedling would be "
            "appropriate for me.",
            [("ask_alternatives", 0.56), (START, 0.34)],
        )
        == START
    )
    # Asking for the check by name starts it, whatever topic DIET found (a fresh clone's).
    assert (
        read(
            "hi, i'd like to see if i can get microneedling, mainly for my scarring",
            [("ask_scars", 0.62), ("greet", 0.22)],
        )
        == START
    )
    # A confident topic, or no check among the guesses, keeps the topic.
    assert (
        read("would my skin be ok with microneedling", [("ask_what_is", 0.8), (START, 0.1)])
        == "ask_what_is"
    )
    assert (
        read(
            "is it ok for me to wear makeup",
            [("ask_side_effects", 0.4), ("ask_sun", 0.3), ("ask_pain", 0.1), (START, 0.05)],
        )
        == "ask_side_effects"
    )


def test_a_yes_or_no_answer_read_as_the_check_is_not_a_request_for_it(
    component: AboutThePatientClassifier,
) -> None:
    read = partial(read_as, component)
    # A simulated patient's answer mid-check, which restarted the check again and again.
    assert (
        read("no, products are fine on me", [(START, 0.36), ("ask_alternatives", 0.17)])
        == "nlu_fallback"
    )
    assert read("no, products are fine on me", [(START, 0.36), ("deny", 0.32)]) == "deny"
    # A confident check, or one asked for, stays.
    assert read("yes please check me", [(START, 0.4), ("affirm", 0.3)]) == START
    assert read("no, products are fine on me", [(START, 0.8), ("deny", 0.1)]) == START


def test_asking_whether_it_suits_before_booking_starts_the_check(
    component: AboutThePatientClassifier,
) -> None:
    assert (
        routed(component, "check whether it suits me, I'm thinking of booking", "request_booking")
        == START
    )
    assert (
        routed(component, "I'd like to book an appointment", "request_booking") == "request_booking"
    )


@pytest.mark.parametrize(
    "text, intent, not_said, out_of_domain",
    [
        # A bank's customer asking for themself is not asking about microneedling.
        ("can I get a new card for me", "out_of_scope", NOTHING, True),
        # A topic answers it, or the article does not say what was asked.
        ("is it safe for me during pregnancy", "ask_contraindications", NOTHING, False),
        ("can i get it on my neck", "out_of_scope", "which parts of the body", False),
        # Told beside the question, a condition or a treatment is what is asked about.
        (
            "I am currently breastfeeding my 4 month old. Can I still have microneedling?",
            "out_of_scope",
            "anything about breastfeeding",
            False,
        ),
        (
            "i had IPL last month, can i have microneedling now",
            "out_of_scope",
            "anything about IPL",
            False,
        ),
    ],
)
def test_a_for_me_question_that_is_not_one_keeps_its_intent(
    component: AboutThePatientClassifier, text: str, intent: str, not_said: str, out_of_domain: bool
) -> None:
    assert routed(component, text, intent, not_said, out_of_domain) == intent


@pytest.mark.parametrize(
    "statement",
    [
        "Diagnosed with psoriasis in 2009",
        "I'm taking Absorica",
        "I stopped using Retin-A last month because I read you should",
        "my psoriasis cleared up years ago and never came back. I do take levothyroxine",
    ],
)
def test_over_rest_a_statement_gets_the_check_s_result(say: Say, statement: str) -> None:
    replies = [reply.get("text", "") for reply in say(new_sender(), statement)]
    assert any(reply.startswith("Result of the check:") for reply in replies), replies


def test_a_product_told_beside_a_finding_gets_the_verdict_and_one_asked_about_the_honest_reply(
    component: AboutThePatientClassifier,
) -> None:
    # A fresh clone's model read the padded answer as out of scope with "anything about that
    # product" (retinol, in "maybe retinol?"); the patient told a finding and asked nothing.
    told = (
        "maybe retinol? there's something in my night cream, I'd have to check the label. "
        "The train into town was quite busy today, but I found a seat by the window."
    )
    assert routed(component, told, "out_of_scope", "anything about that product") == CHECK
    asked = "I'm on accutane. Can I use retinol again after microneedling?"
    assert routed(component, asked, "out_of_scope", "anything about that product") == "out_of_scope"
