"""WhatsApp through Twilio (channels/whatsapp.py): Twilio-shaped, signed requests with
whatsapp: addresses to the real servers, the replies read from the loopback fake of Twilio's
Messages API as the patient's WhatsApp shows them."""

import asyncio
import sqlite3
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from twilio.request_validator import RequestValidator

from analytics.topics import channel_name, channel_of
from channels import sms
from channels.sms import SMS_LIMIT
from channels.whatsapp import WhatsAppInput
from clinic.clinic_config import load_clinic_config
from clinic.contraindication_rules import load_rules
from fake_providers import (
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_PUBLIC_WEBHOOK,
    TWILIO_WHATSAPP_NUMBER,
    WHATSAPP_PUBLIC_WEBHOOK,
    FakeProviders,
)
from rest_conversations import is_consent
from scripts.ops.serve import Servers
from sms_charset import non_gsm7
from staff.alert_message import email_subject
from staff.alert_rules import UNDELIVERED_URGENT
from staff.alert_store import Delivery
from test_sms import Text, new_phone, post, post_answer, sms_form, text  # noqa: F401
from test_sms_delivery import URGENT_TEXT, alerts_of, settled, wait_for_alert

CLINIC = load_clinic_config()
QUESTIONS = [question.text for question in load_rules().questions.values()]
CLINIC_ADDRESS = f"whatsapp:{TWILIO_WHATSAPP_NUMBER}"
ANSWER_LIST = "1. Yes\n2. No\n3. Not sure\n4. Stop the check\n\nReply with a number."


def address(phone: str) -> str:
    return f"whatsapp:{phone}"


def whatsapp_form(phone: str, body: str) -> Dict[str, str]:
    """The form Twilio posts for a WhatsApp message from `phone` to the clinic's sender."""
    return {
        **sms_form(address(phone), body),
        "To": CLINIC_ADDRESS,
        "ProfileName": "Pat",
        "WaId": phone.lstrip("+"),
    }


def post_whatsapp(servers: Servers, form: Dict[str, str], **signature: str) -> int:
    return post(servers, form, channel="whatsapp", public_url=WHATSAPP_PUBLIC_WEBHOOK, **signature)


@pytest.fixture
def whatsapp(servers: Servers, providers: FakeProviders) -> Text:
    """The patient writes to the clinic on WhatsApp; returns the messages WhatsApp shows them."""

    def send(phone: str, body: str) -> List[str]:
        before = len(providers.sms_to(address(phone)))
        assert post_whatsapp(servers, whatsapp_form(phone, body)) == 200
        return providers.sms_to(address(phone))[before:]

    return send


def alerts(servers: Servers, sender: str) -> List[tuple]:
    return [
        (a["reason"], a["channel"], a["callback_number"], a["message_text"])
        for a in alerts_of(servers, sender)
    ]


# --- The pure parts (channels/sms.py) ------------------------------------------------


def test_buttons_become_a_numbered_list_one_option_a_line() -> None:
    buttons = [{"title": "Yes", "payload": "yes"}, {"title": "Not sure?", "payload": "x"}]
    assert sms.with_button_list("Any rosacea?", buttons) == (
        "Any rosacea?\n\n1. Yes\n2. Not sure?\n\nReply with a number."
    )
    assert sms.with_button_list("Hi", []) == "Hi"


@pytest.mark.parametrize(
    "number, expected",
    [
        ("+14155238886", "whatsapp:+14155238886"),
        ("whatsapp:+14155238886", "whatsapp:+14155238886"),
        (" +442071838750 ", "whatsapp:+442071838750"),
        ("14155238886", None),
        ("+1 415 523 8886", None),
        ("whatsapp:", None),
        ("", None),
    ],
)
def test_whatsapp_addresses_are_e164_numbers(number: str, expected: object) -> None:
    assert sms.whatsapp_address(number) == expected


def test_only_a_whatsapp_from_is_a_whatsapp_sender() -> None:
    assert sms.is_whatsapp_address("whatsapp:+15550101234")
    assert not sms.is_whatsapp_address("+15550101234")
    assert not sms.is_whatsapp_address("whatsapp:+1555 0101")
    assert not sms.is_whatsapp_address("messenger:+15550101234")


def test_a_wrong_whatsapp_number_stops_start_up_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="TWILIO_WHATSAPP_NUMBER must be .* E.164"):
        WhatsAppInput.from_credentials(
            {"account_sid": "AC1", "auth_token": "t", "twilio_number": "0155 5010"}
        )
    with pytest.raises(ValueError, match="whatsapp channel needs twilio_number"):
        WhatsAppInput.from_credentials({"account_sid": "AC1", "auth_token": "t"})


def test_any_character_goes_out_as_it_is_and_only_beyond_1600_is_a_message_split(
    providers: FakeProviders, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'conversations.db'}")
    channel = WhatsAppInput(
        TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_NUMBER, api_base_url=providers.url
    )
    output = channel.get_output_channel()
    to = address(new_phone())
    accents = "Clínica Piel – “cita” confirmada ✓ 😊\n" + "One more sentence here. " * 50
    assert non_gsm7(accents) and 320 < len(accents) <= 1600
    asyncio.run(output.send_text_message(to, accents))
    assert providers.sms_to(to) == [accents], "sent whole, every character as written"
    long = "A sentence of a long answer. " * 70
    asyncio.run(output.send_text_message(to, long))
    parts = providers.sms_to(to)[1:]
    assert len(parts) == 2 and all(len(part) <= 1600 for part in parts)
    assert " ".join(parts) == long.strip()
    sent = providers.requests(lambda r: r.form.get("To") == to)
    assert {r.form["From"] for r in sent} == {CLINIC_ADDRESS}


# --- Against the real servers ------------------------------------------------------


def test_a_question_gets_the_full_answer_on_whatsapp_from_the_clinics_sender(
    whatsapp: Text, providers: FakeProviders, expected_reply: Callable[[str], str]
) -> None:
    phone = new_phone()
    replies = whatsapp(phone, "what is microneedling?")
    full = expected_reply("utter_what_is")
    # The web answer in the article's words, whole: longer than an SMS reply may be.
    assert full in replies and len(full) > SMS_LIMIT
    assert not any("Reply MORE" in reply for reply in replies)
    sent = providers.requests(lambda r: r.form.get("To") == address(phone))
    assert sent and {r.form["From"] for r in sent} == {CLINIC_ADDRESS}
    assert providers.sms_to(phone) == [], "nothing goes to the number by SMS"


def test_buttons_come_as_a_numbered_list_and_a_number_picks_one(
    whatsapp: Text,
    expected_reply: Callable[[str], str],
    stored_events: Callable[[str, str], List[Dict]],
) -> None:
    phone = new_phone()
    [menu] = [r for r in whatsapp(phone, "menu") if "\n1. " in r]
    assert "\n1. What is microneedling?\n2. What can it do?\n3. Does it hurt?\n" in menu
    assert menu.endswith("\n\nReply with a number.")
    assert "/ask_" not in menu, "payloads are not for patients"
    assert expected_reply("utter_pain") in whatsapp(phone, "3")
    assert stored_events(address(phone), "user")[-1]["text"] == "/ask_pain"


def test_the_screening_works_on_whatsapp_with_numbered_answers(whatsapp: Text) -> None:
    phone = new_phone()
    replies = whatsapp(phone, "am I a good candidate?")
    # Sending STOP opts out on WhatsApp too, so the check offers "4" instead of "stop".
    assert not any('"stop"' in reply for reply in replies)
    [consent] = [r for r in replies if is_consent(r)]
    assert consent.endswith("\n\n1. Yes, go on\n2. No, thanks\n\nReply with a number.")
    replies = whatsapp(phone, "1")
    for _ in QUESTIONS:
        [question] = [r for r in replies if any(r.startswith(q) for q in QUESTIONS)]
        assert question.endswith("\n\n" + ANSWER_LIST)
        replies = whatsapp(phone, "2")  # No
    [result] = [r for r in replies if r.startswith("Result of the check:")]
    assert result.startswith("Result of the check: No contraindication found.")
    assert CLINIC.phone in result


def test_an_urgent_message_gets_the_urgent_reply_and_a_staff_alert_naming_whatsapp(
    whatsapp: Text, servers: Servers, expected_reply: Callable[[str], str]
) -> None:
    phone = new_phone()
    assert expected_reply("utter_urgent") in whatsapp(phone, URGENT_TEXT)
    [alert] = alerts_of(servers, address(phone))
    assert (alert["reason"], alert["channel"], alert["callback_number"]) == (
        "urgent",
        "whatsapp",
        None,
    )
    fields = ("key", "sender_id", "reason", "channel", "created_at", "callback_number")
    delivery = Delivery(1, "email", 0, alert["id"], *(alert[f] for f in fields), None)
    assert email_subject(delivery, CLINIC.name).endswith("(WhatsApp)")


def test_the_alert_carries_the_number_only_when_the_patient_agreed_to_a_call(
    whatsapp: Text, servers: Servers
) -> None:
    phone = new_phone()
    replies = whatsapp(phone, "can I talk to a real person please")
    assert any("call you back on this number" in reply for reply in replies), replies
    assert any("call you back on this number" in r for r in whatsapp(phone, "YES"))
    assert alerts(servers, address(phone)) == [
        ("requested", "whatsapp", None, None),
        ("callback", "whatsapp", phone, None),  # a number staff can dial
    ]
    declined = new_phone()
    whatsapp(declined, "can I talk to a real person please")
    assert any(r.startswith("OK, nobody will call.") for r in whatsapp(declined, "no"))
    assert alerts(servers, address(declined)) == [("requested", "whatsapp", None, None)]


def test_the_whatsapp_conversation_is_not_the_same_numbers_sms_conversation(
    whatsapp: Text,
    text: Text,  # noqa: F811 (the SMS fixture)
    stored_events: Callable[[str, str], List[Dict]],
) -> None:
    phone = new_phone()
    assert any("1. What is microneedling?" in r for r in whatsapp(phone, "menu"))
    # By SMS no buttons were offered, so "3" is read as text there, not as a pick.
    text(phone, "3")
    assert stored_events(phone, "user")[-1]["text"] == "3"
    assert [e["text"] for e in stored_events(address(phone), "user")] == ["menu"]
    # The report counts it under WhatsApp.
    assert {channel_name(channel_of(e)) for e in stored_events(address(phone), "user")} == {
        "WhatsApp"
    }


def test_stop_is_confirmed_and_honoured_until_start(
    whatsapp: Text,
    text: Text,  # noqa: F811 (the SMS fixture)
) -> None:
    phone = new_phone()
    assert whatsapp(phone, "does it hurt?")
    # Twilio confirms STOP only by SMS: on WhatsApp the assistant says it, once.
    [stopped] = whatsapp(phone, "STOP")
    assert "won't get any more messages" in stopped and "START" in stopped
    assert whatsapp(phone, "does it hurt?") == []
    assert whatsapp(phone, "HELP") == []
    assert any("numbing cream" in reply for reply in text(phone, "does it hurt?")), (
        "STOP on WhatsApp does not stop the number's SMS"
    )
    [started] = whatsapp(phone, "Start")
    assert started.startswith("Welcome back")
    assert any("numbing cream" in reply for reply in whatsapp(phone, "does it hurt?"))


def test_help_gives_the_clinics_contact_details(whatsapp: Text) -> None:
    [reply] = whatsapp(new_phone(), "HELP")
    assert CLINIC.phone in reply and CLINIC.booking_url in reply and CLINIC.opening_hours in reply
    assert "Send DELETE" in reply


def test_a_forged_signature_is_refused_and_nothing_is_sent(
    servers: Servers, providers: FakeProviders, stored_events: Callable[[str, str], List[Dict]]
) -> None:
    phone = new_phone()
    form = whatsapp_form(phone, "does it hurt?")
    forged = RequestValidator("not-the-auth-token").compute_signature(WHATSAPP_PUBLIC_WEBHOOK, form)
    assert post_whatsapp(servers, form, signature=forged) == 403
    assert post_whatsapp(servers, form, signature="") == 403
    # Signed for the SMS webhook's URL: Twilio signs the URL it called.
    sms_signed = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(TWILIO_PUBLIC_WEBHOOK, form)
    assert post_whatsapp(servers, form, signature=sms_signed) == 403
    assert providers.sms_to(address(phone)) == []
    assert stored_events(address(phone), "user") == []


@pytest.mark.parametrize("sender", ["{phone}", "whatsapp:{phone}x", "whatsapp:", "sms:{phone}"])
def test_a_message_from_no_whatsapp_address_is_refused_clearly(
    servers: Servers,
    providers: FakeProviders,
    stored_events: Callable[[str, str], List[Dict]],
    sender: str,
) -> None:
    phone = new_phone()
    form = {**whatsapp_form(phone, "does it hurt?"), "From": sender.format(phone=phone)}
    status, answer = post_answer(servers, form, None, "whatsapp", WHATSAPP_PUBLIC_WEBHOOK)
    assert (status, answer) == (
        400,
        "The WhatsApp webhook takes WhatsApp messages only (From=whatsapp:+<number>); "
        "SMS goes to /webhooks/twilio/webhook.",
    )
    assert stored_events(form["From"], "user") == []
    assert providers.requests(lambda r: phone in r.form.get("To", "")) == []


def test_a_whatsapp_message_on_the_sms_webhook_is_refused_clearly(
    servers: Servers, providers: FakeProviders
) -> None:
    phone = new_phone()
    status, answer = post_answer(servers, whatsapp_form(phone, "does it hurt?"))
    assert status == 400 and "/webhooks/whatsapp/webhook" in answer
    assert providers.requests(lambda r: phone in r.form.get("To", "")) == []


def test_a_request_without_body_is_a_bad_request_and_the_server_goes_on(
    servers: Servers, whatsapp: Text
) -> None:
    phone = new_phone()
    form = whatsapp_form(phone, "")
    del form["Body"]
    assert post_whatsapp(servers, form) == 400
    assert whatsapp(phone, "does it hurt?")


def test_twilio_retrying_a_message_gets_it_answered_once(
    servers: Servers, providers: FakeProviders, expected_reply: Callable[[str], str]
) -> None:
    phone = new_phone()
    question, help_, stop = (whatsapp_form(phone, m) for m in ("does it hurt?", "HELP", "STOP"))
    # Each as Twilio sends it again when our answer was late: the same MessageSid.
    for form in (question, question, help_, help_, stop, stop):
        assert post_whatsapp(servers, form) == 200
    received = settled(providers, address(phone), 3)
    assert received.count(expected_reply("utter_pain")) == 1
    assert len([r for r in received if CLINIC.booking_url in r and "Send DELETE" in r]) == 1
    assert len([r for r in received if "won't get any more messages" in r]) == 1


def test_a_reply_twilio_refused_for_a_while_is_delivered_once_in_order(
    servers: Servers, providers: FakeProviders
) -> None:
    phone = new_phone()
    providers.fail_twilio(address(phone), times=2, status=503)
    assert post_whatsapp(servers, whatsapp_form(phone, URGENT_TEXT)) == 200
    received = settled(providers, address(phone), 1)
    assert len(received) == len(set(received)) >= 1
    assert any("urgent medical attention" in r for r in received)
    assert [a["reason"] for a in alerts_of(servers, address(phone))] == ["urgent"]


def test_an_urgent_reply_that_cannot_be_delivered_raises_an_alert_naming_whatsapp(
    servers: Servers, providers: FakeProviders
) -> None:
    phone = new_phone()
    providers.fail_twilio(address(phone), times=100, status=400)
    assert post_whatsapp(servers, whatsapp_form(phone, URGENT_TEXT)) == 200
    [alert] = wait_for_alert(servers, address(phone), UNDELIVERED_URGENT, 15)
    assert (alert["channel"], alert["callback_number"]) == ("whatsapp", None)


def test_the_outbox_keeps_no_whatsapp_address(servers: Servers, whatsapp: Text) -> None:
    phone = new_phone()
    assert whatsapp(phone, "does it hurt?")
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT * FROM sms_outbox").fetchall()
    assert rows and not any(phone.lstrip("+") in str(row) for row in rows)
