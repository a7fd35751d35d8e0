"""Conversations, logs, the log salt and reports are readable by their owner only (files 0600, folders 0700)."""

import stat
from pathlib import Path
from typing import Callable, Dict, List

from analytics.conversation_stats import summarise
from rest_conversations import new_sender
from scripts.ops.private_files import make_private, private_dir, write_private
from scripts.ops.report import write_report
from scripts.ops.serve import VAR_DIR, Servers, sqlite_files


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_the_logs_of_a_real_run_are_private(
    servers: Servers, say: Callable[[str, str], List[Dict]]
) -> None:
    say(new_sender(), "does it hurt?")
    database = sqlite_files(servers.env["TRACKER_STORE_URL"])
    assert database[0].exists() and database[1].exists(), "SQLite writes through its WAL"
    files = [path for path in database if path.exists()]
    files += sorted(servers.log_dir.glob("*.log")) + [VAR_DIR / "log_id_salt"]
    assert {path.name: oct(mode(path)) for path in files} == {
        path.name: oct(0o600) for path in files
    }
    for folder in (servers.log_dir, database[0].parent, VAR_DIR):
        assert oct(mode(folder)) == oct(0o700), folder


def test_files_an_earlier_run_left_readable_are_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir(mode=0o755)
    old_log = folder / "rasa.log"
    old_log.write_text("from before\n")
    old_log.chmod(0o644)
    private_dir(folder)
    make_private([old_log, folder / "missing.log"])
    write_private(folder / "secret", "s3cret")
    assert (mode(folder), mode(old_log), mode(folder / "secret")) == (0o700, 0o600, 0o600)


def test_the_clinics_report_is_private(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "report.html"
    sidecar = write_report(summarise([]), out, "Clinic", "2026-01-01")
    assert (mode(out.parent), mode(out), mode(sidecar)) == (0o700, 0o600, 0o600)
