"""Facebook Messenger through Rasa's connector, with the Graph API address configurable.

Rasa's connector builds its Graph API client inside its webhook, so the webhook is
re-declared here to give that client `graph_api_url` (a loopback fake in the tests). It
also answers a wrongly signed request with 403 instead of Rasa's 200 "not validated", and
checks the signature itself: Rasa's check takes the hash function named in the header
(`foo=bar` crashed it with a 500, `md5=...` would be accepted). The body is read up to
256 kB (413 beyond).
"""

import hashlib
import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from fbmessenger import DEFAULT_API_VERSION, MessengerClient
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput as RasaFacebookInput
from rasa.core.channels.facebook import Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import request_limits
from clinic.tokens import same_token

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com"
# The header Facebook signs with, and the hash each one names.
SIGNATURE_HEADERS = (("X-Hub-Signature-256", "sha256"), ("X-Hub-Signature", "sha1"))


def signed_by_facebook(secret: Text, body: bytes, headers: Any) -> bool:
    """Whether the request carries a valid `sha256=<hex>` or `sha1=<hex>` signature of
    the body with the app secret (the SHA-256 one when both are sent)."""
    for header, method in SIGNATURE_HEADERS:
        value = headers.get(header)
        if value is None:
            continue
        prefix = f"{method}="
        if not value.startswith(prefix):
            return False
        expected = hmac.new(secret.encode("utf-8"), body, getattr(hashlib, method)).hexdigest()
        return same_token(value[len(prefix) :].strip().lower(), expected)
    return False


def graph_client(page_access_token: Text, graph_api_url: Text) -> MessengerClient:
    client = MessengerClient(page_access_token)
    client.graph_url = f"{graph_api_url.rstrip('/')}/v{DEFAULT_API_VERSION}"
    return client


class FacebookInput(RasaFacebookInput):
    """Rasa's Messenger input channel, talking to `graph_api_url`."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(
            credentials.get("verify"),
            credentials.get("secret"),
            credentials.get("page-access-token"),
            credentials.get("graph_api_url") or DEFAULT_GRAPH_API_URL,
        )

    def __init__(
        self,
        fb_verify: Text,
        fb_secret: Text,
        fb_access_token: Text,
        graph_api_url: Text = DEFAULT_GRAPH_API_URL,
    ) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.graph_api_url = graph_api_url

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        fb_webhook = Blueprint("custom_fb_webhook", __name__)

        @fb_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @fb_webhook.route("/webhook", methods=["GET"])
        async def token_verification(request: Request) -> HTTPResponse:
            if request.args.get("hub.verify_token") == self.fb_verify:
                return response.text(request.args.get("hub.challenge"))
            logger.warning("facebook.rejected reason=verify_token")
            return response.text("failure, invalid token", status=403)

        @fb_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not signed_by_facebook(self.fb_secret, request.body, request.headers):
                logger.warning("facebook.rejected reason=signature")
                return response.text("not validated", status=403)
            messenger = Messenger(self.fb_access_token, on_new_message)
            messenger.client = graph_client(self.fb_access_token, self.graph_api_url)
            await messenger.handle(request.json, self.get_metadata(request))
            return response.text("success")

        return request_limits.limit_bodies(fb_webhook, request_limits.MESSENGER_MAX_BYTES)

    def get_output_channel(self) -> OutputChannel:
        return MessengerBot(graph_client(self.fb_access_token, self.graph_api_url))
