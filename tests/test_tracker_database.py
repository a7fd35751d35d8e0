"""staff/database.py is the one way the scripts and the staff's servers open the conversations
database: TRACKER_STORE_URL (else var/conversations.db), and on PostgreSQL the schema Rasa
writes to (POSTGRESQL_SCHEMA) for its `events` and the staff tables alike. Model-free: SQLite
stands in, with an attached database as the schema (tests/test_report_postgresql.py runs
the report and retention against a real PostgreSQL schema)."""

import json
from pathlib import Path
import pytest
import sqlalchemy as sa

from scripts.bench import handoff_load
from scripts.ops import settings
from staff import database


def test_the_url_is_tracker_store_url_else_the_default_file() -> None:
    assert database.tracker_store_url({}) == f"sqlite:///{settings.DEFAULT_TRACKER_DB}"
    assert (
        database.tracker_store_url({"TRACKER_STORE_URL": "postgresql://db/rasa"})
        == "postgresql://db/rasa"
    )


@pytest.mark.parametrize(
    "url, env, schema",
    [
        ("postgresql://rasa@db/rasa", {"POSTGRESQL_SCHEMA": "clinic"}, "clinic"),
        ("postgresql+psycopg2://rasa@db/rasa", {"POSTGRESQL_SCHEMA": "clinic"}, "clinic"),
        ("postgresql://rasa@db/rasa", {"POSTGRESQL_SCHEMA": ""}, None),
        ("postgresql://rasa@db/rasa", {}, None),
        ("sqlite:///var/conversations.db", {"POSTGRESQL_SCHEMA": "clinic"}, None),
    ],
)
def test_the_schema_is_postgresql_schema_on_postgresql_only(
    url: str, env: dict, schema: str
) -> None:
    assert database.schema_for(url, env) == schema
    assert database.schema_for(sa.engine.make_url(url), env) == schema


def test_the_schema_comes_from_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "clinic")
    assert database.schema_for("postgresql://rasa@db/rasa") == "clinic"
    monkeypatch.delenv("POSTGRESQL_SCHEMA")
    assert database.schema_for("postgresql://rasa@db/rasa") is None


def events_like_rasas(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String),
        sa.Column("type_name", sa.String),
        sa.Column("timestamp", sa.Float),
        sa.Column("data", sa.Text),
    )


def test_nothing_stored_yet_is_none_and_creates_no_file(tmp_path: Path) -> None:
    assert database.events_table(f"sqlite:///{tmp_path / 'none.db'}") is None
    assert not (tmp_path / "none.db").exists()


def test_events_are_read_from_the_schema_rasa_writes_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handoff measurement used to read `events` with sqlite3 from the file named in the
    URL, whatever the backend and schema; it now reads through events_table, which takes the
    schema from schema_for: here a `clinic` schema holds the conversations and the default
    one a decoy."""
    url = f"sqlite:///{tmp_path / 'main.db'}"
    engine = database.open_engine(url)
    sa.event.listen(
        engine,
        "connect",
        lambda connection, _record: connection.execute(
            f"ATTACH DATABASE '{tmp_path / 'clinic.db'}' AS clinic"
        ),
    )
    flagged = json.dumps({"event": "slot", "name": "handoff_reason", "value": "asked_for_person"})
    unset = json.dumps({"event": "slot", "name": "handoff_reason", "value": None})
    for schema, rows in (
        (None, [("decoy", flagged)]),
        ("clinic", [("flagged", flagged), ("not_flagged", unset)]),
    ):
        events = events_like_rasas(sa.MetaData(schema=schema))
        events.create(engine)
        with engine.begin() as connection:
            connection.execute(
                events.insert(),
                [
                    {"sender_id": sender, "type_name": "slot", "timestamp": 1.0, "data": data}
                    for sender, data in rows
                ],
            )
    monkeypatch.setattr(database, "schema_for", lambda _url, environ=None: "clinic")
    monkeypatch.setattr(database, "open_engine", lambda _url: engine)
    found = database.events_table(url)
    assert found is not None and found[1].schema == "clinic"
    assert handoff_load.flagged_conversations(url, ["flagged", "not_flagged", "decoy"]) == {
        "flagged"
    }
