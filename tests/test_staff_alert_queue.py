"""Staff alerts (issue 13): which turns raise one, and the durable queue in the
conversations database: queued once per turn, claimed by one sender, retried with backoff."""

from pathlib import Path

import sqlalchemy as sa

from staff import alert_rules as rules
from staff.alert_store import (
    FAILING_AFTER,
    alert_tables,
    backoff_seconds,
    claim_due,
    create_alert_tables,
    delete_conversation_alerts,
    enqueue,
    failing_deliveries,
    mark_failed,
    mark_sent,
)
from staff.database import open_engine


def user(text: str, channel: str = "rest", at: float = 1.0) -> dict:
    return {"event": "user", "text": text, "input_channel": channel, "timestamp": at}


def urgent_turn(channel: str = "rest", at: float = 2.0) -> list:
    return [
        user("it's oozing and i have a fever", channel, at - 1),
        {"event": "action", "name": "utter_urgent", "timestamp": at},
        {"event": "bot", "text": "What you describe ...", "timestamp": at},
    ]


def test_the_urgent_reply_raises_an_alert_without_the_patient_s_text() -> None:
    [alert] = rules.alerts_in_turn("rest:abc", urgent_turn())
    assert (alert.reason, alert.channel, alert.at) == (rules.URGENT, "rest", 2.0)
    assert alert.message_text is None and alert.callback_number is None
    # The clinic can turn the text on.
    [alert] = rules.alerts_in_turn("rest:abc", urgent_turn(), include_text=True)
    assert alert.message_text == "it's oozing and i have a fever"


def test_handoff_reasons_raise_alerts_and_an_ordinary_turn_none() -> None:
    for reason in (rules.REQUESTED, rules.UPSET, rules.REPEATED_FALLBACK):
        turn = [
            user("hi"),
            {"event": "slot", "name": "handoff_reason", "value": reason, "timestamp": 3.0},
        ]
        assert [a.reason for a in rules.alerts_in_turn("s", turn)] == [reason]
    ordinary = [user("does it hurt?"), {"event": "action", "name": "utter_pain", "timestamp": 2.0}]
    assert rules.alerts_in_turn("s", ordinary) == []
    cleared = [
        user("hi"),
        {"event": "slot", "name": "handoff_reason", "value": None, "timestamp": 3.0},
    ]
    assert rules.alerts_in_turn("s", cleared) == []


def test_an_sms_alert_carries_the_number_only_when_the_patient_agreed_to_a_call() -> None:
    phone = "+15550101234"
    [alert] = rules.alerts_in_turn(phone, urgent_turn("twilio"))
    assert alert.callback_number is None
    agreed = [{"event": "slot", "name": "callback_agreed", "value": True, "timestamp": 0.5}]
    [alert] = rules.alerts_in_turn(phone, urgent_turn("twilio"), earlier_events=agreed)
    assert alert.callback_number == phone
    # Not on another channel, whatever the slot says.
    [alert] = rules.alerts_in_turn("rest:x", urgent_turn("rest"), earlier_events=agreed)
    assert alert.callback_number is None


def test_a_whatsapp_alert_carries_the_bare_number_only_when_the_patient_agreed() -> None:
    phone = "+15550101234"
    [alert] = rules.alerts_in_turn(f"whatsapp:{phone}", urgent_turn("whatsapp"))
    assert (alert.channel, alert.callback_number) == ("whatsapp", None)
    agreed = [{"event": "slot", "name": "callback_agreed", "value": True, "timestamp": 0.5}]
    [alert] = rules.alerts_in_turn(
        f"whatsapp:{phone}", urgent_turn("whatsapp"), earlier_events=agreed
    )
    assert alert.callback_number == phone  # a number staff can dial


def test_the_same_turn_gives_the_same_key_and_another_turn_another() -> None:
    first = rules.alerts_in_turn("s", urgent_turn(at=2.0))[0].key
    assert rules.alerts_in_turn("s", urgent_turn(at=2.0))[0].key == first
    assert rules.alerts_in_turn("s", urgent_turn(at=9.0))[0].key != first
    assert rules.alerts_in_turn("t", urgent_turn(at=2.0))[0].key != first


def queue(tmp_path: Path):
    engine = open_engine(f"sqlite:///{tmp_path / 'conversations.db'}")
    tables = alert_tables()
    create_alert_tables(engine, tables)
    return engine, tables


def test_a_turn_saved_twice_is_queued_once_with_a_delivery_per_transport(tmp_path: Path) -> None:
    engine, tables = queue(tmp_path)
    alerts = rules.alerts_in_turn("s", urgent_turn())
    for _ in range(2):
        with engine.begin() as connection:
            enqueue(connection, tables, alerts, ["email", "webhook"], now=10.0)
    with engine.begin() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(tables.alerts)).scalar() == 1
        )
        transports = sorted(r.transport for r in connection.execute(sa.select(tables.deliveries)))
    assert transports == ["email", "webhook"]


def test_two_senders_never_claim_the_same_delivery(tmp_path: Path) -> None:
    engine, tables = queue(tmp_path)
    with engine.begin() as connection:
        enqueue(connection, tables, rules.alerts_in_turn("s", urgent_turn()), ["email"], now=10.0)
    first = claim_due(engine, tables, "replica-1", lease_seconds=60, now=11.0)
    second = claim_due(engine, tables, "replica-2", lease_seconds=60, now=12.0)
    assert len(first) == 1 and second == []
    # A sender that died mid-send: its lease runs out and another sends it.
    third = claim_due(engine, tables, "replica-2", lease_seconds=60, now=75.0)
    assert [d.id for d in third] == [first[0].id]
    mark_sent(engine, tables, third[0], "replica-2", now=76.0)
    assert claim_due(engine, tables, "replica-1", lease_seconds=60, now=500.0) == []


def test_a_failing_delivery_is_retried_with_backoff_and_reported_as_failing(tmp_path: Path) -> None:
    engine, tables = queue(tmp_path)
    with engine.begin() as connection:
        enqueue(connection, tables, rules.alerts_in_turn("s", urgent_turn()), ["email"], now=0.0)
    now = 0.0
    for attempt in range(1, FAILING_AFTER + 1):
        [delivery] = claim_due(engine, tables, "me", lease_seconds=30, now=now)
        mark_failed(
            engine, tables, delivery, "me", "connection refused", base=5, ceiling=60, now=now
        )
        assert claim_due(engine, tables, "me", lease_seconds=30, now=now + 1) == []  # not yet due
        now += backoff_seconds(attempt, 5, 60)
    assert failing_deliveries(engine, tables) == 1
    [delivery] = claim_due(engine, tables, "me", lease_seconds=30, now=now)
    assert delivery.attempts == FAILING_AFTER
    mark_sent(engine, tables, delivery, "me", now=now)
    assert failing_deliveries(engine, tables) == 0
    assert [backoff_seconds(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


def test_deleting_a_conversation_deletes_its_alerts_and_deliveries_only(tmp_path: Path) -> None:
    engine, tables = queue(tmp_path)
    with engine.begin() as connection:
        enqueue(connection, tables, rules.alerts_in_turn("gone", urgent_turn()), ["email"], now=1.0)
        enqueue(connection, tables, rules.alerts_in_turn("kept", urgent_turn()), ["email"], now=1.0)
    with engine.begin() as connection:
        assert delete_conversation_alerts(connection, tables, "gone") == 1
    with engine.begin() as connection:
        assert [r.sender_id for r in connection.execute(sa.select(tables.alerts))] == ["kept"]
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(tables.deliveries)).scalar()
            == 1
        )
