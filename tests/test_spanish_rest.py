"""Patients who write in Spanish, over REST and SMS against the real servers: the fixed
replies in Spanish (domain.yml's Spanish variations), Spanish red flags in any state, and
other languages named in the English-only reply."""

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
import yaml

from clinic.answers import with_article_answers
from clinic.clinic_config import load_clinic_config
from channels.sms import SMS_LIMIT
from rest_conversations import new_sender, texts
from scripts.ops.serve import Servers
from sms_charset import SPANISH_UCS2, non_gsm7
from test_sms import Text, new_phone, text  # noqa: F401 (the SMS fixture)
from test_staff_alerts_rest import alerts

Say = Callable[[str, str], List[Dict]]
CLINIC = load_clinic_config()
SLOTS = CLINIC.as_slots()
RESPONSES: Dict[str, List[Dict[str, Any]]] = with_article_answers(
    yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "domain.yml").read_text(encoding="utf-8")
    )
)["responses"]
IN_SPANISH = {"type": "slot", "name": "patient_language", "value": "Spanish"}


def spanish(name: str, channel: Optional[str] = None) -> str:
    """A response's Spanish variation as the patient reads it, clinic details filled in."""
    [variation] = [
        v
        for v in RESPONSES[name]
        if IN_SPANISH in (v.get("condition") or []) and v.get("channel") == channel
    ]
    return variation["text"].format(**SLOTS)


def test_a_spanish_question_gets_the_disclaimer_and_the_english_only_reply_in_spanish(
    say: Say, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    replies = texts(say(sender, "¿Cuánto tiempo dura la recuperación?"))
    assert replies == [spanish("utter_disclaimer"), spanish("utter_english_only")]
    assert "no es consejo médico" in replies[0]
    answer = replies[1]
    assert "solo en inglés" in answer
    # The emergency number first: an urgent message the Spanish list misses gets this reply.
    assert answer.startswith(f"Si es una emergencia, llame al {CLINIC.emergency_number}.")
    for detail in (CLINIC.phone, CLINIC.booking_url, CLINIC.emergency_number):
        assert detail in answer
    assert CLINIC.opening_hours_es and CLINIC.opening_hours_es in answer
    # The next message in English gets the English answer: the language is the message's.
    assert texts(say(sender, "does microneedling hurt?")) == [expected_reply("utter_pain")]


def test_a_spanish_urgent_message_mid_screening_gets_the_spanish_urgent_reply_and_an_alert(
    say: Say, servers: Servers, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    say(sender, "am i a good candidate for microneedling?")
    replies = texts(say(sender, "me sale pus y tengo fiebre"))
    assert replies == [spanish("utter_urgent")]
    assert CLINIC.emergency_number in replies[0] and CLINIC.phone in replies[0]
    assert alerts(servers, sender) == [("urgent", "rest", None, None)]
    # The screening is over: a "no" is no longer read as an answer.
    assert texts(say(sender, "no")) == [expected_reply("utter_answer_without_question")]


@pytest.mark.parametrize("message", ["no puedo respirar", "la hinchazón no para de crecer"])
def test_a_spanish_red_flag_first_gets_the_spanish_urgent_reply_alone(
    message: str, say: Say
) -> None:
    assert texts(say(new_sender(), message)) == [spanish("utter_urgent")]


def test_urgency_in_words_the_spanish_list_lacks_gets_the_urgent_reply_and_an_alert(
    say: Say, servers: Servers
) -> None:
    """The learned reader (clinic/urgency_classifier.py) runs in the Rasa server."""
    sender = new_sender()
    replies = texts(say(sender, "se me está poniendo la nariz de un color raro, como ceniza"))
    assert replies == [spanish("utter_urgent")]
    assert alerts(servers, sender) == [("urgent", "rest", None, None)]


def test_a_negated_spanish_symptom_is_not_urgent(say: Say, servers: Servers) -> None:
    sender = new_sender()
    replies = texts(say(sender, "no tengo fiebre"))
    assert replies == [spanish("utter_disclaimer"), spanish("utter_english_only")]
    assert alerts(servers, sender) == []


def test_french_gets_the_english_only_reply_naming_french(
    say: Say, expected_reply: Callable[[str], str]
) -> None:
    replies = texts(
        say(new_sender(), "Combien de temps dure la récupération après le traitement ?")
    )
    assert replies[0] == expected_reply("utter_disclaimer")
    assert replies[1].startswith("It looks like you wrote in French.")
    assert "English only" in replies[1] and CLINIC.phone in replies[1]


def within_the_sms_rules(reply: str) -> bool:
    """As the English SMS, at most 320 characters; outside GSM-7 only the Spanish vowels
    with an acute accent (the SMS then goes as UCS-2)."""
    return len(reply) <= SMS_LIMIT and set(non_gsm7(reply)) <= SPANISH_UCS2


def test_by_sms_a_spanish_message_gets_the_spanish_sms_replies(
    text: Text,  # noqa: F811 (the fixture)
    servers: Servers,
) -> None:
    phone = new_phone()
    replies = text(phone, "¿Cuánto tiempo dura la recuperación?")
    assert replies == [
        spanish("utter_disclaimer", "twilio"),
        spanish("utter_english_only", "twilio"),
    ]
    assert all(within_the_sms_rules(reply) for reply in replies), replies
    assert CLINIC.phone in replies[1] and CLINIC.opening_hours_es in replies[1]
    assert replies[1].startswith(f"Emergencia: llame al {CLINIC.emergency_number}.")
    urgent = text(phone, "no puedo respirar")
    assert urgent == [spanish("utter_urgent", "twilio")] and within_the_sms_rules(urgent[0])
    assert [a[0] for a in alerts(servers, phone)] == ["urgent"]
