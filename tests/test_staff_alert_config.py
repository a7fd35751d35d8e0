"""The alerts section of the clinic config (issue 13): the committed file is valid, and a
mistake or a missing secret stops start-up with every problem named."""

import pytest

from staff.alert_config import AlertConfigError, load_alert_config, parse_alert_config

SECRET = "s" * 32
EMAIL = {
    "to": ["frontdesk@example.org"],
    "from": "assistant@example.org",
    "host": "smtp.example.org",
    "port": 587,
    "starttls": True,
}


def test_the_committed_config_is_valid_and_sends_to_the_inbox_only() -> None:
    config = load_alert_config(env={})
    assert config.transports == [] and config.include_message_text is False


def test_email_and_webhook_with_their_secrets_from_the_environment() -> None:
    config = parse_alert_config(
        {"alerts": {"email": EMAIL, "webhook": {"url": "https://hooks.example.org/a"}}},
        {"ALERT_WEBHOOK_SECRET": SECRET, "ALERT_SMTP_USERNAME": "bot", "ALERT_SMTP_PASSWORD": "pw"},
    )
    assert config.transports == ["email", "webhook"]
    assert (config.email.username, config.email.password, config.webhook.secret) == (
        "bot",
        "pw",
        SECRET,
    )
    assert "pw" not in repr(config) and SECRET not in repr(config)  # never in a log line


@pytest.mark.parametrize(
    "alerts, env, problem",
    [
        (
            {"webhook": {"url": "https://hooks.example.org/a"}},
            {},
            "ALERT_WEBHOOK_SECRET must be set",
        ),
        (
            {"webhook": {"url": "ftp://x"}},
            {"ALERT_WEBHOOK_SECRET": SECRET},
            "'url' must be a web address",
        ),
        (
            {"email": {**EMAIL, "to": ["not an address"]}},
            {},
            "'to' must be one or more email addresses",
        ),
        (
            {"email": {**EMAIL, "starttls": False}},
            {"ALERT_SMTP_USERNAME": "bot", "ALERT_SMTP_PASSWORD": "pw"},
            "an SMTP login needs 'starttls: true'",
        ),
        (
            {"email": EMAIL},
            {"ALERT_SMTP_USERNAME": "bot"},
            "set both ALERT_SMTP_USERNAME and ALERT_SMTP_PASSWORD",
        ),
        ({"retry_seconds": -1}, {}, "retry_seconds' must be a number of seconds above 0"),
        ({"include_message_text": "yes"}, {}, "'include_message_text' must be true or false"),
        ({"emial": {}}, {}, "unknown key 'emial'"),
    ],
)
def test_a_mistake_is_named(alerts: dict, env: dict, problem: str) -> None:
    with pytest.raises(AlertConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_alert_config({"alerts": alerts}, env)
