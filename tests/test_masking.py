"""Masking emails, phone numbers and names in patients' messages (analytics/masking.py)."""

import pytest

from analytics.masking import mask


@pytest.mark.parametrize("text, expected", [
    ("email me at jane.doe+skin@example.co.uk please", "email me at [email] please"),
    ("JOHN_SMITH@Mail.com", "[email]"),
    ("my email is jane at gmail dot com", "my email is [email]"),
    ("reach me: jane(at)gmail(dot)com", "reach me: [email]"),
])
def test_emails_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("call me on 07700 900123", "call me on [phone]"),
    ("my number is +44 7700 900123.", "my number is [phone]."),
    ("(555) 010-2040 after 5pm", "[phone] after 5pm"),
    ("555.010.2040", "[phone]"),
    ("+1-555-010-2040 or 5550102041", "[phone] or [phone]"),
    ("text 0033 6 12 34 56 78", "text [phone]"),
    ("ring 5550102", "ring [phone]"),
    ("+44 (0) 7700 900123", "[phone]"),
])
def test_phone_numbers_in_common_formats_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "how long does it take, 3 to 4 weeks?",
    "is 2 sessions enough",
    "i had 3 treatments in 2023",
    "can i go in the sun after 48 hours",
    "how much does it cost for 1000 units",
])
def test_short_numbers_stay(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize("text, expected", [
    ("my name is jane and i have rosacea", "my name is [name] and i have rosacea"),
    ("Hi, my name is Mary Jane Watson, how much is it?", "Hi, my name is [name], how much is it?"),
    ("my names priya, do you take insurance", "my names [name], do you take insurance"),
    ("Hi I'm Jane Doe, does insurance cover it", "Hi I'm [name], does insurance cover it"),
    ("hello this is Tom from accounts", "hello this is [name] from accounts"),
    ("I am Anna. Can I bring my kid?", "I am [name]. Can I bring my kid?"),
    ("my doctor is Dr. Okafor, should i ask him", "my doctor is Dr. [name], should i ask him"),
    ("what does it cost? thanks, Jane", "what does it cost? thanks, [name]"),
    ("what does it cost?\nKind regards,\nJane Smith", "what does it cost?\nKind regards,\n[name]"),
    ("do you do botox -jane", "do you do botox -[name]"),
    ("message me @jane_d99", "message me [name]"),
])
def test_names_after_cues_and_in_signatures_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "I'm worried about the cost",
    "i'm not sure if i can afford it",
    "this is a question about botox",
    "I am on accutane, is that a problem",
    "thanks, that helps",
    "thank you so much",
    "thanks for the info!",
    "does it hurt - really",
    "It is painful?",
    "how much is a session",
])
def test_ordinary_questions_are_left_alone(text: str) -> None:
    assert mask(text) == text


def test_everything_at_once() -> None:
    text = "Hi, I'm Jane Doe (jane.doe@example.com, 07700 900123). Price? Thanks, Jane"
    assert mask(text) == "Hi, I'm [name] ([email], [phone]). Price? Thanks, [name]"
