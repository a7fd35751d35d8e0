"""A patient's conversation over the REST channel, against the real action and Rasa servers."""

import re
from typing import Callable, Dict, List

import pytest

from clinic.clinic_config import load_clinic_config
from scripts.ops.serve import Servers
from rest_conversations import new_sender, texts

Say = Callable[[str, str], List[Dict]]

TOPIC_QUESTIONS = {
    "utter_what_is": "so what is microneedling?",
    "utter_benefits": "what can it do for my skin",
    "utter_scars": "will it help my acne scars",
    "utter_pain": "is it painful",
    "utter_side_effects": "any side effects?",
    "utter_sun": "can i sunbathe after microneedling",
    "utter_contraindications": "who shouldn't have microneedling",
    "utter_medications": "does it matter what medication i'm on",
    "utter_active_acne": "what if i have a breakout on the day of the treatment?",
    "utter_permanence": "is microneedling permanent",
    "utter_results_timing": "how soon do results show",
    "utter_procedure": "how is it done, do i have to stay in hospital",
    "utter_alternatives": "what if microneedling isn't right for me",
}


def first_turn(replies: List[Dict]) -> List[str]:
    """The replies to a session's first message, after the disclaimer that opens every session."""
    disclaimer, *rest = texts(replies)
    assert disclaimer.startswith("I'm a virtual assistant") and "not medical advice" in disclaimer
    return rest


@pytest.mark.parametrize("response, question", sorted(TOPIC_QUESTIONS.items()))
def test_each_topic_gets_the_articles_answer(
    say: Say, expected_reply: Callable[[str], str], response: str, question: str
) -> None:
    assert first_turn(say(new_sender(), question)) == [expected_reply(response)]


def test_greeting_says_what_it_can_do_with_the_clinic_name(say: Say) -> None:
    [greeting] = first_turn(say(new_sender(), "hello"))
    assert load_clinic_config().name in greeting
    assert "microneedling" in greeting


@pytest.mark.parametrize(
    "question",
    [
        "how much does microneedling cost",
        "how many minutes is a session",
        "does insurance cover it",
        "should i get botox instead",
        "can i use a dermaroller at home",
        "asdkjh qwpoe zzxv",
    ],
)
def test_what_the_article_does_not_cover_gets_an_honest_answer_and_the_clinic(
    say: Say, question: str
) -> None:
    clinic = load_clinic_config()
    [reply] = first_turn(say(new_sender(), question))
    if reply.startswith("Our article doesn't say "):
        # What the article does not say, then what it does say (answerability) or the clinic.
        assert "What it does say: " in reply or clinic.phone in reply, reply
    else:
        assert reply.startswith("Sorry, I can't answer that.")
        assert clinic.phone in reply and clinic.booking_url in reply
    # No invented figures: the only digits are the clinic's own details.
    leftover = reply.replace(clinic.phone, "").replace(clinic.booking_url, "")
    leftover = leftover.replace(clinic.opening_hours, "")
    assert not re.search(r"\d", leftover)


def test_booking_and_a_person_get_the_clinic_details(say: Say, slot_events: Callable) -> None:
    clinic = load_clinic_config()
    [booking] = first_turn(say(new_sender(), "i'd like to book an appointment"))
    assert clinic.booking_url in booking and clinic.phone in booking
    sender = new_sender()
    [human] = first_turn(say(sender, "can i speak to a real person please"))
    assert clinic.phone in human and clinic.opening_hours in human
    assert clinic.emergency_number in human
    assert ("handoff_reason", "requested") in slot_events(sender)


def test_an_upset_patient_gets_the_team_and_is_flagged(say: Say, slot_events: Callable) -> None:
    sender = new_sender()
    [reply] = first_turn(say(sender, "ugh this is so frustrating, you're not helping me at all"))
    assert load_clinic_config().phone in reply
    assert ("handoff_reason", "upset") in slot_events(sender)


def test_two_unanswerable_questions_in_a_row_are_flagged(say: Say, slot_events: Callable) -> None:
    sender = new_sender()
    say(sender, "how much does microneedling cost")
    assert not [s for s in slot_events(sender) if s[0] == "handoff_reason"]
    [reply] = texts(say(sender, "do you accept insurance"))
    assert reply.startswith("Sorry, I can't answer that.")
    assert ("handoff_reason", "repeated_fallback") in slot_events(sender)


def test_it_says_it_is_a_virtual_assistant(say: Say) -> None:
    [reply] = texts(say(new_sender(), "am i chatting with a bot?"))
    assert "virtual assistant" in reply


def test_the_menu_offers_buttons_that_work(say: Say, expected_reply: Callable[[str], str]) -> None:
    sender = new_sender()
    [_, menu] = say(sender, "menu")
    payloads = {button["title"]: button["payload"] for button in menu["buttons"]}
    assert texts(say(sender, payloads["Does it hurt?"])) == [expected_reply("utter_pain")]


def test_a_conversation_survives_a_restart_of_the_rasa_server(
    servers: Servers, say: Say, expected_reply: Callable[[str], str], stored_events: Callable
) -> None:
    sender = new_sender()
    say(sender, "hi")
    say(sender, "does it hurt")

    def user_messages() -> List[str]:
        return [event["text"] for event in stored_events(sender, "user")]

    assert user_messages() == ["hi", "does it hurt"]

    servers.restart_rasa_server()

    assert texts(say(sender, "who shouldn't get it")) == [expected_reply("utter_contraindications")]
    assert user_messages() == ["hi", "does it hurt", "who shouldn't get it"]
