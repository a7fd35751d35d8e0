"""The credentials file Rasa starts with: a channel is on only when its variables are set."""

from pathlib import Path

import pytest
import yaml

from scripts.ops.build_credentials import (
    CREDENTIALS_TEMPLATE,
    CredentialsError,
    build_credentials,
    enabled_channels,
    webhook_name,
)

TEMPLATE = yaml.safe_load(CREDENTIALS_TEMPLATE.read_text(encoding="utf-8"))
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC1",
    "TWILIO_AUTH_TOKEN": "secret-token",
    "TWILIO_NUMBER": "+15550100",
}
WHATSAPP = {
    "TWILIO_ACCOUNT_SID": "AC1",
    "TWILIO_AUTH_TOKEN": "secret-token",
    "TWILIO_WHATSAPP_NUMBER": "+14155238886",
}
TELEGRAM = {
    "TELEGRAM_ACCESS_TOKEN": "123:abc",
    "TELEGRAM_BOT_USERNAME": "clinic_bot",
    "TELEGRAM_WEBHOOK_URL": "https://clinic.example.org/webhooks/telegram/webhook",
}
MESSENGER = {
    "FACEBOOK_VERIFY_TOKEN": "v",
    "FACEBOOK_APP_SECRET": "s",
    "FACEBOOK_PAGE_ACCESS_TOKEN": "p",
}
SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}


def names(env: dict) -> list:
    return [webhook_name(channel) for channel in enabled_channels(TEMPLATE, env)]


def test_only_rest_is_on_by_default() -> None:
    assert names({}) == ["rest"]


@pytest.mark.parametrize(
    "env, channel",
    [
        (TWILIO, "twilio"),
        (WHATSAPP, "whatsapp"),
        (TELEGRAM, "telegram"),
        (MESSENGER, "facebook"),
        (SLACK, "slack"),
    ],
)
def test_each_channel_is_on_when_its_variables_are_set(env: dict, channel: str) -> None:
    assert names(env) == ["rest", channel]


def test_all_channels_together() -> None:
    assert names({**TWILIO, **TELEGRAM, **MESSENGER, **SLACK}) == [
        "rest",
        "twilio",
        "telegram",
        "facebook",
        "slack",
    ]


def test_sms_and_whatsapp_share_the_twilio_account_each_on_by_its_own_number() -> None:
    assert names({**TWILIO, **WHATSAPP}) == ["rest", "twilio", "whatsapp"]
    # The account alone switches on neither, and says what each one needs.
    account = {k: v for k, v in TWILIO.items() if k != "TWILIO_NUMBER"}
    with pytest.raises(CredentialsError, match="TWILIO_NUMBER") as error:
        enabled_channels(TEMPLATE, account)
    assert "TWILIO_WHATSAPP_NUMBER" in str(error.value)
    # A WhatsApp number without the account is half a channel.
    with pytest.raises(CredentialsError, match="whatsapp is only partly configured"):
        enabled_channels(TEMPLATE, {"TWILIO_WHATSAPP_NUMBER": "+14155238886"})
    whatsapp = enabled_channels(
        TEMPLATE, {**WHATSAPP, "TWILIO_WHATSAPP_WEBHOOK_URL": "https://x.org/w"}
    )["channels.whatsapp.WhatsAppInput"]
    assert whatsapp["webhook_url"] == "${TWILIO_WHATSAPP_WEBHOOK_URL}"
    assert whatsapp["twilio_number"] == "${TWILIO_WHATSAPP_NUMBER}"


def test_a_partly_configured_channel_stops_start_up_naming_what_is_missing() -> None:
    with pytest.raises(CredentialsError, match="TELEGRAM_WEBHOOK_URL"):
        enabled_channels(
            TEMPLATE, {k: v for k, v in TELEGRAM.items() if k != "TELEGRAM_WEBHOOK_URL"}
        )


def test_optional_settings_take_their_default_or_are_left_out() -> None:
    twilio = enabled_channels(TEMPLATE, TWILIO)["channels.twilio.TwilioInput"]
    assert twilio["api_base_url"] == "https://api.twilio.com"
    assert "webhook_url" not in twilio
    twilio = enabled_channels(TEMPLATE, {**TWILIO, "TWILIO_WEBHOOK_URL": "https://x.org/w"})[
        "channels.twilio.TwilioInput"
    ]
    assert twilio["webhook_url"] == "${TWILIO_WEBHOOK_URL}"


def test_the_written_file_holds_no_secret(tmp_path: Path) -> None:
    out = tmp_path / "credentials.yml"
    build_credentials({**TWILIO, **SLACK}, out)
    written = out.read_text(encoding="utf-8")
    assert "secret-token" not in written and "xoxb-1" not in written
    assert (
        yaml.safe_load(written)["channels.twilio.TwilioInput"]["auth_token"]
        == "${TWILIO_AUTH_TOKEN}"
    )


def test_the_phone_line_has_its_own_switch_and_shares_the_auth_token() -> None:
    voice = {**TWILIO, "TWILIO_VOICE_ENABLED": "true"}
    assert names(voice) == ["rest", "twilio", "twilio_voice"]
    settings = enabled_channels(TEMPLATE, voice)["channels.twilio_voice.TwilioVoiceInput"]
    assert settings["auth_token"] == "${TWILIO_AUTH_TOKEN}"
    assert settings["voice"] == "Polly.Joanna" and "clock_file" not in settings
    # SMS alone leaves the phone line off.
    assert "twilio_voice" not in names(TWILIO)
