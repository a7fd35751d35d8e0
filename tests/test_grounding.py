"""Every factual sentence the bot says about microneedling must come from the clinic's article."""

import hashlib
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from actions.article import ARTICLE_PATH as ARTICLE_COPY
from actions.article import article_sentences, normalise, ungrounded_sentences
from scripts.build_domain import SMS_MORE_PROMPT

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Responses that say nothing about microneedling itself: conversation and clinic contact.
EXEMPT = {
    "utter_greet",
    "utter_goodbye",
    "utter_you_are_welcome",
    "utter_disclaimer",
    "utter_message_truncated",
    "utter_typed_command",
    "utter_no_words",
    "utter_english_only",
    "utter_actions_unavailable",
    "utter_records_unavailable",
    "utter_capabilities",
    "utter_menu",
    "utter_cannot_answer",
    "utter_booking",
    "utter_human",
    "utter_screening_stopped",
    "utter_nothing_to_stop",
    "utter_answer_without_question",
    "utter_urgent",
    "utter_upset",
}


# SMS_MORE_PROMPT: the one sentence an SMS variant may add, the prompt for the full answer
# (channels/twilio.py); scripts/build_domain.py leaves it out of "what it does say" quotes.


def responses() -> Dict[str, List[str]]:
    """Every variant's text (web and SMS), the SMS prompt for the full answer left out."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {
        name: [variant["text"].replace(SMS_MORE_PROMPT, "").strip()
               for variant in variants if "text" in variant]
        for name, variants in domain["responses"].items()
    }


GROUNDED = sorted(name for name in responses() if name not in EXEMPT)


def test_the_committed_article_is_the_clinics_article() -> None:
    # SHA-256 of ../shared/article/microneedling.txt, the article as the clinic gave it.
    digest = hashlib.sha256(ARTICLE_COPY.read_bytes()).hexdigest()
    assert digest == "4a0bbb184e4a9ae59c21658fe32e671642788ae569152f88ea208a6bc924446e"


def test_every_topic_has_a_grounded_answer() -> None:
    assert len(GROUNDED) == 13, GROUNDED


def test_exempt_responses_exist() -> None:
    assert EXEMPT <= set(responses()), EXEMPT - set(responses())


@pytest.mark.parametrize("response", GROUNDED)
def test_response_sentences_come_from_the_article(response: str) -> None:
    for text in responses()[response]:
        ungrounded = ungrounded_sentences(text)
        assert not ungrounded, f"{response} says what the article does not: {ungrounded}"


def test_the_sms_more_prompt_is_what_the_sms_variants_say() -> None:
    domain = (PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8")
    assert domain.count("Reply MORE") == domain.count(SMS_MORE_PROMPT) > 0


@pytest.mark.parametrize(
    "sentence",
    [
        "Microneedling can cure acne scars in one session.",
        "You shouldn't get microneedling if you have eczema.",
        "Microneedling is painless.",
    ],
)
def test_invented_or_altered_sentences_are_caught(sentence: str) -> None:
    assert normalise(sentence) not in article_sentences()
