"""A message that arrives twice is handled once: the second time it gets the first replies.

A load balancer in front of several Rasa servers (nginx in `make cluster`) sends a message
again to the next server when the first one dies mid-request. If the first had already
stored the turn, handling it again would answer it twice: in the screening, one "no" would
count for two questions. So a message may carry an id that stays the same across such
retries (nginx's `$request_id` in the `X-Request-ID` header, Twilio's `MessageSid`). Rasa
stores it with the patient's message; under the conversation's lock, a message whose id is
already in the conversation is not handled again.

Its replies are sent again when they travel back in the HTTP answer (REST: the first answer
never reached the patient); a channel that sent them as they were made (SMS) had sent them
before the turn was stored, so nothing is sent twice.
"""

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.log_privacy import conversation_ref

logger = logging.getLogger(__name__)
MAX_ID_CHARS = 64


def usable_id(value: Optional[str]) -> Optional[str]:
    """A client's message id, if it is a short printable token."""
    if value and len(value) <= MAX_ID_CHARS and value.isprintable() and " " not in value:
        return value
    return None


def stored_replies(
    tracker: Optional[DialogueStateTracker], message_id: Text
) -> Optional[List[Dict[Text, Any]]]:
    """The bot's replies to the patient's message with this id, as an output channel takes
    them; None when no message with this id is in the conversation."""
    replies: Optional[List[Dict[Text, Any]]] = None
    for event in tracker.events if tracker else []:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif replies is not None and isinstance(event, BotUttered):
            reply = {key: value for key, value in (event.data or {}).items() if value}
            if event.text:
                reply["text"] = event.text
            replies.append(reply)
    return replies


async def handle_once(
    agent: Agent,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    message: UserMessage,
    client_id: Optional[Text],
) -> None:
    """Agent.handle_message, except for a message whose id the conversation already has.
    A message without an id from its client (`client_id`) goes to `on_new_message` as
    always: Rasa gives it a random id, which no retry could repeat."""
    if client_id is None:
        await on_new_message(message)
        return
    if not agent.is_ready() or agent.processor is None:
        logger.info("Ignoring message as there is no agent to handle it.")
        return
    async with agent.lock_store.lock(message.sender_id):
        tracker = await agent.tracker_store.retrieve(message.sender_id)
        replies = stored_replies(tracker, message.message_id)
        if replies is None:
            await agent.processor.handle_message(message)
            return
        resend = isinstance(message.output_channel, CollectingOutputChannel)
        logger.info(
            "A message already handled arrived again for conversation %s; %s its %d replies.",
            conversation_ref(message.sender_id),
            "sending again" if resend else "not sending again",
            len(replies),
        )
        if resend:
            for reply in replies:
                await message.output_channel.send_response(message.sender_id, reply)
