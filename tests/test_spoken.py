"""What the phone line says: numbers as words, short replies, the clinic's hours aloud."""

import pytest

from clinic.clinic_config import load_clinic_config, parse_clinic_config
from clinic.spoken import (
    PHONE_LINE_PHRASES,
    VoiceTextsError,
    dial_number,
    digit_by_digit,
    first_sentences,
    number_words,
    parse_voice_texts,
    said_aloud,
    spoken_hours,
    spoken_slots,
    spoken_slots_es,
    voice_problems,
)

CLINIC = load_clinic_config()


@pytest.mark.parametrize(
    "number, words",
    [(0, "zero"), (7, "seven"), (13, "thirteen"), (30, "thirty"), (42, "forty-two"),
     (100, "one hundred"), (365, "three hundred sixty-five")],
)  # fmt: skip
def test_numbers_in_words(number: int, words: str) -> None:
    assert number_words(number) == words


def test_phone_numbers_are_said_digit_by_digit_in_their_groups() -> None:
    assert digit_by_digit("911") == "nine one one"
    assert (
        digit_by_digit("+1 555 010 2040")
        == "plus one, five five five, zero one zero, two zero four zero"
    )
    assert (
        digit_by_digit("(020) 7946-0000")
        == "zero two zero, seven nine four six, zero zero zero zero"
    )


def test_numbers_said_in_spanish() -> None:
    assert digit_by_digit("911", spanish=True) == "nueve uno uno"
    assert (
        digit_by_digit("+1 555 010 2040", spanish=True)
        == "más uno, cinco cinco cinco, cero uno cero, dos cero cuatro cero"
    )


def test_the_dialled_number_has_only_digits_and_plus() -> None:
    assert dial_number("+1 555 010 2040") == "+15550102040"


def test_the_committed_hours_aloud() -> None:
    assert spoken_hours(CLINIC.opening_times) == (
        "Monday to Friday, nine in the morning to six in the evening, "
        "and Saturday, nine in the morning to one in the afternoon"
    )


def test_hours_with_minutes_and_gaps_aloud() -> None:
    raw = {
        "clinic": {
            **CLINIC.as_slots(),
            "time_zone": "Europe/London",
            "opening_times": {"monday": "08:30-12:00", "wednesday": "13:05-24:00"},
        }
    }
    raw["clinic"] = {key.removeprefix("clinic_"): value for key, value in raw["clinic"].items()}
    assert spoken_hours(parse_clinic_config(raw).opening_times) == (
        "Monday, eight thirty in the morning to midday, "
        "and Wednesday, one oh five in the afternoon to midnight"
    )


def test_the_clinics_details_as_the_phone_line_says_them() -> None:
    slots = spoken_slots(CLINIC)
    assert slots["clinic_emergency_number"] == "nine one one"
    assert slots["clinic_retention_days"] == "thirty"
    assert slots["clinic_booking_url"] == "our website"
    assert all(not voice_problems(value) for value in slots.values())
    # The Spanish text replies' hours are written with digits: never a spoken slot.
    assert "clinic_opening_hours_es" not in slots


def test_the_clinics_details_as_the_spanish_replies_say_them() -> None:
    slots = spoken_slots_es(CLINIC)
    assert slots["clinic_emergency_number"] == "nueve uno uno"
    assert slots["clinic_phone"].startswith("más uno, cinco cinco cinco")
    assert slots["clinic_privacy_url"] == "nuestra web"
    assert "clinic_opening_hours" not in slots and "clinic_opening_hours_es" not in slots
    assert all(not voice_problems(value) for value in slots.values())


def test_a_spanish_voice_text_that_breaks_the_rules_stops_the_build() -> None:
    raw = {
        "responses": {"utter_x": "Hello."},
        "phone_line": {key: "Fine." for key in PHONE_LINE_PHRASES},
        "responses_es": {
            "utter_urgent": "Llame al {clinic_emergency_number}.",
            "utter_disclaimer": "Horario: {clinic_opening_hours}.",
            "utter_english_only": "Llame al 911.",
        },
    }
    with pytest.raises(VoiceTextsError) as error:
        parse_voice_texts(raw, CLINIC)
    message = str(error.value)
    assert "responses_es.utter_disclaimer: a clinic detail left unfilled" in message
    assert "responses_es.utter_english_only: digits" in message
    assert "utter_urgent" not in message


def test_an_answer_is_cut_to_its_first_two_sentences() -> None:
    assert first_sentences("One. Two! Three?") == "One. Two!"
    long_first = "A" * 200 + "."
    assert first_sentences(f"{long_first} {'B' * 100}.") == long_first


@pytest.mark.parametrize(
    "text, problem",
    [
        ("One. Two. Three.", "3 sentences"),
        ("Call 911 now.", "digits"),
        ("Book at https://example.com/book now.", "a web address"),
        ("Call {clinic_phone}.", "a clinic detail left unfilled"),
        ("  ", "nothing to say"),
    ],
)
def test_what_breaks_the_rules_is_named(text: str, problem: str) -> None:
    assert any(problem in found for found in voice_problems(text))


def test_a_voice_text_that_breaks_the_rules_stops_the_build() -> None:
    raw = {
        "responses": {"utter_x": "Call {clinic_booking_url}. Or 555. Or not. Or yes."},
        "phone_line": {"connecting": "a", "reprompt": "b"},
    }
    with pytest.raises(VoiceTextsError) as error:
        parse_voice_texts(raw, CLINIC)
    message = str(error.value)
    assert "responses.utter_x: 4 sentences" in message and "digits" in message
    assert "phone_line: missing goodbye, opted_out, closed" in message


def test_a_reply_not_written_for_the_phone_is_made_fit_to_hear() -> None:
    result = (
        "Result of the check: No contraindication found.\n"
        "- Nothing you told me matches the conditions our article lists.\n"
        f"To talk it through, call {CLINIC.name} on {CLINIC.phone} ({CLINIC.opening_hours}) "
        f"or book a consultation at {CLINIC.booking_url}. In an emergency call 911."
    )
    said = said_aloud(result, CLINIC)
    # Longer than two sentences (the check's reasons are all said), but nothing to misread.
    assert [problem for problem in voice_problems(said) if "sentences" not in problem] == []
    assert "\n" not in said and "- Nothing" not in said
    assert f"call {CLINIC.name} on plus one, five five five" in said
    assert "book a consultation at our website. In an emergency call nine one one." in said
    assert said_aloud("Say yes or no.", CLINIC) == "Say yes or no."
