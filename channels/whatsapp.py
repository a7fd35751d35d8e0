"""WhatsApp through Twilio: the SMS channel's code (channels/twilio.py) on its own webhook,
/webhooks/whatsapp/webhook, with what differs on WhatsApp.

Twilio posts a WhatsApp message to the webhook as it posts an SMS, signed the same way,
with From=whatsapp:+<patient> and To=whatsapp:+<clinic>, and takes the replies through the
same Messages API with whatsapp: addresses. So the signature check, the bounded form,
numbered answers read from the tracker store, retries and idempotency keys are the SMS
channel's. What differs:
- its own channel name, `whatsapp`: Rasa picks the responses' default (web) variants for
  it, so patients get the full answers in the article's words, not SMS's short variants
  (no per-segment cost, no GSM-7 character set, and Twilio takes 1,600 characters a
  message: longer replies are split, shorter ones never are); the report, the logs and the
  staff alerts name WhatsApp; the conversation id is the whatsapp: address, so a number's
  WhatsApp conversation is not its SMS one;
- buttons as a numbered list, one option a line, under the message; "1", "2" pick them;
- Twilio's opt-out handling covers SMS numbers only, so the assistant confirms STOP and
  START itself (HELP and the deletion after STOP are as by SMS);
- a message whose From is not a WhatsApp address gets 400: its reply could not be sent.
"""

from typing import Any, Dict, List, Optional, Text, Tuple

from clinic.clinic_config import ClinicConfig
from clinic.constants import WHATSAPP_CHANNEL
from channels import sms
from channels.twilio import TwilioInput, TwilioOutput


class WhatsAppOutput(TwilioOutput):
    """Sends replies to a whatsapp: address: whole up to 1,600 characters, buttons listed."""

    @classmethod
    def name(cls) -> Text:
        return WHATSAPP_CHANNEL

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_message(recipient_id, sms.with_button_list(text, buttons), **kwargs)


class WhatsAppInput(TwilioInput):
    """Receives WhatsApp messages from Twilio's webhook at /webhooks/whatsapp/webhook."""

    @classmethod
    def name(cls) -> Text:
        return WHATSAPP_CHANNEL

    @classmethod
    def keyword_replies(cls, clinic: ClinicConfig) -> Tuple[Text, Optional[Text], Optional[Text]]:
        """HELP as by SMS ("Send ..."); STOP and START confirmed by the assistant: Twilio's
        opt-out replies cover SMS numbers only."""
        return (
            sms.help_text(clinic, verb="Send"),
            sms.whatsapp_stopped_text(clinic),
            sms.whatsapp_started_text(clinic),
        )

    @classmethod
    def sender_address(cls, number: Text) -> Text:
        """The clinic's WhatsApp sender as Twilio's From: whatsapp:+<number>."""
        address = sms.whatsapp_address(number)
        if address is None:
            raise ValueError(
                f"TWILIO_WHATSAPP_NUMBER must be the WhatsApp sender's number in E.164 form, "
                f"e.g. +14155238886 (Twilio's sandbox), not {number!r}."
            )
        return address

    def refused_sender(self, sender: Text) -> Optional[Text]:
        if sms.is_whatsapp_address(sender):
            return None
        return (
            "The WhatsApp webhook takes WhatsApp messages only (From=whatsapp:+<number>); "
            "SMS goes to /webhooks/twilio/webhook."
        )

    def get_output_channel(self) -> WhatsAppOutput:
        return WhatsAppOutput(self.sender)
