"""Slack through Rasa's connector, with Slack's Web API address configurable.

Rasa's connector verifies Slack's signing secret itself; the additions are
`api_base_url`, so the tests can point the replies at a loopback fake of Slack, and a
bounded body: at most 256 kB is read (413 beyond), before Rasa's webhook runs.
"""

from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic import Blueprint

from channels import request_limits

DEFAULT_API_BASE_URL = "https://slack.com/api/"


class SlackInput(RasaSlackInput):
    """Rasa's Slack input channel, sending its replies to `api_base_url`."""

    api_base_url: Text = DEFAULT_API_BASE_URL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.api_base_url = (credentials or {}).get("api_base_url") or DEFAULT_API_BASE_URL
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return request_limits.limit_bodies(
            super().blueprint(on_new_message), request_limits.SLACK_MAX_BYTES
        )

    def get_output_channel(
        self, channel: Optional[Text] = None, thread_id: Optional[Text] = None
    ) -> OutputChannel:
        bot = super().get_output_channel(channel, thread_id)
        bot.client.base_url = self.api_base_url.rstrip("/") + "/"
        return bot
