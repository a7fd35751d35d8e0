"""Sending SMS parts through Twilio's Messages API: retried, never twice where that can be
known, and an urgent reply that could not be delivered raises a staff alert.

- Each part is tried once while the patient's message is handled (so a reply normally
  arrives before the webhook answers). A 429, a 5xx, a timeout or a connection error hands
  that part, and every later one for the same patient, to a background task that retries
  in order with backoff (channels/sms_delivery.py RetryPolicy: a few attempts within about
  a minute). The turn is not held up meanwhile: it holds the conversation's lock, and
  Twilio stops waiting for the webhook after 15 s.
- A 4xx other than 429 is not retried. Nothing here raises into Rasa: a part that is
  given up is logged (and alerted when urgent).
- Every part has an idempotency key (part_key) recorded in `sms_outbox`
  (channels/sms_outbox.py): a part recorded as sent is never sent again. Twilio has no
  idempotency key of its own, so before retrying an attempt that may have been accepted
  (a 5xx, or a request sent with no answer) the patient's latest messages are listed from
  Twilio, and a match (same number, body, created since the first attempt, not already
  another part's) counts as sent.
- Reply parts of the `utter_urgent` response (Rasa passes the response's name with every
  bot message) that are given up queue one UNDELIVERED_URGENT staff alert per message,
  in its own transaction (staff/alert_store.py enqueue); no patient text is in it.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Dict, List, Optional, Set, Tuple

import aiohttp
import sqlalchemy as sa

from clinic.constants import SMS_CHANNEL
from clinic.log_privacy import conversation_ref
from channels import sms_delivery, sms_outbox
from channels.sms_delivery import PERMANENT, RETRY, SENT, RetryPolicy
from staff import alert_rules, alert_store
from staff.alert_config import load_alert_config
from staff.database import open_engine, schema_for, tracker_store_url

logger = logging.getLogger(__name__)

LISTED_MESSAGES = 50  # the patient's latest messages read back from Twilio to reconcile


@dataclass
class Part:
    """One SMS to send and what is known about its attempts so far."""

    key: str
    recipient: str
    fields: Dict[str, str]
    bot_event_at: Any
    urgent: bool
    first_attempt_at: float = 0.0
    attempts: int = 0
    maybe_accepted: bool = False  # the last attempt may have created the message at Twilio
    retry_after: Optional[float] = None


@dataclass
class Storage:
    engine: sa.engine.Engine
    outbox: sa.Table
    alerts: alert_store.AlertTables


@dataclass
class SmsSender:
    """Shared by every reply of one Rasa server's channel (SMS or WhatsApp: each owns one)."""

    account_sid: str
    auth_token: str
    twilio_number: str
    messages_url: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    channel: str = SMS_CHANNEL  # Rasa's name of the channel: logs and staff alerts say it
    # Per patient, the parts waiting behind one being retried; the tasks retrying them.
    _backlogs: Dict[str, List[Part]] = field(default_factory=dict, init=False)
    _tasks: Set["asyncio.Task[None]"] = field(default_factory=set, init=False)

    @cached_property
    def storage(self) -> Storage:
        """The conversations database, opened on the first send."""
        url = tracker_store_url()  # the Rasa server's own tracker store
        engine = open_engine(url)
        storage = Storage(
            engine,
            sms_outbox.outbox_table(schema_for(url)),
            alert_store.alert_tables(schema_for(url)),
        )
        try:
            sms_outbox.create_table(engine, storage.outbox)
            alert_store.create_alert_tables(engine, storage.alerts)
        except sa.exc.SQLAlchemyError:  # another replica created them at the same moment
            logger.info("sms.outbox_tables created by another server")
        return storage

    @cached_property
    def alert_transports(self) -> List[str]:
        return load_alert_config().transports

    def parts(
        self,
        recipient: str,
        fields: List[Dict[str, str]],
        bot_event_at: Any,
        urgent: bool,
        kind: str = "",
    ) -> List[Part]:
        """The parts of one bot message; `kind` tells its image from its text parts apart.
        A message that is no bot event (HELP's answer, MORE's parts) is named by its time."""
        at = time.time() if bot_event_at is None else bot_event_at
        return [
            Part(
                sms_delivery.part_key(recipient, at, f"{kind}{index}" if kind else index),
                recipient,
                part,
                at,
                urgent,
            )
            for index, part in enumerate(fields)
        ]

    async def deliver(self, parts: List[Part]) -> None:
        """Send the parts in order; the first that needs a retry goes on in the background,
        and so does everything after it for that patient."""
        for position, part in enumerate(parts):
            backlog = self._backlogs.get(part.recipient)
            if backlog is not None:
                backlog.extend(parts[position:])
                return
            if await self._attempt(part) == RETRY:
                self._backlogs[part.recipient] = list(parts[position:])
                task = asyncio.get_running_loop().create_task(self._drain(part.recipient))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return

    async def _drain(self, recipient: str) -> None:
        backlog = self._backlogs[recipient]
        try:
            while backlog:
                part = backlog[0]
                while True:
                    if part.attempts:
                        wait = self._wait(part)
                        if wait is None:
                            await self._give_up(part, "retries exhausted")
                            break
                        await asyncio.sleep(wait)
                    if await self._attempt(part) != RETRY:
                        break
                backlog.pop(0)
        except Exception:  # a background task must never die silently with parts queued
            logger.exception(
                "sms.retry_failed channel=%s conversation=%s",
                self.channel,
                conversation_ref(recipient),
            )
        finally:
            del self._backlogs[recipient]

    def _wait(self, part: Part) -> Optional[float]:
        return sms_delivery.next_wait(
            self.policy, part.attempts, time.time() - part.first_attempt_at, part.retry_after
        )

    async def _attempt(self, part: Part) -> str:
        """One attempt at a part: sent (now or before), retry or permanent (given up)."""
        if not part.attempts:
            row = await self._stored(sms_outbox.begin_part, part.key)
            part.first_attempt_at = row.first_attempt_at if row else time.time()
            if row is not None and row.status == sms_outbox.SENT:
                logger.info(
                    "sms.already_sent channel=%s conversation=%s",
                    self.channel,
                    conversation_ref(part.recipient),
                )
                return SENT
        if part.maybe_accepted and await self._accepted_earlier(part):
            return SENT
        part.attempts += 1
        await self._stored(sms_outbox.record_attempt, part.key)
        status, sid, reached = await self._post(part)
        result = sms_delivery.outcome(status) if status is not None else RETRY
        if result == SENT:
            await self._stored(sms_outbox.mark, part.key, sms_outbox.SENT, sid)
            if part.attempts > 1:
                logger.info(
                    "sms.sent_after_retry attempts=%d channel=%s conversation=%s",
                    part.attempts,
                    self.channel,
                    conversation_ref(part.recipient),
                )
            return SENT
        part.maybe_accepted = sms_delivery.may_have_been_accepted(status, reached)
        if result == PERMANENT:
            await self._give_up(part, f"status {status}")
        return result

    async def _post(self, part: Part) -> Tuple[Optional[int], Optional[str], bool]:
        """(HTTP status or None, Twilio's sid, whether the request reached Twilio)."""
        form = {"To": part.recipient, "From": self.twilio_number, **part.fields}
        part.retry_after = None
        try:
            async with self._session() as session:
                async with session.post(self.messages_url, data=form) as reply:
                    detail = await reply.json(content_type=None)
                    if reply.status >= 300:
                        part.retry_after = sms_delivery.retry_after_seconds(
                            reply.headers.get("Retry-After")
                        )
                        logger.error(
                            "twilio.send_failed status=%s code=%s attempt=%d channel=%s "
                            "conversation=%s",
                            reply.status,
                            (detail or {}).get("code"),
                            part.attempts,
                            self.channel,
                            conversation_ref(part.recipient),
                        )
                    return reply.status, (detail or {}).get("sid"), True
        except aiohttp.ClientConnectorError as error:  # no connection: nothing was sent
            logger.error(
                "twilio.send_failed error=%s attempt=%d channel=%s conversation=%s",
                type(error).__name__,
                part.attempts,
                self.channel,
                conversation_ref(part.recipient),
            )
            return None, None, False
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.error(
                "twilio.send_failed error=%s attempt=%d channel=%s conversation=%s",
                type(error).__name__,
                part.attempts,
                self.channel,
                conversation_ref(part.recipient),
            )
            return None, None, True

    async def _accepted_earlier(self, part: Part) -> bool:
        """Whether Twilio lists this part already (an earlier attempt's answer was lost)."""
        query = {"To": part.recipient, "From": self.twilio_number, "PageSize": str(LISTED_MESSAGES)}
        try:
            async with self._session() as session:
                async with session.get(self.messages_url, params=query) as reply:
                    if reply.status >= 300:
                        raise aiohttp.ClientResponseError(
                            reply.request_info, (), status=reply.status
                        )
                    listed = (await reply.json(content_type=None) or {}).get("messages") or []
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            # Unknown: sending again risks a duplicate, not sending risks a lost reply.
            logger.warning(
                "twilio.list_failed error=%s channel=%s conversation=%s",
                type(error).__name__,
                self.channel,
                conversation_ref(part.recipient),
            )
            return False
        sids = [str(m.get("sid")) for m in listed if m.get("sid")]
        claimed = await self._stored(sms_outbox.claimed_sids, sids)
        sid = sms_delivery.accepted_earlier(
            listed,
            part.recipient,
            self.twilio_number,
            part.fields.get("Body", ""),
            part.first_attempt_at,
            claimed if claimed is not None else set(),
        )
        if sid is None:
            return False
        await self._stored(sms_outbox.mark, part.key, sms_outbox.SENT, sid)
        logger.info(
            "sms.accepted_before_retry channel=%s conversation=%s",
            self.channel,
            conversation_ref(part.recipient),
        )
        return True

    async def _give_up(self, part: Part, why: str) -> None:
        await self._stored(sms_outbox.mark, part.key, sms_outbox.FAILED)
        logger.error(
            "sms.undelivered after=%d attempts (%s) urgent=%s channel=%s conversation=%s",
            part.attempts,
            why,
            part.urgent,
            self.channel,
            conversation_ref(part.recipient),
        )
        if part.urgent:
            await asyncio.to_thread(self._raise_alert, part)

    def _raise_alert(self, part: Part) -> None:
        reason = alert_rules.UNDELIVERED_URGENT
        # One alert per undelivered message: every part of it has the same bot event.
        alert = alert_rules.Alert(
            alert_rules.alert_key(part.recipient, reason, part.bot_event_at),
            part.recipient,
            reason,
            self.channel,
            time.time(),
        )
        try:
            with self.storage.engine.begin() as connection:
                alert_store.enqueue(connection, self.storage.alerts, [alert], self.alert_transports)
        except sa.exc.SQLAlchemyError as error:
            logger.error(
                "sms.undelivered_alert_failed error=%s channel=%s conversation=%s",
                type(error).__name__,
                self.channel,
                conversation_ref(part.recipient),
            )

    async def _stored(self, function: Any, *args: Any) -> Any:
        """An outbox call in a thread; None when the database fails (the SMS still goes)."""
        try:
            return await asyncio.to_thread(
                lambda: function(self.storage.engine, self.storage.outbox, *args)
            )
        except sa.exc.SQLAlchemyError as error:
            logger.error("sms.outbox_failed error=%s", type(error).__name__)
            return None

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            auth=aiohttp.BasicAuth(self.account_sid, self.auth_token),
            timeout=aiohttp.ClientTimeout(total=self.policy.attempt_timeout),
        )
