"""Rasa adapter: the REST channel, strict about what it accepts.

Rasa's own REST channel crashes with a 500 on a body that isn't a JSON object or on a
message that isn't a string, falls back to one shared "default" conversation without a
sender, takes any sender (so anyone could read and write any patient's conversation,
an SMS patient's by their phone number), and logs the message text when handling fails.
This one answers malformed requests with a 400 that says what is wrong, and logs a
conversation only by its hashed sender id. The conversation id is the server's: a request
without "sender" starts a new conversation, whose id comes back as each reply's
`recipient_id` and in the `X-Conversation-Id` header; a request may continue only a
conversation with an id this server issued (channels/conversation_ids.py), else 403.
It takes JSON only (415 otherwise): a text/plain POST is a request any web page can make
from a visitor's browser without asking first (CORS), JSON is not. A body or metadata
larger than a message needs gets 413 (channels/request_limits.py).
A request with an `X-Request-ID` header (nginx sets one in `make cluster`) is handled once
per id: sent again, it gets the first answer's replies (channels/handled_once.py).
"""

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic.log_privacy import conversation_ref
from channels import conversation_ids, request_limits
from channels.handled_once import handle_once, usable_id

logger = logging.getLogger(__name__)
# Metadata is stored with every message: a few kB of it, not the whole body again.
MAX_METADATA_BYTES = 4 * request_limits.KB
USAGE = (
    'Send a JSON object like {"message": "your question"} to start a conversation, then '
    '{"sender": "<the recipient_id of the replies>", "message": "..."} to continue it.'
)
UNKNOWN_CONVERSATION = (
    '"sender" is not a conversation this assistant started. Leave "sender" '
    'out to start a new conversation; its id is the "recipient_id" of the replies.'
)


class RequestProblem(ValueError):
    status = 400


class NotJson(RequestProblem):
    status = 415


class MetadataTooLarge(RequestProblem):
    status = 413


def media_type(request: Request) -> str:
    return request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def parse_body(request: Request) -> Tuple[Optional[str], str, Optional[Dict[str, Any]]]:
    """The sender (None: a new conversation), message and metadata of a request, or
    RequestProblem saying what's wrong."""
    if media_type(request) != "application/json":
        raise NotJson("The body must be sent with Content-Type: application/json.")
    # Python's own parser, strict about UTF-8: sanic's ujson turns some invalid bytes into
    # strings Python can't even iterate over.
    try:
        body = json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestProblem("The body is not valid JSON: it is not UTF-8 text.")
    except ValueError:
        raise RequestProblem("The body is not valid JSON.")
    except RecursionError:
        raise RequestProblem("The body is not valid JSON: it is nested too deeply.")
    if not isinstance(body, dict):
        raise RequestProblem("The body must be a JSON object.")
    sender, message, metadata = body.get("sender"), body.get("message"), body.get("metadata")
    if sender is not None and not isinstance(sender, str):
        raise RequestProblem('"sender" must be a string: the "recipient_id" of earlier replies.')
    if not isinstance(message, str):
        raise RequestProblem('"message" must be a string.')
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestProblem('"metadata" must be a JSON object.')
    if metadata and len(json.dumps(metadata).encode("utf-8")) > MAX_METADATA_BYTES:
        raise MetadataTooLarge(
            f'"metadata" must be at most {MAX_METADATA_BYTES // 1024} kB as JSON.'
        )
    return sender, message, metadata


class ClinicRestInput(RestInput):
    """POST {"message": "..."} to /webhooks/rest/webhook; "sender" continues a conversation."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "ClinicRestInput":
        return cls(conversation_ids.secret_from_env())

    def __init__(self, id_secret: Text) -> None:
        self.id_secret = id_secret

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, text, metadata = parse_body(request)
            except RequestProblem as problem:
                return response.json({"error": str(problem), "usage": USAGE}, status=problem.status)
            if sender is None:
                sender = conversation_ids.issue(conversation_ids.REST, self.id_secret)
            elif conversation_ids.verified(conversation_ids.REST, sender, self.id_secret) is None:
                logger.info("rest.rejected reason=unknown_conversation")
                return response.json({"error": UNKNOWN_CONVERSATION, "usage": USAGE}, status=403)
            ref = conversation_ref(sender)
            logger.info(
                "Message received on rest for conversation %s (%d characters).", ref, len(text)
            )
            collector = CollectingOutputChannel()
            message_id = usable_id(request.headers.get("X-Request-ID"))
            message = UserMessage(
                text,
                collector,
                sender,
                input_channel=self.name(),
                metadata=metadata,
                message_id=message_id,
            )
            try:
                await handle_once(request.app.ctx.agent, on_new_message, message, message_id)
            except Exception:
                # Never the text: the exception's type and the conversation's reference.
                logger.error(
                    "Handling a message failed for conversation %s.",
                    ref,
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
                return response.json(
                    {"error": "The assistant could not answer; please try again."}, status=503
                )
            return response.json(collector.messages, headers={"X-Conversation-Id": sender})

        return request_limits.limit_bodies(webhook, request_limits.REST_MAX_BYTES)
