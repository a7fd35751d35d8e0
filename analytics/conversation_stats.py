"""From stored conversations (Rasa's events as dicts) to the counts of the clinic's report.

Pure logic, no database and no Rasa imports. Sender ids are used only to tell
conversations apart while counting; the result holds counts, days and masked texts only.

A conversation is what the tracker store keeps under one sender id (as for deleting
conversations); it counts on every day, and on every channel, it had a message from the
patient, so the days add up to more than the total when a patient comes back.
"""

import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple
from zoneinfo import ZoneInfo

from analytics.masking import mask
from analytics.topics import (
    HANDOFF_REASONS,
    SCREENING_SOURCES,
    UNANSWERED_REASONS,
    UNREADABLE_REPLIES,
    channel_of,
    topic_name,
)
from clinic.constants import (
    CANNOT_ANSWER_RESPONSE,
    HANDOFF_SLOT,
    OUTCOMES,
    SCREENING_OUTCOME_SLOT,
    UNANSWERED_INTENTS,
    URGENT_RESPONSE,
)

Event = Mapping[str, Any]
OUTCOME_ORDER = list(OUTCOMES)
# Long enough for a question, short enough that a pasted life story is not reproduced.
MAX_QUESTION_CHARS = 200
# Text is cut to this, at a space, before it is masked: masking reads all it is given, and
# a stored message can be megabytes long. Room for masks that shorten what they replace.
MAX_MASKED_CHARS = 1000
# A day-by-day chart over more days than this would be unreadable; the days stay in the totals.
MAX_DAYS_SHOWN = 366


@dataclass
class Report:
    """Everything the report shows: counts by day, channel, topic and outcome; masked texts."""

    timezone: str
    min_conversations: int
    first_day: Optional[str] = None
    last_day: Optional[str] = None
    conversations: int = 0
    messages: int = 0
    per_day: Dict[str, Dict[str, int]] = field(default_factory=dict)
    per_channel: Dict[str, Dict[str, int]] = field(default_factory=dict)
    topics: Dict[str, int] = field(default_factory=dict)
    unanswered: Dict[str, int] = field(default_factory=dict)
    unanswered_questions: List[Dict[str, Any]] = field(default_factory=list)
    unanswered_not_shown: int = 0
    screening_outcomes: Dict[str, Dict[str, int]] = field(default_factory=dict)
    handoffs: Dict[str, int] = field(default_factory=dict)
    urgent_replies: int = 0

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class _Turn:
    """A patient's message and what the assistant did until the next one."""

    intent: str
    text: str
    replies: Set[str] = field(default_factory=set)


class _Tally:
    """Running counts over every conversation."""

    def __init__(self, timezone: ZoneInfo) -> None:
        self.timezone = timezone
        self.conversations: Set[str] = set()
        self.day_conversations: Dict[date, Set[str]] = defaultdict(set)
        self.day_messages: Counter = Counter()
        self.channel_conversations: Dict[str, Set[str]] = defaultdict(set)
        self.channel_messages: Counter = Counter()
        self.topics: Counter = Counter()
        self.unanswered: Counter = Counter()
        # masked question -> (times asked, the conversations that asked it)
        self.questions: Dict[str, Tuple[int, Set[str]]] = {}
        self.outcomes: Dict[str, Counter] = defaultdict(Counter)
        self.handoffs: Counter = Counter()
        self.urgent = 0

    def day(self, timestamp: float) -> date:
        return datetime.fromtimestamp(timestamp, self.timezone).date()


def summarise(
    conversations: Iterable[Tuple[str, Iterable[Event]]],
    timezone: str = "UTC",
    min_conversations: int = 2,
) -> Report:
    """Count what the report shows; `conversations` yields (sender id, its events in order).

    A question the assistant could not answer is shown (masked) only when at least
    `min_conversations` conversations asked it in the same words; the others are counted.
    """
    tally = _Tally(ZoneInfo(timezone))
    for sender, events in conversations:
        _read_conversation(tally, sender, events)
    return _report(tally, timezone, min_conversations)


def _read_conversation(tally: _Tally, sender: str, events: Iterable[Event]) -> None:
    turn: Optional[_Turn] = None
    last_action = ""
    for event in events:
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            _close_turn(tally, turn, sender)
            turn = None
        elif kind == "user":
            _close_turn(tally, turn, sender)
            day = tally.day(float(event.get("timestamp") or 0))
            channel = channel_of(event)
            tally.conversations.add(sender)
            tally.day_conversations[day].add(sender)
            tally.channel_conversations[channel].add(sender)
            tally.day_messages[day] += 1
            tally.channel_messages[channel] += 1
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
            turn = _Turn(intent=intent, text=event.get("text") or "")
        elif kind == "action":
            last_action = event.get("name") or ""
            if turn is not None:
                turn.replies.add(last_action)
        elif kind == "bot" and turn is not None:
            utter_action = (event.get("metadata") or {}).get("utter_action")
            if utter_action:
                turn.replies.add(utter_action)
        elif kind == "slot" and turn is not None and event.get("value") is not None:
            # Only slots set in answer to a message: a new session repeats the carried-over
            # slots before the patient says anything, and those were counted already.
            _count_slot(tally, str(event.get("name")), event["value"], last_action)
    _close_turn(tally, turn, sender)


def _count_slot(tally: _Tally, name: str, value: Any, action: str) -> None:
    if name == SCREENING_OUTCOME_SLOT:
        tally.outcomes[str(value)][SCREENING_SOURCES.get(action, "Other")] += 1
    elif name == HANDOFF_SLOT:
        tally.handoffs[HANDOFF_REASONS.get(str(value), str(value))] += 1


def _close_turn(tally: _Tally, turn: Optional[_Turn], sender: str) -> None:
    if turn is None:
        return
    unreadable = next((reply for reply in UNREADABLE_REPLIES if reply in turn.replies), None)
    tally.topics[UNREADABLE_REPLIES[unreadable] if unreadable else topic_name(turn.intent)] += 1
    if URGENT_RESPONSE in turn.replies:
        tally.urgent += 1
    if unreadable in UNANSWERED_REASONS:
        tally.unanswered[UNANSWERED_REASONS[unreadable]] += 1
    elif unreadable is None and (
        CANNOT_ANSWER_RESPONSE in turn.replies or turn.intent in UNANSWERED_INTENTS
    ):
        reason = "nlu_fallback" if turn.intent == "nlu_fallback" else "out_of_scope"
        tally.unanswered[UNANSWERED_REASONS[reason]] += 1
        question = question_key(mask(cut(turn.text, MAX_MASKED_CHARS)))
        if question:
            times, askers = tally.questions.get(question, (0, set()))
            tally.questions[question] = (times + 1, askers | {sender})


def cut(text: str, most: int) -> str:
    """At most `most` characters of `text`, without the word the limit falls in."""
    if len(text) <= most:
        return text
    head = text[: most + 1]
    return head.rsplit(None, 1)[0] if len(head.split(None, 1)) > 1 else head[:most]


def question_key(text: str) -> str:
    """One spelling per question, so the same words asked twice count as one question."""
    text = re.sub(r"\s+", " ", text).strip().strip(".,!?;:-–— ").lower()
    if len(text) > MAX_QUESTION_CHARS:
        text = cut(text, MAX_QUESTION_CHARS) + " …"
    return text


def _report(tally: _Tally, timezone: str, min_conversations: int) -> Report:
    report = Report(
        timezone=timezone,
        min_conversations=min_conversations,
        conversations=len(tally.conversations),
        messages=sum(tally.day_messages.values()),
        urgent_replies=tally.urgent,
    )
    days = sorted(tally.day_messages)
    if days:
        report.first_day, report.last_day = days[0].isoformat(), days[-1].isoformat()
        report.per_day = {
            day.isoformat(): {
                "conversations": len(tally.day_conversations.get(day, ())),
                "messages": tally.day_messages[day],
            }
            for day in _every_day(days[0], days[-1])
        }
    report.per_channel = {
        channel: {
            "conversations": len(tally.channel_conversations[channel]),
            "messages": tally.channel_messages[channel],
        }
        for channel, _ in tally.channel_messages.most_common()
    }
    report.topics = _by_count(tally.topics)
    report.unanswered = _by_count(tally.unanswered)
    shown = [
        (question, times, len(askers))
        for question, (times, askers) in tally.questions.items()
        if len(askers) >= min_conversations
    ]
    shown.sort(key=lambda item: (-item[1], item[0]))
    report.unanswered_questions = [
        {"text": question, "times": times, "conversations": askers}
        for question, times, askers in shown
    ]
    report.unanswered_not_shown = sum(
        times for times, askers in tally.questions.values() if len(askers) < min_conversations
    )
    outcomes = sorted(
        tally.outcomes,
        key=lambda o: (OUTCOME_ORDER.index(o) if o in OUTCOME_ORDER else len(OUTCOME_ORDER), o),
    )
    report.screening_outcomes = {
        outcome: {**dict(tally.outcomes[outcome]), "total": sum(tally.outcomes[outcome].values())}
        for outcome in outcomes
    }
    report.handoffs = _by_count(tally.handoffs)
    return report


def _every_day(first: date, last: date) -> List[date]:
    """Every day from first to last (gaps shown as zero), at most the last MAX_DAYS_SHOWN."""
    first = max(first, last - timedelta(days=MAX_DAYS_SHOWN - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _by_count(counter: Counter) -> Dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
