"""SMS on the clinic's phone line through Twilio, fit for patients.

Replaces Rasa 3.6's Twilio connector, which checks no signature, crashes on a request
without Body, sends each button as its own SMS with the payload visible, and blocks the
event loop while it sends. This one:
- answers 403 unless X-Twilio-Signature matches the auth token, 400 without From or Body;
  the signature is checked on a bounded form: at most 32 kB (413 beyond) and 100 fields;
- sends buttons as one numbered list and maps a reply of "1", "2", ... to that button's
  payload, read from the conversation in the tracker store (so it survives restarts);
- honours STOP (no more messages until START), answers HELP with the clinic's contact
  details and MORE with the full answer of a shortened SMS reply;
- refuses a WhatsApp message (From=whatsapp:...), whose replies need the WhatsApp sender:
  channels/whatsapp.py is the same code on its own webhook;
- sends replies through Twilio's Messages API with aiohttp (channels/sms_sender.py: retried
  with backoff, never twice where that can be known, an undelivered urgent reply raises a
  staff alert), and answers the webhook itself with empty TwiML so Twilio sends nothing
  of its own.
"""

import logging
import urllib.parse
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Text, Tuple, Union

from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import ConversationPaused, Event, Restarted
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from clinic.clinic_config import ClinicConfig, load_clinic_config
from clinic.constants import SMS_CHANNEL, URGENT_RESPONSE, WHATSAPP_PREFIX
from clinic.log_privacy import conversation_ref
from channels import request_limits, sms, sms_delivery
from channels.handled_once import handle_once, usable_id
from channels.sms_sender import SmsSender

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.twilio.com"
# Twilio refuses a body longer than this; longer replies go out as several messages.
TWILIO_BODY_LIMIT = 1600
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio posts about 20 fields (a few more per picture of an MMS).
MAX_FORM_FIELDS = 100


class TwilioOutput(OutputChannel):
    """Sends the assistant's replies as SMS through Twilio's Messages API (channels/sms_sender.py:
    retried, never twice where that can be known, an undelivered urgent reply alerted)."""

    @classmethod
    def name(cls) -> Text:
        return SMS_CHANNEL

    def __init__(self, sender: SmsSender) -> None:
        super().__init__()
        self.sender = sender

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        parts = (
            [text] if len(text) <= TWILIO_BODY_LIMIT else sms.split_message(text, TWILIO_BODY_LIMIT)
        )
        await self._deliver(recipient_id, [{"Body": part} for part in parts], kwargs)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_message(
            recipient_id, sms.with_numbered_buttons(text, buttons), **kwargs
        )

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        # Its own key: a bot message with text and an image is two SMS of one bot event.
        await self._deliver(recipient_id, [{"MediaUrl": image}], kwargs, kind="image")

    async def send_parts(self, recipient_id: Text, parts: Iterable[Text]) -> None:
        await self._deliver(recipient_id, [{"Body": part} for part in parts], {})

    async def _deliver(
        self,
        recipient_id: Text,
        fields: List[Dict[Text, Text]],
        message: Dict[Text, Any],
        kind: Text = "",
    ) -> None:
        # Rasa's send_response passes the bot message's metadata: the response's name
        # (utter_action) says whether it is the urgent reply, whatever its text, and the
        # event's timestamp names the bot event in the parts' idempotency keys.
        urgent = message.get("utter_action") == URGENT_RESPONSE
        await self.sender.deliver(
            self.sender.parts(recipient_id, fields, message.get("timestamp"), urgent, kind)
        )


def retry_policy(credentials: Dict[Text, Any]) -> sms_delivery.RetryPolicy:
    """The retry settings of credentials.yml (TWILIO_RETRY_SECONDS, TWILIO_RETRY_BUDGET_SECONDS,
    TWILIO_SEND_TIMEOUT_SECONDS), Twilio-friendly defaults when unset."""
    default = sms_delivery.RetryPolicy()
    try:
        base = float(credentials.get("retry_seconds") or default.base)
        budget = float(credentials.get("retry_budget_seconds") or default.budget)
        timeout = float(credentials.get("send_timeout_seconds") or default.attempt_timeout)
    except (TypeError, ValueError):
        raise ValueError(
            "The twilio channel's retry_seconds, retry_budget_seconds and "
            "send_timeout_seconds must be numbers of seconds."
        ) from None
    if min(base, budget, timeout) <= 0:
        raise ValueError("The twilio channel's retry and timeout settings must be above 0.")
    return sms_delivery.RetryPolicy(
        base=base, max_wait=min(default.max_wait, budget), budget=budget, attempt_timeout=timeout
    )


def form_fields(request: Request) -> Dict[str, str]:
    """The posted form, keeping empty fields: an SMS with only a picture has Body="", and
    Twilio signs that field too (sanic's request.form drops it, so the signature fails).
    ValueError for more than MAX_FORM_FIELDS fields."""
    fields = urllib.parse.parse_qs(
        request.body.decode("utf-8", "replace"),
        keep_blank_values=True,
        max_num_fields=MAX_FORM_FIELDS,
    )
    return {name: values[0] for name, values in fields.items()}


def signed_by_twilio(
    validator: RequestValidator, url: Text, request: Request, form: Dict[str, str]
) -> bool:
    """Whether X-Twilio-Signature signs `url` (the one Twilio called) and the form with the
    auth token; the SMS and the voice webhook share it."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    try:
        # The URL is built from the Host header when webhook_url is not set, and the
        # validator reads its port: a Host such as "a:b" is a forgery, not a crash.
        return validator.validate(url, form, signature)
    except ValueError:
        return False


def signed_form(
    validator: RequestValidator, url: Text, request: Request, channel: Text, what: Text
) -> Union[Dict[str, str], HTTPResponse]:
    """The webhook's form when Twilio signed it, else the answer to give: 400 for more
    than MAX_FORM_FIELDS fields, 403 for a missing or wrong signature. `what` names the
    request in the 400 ("message", "request"). The SMS and the voice webhook share it."""
    try:
        form = form_fields(request)
    except ValueError:
        logger.warning("%s.rejected reason=too_many_fields", channel)
        return response.text(f"A Twilio {what} has at most {MAX_FORM_FIELDS} fields.", status=400)
    if not signed_by_twilio(validator, url, request, form):
        logger.warning("%s.rejected reason=signature", channel)
        return response.text("Invalid X-Twilio-Signature.", status=403)
    return form


class TwilioInput(InputChannel):
    """Receives SMS from Twilio's webhook at /webhooks/twilio/webhook."""

    @classmethod
    def name(cls) -> Text:
        return SMS_CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        missing = [
            key
            for key in ("account_sid", "auth_token", "twilio_number")
            if not credentials.get(key)
        ]
        if missing:
            raise ValueError(
                f"The {cls.name()} channel needs {', '.join(missing)} in its credentials."
            )
        return cls(
            str(credentials["account_sid"]),
            str(credentials["auth_token"]),
            str(credentials["twilio_number"]),
            api_base_url=credentials.get("api_base_url") or DEFAULT_API_BASE_URL,
            webhook_url=credentials.get("webhook_url") or None,
            policy=retry_policy(credentials),
        )

    def __init__(
        self,
        account_sid: Text,
        auth_token: Text,
        twilio_number: Text,
        api_base_url: Text = DEFAULT_API_BASE_URL,
        webhook_url: Optional[Text] = None,
        policy: Optional[sms_delivery.RetryPolicy] = None,
    ) -> None:
        self.twilio_number = self.sender_address(twilio_number)
        messages_url = f"{api_base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        # One per server: its background retries keep each patient's parts in order.
        self.sender = SmsSender(
            account_sid,
            auth_token,
            self.twilio_number,
            messages_url,
            policy or sms_delivery.RetryPolicy(),
            channel=self.name(),
        )
        # Twilio signs the URL it called; behind a proxy that is the public URL, not ours.
        self.webhook_url = webhook_url
        self.validator = RequestValidator(auth_token)
        self.help_text, self.stopped_text, self.started_text = self.keyword_replies(
            load_clinic_config()
        )

    def signed_url(self, request: Request) -> Text:
        """The URL Twilio signed: the public one set at Twilio, when a proxy changes ours."""
        return self.webhook_url or request.url

    def signed_by_twilio(self, request: Request, form: Dict[str, str]) -> bool:
        return signed_by_twilio(self.validator, self.signed_url(request), request, form)

    @classmethod
    def keyword_replies(cls, clinic: ClinicConfig) -> Tuple[Text, Optional[Text], Optional[Text]]:
        """The replies to HELP, STOP and START (None: the assistant says nothing). Twilio
        itself confirms STOP and START by SMS."""
        return sms.help_text(clinic), None, None

    @classmethod
    def sender_address(cls, number: Text) -> Text:
        """The From of the replies: the clinic's Twilio number as configured."""
        return number

    def refused_sender(self, sender: Text) -> Optional[Text]:
        """Why this webhook does not take a message from `sender`, or None."""
        if sender.startswith(WHATSAPP_PREFIX):
            return "WhatsApp messages go to /webhooks/whatsapp/webhook, not the SMS webhook."
        return None

    def get_output_channel(self) -> TwilioOutput:
        return TwilioOutput(self.sender)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Named by the channel: the WhatsApp subclass registers its own on the same server.
        twilio_webhook = Blueprint(f"custom_{self.name()}_webhook", __name__)

        @twilio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio_webhook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            url = self.signed_url(request)
            form = signed_form(self.validator, url, request, self.name(), "message")
            if isinstance(form, HTTPResponse):
                return form
            sender = form.get("From")
            body = form.get("Body")
            if not sender or body is None:
                return response.text("A Twilio message needs From and Body.", status=400)
            refused = self.refused_sender(sender)
            if refused is not None:
                logger.warning("%s.rejected reason=sender_address", self.name())
                return response.text(refused, status=400)
            # Replies go out through the Messages API while this request is handled, well
            # within Twilio's 15 s webhook timeout; the TwiML answer adds nothing.
            await self._handle(
                request.app.ctx.agent,
                on_new_message,
                sender,
                body,
                self.get_metadata(request),
                usable_id(form.get("MessageSid")),
            )
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return request_limits.limit_bodies(twilio_webhook, request_limits.TWILIO_MAX_BYTES)

    async def _handle(
        self,
        agent: Agent,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sender: Text,
        body: Text,
        metadata: Optional[Dict[Text, Any]],
        message_id: Optional[Text] = None,
    ) -> None:
        ref, channel = conversation_ref(sender), self.name()
        output = self.get_output_channel()
        tracker = await self._tracker(agent, sender)
        stopped = tracker is not None and tracker.is_paused()
        word = sms.keyword(body, stopped)
        # By SMS Twilio confirms STOP and START itself (and would refuse our messages to a
        # stopped number), so those keywords get no reply from the assistant there.
        if word == sms.STOP:
            await self._append(agent, sender, [Restarted(), ConversationPaused()])
            logger.info("%s.opted_out conversation=%s", channel, ref)
            await self._reply(output, sender, self.stopped_text, message_id)
            return
        if stopped:
            if word == sms.START:
                await self._append(agent, sender, [Restarted()])
                logger.info("%s.opted_in conversation=%s", channel, ref)
                await self._reply(output, sender, self.started_text, message_id)
            elif word == sms.DELETE:
                await self._delete(agent, sender)
                logger.info("%s.deleted_while_stopped conversation=%s", channel, ref)
            else:
                logger.info("%s.ignored_while_stopped conversation=%s", channel, ref)
            return
        if word == sms.START:
            await self._reply(output, sender, self.started_text, message_id)
            return
        if word == sms.HELP:
            await self._reply(output, sender, self.help_text, message_id)
            return
        events = [event.as_dict() for event in tracker.events] if tracker else []
        if word == sms.MORE and await self._send_full_answer(
            agent, tracker, events, output, sender
        ):
            return
        payload = sms.chosen_payload(body, sms.offered_buttons(events))
        # Some carriers turn @ into ¡ (as in Rasa's own connector).
        text = payload if payload is not None else body.replace("¡", "@")
        message = UserMessage(
            text,
            output,
            sender,
            input_channel=self.name(),
            metadata=metadata,
            message_id=message_id,
        )
        # Twilio's MessageSid stays the same when nginx retries the webhook on another
        # replica: a message is handled once (channels/handled_once.py).
        await handle_once(agent, on_new_message, message, message_id)

    @staticmethod
    async def _reply(
        output: TwilioOutput, sender: Text, text: Optional[Text], message_id: Optional[Text]
    ) -> None:
        """The channel's own answer to a keyword. With Twilio's MessageSid it is keyed by
        that message, so Twilio retrying the webhook does not send it twice."""
        if text is None:
            return
        reply_to = {"timestamp": f"reply-to:{message_id}"} if message_id else {}
        await output.send_text_message(sender, text, **reply_to)

    @staticmethod
    async def _tracker(agent: Agent, sender: Text) -> Optional[DialogueStateTracker]:
        # Under the conversation's lock, so the reply to the previous message is stored
        # before this one is read (its buttons, a STOP).
        async with agent.lock_store.lock(sender):
            return await agent.tracker_store.retrieve(sender)

    @staticmethod
    async def _delete(agent: Agent, sender: Text) -> None:
        """Delete the stopped patient's conversation (and its staff alerts): the tracker
        store's own deletion, the one a confirmed request in the chat uses."""
        store = getattr(agent.tracker_store, "_tracker_store", agent.tracker_store)  # FailSafe
        async with agent.lock_store.lock(sender):
            store.delete_conversation(sender)
        # All that is kept: that this number texted STOP, so it stays unsubscribed.
        await TwilioInput._append(agent, sender, [ConversationPaused()])

    @staticmethod
    async def _append(agent: Agent, sender: Text, events: List[Event]) -> None:
        async with agent.lock_store.lock(sender):
            tracker = await agent.tracker_store.get_or_create_tracker(sender)
            for event in events:
                tracker.update(event)
            await agent.tracker_store.save(tracker)

    @staticmethod
    async def _send_full_answer(
        agent: Agent,
        tracker: Optional[DialogueStateTracker],
        events: List[Dict[Text, Any]],
        output: TwilioOutput,
        sender: Text,
    ) -> bool:
        """Send the web version of the shortened answer in SMS-sized parts."""
        name = sms.answer_to_expand(events)
        if tracker is None or name is None or agent.processor is None:
            return False
        # The empty channel name selects the response's default (web) variant.
        full = await agent.processor.nlg.generate(name, tracker, output_channel="")
        if not full or not full.get("text"):
            return False
        await output.send_parts(sender, sms.split_message(full["text"]))
        return True
