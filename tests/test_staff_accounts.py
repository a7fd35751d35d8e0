"""Staff inbox accounts (staff/accounts.py) on a SQLite file: passwords, lockout, sessions,
the command that creates accounts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from staff import accounts
from staff.accounts import (
    AccountError,
    MAX_FAILED_ATTEMPTS,
    SESSION_SECONDS,
    account_tables,
    create_account,
    disable_account,
    session_for,
    sign_in,
)
from staff.database import open_engine

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long enough passphrase"


@pytest.fixture
def db(tmp_path: Path):
    engine = open_engine(f"sqlite:///{tmp_path / 'conversations.db'}")
    tables = account_tables()
    create_account(engine, tables, "sam", PASSWORD, now=0.0)
    return engine, tables


def audit(engine, tables) -> list:
    with engine.begin() as connection:
        return [
            (r.username, r.action)
            for r in connection.execute(sa.select(tables.audit).order_by(tables.audit.c.id))
        ]


def test_passwords_are_hashed_and_short_ones_refused(db) -> None:
    engine, tables = db
    with engine.begin() as connection:
        stored = connection.execute(sa.select(tables.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(AccountError, match="at least 12"):
        create_account(engine, tables, "kim", "eleven char")
    with pytest.raises(AccountError, match="username"):
        create_account(engine, tables, "<kim>", PASSWORD)


def test_the_right_password_opens_a_session_that_ends_after_8_hours(db) -> None:
    engine, tables = db
    result = sign_in(engine, tables, "sam", PASSWORD, now=100.0)
    assert result.session is not None and result.session.token
    session = session_for(engine, tables, result.session.token, now=101.0)
    assert session is not None and session.username == "sam"
    assert session.csrf_token == result.session.csrf_token
    assert session_for(engine, tables, result.session.token, now=100.0 + SESSION_SECONDS) is None
    assert session_for(engine, tables, "forged", now=101.0) is None
    with engine.begin() as connection:  # only a hash of the token is stored
        assert result.session.token not in str(connection.execute(sa.select(tables.sessions)).all())


def test_five_wrong_passwords_lock_the_account_and_an_unknown_name_alike(db, monkeypatch) -> None:
    engine, tables = db
    monkeypatch.setenv("STAFF_LOCKOUT_SECONDS", "900")
    for name in ("sam", "nobody"):
        results = [
            sign_in(engine, tables, name, "wrong password!", now=10.0 + i)
            for i in range(MAX_FAILED_ATTEMPTS)
        ]
        assert [r.locked for r in results] == [False] * (MAX_FAILED_ATTEMPTS - 1) + [True]
    locked = sign_in(engine, tables, "sam", PASSWORD, now=20.0)
    assert locked.session is None and locked.locked
    assert sign_in(engine, tables, "sam", PASSWORD, now=10.0 + MAX_FAILED_ATTEMPTS + 900).session
    actions = audit(engine, tables)
    assert ("sam", "locked_out") in actions and (accounts.UNKNOWN_USER, "locked_out") in actions
    assert all(name != "nobody" for name, _ in actions)  # a mistyped name is not kept


def test_a_success_resets_the_count_of_failures(db) -> None:
    engine, tables = db
    for i in range(MAX_FAILED_ATTEMPTS - 1):
        sign_in(engine, tables, "sam", "wrong password!", now=float(i))
    assert sign_in(engine, tables, "sam", PASSWORD, now=10.0).session
    assert not sign_in(engine, tables, "sam", "wrong password!", now=11.0).locked


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(db) -> None:
    engine, tables = db
    token = sign_in(engine, tables, "sam", PASSWORD, now=1.0).session.token
    assert disable_account(engine, tables, "sam")
    assert session_for(engine, tables, token, now=2.0) is None
    assert sign_in(engine, tables, "sam", PASSWORD, now=3.0).session is None
    create_account(engine, tables, "sam", "a brand new passphrase")  # a reset enables it again
    assert sign_in(engine, tables, "sam", "a brand new passphrase", now=4.0).session


def test_the_command_creates_an_account_from_stdin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'conversations.db'}"
    env = {**os.environ, "TRACKER_STORE_URL": url, "PYTHONWARNINGS": "ignore"}

    def create(name: str, password: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "staff.accounts", "create", name, "--password-stdin"],
            input=password + "\n",
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
        )

    done = create("robin", PASSWORD)
    assert done.returncode == 0 and "robin" in done.stdout, done.stderr
    refused = create("alex", "too short")
    assert refused.returncode != 0 and "at least 12 characters" in refused.stderr
    engine, tables = open_engine(url), account_tables()
    assert sign_in(engine, tables, "robin", PASSWORD).session
    assert sign_in(engine, tables, "alex", "too short").session is None
