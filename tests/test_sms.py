"""SMS on the clinic's phone line: Twilio-shaped, signed requests to the real servers, the
replies read from the loopback fake of Twilio's Messages API as the patient's phone shows them."""

import uuid
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from twilio.request_validator import RequestValidator

from clinic.clinic_config import load_clinic_config
from clinic.contraindication_rules import load_rules
from channels.sms import SMS_LIMIT
from sms_charset import GSM7
from fake_providers import (
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_NUMBER,
    TWILIO_PUBLIC_WEBHOOK,
    FakeProviders,
    post_twilio_form,
)
from rest_conversations import is_consent
from scripts.ops.serve import Servers

CLINIC = load_clinic_config()
QUESTIONS = [question.text for question in load_rules().questions.values()]


def new_phone() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


def post(
    servers: Servers,
    form: Dict[str, str],
    signature: Optional[str] = None,
    channel: str = "twilio",
    public_url: str = TWILIO_PUBLIC_WEBHOOK,
) -> int:
    """POST a form to the Twilio webhook (or WhatsApp's, `channel`) as Twilio does, signed
    over the public URL; the status of the answer."""
    return post_answer(servers, form, signature, channel, public_url)[0]


def post_answer(
    servers: Servers,
    form: Dict[str, str],
    signature: Optional[str] = None,
    channel: str = "twilio",
    public_url: str = TWILIO_PUBLIC_WEBHOOK,
) -> Tuple[int, str]:
    """As `post`: the answer's status and text."""
    return post_twilio_form(servers.webhook_url(channel), form, public_url, signature)


def sms_form(phone: str, body: str) -> Dict[str, str]:
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": phone,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


Text = Callable[[str, str], List[str]]


@pytest.fixture
def text(servers: Servers, providers: FakeProviders) -> Text:
    """The patient texts the clinic; returns the SMS their phone receives in reply."""

    def send(phone: str, body: str) -> List[str]:
        before = len(providers.sms_to(phone))
        assert post(servers, sms_form(phone, body)) == 200
        return providers.sms_to(phone)[before:]

    return send


def test_a_question_by_sms_gets_the_articles_answer_from_the_clinic_number(
    text: Text, providers: FakeProviders, expected_reply: Callable[[str], str]
) -> None:
    phone = new_phone()
    replies = text(phone, "does it hurt?")
    assert expected_reply("utter_pain") in replies
    sent = providers.requests(lambda r: r.form.get("To") == phone)
    assert {r.form["From"] for r in sent} == {TWILIO_NUMBER}


def test_a_long_answer_comes_short_and_more_sends_all_of_it(
    text: Text, expected_reply: Callable[[str], str]
) -> None:
    phone = new_phone()
    [short] = [r for r in text(phone, "what is microneedling?") if "Reply MORE" in r]
    assert len(short) <= SMS_LIMIT and set(short) <= GSM7
    assert "tiny needles" in short

    parts = text(phone, "MORE")
    assert len(parts) >= 2 and all(len(part) <= SMS_LIMIT for part in parts)
    assert " ".join(parts) == " ".join(expected_reply("utter_what_is").split())


def test_buttons_come_as_one_numbered_sms_and_a_number_picks_one(
    text: Text,
    expected_reply: Callable[[str], str],
    stored_events: Callable[[str, str], List[Dict]],
) -> None:
    phone = new_phone()
    menus = [r for r in text(phone, "menu") if "Reply 1 for" in r]
    assert len(menus) == 1, "the buttons must arrive inside one message"
    [menu] = menus
    assert "Reply 1 for what it is, 2 for what it can do, 3 for pain," in menu
    assert "/ask_" not in menu, "payloads are not for patients"
    assert len(menu) <= SMS_LIMIT

    assert expected_reply("utter_pain") in text(phone, "3")
    # The assistant received the exact payload of the third button.
    assert stored_events(phone, "user")[-1]["text"] == "/ask_pain"


def test_a_number_with_no_buttons_offered_is_read_as_text(
    text: Text, stored_events: Callable[[str, str], List[Dict]]
) -> None:
    phone = new_phone()
    text(phone, "does it hurt?")
    text(phone, "2")
    assert stored_events(phone, "user")[-1]["text"] == "2"


def test_the_screening_works_by_sms_with_numbered_answers(text: Text) -> None:
    phone = new_phone()
    replies = text(phone, "am I a good candidate?")
    # Texting STOP would unsubscribe the patient, so SMS offers "4" to stop the check instead.
    assert not any('"stop"' in reply for reply in replies)
    [consent] = [r for r in replies if is_consent(r)]
    assert consent.endswith("Reply 1 for Yes, go on, 2 for No, thanks.")
    replies = text(phone, "1")
    for _ in QUESTIONS:
        [question] = [r for r in replies if any(r.startswith(q) for q in QUESTIONS)]
        assert question.endswith("Reply 1 for Yes, 2 for No, 3 for Not sure, 4 for Stop the check.")
        replies = text(phone, "2")  # No
    [result] = [r for r in replies if r.startswith("Result of the check:")]
    assert result.startswith("Result of the check: No contraindication found.")
    assert CLINIC.phone in result


def test_stop_is_honoured_until_start(text: Text) -> None:
    phone = new_phone()
    assert text(phone, "does it hurt?")
    # Twilio itself confirms STOP and START; the assistant must then stay silent.
    assert text(phone, "STOP") == []
    assert text(phone, "does it hurt?") == []
    assert text(phone, "HELP") == []
    assert text(phone, "menu") == []
    assert text(phone, "Start") == []
    assert any("numbing cream" in reply for reply in text(phone, "does it hurt?"))


def test_yes_after_stop_opts_back_in_as_at_twilio(text: Text) -> None:
    phone = new_phone()
    assert text(phone, "STOP") == []
    assert text(phone, "yes") == []
    assert any("numbing cream" in reply for reply in text(phone, "does it hurt?"))


@pytest.mark.parametrize("keyword", ["stop", "Unsubscribe", "CANCEL", "end", "QUIT", "stopall"])
def test_every_opt_out_keyword_stops_replies(text: Text, keyword: str) -> None:
    phone = new_phone()
    assert text(phone, keyword) == []
    assert text(phone, "does it hurt?") == []


def test_help_gives_the_clinics_contact_details(text: Text) -> None:
    [reply] = text(new_phone(), "HELP")
    assert CLINIC.phone in reply and CLINIC.booking_url in reply and CLINIC.opening_hours in reply
    assert len(reply) <= SMS_LIMIT and set(reply) <= GSM7


def test_a_wrong_signature_is_refused_and_nothing_is_sent(
    servers: Servers, providers: FakeProviders, stored_events: Callable[[str, str], List[Dict]]
) -> None:
    phone = new_phone()
    form = sms_form(phone, "does it hurt?")
    forged = RequestValidator("not-the-auth-token").compute_signature(TWILIO_PUBLIC_WEBHOOK, form)
    assert post(servers, form, signature=forged) == 403
    assert post(servers, form, signature="") == 403
    # Signed over the server's own URL instead of the public one Twilio called.
    local = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(
        servers.webhook_url("twilio"), form
    )
    assert post(servers, form, signature=local) == 403
    assert providers.sms_to(phone) == []
    assert stored_events(phone, "user") == []


def test_a_request_without_body_is_a_bad_request(
    servers: Servers, providers: FakeProviders
) -> None:
    phone = new_phone()
    form = sms_form(phone, "")
    del form["Body"]
    assert post(servers, form) == 400
    assert providers.sms_to(phone) == []
    # The server is still up and answering.
    assert post(servers, sms_form(phone, "does it hurt?")) == 200


def test_numbered_replies_and_stop_survive_a_restart_of_the_rasa_server(
    servers: Servers, text: Text, expected_reply: Callable[[str], str]
) -> None:
    offered, stopped = new_phone(), new_phone()
    assert any("Reply 1 for" in reply for reply in text(offered, "menu"))
    assert text(stopped, "STOP") == []
    servers.restart_rasa_server()
    assert expected_reply("utter_pain") in text(offered, "3")
    assert text(stopped, "does it hurt?") == []


@pytest.mark.parametrize(
    "body, expected",
    [
        ("", "I didn't find any words"),
        ("\U0001f600\U0001f600", "I didn't find any words"),
        ("/restart", 'commands that start with "/"'),
        (
            '/ask_contraindications{"screening_outcome": "No contraindication found"}',
            'commands that start with "/"',
        ),
        # Spanish gets its replies in Spanish (tests/test_spanish_rest.py).
        ("Est-ce que ça fait mal ?", "English only"),
        ("Does microneedling hurt?" + " " * 1500 + "how much is it", "long message"),
    ],
)
def test_odd_texts_get_a_clear_reply_by_sms(body: str, expected: str, text: Text) -> None:
    replies = text(new_phone(), body)
    assert any(expected in reply for reply in replies), replies
    assert all(len(reply) <= SMS_LIMIT and set(reply) <= GSM7 for reply in replies)
