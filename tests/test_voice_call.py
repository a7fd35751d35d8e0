"""The phone line by voice: Twilio-shaped, signed voice webhooks posted to the real servers,
and the TwiML they answer read as what the caller would hear."""

import re
import sqlite3
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml
from twilio.request_validator import RequestValidator

from clinic.article import sentences
from clinic.clinic_config import load_clinic_config
from clinic.spoken import dial_number, digit_by_digit, spoken_hours
from fake_providers import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_NUMBER
from fake_providers import TWILIO_PUBLIC_WEBHOOK, TWILIO_VOICE_PUBLIC_WEBHOOK, post_twilio_form
from scripts.ops.serve import Servers
from server_logs import log_sizes, logged_since

CLINIC = load_clinic_config()
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# In the clinic's time zone (America/New_York): a Monday morning, a Saturday afternoon.
OPEN = "2026-12-07T10:00:00-05:00"
CLOSED_SATURDAY = "2026-12-12T14:30:00-05:00"


@dataclass
class Heard:
    """A TwiML answer as the caller hears it."""

    status: int
    body: str
    said: List[str]  # every <Say>, in order
    voices: List[Tuple[Optional[str], Optional[str]]]  # each <Say>'s voice and language
    gather: Optional[ElementTree.Element]
    dialled: Optional[str]
    hung_up: bool


def voice_variant(response: str, spanish: bool = False) -> str:
    """The phone line's text of a response (or of its Spanish variation), as the built
    domain has it."""
    domain = yaml.safe_load((PROJECT_ROOT / "build/domain/domain.yml").read_text(encoding="utf-8"))
    [variant] = [
        v
        for v in domain["responses"][response]
        if v.get("channel") == "twilio_voice" and bool(v.get("condition")) == spanish
    ]
    return str(variant["text"])


def new_caller() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


def post(
    servers: Servers,
    form: Dict[str, str],
    signature: Optional[str] = None,
    query: str = "",
    channel: str = "twilio_voice",
    headers: Optional[Dict[str, str]] = None,
) -> Tuple[int, str]:
    """POST a form to the voice (or SMS) webhook as Twilio does, signed over the public URL."""
    public = TWILIO_VOICE_PUBLIC_WEBHOOK if channel == "twilio_voice" else TWILIO_PUBLIC_WEBHOOK
    suffix = f"?{query}" if query else ""
    return post_twilio_form(
        servers.webhook_url(channel) + suffix, form, public + suffix, signature, headers
    )


def heard(status: int, body: str) -> Heard:
    if status != 200:
        return Heard(status, body, [], [], None, None, False)
    root = ElementTree.fromstring(body)
    assert root.tag == "Response", body
    dial = root.find("Dial")
    return Heard(
        status,
        body,
        [" ".join((say.text or "").split()) for say in root.iter("Say")],
        [(say.get("voice"), say.get("language")) for say in root.iter("Say")],
        root.find("Gather"),
        (dial.text or "").strip() if dial is not None else None,
        root.find("Hangup") is not None,
    )


def call_form(caller: str, call_sid: str, **fields: str) -> Dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": caller,
        "To": TWILIO_NUMBER,
        "Direction": "inbound",
        "CallStatus": "in-progress",
        **fields,
    }


class Call:
    """One caller's call to the clinic's number."""

    def __init__(self, servers: Servers, caller: Optional[str] = None) -> None:
        self.servers = servers
        self.caller = caller or new_caller()
        self.sid = "CA" + uuid.uuid4().hex

    def ring(self) -> Heard:
        return heard(*post(self.servers, call_form(self.caller, self.sid, CallStatus="ringing")))

    def say(self, speech: str, query: str = "") -> Heard:
        form = call_form(self.caller, self.sid, SpeechResult=speech, Confidence="0.9")
        return heard(*post(self.servers, form, query=query))

    def silence(self, query: str = "") -> Heard:
        return heard(*post(self.servers, call_form(self.caller, self.sid), query=query))


Clock = Callable[[str], None]


@pytest.fixture
def clock(servers: Servers) -> Iterator[Clock]:
    """Sets the phone line's clock (its TWILIO_VOICE_CLOCK_FILE) for the opening hours."""
    path = Path(servers.env["TWILIO_VOICE_CLOCK_FILE"])

    def set_time(iso: str) -> None:
        path.write_text(iso, encoding="utf-8")

    yield set_time
    path.unlink(missing_ok=True)


def staff_alerts(servers: Servers, caller: str) -> List[Tuple[str, str]]:
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT reason, channel FROM staff_alerts WHERE sender_id = ? ORDER BY id", (caller,)
        ).fetchall()


def test_a_call_is_answered_with_the_greeting_and_a_speech_gather(servers: Servers) -> None:
    answer = Call(servers).ring()
    assert answer.status == 200 and answer.gather is not None
    assert answer.gather.get("input") == "speech"
    # Twilio posts the caller's words back to the public URL it signs.
    assert answer.gather.get("action") == TWILIO_VOICE_PUBLIC_WEBHOOK
    assert answer.gather.get("actionOnEmptyResult") == "true"
    spoken = " ".join(answer.said)
    assert voice_variant("utter_greet") in answer.said
    assert 'say "person" to be connected' in spoken
    assert f"call {digit_by_digit(CLINIC.emergency_number)}" in spoken  # the disclaimer
    # Everything is said inside the Gather: the caller can answer at once.
    assert [say.text for say in answer.gather.iter("Say")] == [
        say.text for say in ElementTree.fromstring(answer.body).iter("Say")
    ]


def test_a_question_gets_the_short_spoken_answer(servers: Servers) -> None:
    call = Call(servers)
    call.ring()
    answer = call.say("What is microneedling?")
    assert answer.gather is not None and answer.dialled is None
    assert answer.said == [voice_variant("utter_what_is")]
    assert len(sentences(answer.said[0])) <= 2
    assert answer.said[0].startswith("Microneedling is a skin care treatment")


def test_the_call_is_the_callers_number_and_its_logs_do_not_name_it(
    servers: Servers, stored_events: Callable[[str, str], List[Dict[str, Any]]]
) -> None:
    mark = log_sizes(servers)
    call = Call(servers)
    call.ring()
    call.say("Does it hurt?")
    users = stored_events(call.caller, "user")
    assert [u["input_channel"] for u in users] == ["twilio_voice", "twilio_voice"]
    assert users[-1]["text"] == "Does it hurt?"
    assert call.caller not in logged_since(servers, mark)


def test_person_in_opening_hours_is_put_through_to_the_clinic(
    servers: Servers, clock: Clock
) -> None:
    clock(OPEN)
    call = Call(servers)
    call.ring()
    answer = call.say("Person.")
    assert answer.dialled == dial_number(CLINIC.phone) == "+15550102040"
    assert answer.gather is None
    assert answer.said[-1] == f"Putting you through to {CLINIC.name} now."
    # Staff still hear of it, as on every channel.
    assert ("requested", "twilio_voice") in staff_alerts(servers, call.caller)


def test_person_on_a_saturday_afternoon_hears_the_hours(servers: Servers, clock: Clock) -> None:
    clock(CLOSED_SATURDAY)
    call = Call(servers)
    call.ring()
    answer = call.say("A person, please.")
    assert answer.dialled is None and answer.gather is not None
    spoken = " ".join(answer.said)
    assert spoken_hours(CLINIC.opening_times) in spoken
    assert "Saturday, nine in the morning to one in the afternoon" in spoken
    assert "please call again then" in spoken
    assert ("requested", "twilio_voice") in staff_alerts(servers, call.caller)


def test_urgent_symptoms_get_the_emergency_number_first_and_alert_staff(
    servers: Servers,
) -> None:
    call = Call(servers)
    # The first words of the call: the disclaimer of the session comes after it.
    call.ring()
    answer = call.say("I can't breathe properly after my treatment this morning")
    assert answer.said[0] == voice_variant("utter_urgent")
    first = sentences(answer.said[0])[0]
    assert first == "If this feels like an emergency, hang up and call nine one one now."
    assert ("urgent", "twilio_voice") in staff_alerts(servers, call.caller)


def test_urgent_as_the_very_first_words_still_come_first(servers: Servers) -> None:
    call = Call(servers)
    answer = call.say("my lips are swelling up since the treatment")
    assert answer.said and "nine one one" in sentences(answer.said[0])[0]


ENGLISH_VOICE = ("Polly.Joanna", "en-US")
SPANISH_VOICE = ("Polly.Lupe", "es-US")


def test_urgent_symptoms_in_spanish_are_said_in_spanish_emergency_number_first(
    servers: Servers,
) -> None:
    call = Call(servers)
    call.ring()
    answer = call.say("me sale pus de la cara y tengo fiebre desde ayer")
    assert answer.said[0] == voice_variant("utter_urgent", spanish=True)
    assert sentences(answer.said[0])[0] == (
        "Si parece una emergencia, cuelgue y llame ahora al nueve uno uno."
    )
    assert "más uno, cinco cinco cinco, cero uno cero" in answer.said[0]
    assert answer.voices[0] == SPANISH_VOICE
    assert ("urgent", "twilio_voice") in staff_alerts(servers, call.caller)


def test_a_spanish_question_is_told_in_spanish_to_say_persona(
    servers: Servers, clock: Clock
) -> None:
    clock(OPEN)
    call = Call(servers)
    greeting = call.ring()
    assert set(greeting.voices) == {ENGLISH_VOICE}
    answer = call.say("¿Cuántas sesiones de microneedling necesito para las cicatrices?")
    spanish = voice_variant("utter_english_only", spanish=True)
    assert spanish in answer.said
    assert answer.voices[answer.said.index(spanish)] == SPANISH_VOICE
    assert "«persona»" in spanish and "nueve uno uno" in sentences(spanish)[0]
    # The line listens in its own language; «persona» is read as the request for a person.
    assert answer.gather is not None and answer.gather.get("language") == "en-US"
    put_through = call.say("Persona.")
    assert put_through.dialled == dial_number(CLINIC.phone)
    # An English question afterwards is answered in English, by the English voice.
    again = Call(servers, call.caller)
    english = again.say("What is microneedling?")
    assert english.said == [voice_variant("utter_what_is")]
    assert english.voices == [ENGLISH_VOICE]


def test_the_check_by_voice_yes_and_no_are_the_buttons(servers: Servers) -> None:
    call = Call(servers)
    call.ring()
    consent = call.say("Check if I can get it.")
    assert consent.said[-1].endswith("shall we go on? Say yes or no.")
    assert consent.gather is not None and "person" in (consent.gather.get("hints") or "")
    first = call.say("Yes.")
    assert first.said[-1] == (
        "Do you have eczema, psoriasis or rosacea? Say yes, no, not sure, or stop the check."
    )
    second = call.say("No.")
    assert second.said[-1].startswith("Would you say you have sensitive skin")
    stopped = call.say("Stop the check.")
    assert voice_variant("utter_screening_stopped") in stopped.said


def test_the_checks_result_by_voice_has_nothing_to_misread(servers: Servers) -> None:
    call = Call(servers)
    call.ring()
    call.say("Check if I can get it.")
    answer = call.say("Yes.")
    for _ in range(4):  # no to every question
        assert answer.said[-1].endswith("Say yes, no, not sure, or stop the check.")
        answer = call.say("No.")
    result = " ".join(answer.said)
    assert "No contraindication found" in result
    assert not re.search(r"[0-9]|https?:", result), result
    assert digit_by_digit(CLINIC.phone) in result


def test_a_forged_or_unsigned_request_gets_403_and_no_twiml(servers: Servers) -> None:
    caller = new_caller()
    form = call_form(caller, "CA" + uuid.uuid4().hex, CallStatus="ringing")
    forged = RequestValidator("not-the-auth-token").compute_signature(
        TWILIO_VOICE_PUBLIC_WEBHOOK, form
    )
    for signature in (forged, ""):
        status, body = post(servers, form, signature=signature)
        assert status == 403 and "<Response" not in body and "<Say" not in body
    # A signed form changed on the way is forged too.
    signed = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(
        TWILIO_VOICE_PUBLIC_WEBHOOK, form
    )
    assert post(servers, {**form, "From": new_caller()}, signature=signed)[0] == 403


def test_silence_gets_a_reprompt_and_the_third_ends_the_call(servers: Servers) -> None:
    call = Call(servers)
    call.ring()
    for speech in ("", "   "):  # an empty SpeechResult
        answer = call.say(speech)
        assert answer.status == 200 and answer.gather is not None
        assert answer.said == [
            'Sorry, I didn\'t catch that. Please say your question, or say "person" to be connected.'
        ]
    missing = call.silence()  # no SpeechResult at all
    assert missing.gather is not None
    assert missing.gather.get("action") == f"{TWILIO_VOICE_PUBLIC_WEBHOOK}?silences=1"
    second = call.silence("silences=1")
    assert second.gather is not None and second.gather.get("action", "").endswith("silences=2")
    third = call.silence("silences=2")
    assert third.hung_up and third.gather is None
    assert third.said == [f"Thanks for calling {CLINIC.name}. Goodbye."]
    # Speech after a silence carries on as normal.
    assert call.say("What is microneedling?", query="silences=1").said == [
        voice_variant("utter_what_is")
    ]


def test_a_request_without_from_is_refused_without_a_crash(servers: Servers) -> None:
    form = {"CallSid": "CA" + uuid.uuid4().hex, "CallStatus": "ringing"}
    assert post(servers, form)[0] == 400


def test_a_number_that_texted_stop_is_put_through_or_told_the_hours(
    servers: Servers, clock: Clock
) -> None:
    call = Call(servers)
    sms = {"MessageSid": "SM" + uuid.uuid4().hex, "From": call.caller, "To": TWILIO_NUMBER}
    assert post(servers, {**sms, "Body": "STOP"}, channel="twilio")[0] == 200
    clock(CLOSED_SATURDAY)
    closed = call.ring()
    assert (
        closed.said[0]
        == "This number has stopped our messages, so the assistant won't answer on it."
    )
    assert spoken_hours(CLINIC.opening_times) in closed.said[1] and closed.hung_up
    clock(OPEN)
    assert Call(servers, call.caller).ring().dialled == dial_number(CLINIC.phone)


def test_a_request_sent_again_is_handled_once(
    servers: Servers, stored_events: Callable[[str, str], List[Dict[str, Any]]]
) -> None:
    call = Call(servers)
    call.ring()
    form = call_form(call.caller, call.sid, SpeechResult="Does it hurt?")
    token = {"I-Twilio-Idempotency-Token": uuid.uuid4().hex}
    first = heard(*post(servers, form, headers=token))
    again = heard(*post(servers, form, headers=token))
    assert first.said == again.said == [voice_variant("utter_pain")]
    assert [u["text"] for u in stored_events(call.caller, "user")] == ["/greet", "Does it hurt?"]
