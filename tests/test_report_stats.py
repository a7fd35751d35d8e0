"""Counting stored conversations for the clinic's report (analytics/conversation_stats.py)
and rendering it (analytics/report_page.py), on events written by hand as Rasa stores them."""

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from analytics.conversation_stats import summarise
from analytics.report_page import render

Event = Dict[str, Any]
DAY1 = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc).timestamp()
DAY3 = datetime(2026, 3, 4, 23, 30, tzinfo=timezone.utc).timestamp()


def session_start(at: float, carried: Optional[Dict[str, Any]] = None) -> List[Event]:
    """How Rasa opens a session, repeating the slots it carries over."""
    return [
        {"event": "action", "name": "action_session_start", "timestamp": at},
        {"event": "session_started", "timestamp": at},
        *(
            {"event": "slot", "name": name, "value": value, "timestamp": at}
            for name, value in (carried or {}).items()
        ),
        {"event": "action", "name": "action_listen", "timestamp": at},
    ]


def turn(
    at: float,
    text: str,
    intent: str,
    *replies: str,
    channel: str = "rest",
    slots: Optional[Dict[str, Any]] = None,
) -> List[Event]:
    """A patient's message and the assistant's actions, each utter_* with its bot message."""
    events: List[Event] = [
        {
            "event": "user",
            "timestamp": at,
            "text": text,
            "input_channel": channel,
            "parse_data": {"intent": {"name": intent, "confidence": 0.9}},
        }
    ]
    for reply in replies:
        events.append({"event": "action", "name": reply, "timestamp": at})
        if reply.startswith("utter_"):
            events.append(
                {
                    "event": "bot",
                    "text": "...",
                    "timestamp": at,
                    "metadata": {"utter_action": reply},
                }
            )
        for name, value in (slots or {}).get(reply, {}).items():
            events.append({"event": "slot", "name": name, "value": value, "timestamp": at})
    events.append({"event": "action", "name": "action_listen", "timestamp": at})
    return events


CONVERSATIONS = {
    "+15550001111": [
        *session_start(DAY1),
        *turn(
            DAY1,
            "how much does it cost? jane@example.com",
            "out_of_scope",
            "utter_disclaimer",
            "utter_cannot_answer",
            channel="twilio",
        ),
        *turn(
            DAY1,
            "I have rosacea",
            "ask_contraindications",
            "action_assess_statement",
            channel="twilio",
            slots={"action_assess_statement": {"screening_outcome": "Not recommended"}},
        ),
        # Back two days later: a new session repeats the outcome slot; it is not a second check.
        *session_start(DAY3, carried={"screening_outcome": "Not recommended"}),
        *turn(
            DAY3,
            "How much does it cost?",
            "out_of_scope",
            "utter_disclaimer",
            "utter_cannot_answer",
            "action_flag_handoff",
            channel="twilio",
        ),
    ],
    "widget-abc": [
        *session_start(DAY1),
        *turn(DAY1, "/greet", "greet", "utter_greet", channel="socketio"),
        *turn(
            DAY1,
            "how much does it cost, call me on 07700 900123",
            "out_of_scope",
            "utter_disclaimer",
            "utter_cannot_answer",
            channel="socketio",
        ),
        *turn(
            DAY1,
            "asdf qwerty",
            "nlu_fallback",
            "utter_cannot_answer",
            "action_flag_handoff",
            channel="socketio",
            slots={"action_flag_handoff": {"handoff_reason": "repeated_fallback"}},
        ),
        *turn(
            DAY1,
            "its bleeding a lot and i have a fever",
            "urgent_symptom",
            "utter_urgent",
            channel="socketio",
        ),
        *turn(DAY1, "kann ich das machen", "ask_pain", "utter_english_only", channel="socketio"),
        *turn(
            DAY1,
            "am i a good candidate",
            "check_candidacy",
            "action_start_screening",
            "screening_form",
            channel="socketio",
        ),
        *turn(
            DAY1,
            "no",
            "deny",
            "screening_form",
            "action_screening_result",
            channel="socketio",
            slots={"action_screening_result": {"screening_outcome": "No contraindication found"}},
        ),
        *turn(
            DAY1,
            "i want a person",
            "request_human",
            "utter_human",
            "action_flag_handoff",
            channel="socketio",
            slots={"action_flag_handoff": {"handoff_reason": "requested"}},
        ),
    ],
}


def test_conversations_and_messages_per_day_and_channel() -> None:
    report = summarise(CONVERSATIONS.items())
    assert (report.conversations, report.messages) == (2, 11)
    assert report.per_day == {
        "2026-03-02": {"conversations": 2, "messages": 10},
        "2026-03-03": {"conversations": 0, "messages": 0},
        "2026-03-04": {"conversations": 1, "messages": 1},
    }
    assert report.per_channel == {
        "socketio": {"conversations": 1, "messages": 8},
        "twilio": {"conversations": 1, "messages": 3},
    }


def test_days_follow_the_clinics_time_zone() -> None:
    report = summarise(CONVERSATIONS.items(), timezone="Asia/Tokyo")
    assert (report.first_day, report.last_day) == ("2026-03-02", "2026-03-05")


def test_topics_are_readable_and_unreadable_messages_are_not_given_a_guessed_topic() -> None:
    topics = summarise(CONVERSATIONS.items()).topics
    assert topics["Not covered by the article"] == 3
    assert topics["Another language"] == 1
    assert "Does it hurt" not in topics
    assert topics["Suitability check (screening)"] == 1 and topics["No (answer)"] == 1
    assert sum(topics.values()) == 11


def test_outcomes_handoffs_and_urgent_replies() -> None:
    report = summarise(CONVERSATIONS.items())
    assert report.screening_outcomes == {
        "Not recommended": {"One-shot question": 1, "total": 1},
        "No contraindication found": {"Screening conversation": 1, "total": 1},
    }
    assert report.handoffs == {"Asked for a person": 1, "Two unanswered questions in a row": 1}
    assert report.urgent_replies == 1


def test_unanswered_questions_are_masked_and_shown_only_when_several_conversations_asked() -> None:
    report = summarise(CONVERSATIONS.items(), min_conversations=2)
    assert report.unanswered == {
        "Not covered by the article": 3,
        "Another language": 1,
        "Not understood": 1,
    }
    # Asked in two conversations, but each in other words once masked, so shown in neither.
    assert report.unanswered_questions == []
    assert report.unanswered_not_shown == 4
    everything = summarise(CONVERSATIONS.items(), min_conversations=1).unanswered_questions
    assert {q["text"]: q["times"] for q in everything} == {
        "how much does it cost? [email]": 1,
        "how much does it cost": 1,
        "how much does it cost, call me on [phone]": 1,
        "asdf qwerty": 1,
    }


def test_the_same_question_from_two_conversations_is_shown_masked() -> None:
    conversations = {
        sender: [
            *session_start(DAY1),
            *turn(
                DAY1,
                f"Do you take insurance? I'm {name}, {email}",
                "out_of_scope",
                "utter_cannot_answer",
            ),
        ]
        for sender, name, email in [("a", "Jane", "jane@example.com"), ("b", "Omar", "o@x.org")]
    }
    report = summarise(conversations.items())
    assert report.unanswered_questions == [
        {"text": "do you take insurance? i'm [name], [email]", "times": 2, "conversations": 2}
    ]
    assert report.unanswered_not_shown == 0


def test_the_page_has_the_numbers_and_no_sender_id_time_or_raw_text() -> None:
    report = summarise(CONVERSATIONS.items(), min_conversations=1)
    page = render(report, "Riverside <Skin> Clinic", "2026-03-05")
    assert '<strong id="conversations">2</strong>' in page
    assert '<strong id="urgent">1</strong>' in page
    assert "Riverside &lt;Skin&gt; Clinic" in page
    for secret in [
        "+15550001111",
        "widget-abc",
        "jane@example.com",
        "07700 900123",
        "09:30",
        "kann ich",
    ]:
        assert secret not in page
    assert "<script" not in page and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_an_empty_store_gives_an_empty_report() -> None:
    report = summarise([])
    assert (report.conversations, report.messages, report.per_day) == (0, 0, {})
    assert "no conversations yet" in render(report, "Clinic", "2026-03-05")


def test_a_huge_message_is_cut_before_it_is_masked(monkeypatch: Any) -> None:
    # Masking reads the whole text it gets: a 10 MB message once kept the report from finishing.
    import analytics.conversation_stats as stats

    seen: List[int] = []
    real_mask = stats.mask
    monkeypatch.setattr(stats, "mask", lambda text: seen.append(len(text)) or real_mask(text))
    huge = "write to jane.doe@example.com how much does it cost " + "x" * 10_000_000
    conversations = {
        sender: [*session_start(DAY1), *turn(DAY1, huge, "out_of_scope", "utter_cannot_answer")]
        for sender in ("a", "b")
    }
    report = summarise(conversations.items())
    assert seen and max(seen) <= stats.MAX_MASKED_CHARS <= 2_000
    (question,) = report.unanswered_questions
    assert question["text"].startswith("write to [email] how much does it cost")


def test_chats_from_make_shell_are_counted_as_the_terminal_not_the_rest_api() -> None:
    # scripts/ops/chat.py posts to the REST channel with metadata saying it is `make shell`.
    shell = turn(DAY1, "does it hurt?", "ask_pain", "utter_pain")
    shell[0]["metadata"] = {"client": "make-shell"}
    conversations = {
        "rest:a": [*session_start(DAY1), *shell],
        "rest:b": [*session_start(DAY1), *turn(DAY1, "hi", "greet", "utter_greet")],
    }
    report = summarise(conversations.items())
    assert report.per_channel == {
        "cmdline": {"conversations": 1, "messages": 1},
        "rest": {"conversations": 1, "messages": 1},
    }
    assert "Terminal (make shell)" in render(report, "Clinic", "2026-03-02")
