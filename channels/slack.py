"""Slack through Rasa's connector, with Slack's Web API address configurable.

Rasa's connector verifies Slack's signing secret itself; the only addition is
`api_base_url`, so the tests can point the replies at a loopback fake of Slack.
"""

from typing import Any, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.channels.slack import SlackInput as RasaSlackInput

DEFAULT_API_BASE_URL = "https://slack.com/api/"


class SlackInput(RasaSlackInput):
    """Rasa's Slack input channel, sending its replies to `api_base_url`."""

    api_base_url: Text = DEFAULT_API_BASE_URL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.api_base_url = (credentials or {}).get("api_base_url") or DEFAULT_API_BASE_URL
        return channel

    def get_output_channel(self, channel: Optional[Text] = None,
                           thread_id: Optional[Text] = None) -> OutputChannel:
        bot = super().get_output_channel(channel, thread_id)
        bot.client.base_url = self.api_base_url.rstrip("/") + "/"
        return bot
