"""The clinic's phone line by voice through Twilio: the caller speaks, the assistant answers.

Rasa 3.6's `twilio_voice` connector checks no signature, answers a call by sending "hello"
to the bot as if the caller had said it, speaks each button as its own message, and reads
a forged or empty request as a turn. This one, at /webhooks/twilio_voice/webhook (the
number's "A call comes in" webhook):
- answers 403 with no TwiML unless X-Twilio-Signature signs the request (the SMS channel's
  check, channels/twilio.py), 400 without From;
- answers a new call (CallStatus ringing) with the greeting of the `/greet` turn, then
  `<Gather input="speech">` posts what the caller said back here;
- speaks the `channel: twilio_voice` variants (built by scripts/buildtime/build_domain.py:
  short, numbers as words), the urgent reply first, buttons as "Say yes or no.", and reads
  "yes", "not sure" or "person" as the button or the request for a person;
- on a request for a person, puts the call through to the clinic (`<Dial>`) while it is
  open (knowledge/clinic_config.yml `opening_times`), and says the hours otherwise;
- on silence or speech Twilio could not read, asks again, and ends the call after three;
- a number that texted STOP (the same conversation, in which the assistant says nothing
  more) is put through to the clinic, or told the hours.
A request sent again (nginx to another replica, with the same X-Request-ID, or Twilio with
the same I-Twilio-Idempotency-Token) is handled once (channels/handled_once.py).
The conversation id is the caller's number, as by SMS (Twilio vouches for it), and logs
name it only by its reference (clinic/log_privacy.py).
"""

import logging
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

from channels import request_limits, sms, voice
from channels.handled_once import handle_once, usable_id
from channels.twilio import signed_form
from clinic.clinic_config import ClinicConfig, load_clinic_config
from clinic.constants import VOICE_CHANNEL
from clinic.log_privacy import conversation_ref
from clinic.spoken import (
    VoiceTexts,
    dial_number,
    fill,
    load_voice_texts,
    said_aloud,
    spoken_slots,
)

logger = logging.getLogger(__name__)

HUMAN_RESPONSE = "utter_human"
# The turn a new call starts with: the greeting (and the disclaimer, once per session).
GREET_PAYLOAD = "/greet"
# Silences (or unreadable speech) in a row before the call is ended.
MAX_SILENCES = 3
ENABLED_VALUES = ("true", "1", "yes")
# The domain's Spanish phone-line variations say so (scripts/buildtime/build_domain.py):
# they are spoken by a Spanish voice.
SPOKEN_LANGUAGE_KEY = "spoken_language"


# A line the caller hears, and the language it is spoken in (None: the line's own).
Line = Tuple[Text, Optional[Text]]


class VoiceOutput(CollectingOutputChannel):
    """Collects the turn's messages, with the response each came from, to speak them in
    the webhook's answer; its name selects the domain's `channel: twilio_voice` variants."""

    @classmethod
    def name(cls) -> Text:
        return VOICE_CHANNEL

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        before = len(self.messages)
        utter_action = message.get("utter_action")
        custom = message.get("custom")
        spoken_language = None
        if isinstance(custom, dict) and SPOKEN_LANGUAGE_KEY in custom:
            # A marker for this channel, not a message of its own.
            spoken_language = message.pop("custom")[SPOKEN_LANGUAGE_KEY]
        await super().send_response(recipient_id, message)
        for collected in self.messages[before:]:
            collected["utter_action"] = utter_action
            collected[SPOKEN_LANGUAGE_KEY] = spoken_language

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        # One message however many paragraphs: it is spoken as one.
        await self._persist_message(self._message(recipient_id, text=" ".join(text.split())))


class TwilioVoiceInput(InputChannel):
    """Receives calls from Twilio's voice webhook at /webhooks/twilio_voice/webhook."""

    @classmethod
    def name(cls) -> Text:
        return VOICE_CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        enabled = str(credentials.get("enabled") or "").strip().lower()
        if enabled not in ENABLED_VALUES:
            raise ValueError(
                "The twilio_voice channel is on only with TWILIO_VOICE_ENABLED=true "
                f"(it is {enabled!r}); unset it to switch the phone line off."
            )
        if not credentials.get("auth_token"):
            raise ValueError("The twilio_voice channel needs TWILIO_AUTH_TOKEN (Twilio's console).")
        clinic = load_clinic_config()
        return cls(
            str(credentials["auth_token"]),
            clinic,
            load_voice_texts(clinic),
            webhook_url=credentials.get("webhook_url") or None,
            dial_to=credentials.get("dial_number") or clinic.phone,
            assistant_voice=credentials.get("voice") or "Polly.Joanna",
            language=credentials.get("language") or "en-US",
            spanish_voice=credentials.get("voice_es") or "Polly.Lupe",
            clock_file=credentials.get("clock_file") or None,
        )

    def __init__(
        self,
        auth_token: Text,
        clinic: ClinicConfig,
        texts: VoiceTexts,
        webhook_url: Optional[Text] = None,
        dial_to: Optional[Text] = None,
        assistant_voice: Text = "Polly.Joanna",
        language: Text = "en-US",
        spanish_voice: Text = "Polly.Lupe",
        clock_file: Optional[Text] = None,
    ) -> None:
        self.validator = RequestValidator(auth_token)
        self.clinic = clinic
        slots = spoken_slots(clinic)
        self.phrases = {key: fill(text, slots) for key, text in texts.phone_line.items()}
        # Twilio signs the URL it called; behind a proxy that is the public URL, not ours.
        self.webhook_url = webhook_url
        self.dial_to = dial_number(dial_to or clinic.phone)
        self.assistant_voice = assistant_voice
        self.language = language
        # The voices by the language a variation is spoken in (None: the line's own).
        self.voices = {None: (assistant_voice, language), "es": (spanish_voice, "es-US")}
        # Tests only: a file holding the time it is (ISO 8601), read on every call.
        self.clock_file = Path(clock_file) if clock_file else None

    def now(self) -> datetime:
        if self.clock_file is not None and self.clock_file.exists():
            at = datetime.fromisoformat(self.clock_file.read_text(encoding="utf-8").strip())
            return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        return datetime.now(timezone.utc)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        voice_webhook = Blueprint("custom_twilio_voice_webhook", __name__)

        @voice_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @voice_webhook.route("/webhook", methods=["POST"])
        async def call(request: Request) -> HTTPResponse:
            url = self._signed_url(request)
            form = signed_form(self.validator, url, request, self.name(), "request")
            if isinstance(form, HTTPResponse):
                return form
            caller = form.get("From")
            if not caller:
                return response.text("A Twilio call needs From.", status=400)
            speech = " ".join((form.get("SpeechResult") or "").split())
            silences = _count(request.args.get("silences"))
            agent = request.app.ctx.agent
            # Under the conversation's lock, so the previous reply (its buttons) is stored.
            async with agent.lock_store.lock(caller):
                tracker = await agent.tracker_store.retrieve(caller)
            if tracker is not None and tracker.is_paused():
                logger.info("twilio_voice.opted_out conversation=%s", conversation_ref(caller))
                return self._twiml(self._to_a_person([self.phrases["opted_out"]]))
            if form.get("CallStatus") == "ringing" and not speech:
                logger.info("twilio_voice.call conversation=%s", conversation_ref(caller))
                text = GREET_PAYLOAD
            elif not speech:
                return self._twiml(self._reprompt(silences + 1))
            else:
                text = self._caller_choice(tracker, speech)
            output = VoiceOutput()
            # nginx's X-Request-ID (or Twilio's idempotency token) stays the same when the
            # request is sent again, e.g. to another replica: the turn is handled once.
            message_id = usable_id(
                request.headers.get("X-Request-ID")
                or request.headers.get("I-Twilio-Idempotency-Token")
            )
            message = UserMessage(
                text,
                output,
                caller,
                input_channel=self.name(),
                metadata=self.get_metadata(request),
                message_id=message_id,
            )
            await handle_once(agent, on_new_message, message, message_id)
            return self._twiml(self._answer(output.messages))

        return request_limits.limit_bodies(voice_webhook, request_limits.TWILIO_MAX_BYTES)

    def _signed_url(self, request: Request) -> Text:
        if not self.webhook_url:
            return str(request.url)
        query = request.query_string
        return f"{self.webhook_url}?{query}" if query else self.webhook_url

    @staticmethod
    def _caller_choice(tracker: Optional[DialogueStateTracker], speech: Text) -> Text:
        """What the caller's speech means: a button of the last reply ("yes" to the
        check's question), a request for a person, or a message in their words."""
        events = [event.as_dict() for event in tracker.events] if tracker else []
        payload = voice.chosen_payload(speech, sms.offered_buttons(events))
        if payload is not None:
            return payload
        return voice.PERSON_PAYLOAD if voice.asks_for_person(speech) else speech

    def _answer(self, messages: List[Dict[Text, Any]]) -> VoiceResponse:
        """The TwiML of a turn: its messages spoken, then a Gather for the caller's answer,
        or the call put through to the clinic when the caller asked for a person."""
        said = voice.urgent_first(messages)
        handoff = any(m.get("utter_action") == HUMAN_RESPONSE for m in said)
        twiml = VoiceResponse()
        if handoff and self.clinic.opening_times.is_open(self.now()):
            # What came before the request (a first turn's disclaimer) is said; the
            # rest of the turn (the check's question asked again) is not.
            for message in said:
                if message.get("utter_action") == HUMAN_RESPONSE:
                    break
                self._say(twiml, message.get("text") or "", message.get(SPOKEN_LANGUAGE_KEY))
            twiml.say(self.phrases["connecting"], voice=self.assistant_voice)
            twiml.dial(self.dial_to)
            return twiml
        if not said:  # nothing to say: ask again
            return self._reprompt(1)
        buttons: List[Dict[Text, Any]] = []
        lines: List[Line] = []
        for message in said:
            # The check's result is built by the action server, not written for the phone.
            text = said_aloud(message.get("text") or "", self.clinic)
            if message.get("buttons"):
                buttons = list(message["buttons"])
                text = f"{text} {voice.spoken_choices(buttons)}"
            if text.strip():
                lines.append((text.strip(), message.get(SPOKEN_LANGUAGE_KEY)))
        return self._gather(twiml, lines, buttons, silences=0)

    def _say(self, twiml: Any, text: Text, spoken_language: Optional[Text] = None) -> None:
        """Say `text` in the voice of its language (a Spanish variation in Spanish)."""
        assistant_voice, language = self.voices.get(spoken_language, self.voices[None])
        twiml.say(text, voice=assistant_voice, language=language)

    def _to_a_person(self, lines: List[Text]) -> VoiceResponse:
        """Put the call through while the clinic is open; otherwise say the hours and end it."""
        twiml = VoiceResponse()
        for line in lines:
            twiml.say(line, voice=self.assistant_voice)
        if self.clinic.opening_times.is_open(self.now()):
            twiml.say(self.phrases["connecting"], voice=self.assistant_voice)
            twiml.dial(self.dial_to)
        else:
            twiml.say(self.phrases["closed"], voice=self.assistant_voice)
            twiml.hangup()
        return twiml

    def _reprompt(self, silences: int) -> VoiceResponse:
        twiml = VoiceResponse()
        if silences >= MAX_SILENCES:
            twiml.say(self.phrases["goodbye"], voice=self.assistant_voice)
            twiml.hangup()
            return twiml
        return self._gather(twiml, [(self.phrases["reprompt"], None)], [], silences)

    def _gather(
        self, twiml: VoiceResponse, lines: List[Line], buttons: List[Dict[Text, Any]], silences: int
    ) -> VoiceResponse:
        # Said inside the Gather, so a caller can answer without waiting for the end.
        action = self.webhook_url or f"/webhooks/{self.name()}/webhook"
        if silences:
            action += "?" + urllib.parse.urlencode({"silences": silences})
        gather = Gather(
            input="speech",
            action=action,
            method="POST",
            action_on_empty_result=True,
            speech_timeout="2",
            speech_model="phone_call",
            language=self.language,
            hints=voice.speech_hints(buttons),
        )
        for text, spoken_language in lines:
            self._say(gather, text, spoken_language)
        twiml.append(gather)
        return twiml

    @staticmethod
    def _twiml(twiml: VoiceResponse) -> HTTPResponse:
        return response.text(str(twiml), content_type="text/xml")


def _count(value: Optional[str]) -> int:
    return int(value) if value and value.isdigit() and len(value) < 3 else 0
