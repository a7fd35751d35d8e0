"""What a caller says read as a choice, and choices said aloud (channels/voice.py)."""

import pytest

from channels.voice import (
    PERSON_PAYLOAD,
    asks_for_person,
    chosen_payload,
    speech_hints,
    spoken_choices,
    urgent_first,
)

# The check's buttons as the built domain gives them to the phone line.
ANSWERS = [
    {"title": "yes", "payload": "yes"},
    {"title": "no", "payload": "no"},
    {"title": "not sure", "payload": "not sure"},
    {"title": "stop the check", "payload": "stop"},
]


@pytest.mark.parametrize(
    "speech, payload",
    [
        ("Yes.", "yes"),
        ("yes", "yes"),
        ("No!", "no"),
        ("Not sure.", "not sure"),
        ("Stop the check.", "stop"),
        ("stop", "stop"),
        ("Yes please.", "yes"),
        ("Yes, I have eczema.", None),  # a sentence goes to the assistant as it is
        ("", None),
        ("...", None),
    ],
)
def test_speech_picks_the_button_it_names(speech: str, payload: object) -> None:
    assert chosen_payload(speech, ANSWERS) == payload


def test_a_menu_payload_is_not_a_word_to_say() -> None:
    menu = [{"title": "pain", "payload": "/ask_pain"}]
    assert chosen_payload("Pain.", menu) == "/ask_pain"
    assert chosen_payload("ask_pain", menu) is None


def test_without_buttons_nothing_is_chosen() -> None:
    assert chosen_payload("Yes.", []) is None


@pytest.mark.parametrize(
    "speech, asks",
    [
        ("Person.", True),
        ("person", True),
        ("A person, please.", True),
        ("Operator!", True),
        ("I'd like a person.", True),
        ("Can I get microneedling on a person with eczema?", False),
        ("personal", False),
    ],
)
def test_asking_for_a_person(speech: str, asks: bool) -> None:
    assert asks_for_person(speech) is asks
    assert PERSON_PAYLOAD == "/request_human"


def test_choices_are_said_as_a_sentence() -> None:
    assert spoken_choices(ANSWERS) == "Say yes, no, not sure, or stop the check."
    assert spoken_choices(ANSWERS[:2]) == "Say yes or no."
    assert spoken_choices([]) == ""


def test_the_urgent_reply_is_said_first() -> None:
    turn = [
        {"text": "disclaimer", "utter_action": "utter_disclaimer"},
        {"text": "urgent", "utter_action": "utter_urgent"},
    ]
    assert [m["text"] for m in urgent_first(turn)] == ["urgent", "disclaimer"]


def test_speech_hints_name_the_choices_and_person() -> None:
    assert speech_hints(ANSWERS[:2]) == "yes, no, person"
