"""`scripts.ops.report` reads a PostgreSQL tracker store written by Rasa as it reads SQLite.

Starts a throwaway PostgreSQL server on loopback from Debian's `postgresql` package, which
`make test` installs when missing (the `cluster-packages` target).
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from scripts.ops.processes import free_port
from test_report_stats import CONVERSATIONS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def postgres_bin() -> Path:
    initdb = shutil.which("initdb") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None
    )
    assert initdb, "PostgreSQL is not installed: run the tests with `make test`, which installs it"
    return Path(initdb).parent


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of this test's own; its URL."""
    bin_dir = postgres_bin()
    # Not under pytest's folder, which only root may enter.
    data = Path(tempfile.mkdtemp(prefix="report-postgres-"))
    # PostgreSQL refuses to run as root: run it as the postgres user then.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "rasa", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data / "db"),
            "-w",
            "-l",
            str(data / "log"),
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://rasa@127.0.0.1:{port}/rasa"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


def database_with_schema(postgres: str, database: str, schema: Optional[str]) -> Tuple[str, int]:
    """A new database on the test's server, with `schema` in it unless None (Rasa needs the
    schema to exist): its URL and the server's port."""
    port = int(postgres.rsplit(":", 1)[1].split("/")[0])
    server = postgres.rsplit("/", 1)[0]
    with sa.create_engine(
        f"{server}/postgres", isolation_level="AUTOCOMMIT"
    ).connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {database}"))
    url = f"{server}/{database}"
    if schema:
        with sa.create_engine(url).begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return url, port


def store_trackers(store: SQLTrackerStore, conversations: Dict[str, list]) -> None:
    for sender, events in conversations.items():
        asyncio.run(store.save(DialogueStateTracker.from_dict(sender, events)))


def report_numbers(url: str, out: Path) -> Dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TRACKER_STORE_URL": url,
        "PYTHONWARNINGS": "ignore",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "scripts.ops.report", "--out", str(out), "--min-conversations", "1"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    numbers = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    numbers.pop("generated_on")
    return numbers


def test_postgresql_and_sqlite_stores_give_the_same_report(postgres: str, tmp_path: Path) -> None:
    port = int(postgres.rsplit(":", 1)[1].split("/")[0])
    # Rasa creates the database "rasa" from the server's default one, as in production.
    pg_store = SQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host="127.0.0.1",
        port=port,
        db="rasa",
        username="rasa",
        login_db="postgres",
    )
    store_trackers(pg_store, CONVERSATIONS)
    store_trackers(
        SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "c.db")), CONVERSATIONS
    )
    from_postgres = report_numbers(postgres, tmp_path / "pg.html")
    assert from_postgres == report_numbers(
        f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "sqlite.html"
    )
    assert (from_postgres["conversations"], from_postgres["messages"]) == (2, 11)
    assert from_postgres["urgent_replies"] == 1


def run_script(url: str, *args: str, schema: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TRACKER_STORE_URL": url,
        "POSTGRESQL_SCHEMA": schema,
        "PYTHONWARNINGS": "ignore",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_with_postgresql_schema_set_report_delete_and_prune_find_the_conversations(
    postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rasa keeps its tables in POSTGRESQL_SCHEMA when that is set; a deletion that looked in
    # the default schema found nothing and told a patient "not stored".
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "clinic")
    url, port = database_with_schema(postgres, "with_schema", "clinic")
    store = SQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host="127.0.0.1",
        port=port,
        db="with_schema",
        username="rasa",
    )
    store_trackers(store, CONVERSATIONS)
    run_script(url, "scripts.ops.report", "--out", str(tmp_path / "r.html"), schema="clinic")
    assert json.loads((tmp_path / "r.json").read_text())["conversations"] == 2
    assert "Deleted conversation '+15550001111'" in run_script(
        url, "scripts.ops.conversations", "delete", "+15550001111", schema="clinic"
    )
    assert "No conversation '+15550001111' is stored" in run_script(
        url, "scripts.ops.conversations", "delete", "+15550001111", schema="clinic"
    )
    # The events written by hand are from March 2026: older than 30 days.
    assert "Deleted 1 conversation(s)" in run_script(
        url, "scripts.ops.conversations", "prune", "--days", "30", schema="clinic"
    )
    with sa.create_engine(url).connect() as connection:
        left = connection.execute(sa.text("SELECT COUNT(*) FROM clinic.events")).scalar()
    assert left == 0


def test_on_postgresql_with_a_schema_alerts_are_queued_and_a_confirmed_deletion_removes_all(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 13: the tracker store queues staff alerts beside Rasa's events, in
    # POSTGRESQL_SCHEMA, and a patient's confirmed deletion removes both.
    from rasa.shared.core.events import SlotSet, UserUttered

    from stores.tracker_store import ClinicSQLTrackerStore

    monkeypatch.setenv("POSTGRESQL_SCHEMA", "clinic_alerts")
    url, port = database_with_schema(postgres, "with_alerts", "clinic_alerts")
    store = ClinicSQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host="127.0.0.1",
        port=port,
        db="with_alerts",
        username="rasa",
    )
    urgent = [
        {
            "event": "user",
            "text": "it's oozing and I have a fever",
            "timestamp": 1.0,
            "input_channel": "rest",
            "parse_data": {"intent": {"name": "urgent_symptom"}},
        },
        {"event": "action", "name": "utter_urgent", "timestamp": 2.0},
        {
            "event": "bot",
            "text": "What you describe may need urgent medical attention.",
            "timestamp": 2.1,
        },
    ]
    for sender in ("rest:gone", "rest:kept"):
        asyncio.run(store.save(DialogueStateTracker.from_dict(sender, urgent)))

    def counts(sender: str) -> tuple:
        with sa.create_engine(url).connect() as connection:
            return tuple(
                connection.execute(
                    sa.text(f"SELECT COUNT(*) FROM clinic_alerts.{table} WHERE sender_id = :s"),
                    {"s": sender},
                ).scalar()
                for table in ("events", "staff_alerts")
            )

    assert counts("rest:gone") == (3, 1) and counts("rest:kept") == (3, 1)
    tracker = DialogueStateTracker.from_dict("rest:gone", urgent)
    tracker.update(UserUttered("yes", {"name": "affirm"}))
    tracker.update(SlotSet("conversation_deleted", True))
    asyncio.run(store.save(tracker))
    assert counts("rest:gone") == (0, 0) and counts("rest:kept") == (3, 1)
