"""The clinic's report as one self-contained HTML page: inline CSS and SVG, no scripts,
nothing fetched from elsewhere. Every table carries an id so tests and people can read
the numbers behind each chart."""

from html import escape
from typing import Iterable, List, Sequence, Tuple

from analytics.conversation_stats import Report
from analytics.svg_charts import bar_chart, column_chart
from analytics.topics import channel_name

STYLE = """
body { font-family: system-ui, sans-serif; color: #222; max-width: 760px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.summary { display: flex; flex-wrap: wrap; gap: 1em; } .summary div { background: #f2f6f8; padding: 0.6em 1em; }
.summary strong { display: block; font-size: 1.6em; }
table { border-collapse: collapse; margin: 0.8em 0; } th, td { padding: 0.2em 0.8em; text-align: left; }
td.n, th.n { text-align: right; } tr:nth-child(even) { background: #f7f7f7; }
.note { color: #555; font-size: 0.9em; } svg { display: block; margin: 0.5em 0; max-width: 100%; height: auto; }
"""


def render(report: Report, clinic_name: str, generated_on: str) -> str:
    """The page; `generated_on` is a day, like every date in it."""
    period = (
        f"{report.first_day} to {report.last_day}" if report.first_day else "no conversations yet"
    )
    handoffs = sum(report.handoffs.values())
    unanswered = sum(report.unanswered.values())
    outcomes = sum(row["total"] for row in report.screening_outcomes.values())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(clinic_name)}: assistant report</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(clinic_name)}: what patients asked the assistant</h1>",
        f'<p class="note">Period: {escape(period)} (days in {escape(report.timezone)}). '
        f"Generated on {escape(generated_on)}. Counts only: no patient is named or identified "
        f"in this report.</p>",
        '<div class="summary" id="summary">',
        _figure("conversations", report.conversations, "Conversations"),
        _figure("messages", report.messages, "Messages from patients"),
        _figure("unanswered-total", unanswered, "Could not answer"),
        _figure("outcomes-total", outcomes, "Suitability checks"),
        _figure("handoffs-total", handoffs, "Marked for a call"),
        _figure("urgent", report.urgent_replies, "Urgent-symptom replies"),
        "</div>",
        *_per_day(report),
        *_per_channel(report),
        *_topics(report),
        *_unanswered(report),
        *_outcomes(report),
        *_handoffs(report),
        *_never_shown(report),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _figure(ident: str, value: int, label: str) -> str:
    return f'<div><strong id="{ident}">{value}</strong>{escape(label)}</div>'


def _table(ident: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A table whose first column is a label and the others counts."""
    head = "".join(f"<th{' class=n' if i else ''}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = []
    for label, *counts in rows:
        cells = "".join(f'<td class="n">{escape(str(count))}</td>' for count in counts)
        body.append(f"<tr><th>{escape(str(label))}</th>{cells}</tr>")
    return (
        f'<table id="{ident}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _per_day(report: Report) -> List[str]:
    days = list(report.per_day.items())
    return [
        "<h2>Conversations and messages per day</h2>",
        '<p class="note">A conversation counts on every day it had a message from the patient.</p>',
        "<h3>Conversations</h3>" if days else "",
        column_chart([(day, row["conversations"]) for day, row in days], "Conversations per day"),
        "<h3>Messages from patients</h3>" if days else "",
        column_chart(
            [(day, row["messages"]) for day, row in days], "Messages from patients per day"
        ),
        _table(
            "per-day",
            ["Day", "Conversations", "Messages"],
            [(day, row["conversations"], row["messages"]) for day, row in days],
        ),
    ]


def _per_channel(report: Report) -> List[str]:
    rows = [
        (channel_name(channel), row["conversations"], row["messages"])
        for channel, row in report.per_channel.items()
    ]
    return [
        "<h2>Conversations and messages per channel</h2>",
        bar_chart([(name, messages) for name, _, messages in rows], "Messages per channel"),
        _table("per-channel", ["Channel", "Conversations", "Messages"], rows),
    ]


def _topics(report: Report) -> List[str]:
    rows = list(report.topics.items())
    return [
        "<h2>What patients asked</h2>",
        '<p class="note">Every message from a patient, by what the assistant understood it to be. '
        "Yes / No / Not sure are answers to the suitability check.</p>",
        bar_chart(rows, "Messages per topic"),
        _table("topics", ["Topic", "Messages"], rows),
    ]


def _unanswered(report: Report) -> List[str]:
    reasons = list(report.unanswered.items())
    questions = [(q["text"], q["times"], q["conversations"]) for q in report.unanswered_questions]
    threshold = report.min_conversations
    parts = [
        "<h2>Questions it could not answer</h2>",
        '<p class="note">Messages answered with "Sorry, I can\'t answer that" (not in the '
        "article, or not understood), in another language, or without words.</p>",
        bar_chart(reasons, "Messages it could not answer, by reason"),
        _table("unanswered", ["Reason", "Messages"], reasons),
        f'<p class="note">The questions below are shown with emails, phone numbers and names '
        f"masked, lower-cased, without day, channel or conversation, and only when at least "
        f"{threshold} conversation{'s' if threshold != 1 else ''} asked them in the same words. "
        f'<span id="not-shown">{report.unanswered_not_shown}</span> other unanswered '
        f"message(s) are counted above but not shown. Messages in another language are never "
        f"shown (masking reads English).</p>",
    ]
    if questions:
        parts.append(
            _table(
                "unanswered-questions", ["Question (masked)", "Times", "Conversations"], questions
            )
        )
    return parts


def _outcomes(report: Report) -> List[str]:
    sources = sorted(
        {source for row in report.screening_outcomes.values() for source in row} - {"total"}
    )
    rows: List[Tuple[object, ...]] = [
        (outcome, *(row.get(source, 0) for source in sources), row["total"])
        for outcome, row in report.screening_outcomes.items()
    ]
    return [
        "<h2>Suitability check outcomes</h2>",
        '<p class="note">Each time the check gave an outcome: at the end of a screening '
        "conversation, or at once when a patient named their own condition or medication.</p>",
        bar_chart(
            [(outcome, row["total"]) for outcome, row in report.screening_outcomes.items()],
            "Suitability check outcomes",
        ),
        _table("screening-outcomes", ["Outcome", *sources, "Total"], rows),
    ]


def _handoffs(report: Report) -> List[str]:
    rows = list(report.handoffs.items())
    return [
        "<h2>Marked for a call from the clinic, and urgent symptoms</h2>",
        '<p class="note">Conversations the assistant marked for the staff (each time, by '
        "reason), and how many times it replied that symptoms may need urgent attention.</p>",
        bar_chart(rows, "Marked for a call, by reason"),
        _table("handoffs", ["Reason", "Times"], rows),
        _table(
            "urgent-replies", ["Reply", "Times"], [("Urgent-symptom reply", report.urgent_replies)]
        ),
    ]


def _never_shown(report: Report) -> List[str]:
    return [
        "<h2>What this report never shows</h2>",
        "<p class=note>Sender ids, phone numbers, user names of any channel, the time of any "
        "message (days only, and only as totals), the text of answered messages, the "
        "findings of a check, and which conversation asked what. Masking cannot catch every "
        "name or detail a patient types; see docs/clinic_guide.md in the assistant's files.</p>",
    ]
