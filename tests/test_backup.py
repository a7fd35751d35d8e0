"""Backups (issue 14): `make backup` while the servers write, `make restore` on a fresh
installation, and the conversation goes on; PostgreSQL with POSTGRESQL_SCHEMA; a changed
backup or a non-empty database is refused; backups expire with retention_days."""

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from clinic.clinic_config import load_clinic_config
from clinic.contraindication_rules import load_rules
from channels import conversation_ids
from rest_conversations import is_consent, texts
from scripts.ops.backup_manifest import build_manifest, expired, manifest_problems
from scripts.ops.processes import free_port
from scripts.ops.serve import installation_secret, running_servers
from test_report_postgresql import database_with_schema, postgres, store_trackers  # noqa: F401 (the fixture)
from test_report_stats import CONVERSATIONS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [question.text for question in load_rules().questions.values()]
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)


def backup_command(
    *args: str, url: str, schema: str = "", **more_env: str
) -> subprocess.CompletedProcess:
    """`python -m scripts.ops.backup ...` as `make backup` / `make restore` run it."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TRACKER_STORE_URL": url,
        "POSTGRESQL_SCHEMA": schema,
        "PYTHONWARNINGS": "ignore",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        **more_env,
    }
    return subprocess.run(
        [sys.executable, "-m", "scripts.ops.backup", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def only_backup(root: Path) -> Path:
    [folder] = [p for p in root.iterdir() if p.is_dir()]
    return folder


def sqlite_store(path: Path) -> str:
    """A SQLite tracker store written by Rasa, with two conversations; its URL."""
    store_trackers(SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path)), CONVERSATIONS)
    return f"sqlite:///{path}"


def rows(url: str) -> List[tuple]:
    with sa.create_engine(url).connect() as connection:
        schema = os.environ.get("POSTGRESQL_SCHEMA") if url.startswith("postgresql") else None
        events = sa.Table("events", sa.MetaData(), autoload_with=connection, schema=schema)
        return [tuple(row) for row in connection.execute(events.select().order_by(events.c.id))]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# The pure parts


def test_the_manifest_check_names_each_missing_or_changed_file() -> None:
    manifest = build_manifest(
        NOW,
        "sqlite",
        None,
        {"events": 3},
        {"conversations.db": "a" * 64, "secrets/log_id_salt": "b" * 64},
    )
    assert manifest["created"] == "2026-12-03T06:00:00Z"
    assert (
        manifest_problems(manifest, {"conversations.db": "a" * 64, "secrets/log_id_salt": "b" * 64})
        == []
    )
    problems = manifest_problems(
        manifest, {"conversations.db": "c" * 64, "secrets/log_id_salt": None}
    )
    assert len(problems) == 2
    assert problems[0].startswith("conversations.db has changed")
    assert problems[1] == "secrets/log_id_salt is missing"
    assert manifest_problems({**manifest, "format": 2}, {}) == ["unknown manifest format 2"]


def test_backups_older_than_the_retention_period_expire() -> None:
    created = {
        "old": NOW - timedelta(days=31),
        "edge": NOW - timedelta(days=29, hours=23),
        "new": NOW,
    }
    assert expired(created, NOW, 30) == ["old"]
    assert expired(created, NOW, 1) == ["edge", "old"]


# SQLite, without servers


def test_a_backup_is_private_and_its_manifest_holds_counts_and_hashes_but_no_patient_data(
    tmp_path: Path,
) -> None:
    url = sqlite_store(tmp_path / "conversations.db")
    var = tmp_path / "var"
    installation_secret(var / "log_id_salt")
    installation_secret(var / "conversation_id_secret", nbytes=32)
    done = backup_command(
        "create", "--dir", str(tmp_path / "backups"), "--var-dir", str(var), url=url
    )
    assert done.returncode == 0, done.stderr
    folder = only_backup(tmp_path / "backups")
    assert folder.name.endswith("Z") and str(folder) in done.stdout
    manifest_text = (folder / "manifest.json").read_text()
    manifest = json.loads(manifest_text)
    assert manifest["database"] == {
        "kind": "sqlite",
        "schema": None,
        "tables": {"events": len(rows(url))},
    }
    assert set(manifest["files"]) == {
        "conversations.db",
        "secrets/log_id_salt",
        "secrets/conversation_id_secret",
    }
    for sender, events in CONVERSATIONS.items():
        assert sender not in manifest_text
        assert not any(e.get("text") and e["text"] in manifest_text for e in events)
    assert str(tmp_path) not in manifest_text  # nor where the database is
    files = [folder, *folder.rglob("*")]
    assert {p.name: oct(mode(p)) for p in files} == {
        p.name: oct(0o700 if p.is_dir() else 0o600) for p in files
    }
    # The copy is one file, readable without any -wal beside it.
    assert sorted(p.name for p in folder.iterdir()) == [
        "conversations.db",
        "manifest.json",
        "secrets",
    ]


@pytest.fixture
def backup(tmp_path: Path) -> Dict:
    """A backup of a SQLite store with two conversations; where it is and what is in it."""
    url = sqlite_store(tmp_path / "source.db")
    var = tmp_path / "var"
    installation_secret(var / "conversation_id_secret", nbytes=32)
    assert (
        backup_command(
            "create", "--dir", str(tmp_path / "backups"), "--var-dir", str(var), url=url
        ).returncode
        == 0
    )
    return {"folder": only_backup(tmp_path / "backups"), "rows": rows(url), "var": var}


@pytest.mark.parametrize("changed", ["conversations.db", "secrets/conversation_id_secret"])
def test_restore_refuses_a_backup_whose_files_changed(
    backup: Dict, tmp_path: Path, changed: str
) -> None:
    path = backup["folder"] / changed
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    target = tmp_path / "restored" / "conversations.db"
    done = backup_command(
        "restore",
        str(backup["folder"]),
        "--var-dir",
        str(tmp_path / "restored-var"),
        url=f"sqlite:///{target}",
    )
    assert done.returncode != 0
    assert f"{changed} has changed since the backup" in done.stderr
    assert "nothing restored" in done.stderr
    assert not target.exists() and not (tmp_path / "restored-var").exists()


def test_restore_refuses_a_database_with_rows_unless_forced(backup: Dict, tmp_path: Path) -> None:
    target = tmp_path / "busy.db"
    url = sqlite_store(target)
    with sqlite3.connect(target) as connection:
        connection.execute("DELETE FROM events WHERE sender_id = '+15550001111'")
    before = rows(url)
    done = backup_command(
        "restore", str(backup["folder"]), "--var-dir", str(backup["var"]), url=url
    )
    assert done.returncode != 0 and "the target database is not empty (events:" in done.stderr
    assert "FORCE=1" in done.stderr and rows(url) == before
    forced = backup_command(
        "restore", str(backup["folder"]), "--var-dir", str(backup["var"]), "--force", url=url
    )
    assert forced.returncode == 0, forced.stderr
    assert rows(url) == backup["rows"]


def test_restore_refuses_to_replace_other_secrets_unless_forced(
    backup: Dict, tmp_path: Path
) -> None:
    # Another installation's secret: replacing it ends its open conversations.
    other_var = tmp_path / "other-var"
    installation_secret(other_var / "conversation_id_secret", nbytes=32)
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    done = backup_command("restore", str(backup["folder"]), "--var-dir", str(other_var), url=url)
    assert done.returncode != 0 and "conversation_id_secret" in done.stderr
    assert not (tmp_path / "empty.db").exists()
    assert (
        backup_command(
            "restore", str(backup["folder"]), "--var-dir", str(other_var), "--force", url=url
        ).returncode
        == 0
    )
    assert (other_var / "conversation_id_secret").read_text() == (
        backup["var"] / "conversation_id_secret"
    ).read_text()


def test_prune_deletes_backups_older_than_retention_days_and_nothing_else(tmp_path: Path) -> None:
    days = int(load_clinic_config().retention_days)
    root = tmp_path / "backups"
    now = datetime.now(timezone.utc)
    for name, age in (("old", days + 1), ("young", days - 1)):
        (root / name).mkdir(parents=True)
        manifest = build_manifest(now - timedelta(days=age), "sqlite", None, {}, {})
        (root / name / "manifest.json").write_text(json.dumps(manifest))
    (root / "notes").mkdir()  # not a backup: no manifest
    done = backup_command("prune", "--dir", str(root), url="sqlite:///unused.db")
    assert done.returncode == 0, done.stderr
    assert f"Deleted 1 backup(s) older than {days} days" in done.stdout
    assert sorted(p.name for p in root.iterdir()) == ["notes", "young"]


# PostgreSQL


def test_postgresql_with_a_schema_backup_drop_restore_gives_the_same_rows(
    postgres: str,  # noqa: F811 (the fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "clinic_backup")
    url, port = database_with_schema(postgres, "backed_up", "clinic_backup")
    with sa.create_engine(url).begin() as connection:
        # Another application's table in the default schema: not the clinic's to back up.
        connection.execute(sa.text("CREATE TABLE public.unrelated (x int)"))
    store_trackers(
        SQLTrackerStore(
            Domain.empty(),
            dialect="postgresql",
            host="127.0.0.1",
            port=port,
            db="backed_up",
            username="rasa",
        ),
        CONVERSATIONS,
    )
    before = rows(url)
    assert len(before) > 10
    done = backup_command(
        "create",
        "--dir",
        str(tmp_path / "backups"),
        "--var-dir",
        str(tmp_path / "var"),
        url=url,
        schema="clinic_backup",
    )
    assert done.returncode == 0, done.stderr
    folder = only_backup(tmp_path / "backups")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"] == {
        "kind": "postgresql",
        "schema": "clinic_backup",
        "tables": {"events": len(before)},
    }
    assert (
        "conversations.pgdump" in manifest["files"]
        and mode(folder / "conversations.pgdump") == 0o600
    )

    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text("DROP SCHEMA clinic_backup CASCADE"))
    done = backup_command(
        "restore", str(folder), "--var-dir", str(tmp_path / "var"), url=url, schema="clinic_backup"
    )
    assert done.returncode == 0, done.stderr
    assert rows(url) == before
    # Into the default schema it would land where the servers do not look: refused.
    elsewhere = backup_command(
        "restore", str(folder), "--var-dir", str(tmp_path / "var"), "--force", url=url
    )
    assert elsewhere.returncode != 0 and "holds the schema 'clinic_backup'" in elsewhere.stderr
    # Restored again onto the rows it holds: refused, then forced.
    again = backup_command(
        "restore", str(folder), "--var-dir", str(tmp_path / "var"), url=url, schema="clinic_backup"
    )
    assert again.returncode != 0 and "not empty" in again.stderr
    forced = backup_command(
        "restore",
        str(folder),
        "--var-dir",
        str(tmp_path / "var"),
        "--force",
        url=url,
        schema="clinic_backup",
    )
    assert forced.returncode == 0, forced.stderr
    assert rows(url) == before
    with sa.create_engine(url).connect() as connection:
        assert sa.inspect(connection).has_table("unrelated", schema="public")


def test_postgresql_without_a_schema_restores_the_public_one_row_for_row(
    postgres: str,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    url, port = database_with_schema(postgres, "plain", None)
    store_trackers(
        SQLTrackerStore(
            Domain.empty(),
            dialect="postgresql",
            host="127.0.0.1",
            port=port,
            db="plain",
            username="rasa",
        ),
        CONVERSATIONS,
    )
    before = rows(url)
    assert (
        backup_command(
            "create",
            "--dir",
            str(tmp_path / "backups"),
            "--var-dir",
            str(tmp_path / "var"),
            url=url,
        ).returncode
        == 0
    )
    folder = only_backup(tmp_path / "backups")
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text("DROP TABLE events"))
    for force in ([], ["--force"]):  # into the emptied database, then over itself
        done = backup_command(
            "restore", str(folder), "--var-dir", str(tmp_path / "var"), *force, url=url
        )
        assert done.returncode == 0, done.stderr
        assert rows(url) == before


# The real servers


def post(url: str, sender: str, message: str) -> List[Dict]:
    body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))


def installation(root: Path) -> Dict:
    """A tracker db path and a var folder of their own, as a host has."""
    var = root / "var"
    return {"db": root / "conversations.db", "var": var, "logs": root / "logs"}


def servers_of(place: Dict, model_path: Path):
    action_port, web_port = free_port(), free_port()
    return running_servers(
        rasa_port=free_port(),
        action_port=action_port,
        model=model_path,
        tracker_db=place["db"],
        log_dir=place["logs"],
        extra_env={
            "TRACKER_STORE_URL": f"sqlite:///{place['db']}",
            "ACTION_ENDPOINT_URL": f"http://localhost:{action_port}/webhook",
            "LOCK_STORE_TYPE": "in_memory",
            "WEB_ORIGIN": f"http://localhost:{web_port}",
            # The installation's secrets, as scripts/ops/serve.py reads them from its var/.
            "LOG_ID_SALT": installation_secret(place["var"] / "log_id_salt"),
            conversation_ids.SECRET_VARIABLE: installation_secret(
                place["var"] / "conversation_id_secret", nbytes=32
            ),
        },
        web_port=web_port,
        credentials=place["logs"].parent / "credentials.yml",
    )


def test_a_backup_taken_while_patients_write_restores_elsewhere_and_the_check_goes_on(
    model_path: Path, tmp_path: Path
) -> None:
    first, second = installation(tmp_path / "first"), installation(tmp_path / "second")
    with servers_of(first, model_path) as servers:
        secret = servers.env[conversation_ids.SECRET_VARIABLE]
        sender = conversation_ids.issue(conversation_ids.REST, secret)
        replies = texts(post(servers.rest_url, sender, "am i a good candidate for microneedling?"))
        assert is_consent(replies[-1])
        assert texts(post(servers.rest_url, sender, "yes")) == [QUESTIONS[0]]
        assert texts(post(servers.rest_url, sender, "no")) == [QUESTIONS[1]]

        # Other patients keep writing while the backup runs.
        posted, stop = [], threading.Event()

        def keep_posting() -> None:
            while not stop.is_set():
                other = conversation_ids.issue(conversation_ids.REST, secret)
                post(servers.rest_url, other, "does it hurt?")
                posted.append(other)

        writer = threading.Thread(target=keep_posting)
        writer.start()
        try:
            while len(posted) < 2:
                stop.wait(0.2)
            during = len(posted)
            done = backup_command(
                "create",
                "--dir",
                str(tmp_path / "backups"),
                "--var-dir",
                str(first["var"]),
                url=servers.env["TRACKER_STORE_URL"],
            )
            while len(posted) < during + 2:  # and went on after it
                stop.wait(0.2)
        finally:
            stop.set()
            writer.join()
        assert done.returncode == 0, done.stderr

    folder = only_backup(tmp_path / "backups")
    done = backup_command(
        "restore", str(folder), "--var-dir", str(second["var"]), url=f"sqlite:///{second['db']}"
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(second["db"]) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        backed_up_others = connection.execute(
            "SELECT COUNT(DISTINCT sender_id) FROM events WHERE sender_id != ?", (sender,)
        ).fetchone()[0]
        # A consistent moment: every conversation's turn is there whole, question and reply.
        torn = connection.execute(
            "SELECT sender_id FROM events GROUP BY sender_id HAVING "
            "SUM(type_name = 'user') = 0 OR SUM(type_name = 'bot') = 0"
        ).fetchall()
    assert 2 <= backed_up_others <= len(posted) and torn == []

    with servers_of(second, model_path) as restored:
        assert restored.env[conversation_ids.SECRET_VARIABLE] == secret
        # The same REST id is accepted, and the check picks up at its third question.
        assert texts(post(restored.rest_url, sender, "no")) == [QUESTIONS[2]]
        # An id this installation never issued is still refused.
        forged = sender[:-4] + ("0000" if not sender.endswith("0000") else "1111")
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(restored.rest_url, forged, "no")
        assert refused.value.code == 403


def test_secrets_from_the_env_file_are_backed_up_and_a_restore_says_where_they_go(
    tmp_path: Path,
) -> None:
    # A systemd host: the servers' secrets are in /etc/clinic-assistant/env, not in var/.
    url = sqlite_store(tmp_path / "host.db")
    salt, secret = "a1" * 16, "b2" * 32
    host_env = {"LOG_ID_SALT": salt, conversation_ids.SECRET_VARIABLE: secret}
    made = backup_command(
        "create",
        "--dir",
        str(tmp_path / "backups"),
        "--var-dir",
        str(tmp_path / "empty-var"),
        url=url,
        **host_env,
    )
    assert made.returncode == 0, made.stderr
    folder = only_backup(tmp_path / "backups")
    assert (folder / "secrets" / "log_id_salt").read_text() == salt
    assert (folder / "secrets" / "conversation_id_secret").read_text() == secret
    assert "does not hold" not in made.stdout

    # A new host whose env file has secrets of its own: the servers would use those.
    new_env = {"LOG_ID_SALT": "c3" * 16, conversation_ids.SECRET_VARIABLE: "d4" * 32}
    restored = backup_command(
        "restore",
        str(folder),
        "--var-dir",
        str(tmp_path / "new-var"),
        url=f"sqlite:///{tmp_path / 'new.db'}",
        **new_env,
    )
    assert restored.returncode == 0, restored.stderr
    for variable, name in (
        ("LOG_ID_SALT", "log_id_salt"),
        (conversation_ids.SECRET_VARIABLE, "conversation_id_secret"),
    ):
        assert (
            f"{variable} " in restored.stdout and str(folder / "secrets" / name) in restored.stdout
        )
    for value in (salt, secret, *new_env.values()):
        assert value not in restored.stdout + restored.stderr
