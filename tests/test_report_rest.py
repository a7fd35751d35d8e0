"""`make report` on conversations held with the real servers (REST and SMS), copied into a
tracker store of their own: the counts in the page and its JSON, and nothing identifying."""

import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List

import pytest

from analytics.topics import channel_of
from scripts.ops.serve import Servers
from test_conversation_rest import first_turn
from test_sms import post, sms_form
from rest_conversations import new_sender

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DAY = 86400
# The copied conversations are moved to fixed days, so the test never straddles midnight.
REPORT_DAY = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc).timestamp()

SAME_QUESTION = "how much does microneedling cost? my email is {}"
UNIQUE_QUESTION = "My name is Jane Doe, does insurance cover microneedling? 07700 900123"
SCREENING = ["am i a good candidate for microneedling?", "yes", "no", "no", "no", "no"]


class Tables(HTMLParser):
    """The rows of every table with an id, and the text of every element with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: Dict[str, List[List[str]]] = {}
        self.figures: Dict[str, str] = {}
        self._table = ""
        self._figure = ""

    def handle_starttag(self, tag: str, attrs: List[Any]) -> None:
        ident = dict(attrs).get("id")
        if tag == "table" and ident:
            self._table = ident
            self.tables[ident] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif ident:
            self._figure = ident

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = ""
        self._figure = ""

    def handle_data(self, data: str) -> None:
        if self._table and self.tables[self._table] and data.strip():
            self.tables[self._table][-1].append(data.strip())
        elif self._figure:
            self.figures[self._figure] = data.strip()


@pytest.fixture(scope="module")
def conversations(servers: Servers) -> Dict[str, Any]:
    """Four patients' conversations: three over REST (one of them two days earlier), one by SMS."""

    def say(sender: str, message: str) -> List[Dict]:
        request = urllib.request.Request(
            servers.rest_url,
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode("utf-8"))

    senders = {
        "a": new_sender(),
        "b": new_sender(),
        "c": new_sender(),
        "sms": "+1555" + str(uuid.uuid4().int)[:7],
    }
    replies = {
        "pain": first_turn(say(senders["a"], "does it hurt?")),
        "cost_a": say(senders["a"], SAME_QUESTION.format("jane.doe@example.com")),
        "rosacea": say(senders["a"], "I have rosacea, can I still get microneedling?"),
        "cost_b": first_turn(say(senders["b"], SAME_QUESTION.format("omar.k@example.org"))),
        "screening": [say(senders["b"], message) for message in SCREENING][-1],
        "person": say(senders["b"], "can i speak to a real person please"),
    }
    for message in [
        "🙂🙂🙂",
        "does it hurt?",
        "Est-ce que ça fait mal ?",
        "what is microneedling?",
        UNIQUE_QUESTION,
    ]:
        replies[message] = say(senders["c"], message)
    for message in ["bleedin wont stop, had microneedling 3 hrs ago", "does it hurt?"]:
        assert post(servers, sms_form(senders["sms"], message)) == 200
    return {"senders": senders, "replies": replies}


@pytest.fixture(scope="module")
def report(
    servers: Servers, conversations: Dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Dict[str, Any]:
    """`python -m scripts.ops.report` on a store holding only this test's conversations."""
    workdir = tmp_path_factory.mktemp("report")
    store = workdir / "conversations.db"
    copy_conversations(servers, store, conversations["senders"])
    out = workdir / "clinic-report.html"
    result = subprocess.run(
        [sys.executable, "-m", "scripts.ops.report", "--out", str(out)],
        cwd=PROJECT_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "TRACKER_STORE_URL": f"sqlite:///{store}",
            "PYTHONWARNINGS": "ignore",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Report of 4 conversation(s), 18 message(s) (2026-03-08 to 2026-03-10)" in result.stdout
    page = out.read_text(encoding="utf-8")
    parsed = Tables()
    parsed.feed(page)
    return {
        "page": page,
        "tables": parsed.tables,
        "figures": parsed.figures,
        "json": json.loads(out.with_suffix(".json").read_text(encoding="utf-8")),
    }


def copy_conversations(servers: Servers, store: Path, senders: Dict[str, str]) -> None:
    """Copy the conversations into a new store, on 10 March 2026 (patient c's on the 8th)."""
    source = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(store) as target:
        target.execute("ATTACH DATABASE ? AS source", (source,))
        marks = ",".join("?" * len(senders))
        target.execute(
            f"CREATE TABLE events AS SELECT * FROM source.events WHERE sender_id IN ({marks})",
            list(senders.values()),
        )
        start = target.execute("SELECT MIN(timestamp) FROM events").fetchone()[0]
        for row_id, sender, stamp, data in target.execute(
            "SELECT id, sender_id, timestamp, data FROM events"
        ).fetchall():
            moved = REPORT_DAY + (stamp - start) - (2 * DAY if sender == senders["c"] else 0)
            event = json.loads(data)
            event["timestamp"] = moved
            target.execute(
                "UPDATE events SET timestamp = ?, data = ? WHERE id = ?",
                (moved, json.dumps(event), row_id),
            )


def test_the_conversations_went_as_the_counts_below_expect(conversations: Dict[str, Any]) -> None:
    replies = conversations["replies"]
    # The price is not in the article: the honest reply (answerability) says so.
    assert all(
        reply.startswith(("Sorry, I can't answer that.", "Our article doesn't say what it costs"))
        for reply in [replies["cost_a"][0]["text"], replies["cost_b"][0]]
    )
    assert replies["rosacea"][0]["text"].startswith("Result of the check: Not recommended.")
    assert replies["screening"][-1]["text"].startswith(
        "Result of the check: No contraindication found."
    )
    assert replies[UNIQUE_QUESTION][0]["text"].startswith(
        ("Sorry, I can't answer that.", "Our article doesn't say ")
    )


def test_conversations_and_messages_per_day_and_channel(report: Dict[str, Any]) -> None:
    numbers = report["json"]
    assert (numbers["conversations"], numbers["messages"]) == (4, 18)
    assert numbers["per_day"] == {
        "2026-03-08": {"conversations": 1, "messages": 5},
        "2026-03-09": {"conversations": 0, "messages": 0},
        "2026-03-10": {"conversations": 3, "messages": 13},
    }
    assert numbers["per_channel"] == {
        "rest": {"conversations": 3, "messages": 16},
        "twilio": {"conversations": 1, "messages": 2},
    }
    # The page shows the same numbers.
    assert report["figures"]["conversations"] == "4" and report["figures"]["messages"] == "18"
    assert report["tables"]["per-day"][1:] == [
        ["2026-03-08", "1", "5"],
        ["2026-03-09", "0", "0"],
        ["2026-03-10", "3", "13"],
    ]
    assert report["tables"]["per-channel"][1:] == [["REST API", "3", "16"], ["SMS", "1", "2"]]


def test_questions_per_topic(report: Dict[str, Any]) -> None:
    topics = report["json"]["topics"]
    assert sum(topics.values()) == 18
    assert topics["Does it hurt"] == 3
    assert topics["Urgent symptoms"] == 1
    assert topics["Another language"] == 1
    assert topics["No words (empty, emoji, symbols)"] == 1
    assert topics["Suitability check (screening)"] == 1
    rows = {label: int(count) for label, count in report["tables"]["topics"][1:]}
    assert rows == topics


def test_unanswered_questions_shown_masked_only_when_asked_in_two_conversations(
    report: Dict[str, Any],
) -> None:
    numbers = report["json"]
    assert sum(numbers["unanswered"].values()) == 5
    assert numbers["unanswered"]["Another language"] == 1 and numbers["unanswered"]["No words"] == 1
    assert numbers["unanswered_questions"] == [
        {"text": SAME_QUESTION.format("[email]"), "times": 2, "conversations": 2}
    ]
    assert numbers["unanswered_not_shown"] == 1
    assert report["tables"]["unanswered-questions"][1:] == [
        [SAME_QUESTION.format("[email]"), "2", "2"]
    ]
    assert report["figures"]["not-shown"] == "1"


def test_screening_outcomes_handoffs_and_urgent_replies(report: Dict[str, Any]) -> None:
    numbers = report["json"]
    assert numbers["screening_outcomes"] == {
        "Not recommended": {"One-shot question": 1, "total": 1},
        "No contraindication found": {"Screening conversation": 1, "total": 1},
    }
    assert numbers["handoffs"] == {"Asked for a person": 1}
    assert numbers["urgent_replies"] == 1
    assert report["tables"]["screening-outcomes"][1:] == [
        ["Not recommended", "1", "0", "1"],
        ["No contraindication found", "0", "1", "1"],
    ]
    assert report["tables"]["handoffs"][1:] == [["Asked for a person", "1"]]
    assert report["figures"]["urgent"] == "1"


def test_nothing_in_the_report_identifies_a_patient(
    report: Dict[str, Any], conversations: Dict[str, Any]
) -> None:
    for text in [report["page"], json.dumps(report["json"], ensure_ascii=False)]:
        for sender in conversations["senders"].values():
            assert sender not in text
        assert conversations["senders"]["sms"].lstrip("+") not in text
        for secret in [
            "jane.doe@example.com",
            "omar.k@example.org",
            "07700",
            "900123",
            "Jane",
            "Doe",
            "insurance",
            "ça fait mal",
        ]:
            assert not re.search(rf"\b{re.escape(secret)}\b", text), secret
        # Days only: no time of day anywhere.
        assert not re.search(r"\b\d{1,2}:\d{2}\b", text)
    assert "<script" not in report["page"] and "<link" not in report["page"]


def test_make_shell_talks_to_rasa_port_and_its_chat_is_counted_as_the_terminal(
    servers: Servers, stored_events: Any
) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "shell"],
        input="does it hurt?\nthanks\n",
        cwd=PROJECT_ROOT,
        text=True,
        env={**os.environ, "RASA_PORT": str(servers.rasa_port)},
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert "bot>" in result.stdout, result.stdout
    sender = re.search(r"rest:[\w.-]+", result.stdout)
    assert sender, result.stdout
    users = stored_events(sender.group(0), "user")
    assert len(users) == 2 and {channel_of(event) for event in users} == {"cmdline"}
