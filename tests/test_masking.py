"""Masking emails, phone numbers and names in patients' messages (analytics/masking.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from analytics.masking import mask


@pytest.mark.parametrize(
    "text, expected",
    [
        ("email me at jane.doe+skin@example.co.uk please", "email me at [email] please"),
        ("JOHN_SMITH@Mail.com", "[email]"),
        ("my email is jane at gmail dot com", "my email is [email]"),
        ("reach me: jane(at)gmail(dot)com", "reach me: [email]"),
    ],
)
def test_emails_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call me on 07700 900123", "call me on [phone]"),
        ("my number is +44 7700 900123.", "my number is [phone]."),
        ("(555) 010-2040 after 5pm", "[phone] after 5pm"),
        ("555.010.2040", "[phone]"),
        ("+1-555-010-2040 or 5550102041", "[phone] or [phone]"),
        ("text 0033 6 12 34 56 78", "text [phone]"),
        ("ring 5550102", "ring [phone]"),
        ("+44 (0) 7700 900123", "[phone]"),
    ],
)
def test_phone_numbers_in_common_formats_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "how long does it take, 3 to 4 weeks?",
        "is 2 sessions enough",
        "i had 3 treatments in 2023",
        "can i go in the sun after 48 hours",
        "how much does it cost for 1000 units",
    ],
)
def test_short_numbers_stay(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my name is jane and i have rosacea", "my name is [name] and i have rosacea"),
        (
            "Hi, my name is Mary Jane Watson, how much is it?",
            "Hi, my name is [name], how much is it?",
        ),
        ("my names priya, do you take insurance", "my names [name], do you take insurance"),
        ("Hi I'm Jane Doe, does insurance cover it", "Hi I'm [name], does insurance cover it"),
        ("hello this is Tom from accounts", "hello this is [name] from accounts"),
        ("I am Anna. Can I bring my kid?", "I am [name]. Can I bring my kid?"),
        ("my doctor is Dr. Okafor, should i ask him", "my doctor is Dr. [name], should i ask him"),
        ("what does it cost? thanks, Jane", "what does it cost? thanks, [name]"),
        (
            "what does it cost?\nKind regards,\nJane Smith",
            "what does it cost?\nKind regards,\n[name]",
        ),
        ("do you do botox -jane", "do you do botox -[name]"),
        ("message me @jane_d99", "message me [name]"),
    ],
)
def test_names_after_cues_and_in_signatures_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
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
    ],
)
def test_ordinary_questions_are_left_alone(text: str) -> None:
    assert mask(text) == text


def test_everything_at_once() -> None:
    text = "Hi, I'm Jane Doe (jane.doe@example.com, 07700 900123). Price? Thanks, Jane"
    assert mask(text) == "Hi, I'm [name] ([email], [phone]). Price? Thanks, [name]"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("see https://www.example.com/profile?id=4821&name=jane", "see [link]"),
        ("my page http://example.org/~jane.doe.", "my page [link]."),
        ("is www.janes-skin-blog.com/about legit?", "is [link] legit?"),
        (
            "photos at instagram.com/jane.doe99 and facebook.com/profile.php?id=100",
            "photos at [link] and [link]",
        ),
        ("booked via clinic.co.uk?ref=jane_d", "booked via [link]"),
        ("is Janesblog.com yours", "is [link] yours"),
        ("write to jane at gmail.com", "write to [email]"),
    ],
)
def test_web_addresses_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "is 1.5/10 pain normal",
        "does it help e.g. with scars",
        "is it and/or better than a peel",
    ],
)
def test_things_that_only_look_like_addresses_stay(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a" * 5000 + " write to jane@example.com", "a" * 5000 + " write to [email]"),
        ("x." * 3000 + " jane at gmail dot com", "x." * 3000 + " [email]"),
        ("1 " * 3 + "a " * 3000 + "07700 900123", "1 " * 3 + "a " * 3000 + "[phone]"),
        ("thanks " * 2000 + "Jane", "thanks " * 2000 + "[name]"),
    ],
    ids=[
        "email after letters",
        "spelled email after dots",
        "phone after words",
        "name after thanks",
    ],
)
def test_masking_still_finds_what_follows_a_long_run(text: str, expected: str) -> None:
    assert mask(text) == expected


ADVERSARIAL_CHARS = 200_000
# Inputs on which a backtracking pattern costs time growing with the square (or more) of
# the length; each is checked at ADVERSARIAL_CHARS characters.
ADVERSARIAL = {
    "letters": "a",
    "digits": "7",
    "dotted letters": "a.",
    "dashed letters": "a-",
    "dotted digits": "1.",
    "digits with spaces": "1 ",
    "at signs": "@",
    "letter-at chains": "a@",
    "at words": "x-at-",
    "spaced at words": "x at ",
    "dot words": "a dot ",
    "spaces": " ",
    "thanks chains": "thanks, ",
    "thank chains": "thank ",
    "name cues": "my name is ",
    "weak cues": "I'm Jane ",
    "dash sign-offs": " - a",
    "sign-off dots": "thanks Jane . ",
    "brackets and digits": "(1)",
    "open brackets": "(1",
    "address-like": "a.b/",
    "host-like": "ab.",
    "www runs": "www.",
    "schemes": "a:/",
}
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_masking_a_long_adversarial_message_finishes(name: str) -> None:
    """Before masking was made linear, 20,000 characters of some of these took minutes."""
    unit = ADVERSARIAL[name]
    text = unit * (ADVERSARIAL_CHARS // len(unit)) + "x"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from analytics.masking import mask; mask(sys.stdin.read())",
        ],
        input=text,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
