"""`scripts.report` reads a PostgreSQL tracker store written by Rasa as it reads SQLite.

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
from typing import Dict, Iterator

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from scripts.serve import free_port
from test_report_stats import CONVERSATIONS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def postgres_bin() -> Path:
    initdb = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None)
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
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "rasa",
                    "--auth=trust"], check=True, capture_output=True)
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l",
                    str(data / "log"), "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
                    "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://rasa@127.0.0.1:{port}/rasa"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast",
                        "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def store_trackers(store: SQLTrackerStore, conversations: Dict[str, list]) -> None:
    for sender, events in conversations.items():
        asyncio.run(store.save(DialogueStateTracker.from_dict(sender, events)))


def report_numbers(url: str, out: Path) -> Dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TRACKER_STORE_URL": url,
           "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    subprocess.run([sys.executable, "-m", "scripts.report", "--out", str(out),
                    "--min-conversations", "1"], cwd=PROJECT_ROOT, env=env, check=True,
                   capture_output=True)
    numbers = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    numbers.pop("generated_on")
    return numbers


def test_postgresql_and_sqlite_stores_give_the_same_report(postgres: str, tmp_path: Path) -> None:
    port = int(postgres.rsplit(":", 1)[1].split("/")[0])
    # Rasa creates the database "rasa" from the server's default one, as in production.
    pg_store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host="127.0.0.1", port=port,
                               db="rasa", username="rasa", login_db="postgres")
    store_trackers(pg_store, CONVERSATIONS)
    store_trackers(SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "c.db")),
                   CONVERSATIONS)
    from_postgres = report_numbers(postgres, tmp_path / "pg.html")
    assert from_postgres == report_numbers(f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "sqlite.html")
    assert (from_postgres["conversations"], from_postgres["messages"]) == (2, 11)
    assert from_postgres["urgent_replies"] == 1
