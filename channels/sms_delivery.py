"""When an SMS reply is sent again, and when it must not be: pure rules, no I/O.

Twilio's Messages API has no idempotency key, so a retry after an answer that never came
(a timeout, a dropped connection, a 5xx) may send the SMS twice. Before such a retry the
sender (channels/sms_sender.py) lists the messages Twilio already has for the patient and
counts the part as sent if one matches (`accepted_earlier`); these functions say what to
retry, how long to wait and what a match is.
"""

import email.utils
import hashlib
from dataclasses import dataclass
from typing import Any, Collection, Dict, Iterable, Optional

SENT, RETRY, PERMANENT = "sent", "retry", "permanent"
TOO_MANY_REQUESTS = 429
# A message Twilio created this long before our first attempt at a part is not that part:
# allows for the skew between our clock and Twilio's (its times have whole seconds).
CLOCK_SLACK_SECONDS = 5.0


def part_key(sender_id: str, bot_event_at: Any, index: object) -> str:
    """The idempotency key of one SMS part: the conversation, the bot event (Rasa's
    timestamp of the BotUttered, the same for every part of it) and the part's index."""
    text = f"{sender_id}\x00{bot_event_at!r}\x00{index}"
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:40]


def outcome(status: int) -> str:
    """What an HTTP status from the Messages API means for the part: sent, retry or give up.
    429 and 5xx are Twilio asking to try later; any other 4xx (a wrong number, an opted-out
    patient, bad credentials) fails the same way every time."""
    if 200 <= status < 300:
        return SENT
    if status == TOO_MANY_REQUESTS or status >= 500:
        return RETRY
    return PERMANENT


def may_have_been_accepted(status: Optional[int], reached_twilio: bool) -> bool:
    """Whether a failed attempt may still have created the message at Twilio: a 5xx or an
    attempt that sent its request and got no answer. A 429 or a refused connection did not."""
    if status is not None:
        return status >= 500
    return reached_twilio


@dataclass(frozen=True)
class RetryPolicy:
    """A few attempts within about a minute: waits of base, 2 base, 4 base ... at most
    `max_wait`, while the next attempt starts within `budget` seconds of the first."""

    base: float = 2.0
    max_wait: float = 30.0
    budget: float = 60.0
    attempt_timeout: float = 10.0  # well under Twilio's 15 s webhook timeout


def next_wait(
    policy: RetryPolicy, attempts: int, elapsed: float, retry_after: Optional[float] = None
) -> Optional[float]:
    """How long to wait before the next attempt after `attempts` failed ones, `elapsed`
    seconds after the first began; None: give up. A 429's Retry-After wins when longer."""
    wait = min(policy.max_wait, policy.base * 2 ** max(0, attempts - 1))
    if retry_after is not None:
        wait = max(wait, retry_after)
    if elapsed + wait > policy.budget:
        return None
    return wait


def retry_after_seconds(header: Optional[str]) -> Optional[float]:
    """A Retry-After header in seconds (Twilio sends a number), None when absent or odd."""
    try:
        value = float(header) if header is not None else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value <= 3600 else None


def created_at(message: Dict[str, Any]) -> Optional[float]:
    """A listed message's date_created (RFC 2822, as Twilio writes it) in epoch seconds."""
    try:
        return email.utils.parsedate_to_datetime(str(message.get("date_created"))).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def accepted_earlier(
    listed: Iterable[Dict[str, Any]],
    to: str,
    sender: str,
    body: str,
    first_attempt_at: float,
    claimed_sids: Collection[str],
) -> Optional[str]:
    """The sid of a listed Twilio message that is this part, sent by an attempt whose answer
    was lost: same recipient, sender and body, created since the part's first attempt, and
    not already recorded as another part (a patient asking the same question twice gets
    the same answer twice, each its own part)."""
    for message in listed:
        sid = str(message.get("sid") or "")
        at = created_at(message)
        if (
            sid
            and sid not in claimed_sids
            and message.get("to") == to
            and message.get("from") == sender
            and message.get("body") == body
            and at is not None
            and at >= first_attempt_at - CLOCK_SLACK_SECONDS
        ):
            return sid
    return None
