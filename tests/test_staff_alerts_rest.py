"""Over REST against the real servers (issue 13): the turns that need a person are queued
as staff alerts in the conversations database, once, without the patient's words; an
ordinary question raises none."""

import sqlite3
from typing import Callable, Dict, List

from rest_conversations import new_sender
from scripts.ops.serve import Servers
from test_sms import Text, new_phone, text  # noqa: F401 (the SMS fixture)

Say = Callable[[str, str], List[Dict]]


def alerts(servers: Servers, sender: str) -> List[tuple]:
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT reason, channel, callback_number, message_text FROM staff_alerts "
            "WHERE sender_id = ? ORDER BY id",
            (sender,),
        ).fetchall()


def test_an_urgent_message_raises_one_alert_without_the_patient_s_words(
    say: Say, servers: Servers
) -> None:
    sender = new_sender()
    replies = say(sender, "it's oozing and I have a fever")
    assert any("urgent medical attention" in r.get("text", "") for r in replies)
    assert alerts(servers, sender) == [("urgent", "rest", None, None)]
    say(sender, "does it hurt?")  # a later ordinary turn adds nothing
    assert alerts(servers, sender) == [("urgent", "rest", None, None)]


def test_asking_for_a_person_and_being_upset_raise_alerts(say: Say, servers: Servers) -> None:
    sender = new_sender()
    say(sender, "can I talk to a real person please")
    assert [a[0] for a in alerts(servers, sender)] == ["requested"]
    upset = new_sender()
    say(upset, "this is useless, you're not helping me at all")
    assert [a[0] for a in alerts(servers, upset)] == ["upset"]


def test_two_questions_in_a_row_it_cannot_answer_raise_an_alert(say: Say, servers: Servers) -> None:
    sender = new_sender()
    say(sender, "what's the best pizza topping?")
    assert alerts(servers, sender) == []  # one is not yet a pattern
    say(sender, "how do I renew my passport?")
    assert [a[0] for a in alerts(servers, sender)] == ["repeated_fallback"]


def test_an_ordinary_question_raises_no_alert(say: Say, servers: Servers) -> None:
    sender = new_sender()
    say(sender, "does microneedling hurt?")
    assert alerts(servers, sender) == []


def test_by_sms_the_alert_carries_the_number_only_when_the_patient_agreed_to_a_call(
    text: Text,  # noqa: F811 (the fixture)
    servers: Servers,
) -> None:
    phone = new_phone()
    replies = text(phone, "can I talk to a real person please")
    assert any("call you back on this number" in reply for reply in replies), replies
    assert any("call you back on this number" in r for r in text(phone, "YES"))
    assert alerts(servers, phone) == [
        ("requested", "twilio", None, None),
        ("callback", "twilio", phone, None),
    ]
    declined = new_phone()
    text(declined, "can I talk to a real person please")
    assert any(r.startswith("OK, nobody will call.") for r in text(declined, "no"))
    assert alerts(servers, declined) == [("requested", "twilio", None, None)]


def test_over_rest_nobody_is_asked_for_a_number_and_a_yes_is_a_yes_to_nothing(
    say: Say, servers: Servers, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    replies = [r.get("text", "") for r in say(sender, "can I talk to a real person please")]
    assert not any("call you back" in r for r in replies)
    assert [r["text"] for r in say(sender, "yes")] == [
        expected_reply("utter_answer_without_question")
    ]
    assert [a[0] for a in alerts(servers, sender)] == ["requested"]
