"""What an SMS carries: the domain's SMS variants, numbered buttons, keywords and parts."""

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from clinic.answers import with_article_answers
from clinic.clinic_config import load_clinic_config
from channels import sms
from sms_charset import SPANISH_UCS2, non_gsm7

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SLOTS = {**load_clinic_config().as_slots(), "patient_language": "French"}
# domain.yml's responses and the article's answers built from the article (knowledge/answers.yml).
RESPONSES: Dict[str, List[Dict[str, Any]]] = with_article_answers(
    yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
)["responses"]
MARKDOWN = re.compile(r"\*\*|__|\[[^\]]*\]\(|^#|^\s*[*-] |`", re.MULTILINE)


def web_text(name: str) -> str:
    [web] = [v for v in RESPONSES[name] if not v.get("channel") and not v.get("condition")]
    return web["text"].format(**SLOTS)


def in_spanish(variant: Dict[str, Any]) -> bool:
    return {"type": "slot", "name": "patient_language", "value": "Spanish"} in (
        variant.get("condition") or []
    )


def as_sms(variant: Dict[str, Any]) -> str:
    """The SMS a patient receives for a variant: text and numbered buttons, clinic details filled in."""
    return sms.with_numbered_buttons(variant["text"].format(**SLOTS), variant.get("buttons") or [])


SMS_VARIANTS = [
    (name, v)
    for name, variants in RESPONSES.items()
    for v in variants
    if v.get("channel") == "twilio"
]


@pytest.mark.parametrize("name, variant", SMS_VARIANTS, ids=[n for n, _ in SMS_VARIANTS])
def test_every_sms_variant_is_short_plain_gsm7(name: str, variant: Dict[str, Any]) -> None:
    text = as_sms(variant)
    assert len(text) <= sms.SMS_LIMIT, f"{name} is {len(text)} characters by SMS"
    outside = set(non_gsm7(text)) - (SPANISH_UCS2 if in_spanish(variant) else set())
    assert not outside, f"{name} has non-GSM-7 characters {sorted(outside)}"
    assert not MARKDOWN.search(text), f"{name} uses markdown"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_web_answer_too_long_or_not_plain_for_sms_has_an_sms_variant(name: str) -> None:
    for web in [v for v in RESPONSES[name] if not v.get("channel")]:
        allowed = SPANISH_UCS2 if in_spanish(web) else set()
        long_or_odd = len(as_sms(web)) > sms.SMS_LIMIT or set(non_gsm7(as_sms(web))) - allowed
        if long_or_odd or MARKDOWN.search(web["text"]):
            assert any(
                v.get("channel") == "twilio" and v.get("condition") == web.get("condition")
                for v in RESPONSES[name]
            ), f"{name} is too long or not plain GSM-7 for SMS and has no `channel: twilio` variant"


@pytest.mark.parametrize("name, variant", SMS_VARIANTS, ids=[n for n, _ in SMS_VARIANTS])
def test_reply_more_is_only_offered_when_there_is_more(name: str, variant: Dict[str, Any]) -> None:
    if "Reply MORE" in variant["text"]:
        assert len(web_text(name)) > len(variant["text"].format(**SLOTS))


def test_sms_menu_offers_the_web_menus_payloads() -> None:
    web, sms_menu = (
        [v.get("buttons") for v in RESPONSES["utter_menu"] if bool(v.get("channel")) is c]
        for c in (False, True)
    )
    assert [b["payload"] for b in sms_menu[0]] == [b["payload"] for b in web[0]]


def test_help_is_one_short_sms_with_the_clinics_details() -> None:
    clinic = load_clinic_config()
    text = sms.help_text(clinic)
    assert clinic.phone in text and clinic.booking_url in text and clinic.emergency_number in text
    assert len(text) <= sms.SMS_LIMIT and not non_gsm7(text)


@pytest.mark.parametrize(
    "body, stopped, expected",
    [
        ("STOP", False, sms.STOP),
        (" stop ", False, sms.STOP),
        ("Stop.", False, sms.STOP),
        ("unsubscribe", False, sms.STOP),
        ("cancel", False, sms.STOP),
        ("END", False, sms.STOP),
        ("quit", False, sms.STOP),
        ("STOPALL", False, sms.STOP),
        ("start", True, sms.START),
        ("UNSTOP", True, sms.START),
        ("yes", True, sms.START),
        ("yes", False, None),
        ("help", False, sms.HELP),
        ("Info", False, sms.HELP),
        ("more", False, sms.MORE),
        ("please stop texting me about it", False, None),
        ("does it hurt?", False, None),
    ],
)
def test_keywords_are_whole_messages(body: str, stopped: bool, expected: str) -> None:
    assert sms.keyword(body, stopped) == expected


BUTTONS = [{"title": "Yes", "payload": "yes"}, {"title": "What is it?", "payload": "/ask_what_is"}]


def test_buttons_become_one_numbered_line() -> None:
    assert (
        sms.with_numbered_buttons("Do you?", BUTTONS)
        == "Do you?\nReply 1 for Yes, 2 for What is it."
    )
    assert sms.with_numbered_buttons("Hi", []) == "Hi"


@pytest.mark.parametrize(
    "body, payload",
    [
        ("1", "yes"),
        (" 2 ", "/ask_what_is"),
        ("2.", "/ask_what_is"),
        ("3", None),
        ("0", None),
        ("one", None),
        ("12", None),
    ],
)
def test_a_number_picks_the_offered_button(body: str, payload: str) -> None:
    assert sms.chosen_payload(body, BUTTONS) == payload


def test_only_the_latest_bot_turn_offers_buttons() -> None:
    offered = {"event": "bot", "text": "Do you?", "data": {"buttons": BUTTONS}}
    answer = {
        "event": "bot",
        "text": "Reply MORE for the full answer.",
        "data": {},
        "metadata": {"utter_action": "utter_what_is"},
    }
    user = {"event": "user", "text": "1"}
    assert sms.offered_buttons([user, offered, {"event": "action"}]) == BUTTONS
    assert sms.offered_buttons([offered, user, answer]) == []
    assert sms.answer_to_expand([offered, user, answer]) == "utter_what_is"
    assert sms.answer_to_expand([answer, user, offered]) is None


def test_long_text_splits_at_sentence_ends_within_the_limit() -> None:
    text = web_text("utter_contraindications")
    parts = sms.split_message(text)
    assert len(parts) == 2 and all(len(p) <= sms.SMS_LIMIT for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == " ".join(text.split())
    assert sms.split_message("word " * 100, 50) == ["word " * 9 + "word"] * 10


def test_gsm7_check_finds_what_a_phone_cannot_show_in_gsm7() -> None:
    assert non_gsm7("Don\u2019t \U0001f600 \u201cquoted\u201d") == [
        "\u2019",
        "\u201c",
        "\u201d",
        "\U0001f600",
    ]
    assert non_gsm7('Plain "text" @ 9am, 50% & more: {ok}') == []
