"""A conversation as staff read it: the patient's and the assistant's messages with their
times, from Rasa's `events` table (opened by scripts/ops/conversations.py)."""

import json
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa

PATIENT, ASSISTANT = "patient", "assistant"


@dataclass(frozen=True)
class Line:
    speaker: str
    text: str
    at: float
    buttons: Tuple[str, ...] = ()


def transcript_lines(events: Iterable[Dict[str, Any]]) -> List[Line]:
    """The messages among a conversation's events (as Rasa stores them), in order."""
    lines: List[Line] = []
    for event in events:
        kind = event.get("event")
        if kind not in ("user", "bot"):
            continue
        buttons = tuple(
            str(b.get("title", ""))
            for b in ((event.get("data") or {}).get("buttons") or [])
            if isinstance(b, dict)
        )
        text = event.get("text")
        if not text and not buttons:
            continue
        lines.append(
            Line(
                PATIENT if kind == "user" else ASSISTANT,
                str(text or ""),
                float(event.get("timestamp") or 0),
                buttons,
            )
        )
    return lines


def read_transcript(
    engine: sa.engine.Engine, events: Optional[sa.Table], sender_id: str
) -> List[Line]:
    """One conversation's messages; none when Rasa has stored nothing yet."""
    if events is None:
        return []
    with engine.begin() as connection:
        rows = connection.execute(
            sa.select(events.c.data)
            .where(events.c.sender_id == sender_id, events.c.type_name.in_(["user", "bot"]))
            .order_by(events.c.id)
        ).fetchall()
    return transcript_lines(json.loads(row.data) for row in rows)
