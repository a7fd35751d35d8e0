"""SMS replies when Twilio fails: the rules (channels/sms_delivery.py) in milliseconds, then
the real servers with the loopback fake of Twilio's API answering 503, 400 or not in time,
and the staff alert an urgent reply that could not be delivered raises."""

import sqlite3
import time
from collections import Counter
from typing import Callable, Dict, List

import pytest

from channels import sms, sms_delivery
from channels.sms_delivery import PERMANENT, RETRY, SENT, RetryPolicy
from fake_providers import FAST_SMS_RETRIES, TWILIO_NUMBER, FakeProviders
from scripts.ops.serve import Servers
from staff.alert_rules import UNDELIVERED_URGENT
from test_sms import new_phone, post, sms_form

RETRY_BUDGET = float(FAST_SMS_RETRIES["TWILIO_RETRY_BUDGET_SECONDS"])
URGENT_TEXT = "its oozing yellow stuff where they did the needling"


@pytest.mark.parametrize(
    "status, expected",
    [
        (201, SENT),
        (429, RETRY),
        (500, RETRY),
        (503, RETRY),
        (400, PERMANENT),
        (401, PERMANENT),
        (404, PERMANENT),
    ],
)
def test_which_statuses_are_retried(status: int, expected: str) -> None:
    assert sms_delivery.outcome(status) == expected


def test_a_few_attempts_within_about_a_minute_then_none() -> None:
    policy = RetryPolicy()
    waits, elapsed, attempts = [], 0.0, 1
    while (wait := sms_delivery.next_wait(policy, attempts, elapsed)) is not None:
        waits.append(wait)
        elapsed += wait + 1  # an attempt takes a moment too
        attempts += 1
    assert waits == [2, 4, 8, 16]
    assert 3 <= attempts <= 6 and elapsed <= policy.budget
    # A 429's Retry-After is honoured, within the minute.
    assert sms_delivery.next_wait(policy, 1, 0, retry_after=20) == 20
    assert sms_delivery.next_wait(policy, 1, 50, retry_after=20) is None
    assert (
        sms_delivery.retry_after_seconds("7") == 7
        and sms_delivery.retry_after_seconds("soon") is None
    )


def test_only_an_attempt_that_may_have_reached_twilio_is_reconciled() -> None:
    assert sms_delivery.may_have_been_accepted(503, True)
    assert sms_delivery.may_have_been_accepted(None, True)  # a timeout after the request went
    assert not sms_delivery.may_have_been_accepted(429, True)
    assert not sms_delivery.may_have_been_accepted(None, False)  # connection refused


def test_a_listed_message_is_the_part_only_if_new_same_and_not_another_parts() -> None:
    def listed(sid: str, body: str, at: float, to: str = "+1555") -> Dict[str, str]:
        return {
            "sid": sid,
            "to": to,
            "from": TWILIO_NUMBER,
            "body": body,
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(at)),
        }

    first = 1_700_000_000.0
    match = sms_delivery.accepted_earlier
    assert (
        match([listed("SM1", "hi", first + 1)], "+1555", TWILIO_NUMBER, "hi", first, set()) == "SM1"
    )
    assert (
        match([listed("SM1", "hi", first - 60)], "+1555", TWILIO_NUMBER, "hi", first, set()) is None
    )
    assert (
        match([listed("SM1", "ho", first + 1)], "+1555", TWILIO_NUMBER, "hi", first, set()) is None
    )
    assert (
        match(
            [listed("SM1", "hi", first + 1, to="+1666")], "+1555", TWILIO_NUMBER, "hi", first, set()
        )
        is None
    )
    # The same answer twice in a row: the first copy belongs to the first part already.
    assert (
        match(
            [listed("SM2", "hi", first + 2), listed("SM1", "hi", first + 1)],
            "+1555",
            TWILIO_NUMBER,
            "hi",
            first,
            {"SM2"},
        )
        == "SM1"
    )


def test_the_idempotency_key_names_conversation_bot_event_and_part() -> None:
    key = sms_delivery.part_key("+1555", 1.5, 0)
    assert key == sms_delivery.part_key("+1555", 1.5, 0)
    assert (
        len(
            {
                key,
                sms_delivery.part_key("+1556", 1.5, 0),
                sms_delivery.part_key("+1555", 1.6, 0),
                sms_delivery.part_key("+1555", 1.5, 1),
            }
        )
        == 4
    )
    assert "+1555" not in key


def settled(providers: FakeProviders, phone: str, count: int, timeout: float = 20) -> List[str]:
    """The SMS `phone` received once there are `count` of them and no more came for a while
    (background retries end within the retry budget)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(providers.sms_to(phone)) < count:
        time.sleep(0.1)
    time.sleep(1.5)
    return providers.sms_to(phone)


def alerts_of(servers: Servers, phone: str) -> List[sqlite3.Row]:
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(
            "SELECT * FROM staff_alerts WHERE sender_id = ? ORDER BY id", (phone,)
        ).fetchall()


def wait_for_alert(servers: Servers, phone: str, reason: str, timeout: float) -> List[sqlite3.Row]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in alerts_of(servers, phone) if a["reason"] == reason]
        if found:
            return found
        time.sleep(0.2)
    return []


def test_a_503_then_success_delivers_each_part_once_in_order(
    servers: Servers, providers: FakeProviders, expected_reply: Callable[[str], str]
) -> None:
    phone = new_phone()
    assert post(servers, sms_form(phone, "what is microneedling?")) == 200
    before = len(providers.sms_to(phone))
    expected = sms.split_message(expected_reply("utter_what_is"))
    assert len(expected) >= 2
    providers.fail_twilio(phone, times=1, status=503)
    started = time.monotonic()
    assert post(servers, sms_form(phone, "MORE")) == 200
    # The webhook does not wait for the retry (Twilio gives up on it after 15 s).
    assert time.monotonic() - started < 10
    parts = settled(providers, phone, before + len(expected))[before:]
    assert parts == expected
    attempts = providers.twilio_attempts(phone)[before:]
    assert Counter(attempts) == Counter({expected[0]: 2, **{p: 1 for p in expected[1:]}})


@pytest.mark.parametrize("created", [True, False], ids=["created", "not_created"])
def test_an_answer_lost_in_a_timeout_sends_the_sms_once(
    servers: Servers, providers: FakeProviders, expected_reply: Callable[[str], str], created: bool
) -> None:
    phone = new_phone()
    providers.hang_twilio(phone, times=1, seconds=3, created=created)
    assert post(servers, sms_form(phone, "does it hurt?")) == 200
    received = settled(providers, phone, 2)
    assert expected_reply("utter_pain") in received
    assert len(received) == len(set(received)), received
    # Created: Twilio's list shows it, so it is not sent again. Not created: sent again once.
    first = providers.twilio_attempts(phone)[0]
    assert received.count(first) == 1
    assert providers.twilio_attempts(phone).count(first) == (1 if created else 2)


def test_a_400_is_not_retried_and_later_replies_still_go(
    servers: Servers, providers: FakeProviders, expected_reply: Callable[[str], str]
) -> None:
    phone = new_phone()
    providers.fail_twilio(phone, times=1, status=400)
    assert post(servers, sms_form(phone, "does it hurt?")) == 200
    time.sleep(2)
    attempts = providers.twilio_attempts(phone)
    assert len(attempts) == len(set(attempts)) >= 1, "a 400 must not be sent again"
    assert attempts[0] not in providers.sms_to(phone)
    assert alerts_of(servers, phone) == [], "an ordinary reply raises no alert"
    assert post(servers, sms_form(phone, "does it hurt?")) == 200
    assert expected_reply("utter_pain") in providers.sms_to(phone)


@pytest.mark.parametrize("status", [503, 400])
def test_an_urgent_reply_that_cannot_be_delivered_raises_one_staff_alert(
    servers: Servers, providers: FakeProviders, status: int
) -> None:
    phone = new_phone()
    providers.fail_twilio(phone, times=100, status=status)
    started = time.monotonic()
    assert post(servers, sms_form(phone, URGENT_TEXT)) == 200
    [alert] = wait_for_alert(servers, phone, UNDELIVERED_URGENT, RETRY_BUDGET + 15)
    assert (alert["channel"], alert["status"]) == ("twilio", "open")
    assert alert["message_text"] is None and alert["callback_number"] is None
    if status == 400:  # not retried: alerted at once
        assert time.monotonic() - started < RETRY_BUDGET
    # Its own alert beside the urgent reply's, raised once however many parts failed.
    time.sleep(1)
    reasons = [a["reason"] for a in alerts_of(servers, phone)]
    assert reasons.count(UNDELIVERED_URGENT) == 1 and "urgent" in reasons
    assert providers.sms_to(phone) == []


def test_an_urgent_reply_delivered_after_a_retry_raises_no_undelivered_alert(
    servers: Servers, providers: FakeProviders
) -> None:
    phone = new_phone()
    providers.fail_twilio(phone, times=2, status=503)
    assert post(servers, sms_form(phone, URGENT_TEXT)) == 200
    received = settled(providers, phone, 1)
    assert any("urgent medical attention" in r for r in received)
    assert [a["reason"] for a in alerts_of(servers, phone)] == ["urgent"]


def test_the_outbox_keeps_no_phone_number_or_text(
    servers: Servers, providers: FakeProviders
) -> None:
    phone = new_phone()
    assert post(servers, sms_form(phone, "does it hurt?")) == 200
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT * FROM sms_outbox").fetchall()
    assert rows and all(r[1] in ("sent", "failed", "sending") for r in rows)
    dump = repr(rows)
    assert phone not in dump and phone.lstrip("+") not in dump
