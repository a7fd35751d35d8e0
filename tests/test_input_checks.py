"""What the NLU reads of a message (nlu_components/input_checks.py), without Rasa."""

from pathlib import Path
from typing import List

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from nlu_components.input_checks import MAX_READ_CHARS, LanguageCheck, clean, readable, words

TESTS = Path(__file__).resolve().parent
PROJECT_ROOT = TESTS.parent
DATA = TESTS / "data"


def english_messages() -> List[str]:
    """Every English message the tests hold: held-out NLU, urgent and screening sets."""
    found = [e.get("text") for e in load_data(str(DATA / "nlu_heldout.yml")).training_examples]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("text", "message") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                found.append(value) if isinstance(value, str) else walk(value)

    for name in ("urgent_cases.yml", "screening_cases.yml", "screening_cases_blind.yml"):
        walk(yaml.safe_load((DATA / name).read_text(encoding="utf-8")))
    return found


@pytest.fixture(scope="module")
def language() -> LanguageCheck:
    training = load_data(str(PROJECT_ROOT / "data" / "nlu")).training_examples
    return LanguageCheck({w for example in training for w in words(example.get("text") or "")})


def test_control_characters_and_broken_surrogates_are_dropped() -> None:
    assert clean("does\x00 it\x1b[31m hurt\ud800?") == "does  it [31m hurt ?"
    assert clean("line one\nline two\tend") == "line one\nline two\tend"
    assert clean(None) == "" and clean(42) == "42"


def test_a_long_message_is_read_on_a_bounded_prefix_cut_between_words() -> None:
    read = readable("does it hurt " * 2000)
    assert read.truncated and len(read.text) <= MAX_READ_CHARS
    assert read.text.endswith("hurt") or read.text.endswith("it") or read.text.endswith("does")
    assert not readable("does it hurt?").truncated


def test_a_message_without_letters_or_digits_has_no_words() -> None:
    assert not readable("🙂🙂🙂").has_words
    assert not readable(" \t\n ").has_words
    assert not readable("?!...").has_words
    assert readable("ok 👍").has_words


def test_no_english_message_of_the_test_sets_is_taken_for_another_language(
    language: LanguageCheck,
) -> None:
    messages = english_messages()
    assert len(messages) > 800
    flagged = [(m, language.other_language(m)) for m in messages if language.other_language(m)]
    assert flagged == []


def test_messages_in_other_languages_are_recognised(language: LanguageCheck) -> None:
    messages = yaml.safe_load((DATA / "other_languages.yml").read_text(encoding="utf-8"))[
        "messages"
    ]
    missed = [m for m in messages if not language.other_language(m)]
    recall = 1 - len(missed) / len(messages)
    print(
        f"other-language recall {recall:.2f} ({len(messages) - len(missed)}/{len(messages)}); "
        f"missed: {missed}"
    )
    assert recall >= 0.9, missed


def test_a_string_beyond_unicode_from_a_lenient_json_parser_reads_as_no_words() -> None:
    import ujson  # what sanic parses request bodies with

    broken = ujson.loads(b'{"m": "\x9e\xf5\xae\xf2\x91\xaa"}')["m"]
    with pytest.raises(ValueError):
        list(broken)
    assert readable(broken) == readable("")


@pytest.mark.parametrize(
    "mashing",
    [
        "asdkjh qwpoe zzxv",
        "lkjlkj poiu mnbv",
        "blah blah blah",
        "sdfgsdfg sdfgsdf sdfg",
        "qwerty asdf",
        "hmmm ok",
    ],
)
def test_keyboard_mashing_is_not_taken_for_another_language(
    mashing: str, language: LanguageCheck
) -> None:
    assert language.other_language(mashing) is None
