"""What staff read in an alert (staff/alert_message.py) and the settings the sender reads from
the environment (staff/alert_config.py): pure, no servers."""

from pathlib import Path

import pytest

from clinic.log_privacy import conversation_ref
from staff.alert_config import AlertConfigError, parse_alert_config
from staff.alert_message import email_body, email_subject, webhook_payload
from staff.alert_store import Delivery

PHONE = "+15550101234"
AT = 1767269700.0  # Thursday 1 January 2026, 12:15 UTC


def delivery(
    reason: str = "urgent",
    channel: str = "twilio",
    number: str = None,
    text: str = None,
    sender: str = PHONE,
) -> Delivery:
    return Delivery(1, "email", 0, 42, "k" * 40, sender, reason, channel, AT, number, text)


def test_an_sms_urgent_alert_says_why_where_when_and_whom_to_call() -> None:
    alert = delivery(number=PHONE)
    assert email_subject(alert, "Riverside Skin Clinic") == (
        "[Riverside Skin Clinic assistant] Urgent: the assistant gave the urgent-symptom reply (SMS)"
    )
    body = email_body(
        alert, "Riverside Skin Clinic", "https://inbox.example.org/", include_text=False
    )
    for line in (
        "Channel:       SMS",
        "When:          Thursday 1 January 2026, 12:15 UTC (2026-01-01T12:15:00Z)",
        f"Conversation:  {conversation_ref(PHONE)}",
        "Staff inbox:   https://inbox.example.org/alerts/42",
        f"Call back on:  {PHONE}",
        "- Call the patient back now on the number above.",
    ):
        assert line in body, line
    assert all(len(line) < 78 for line in body.splitlines())


def test_without_an_agreed_call_back_no_number_and_no_sender_id_is_shown() -> None:
    alert = delivery(reason="upset")
    text = email_subject(alert, "C") + email_body(alert, "C", "http://x.org/", False)
    assert PHONE not in text and "Call back on" not in text
    assert "Needs a person: the patient is upset (SMS)" in text
    assert "- Reply to the patient on the channel they used." in text
    assert webhook_payload(alert, "http://x.org", False)["callback_number"] is None


def test_the_patient_s_message_only_when_the_clinic_turned_it_on() -> None:
    alert = delivery(channel="socketio", sender="widget:abc", text="it's oozing")
    assert "oozing" not in email_body(alert, "C", "http://x.org/", include_text=False)
    assert "  > it's oozing" in email_body(alert, "C", "http://x.org/", include_text=True)
    assert "message_text" not in webhook_payload(alert, "http://x.org/", include_text=False)
    payload = webhook_payload(alert, "http://x.org/", include_text=True)
    assert payload == {
        "id": "k" * 40,
        "reason": "urgent",
        "reason_text": "The assistant gave the urgent-symptom reply",
        "channel": "socketio",
        "created_at": "2026-01-01T12:15:00Z",
        "conversation_ref": conversation_ref("widget:abc"),
        "inbox_url": "http://x.org/alerts/42",
        "callback_number": None,
        "message_text": "it's oozing",
    }


EMAIL = {
    "alerts": {
        "email": {"to": ["a@example.com"], "from": "b@example.com", "host": "smtp.example.com"}
    }
}


def test_the_environment_sets_retries_sender_and_the_ca_to_trust(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = parse_alert_config(
        EMAIL,
        {
            "ALERT_RETRY_SECONDS": "2",
            "ALERT_RETRY_MAX_SECONDS": "8",
            "ALERT_EMAIL_FROM": "alerts@example.org",
            "ALERT_SMTP_TLS_CA": str(ca),
        },
    )
    assert (config.retry_seconds, config.retry_max_seconds) == (2.0, 8.0)
    assert (config.email.sender, config.email.tls_ca_file) == ("alerts@example.org", str(ca))
    with pytest.raises(AlertConfigError) as problem:
        parse_alert_config(
            EMAIL,
            {"ALERT_RETRY_SECONDS": "soon", "ALERT_SMTP_TLS_CA": str(tmp_path / "missing.pem")},
        )
    assert "retry_seconds' must be a number" in str(problem.value)
    assert "missing.pem' (tls_ca_file / ALERT_SMTP_TLS_CA) does not exist" in str(problem.value)
