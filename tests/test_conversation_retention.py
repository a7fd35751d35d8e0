"""Deleting stored conversations, against a real SQLite tracker store written by Rasa."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from scripts.ops.conversations import delete, prune
from staff import alert_rules, alert_store
from staff.database import open_engine

DAY = 86400
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def store_conversations(
    db: Path, ages_in_days: dict, started_days_ago: float = 0
) -> SQLTrackerStore:
    """One conversation per sender, its last message `age` days old (its first event
    `started_days_ago` days before that, at least a minute)."""
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    now = time.time()
    for sender, age in ages_in_days.items():
        stamp = now - age * DAY
        events = [
            ActionExecuted("action_listen", timestamp=stamp - max(60, started_days_ago * DAY)),
            UserUttered("does it hurt?", {"name": "ask_pain"}, timestamp=stamp - 30),
            BotUttered("You will get a topical numbing cream…", timestamp=stamp),
        ]
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    return store


def senders(store: SQLTrackerStore) -> List[str]:
    return sorted(asyncio.run(store.keys()))


def test_prune_deletes_whole_conversations_older_than_the_retention(tmp_path: Path) -> None:
    db = tmp_path / "conversations.db"
    store = store_conversations(db, {"old": 45, "recent": 3, "edge": 29})
    assert prune(f"sqlite:///{db}", days=30) == 1
    assert senders(store) == ["edge", "recent"]
    kept = asyncio.run(store.retrieve("recent"))
    assert [e.text for e in kept.events if isinstance(e, UserUttered)] == ["does it hurt?"]


def test_a_long_conversation_is_kept_while_its_last_message_is_recent(tmp_path: Path) -> None:
    db = tmp_path / "conversations.db"
    store = store_conversations(db, {"long-running": 2}, started_days_ago=60)
    assert prune(f"sqlite:///{db}", days=30) == 0
    assert senders(store) == ["long-running"]


def test_delete_removes_one_conversation_only(tmp_path: Path) -> None:
    db = tmp_path / "conversations.db"
    store = store_conversations(db, {"patient-a": 1, "patient-b": 1})
    assert delete(f"sqlite:///{db}", "patient-a") == 3
    assert senders(store) == ["patient-b"]
    assert delete(f"sqlite:///{db}", "nobody") == 0


def queue_urgent_alerts(db: Path, senders: List[str]) -> alert_store.AlertTables:
    engine, tables = open_engine(f"sqlite:///{db}"), alert_store.alert_tables()
    alert_store.create_alert_tables(engine, tables)
    turn = [{"event": "action", "name": alert_rules.URGENT_RESPONSE, "timestamp": time.time()}]
    with engine.begin() as connection:
        for sender in senders:
            alert_store.enqueue(
                connection, tables, alert_rules.alerts_in_turn(sender, turn), ["email"]
            )
    return tables


def alerted_senders(db: Path, tables: alert_store.AlertTables) -> List[str]:
    with open_engine(f"sqlite:///{db}").begin() as connection:
        alerts = sorted(r.sender_id for r in connection.execute(tables.alerts.select()))
        deliveries = connection.execute(tables.deliveries.select()).fetchall()
    assert len(deliveries) == len(alerts)  # no delivery outlives its alert
    return alerts


def test_a_deleted_or_pruned_conversation_takes_its_staff_alerts_with_it(tmp_path: Path) -> None:
    db = tmp_path / "conversations.db"
    store_conversations(db, {"old": 45, "patient-a": 1, "patient-b": 1})
    tables = queue_urgent_alerts(db, ["old", "patient-a", "patient-b"])
    assert prune(f"sqlite:///{db}", days=30) == 1
    assert alerted_senders(db, tables) == ["patient-a", "patient-b"]
    assert delete(f"sqlite:///{db}", "patient-a") == 3
    assert alerted_senders(db, tables) == ["patient-b"]


def test_an_empty_store_is_not_an_error(tmp_path: Path) -> None:
    assert prune(f"sqlite:///{tmp_path / 'new.db'}", days=30) == 0


def test_the_commands_report_what_they_did(tmp_path: Path) -> None:
    db = tmp_path / "conversations.db"
    store_conversations(db, {"old": 40, "patient-a": 1})
    env = {**os.environ, "TRACKER_STORE_URL": f"sqlite:///{db}", "PYTHONWARNINGS": "ignore"}

    def run(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "scripts.ops.conversations", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert run("prune", "--days", "30") == "Deleted 1 conversation(s) older than 30 days.\n"
    assert run("delete", "patient-a") == "Deleted conversation 'patient-a' (3 events).\n"
    assert run("delete", "patient-a") == "No conversation 'patient-a' is stored.\n"
