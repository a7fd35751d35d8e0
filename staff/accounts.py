"""Staff accounts, sign-in sessions and the audit log of the staff inbox.

Tables in the conversations database beside Rasa's (staff/database.py):
- `staff_users`: one row per account, the password as an Argon2 hash (argon2-cffi).
  After MAX_FAILED_ATTEMPTS wrong passwords in a row the account is locked for
  STAFF_LOCKOUT_SECONDS (15 minutes); a sign-in with a username that has no account gets
  the same answer, takes as long, and is locked out the same way (kept in
  `staff_unknown_sign_ins` under a hash of the name, since people type passwords into the
  username field), so nobody learns which usernames exist.
- `staff_sessions`: a signed-in browser, by the SHA-256 of its random token (a copy of the
  database gives no usable cookie), with its CSRF token; it ends after 8 hours.
- `staff_audit`: who signed in, viewed which transcript, marked which alert handled; a
  conversation is named by its conversation_ref, never by patient text.

    python -m staff.accounts create NAME [--password-stdin]
    python -m staff.accounts disable NAME
"""

import argparse
import getpass
import hashlib
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from staff.database import create_missing_tables

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing a megabyte of password would be a denial of service
MAX_FAILED_ATTEMPTS = 5
DEFAULT_LOCKOUT_SECONDS = 15 * 60
SESSION_SECONDS = 8 * 3600
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

# Audit actions.
SIGNED_IN, SIGNED_OUT = "signed_in", "signed_out"
SIGN_IN_FAILED, LOCKED_OUT = "sign_in_failed", "locked_out"
VIEWED_TRANSCRIPT, MARKED_HANDLED = "viewed_transcript", "marked_handled"
UNKNOWN_USER = "(no such account)"  # what the audit says instead of a mistyped name

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A username or password that cannot make an account."""


@dataclass(frozen=True)
class AccountTables:
    metadata: sa.MetaData
    users: sa.Table
    unknown: sa.Table
    sessions: sa.Table
    audit: sa.Table


def account_tables(schema: Optional[str] = None) -> AccountTables:
    metadata = sa.MetaData(schema=schema)
    users = sa.Table(
        "staff_users",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("failed_attempts", sa.Integer, nullable=False, default=0),
        sa.Column("locked_until", sa.Float),
        sa.Column("disabled", sa.Boolean, nullable=False, default=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    unknown = sa.Table(
        "staff_unknown_sign_ins",
        metadata,
        sa.Column("name_hash", sa.String(64), primary_key=True),
        sa.Column("failed_attempts", sa.Integer, nullable=False, default=0),
        sa.Column("locked_until", sa.Float),
    )
    sessions = sa.Table(
        "staff_sessions",
        metadata,
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    audit = sa.Table(
        "staff_audit",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("alert_id", sa.Integer),
        sa.Column("conversation_ref", sa.String(32)),
    )
    return AccountTables(metadata, users, unknown, sessions, audit)


def create_account_tables(engine: sa.engine.Engine, tables: AccountTables) -> None:
    create_missing_tables(engine, tables.metadata)


def lockout_seconds() -> float:
    """STAFF_LOCKOUT_SECONDS (the tests shorten it), else 15 minutes."""
    return float(os.environ.get("STAFF_LOCKOUT_SECONDS") or DEFAULT_LOCKOUT_SECONDS)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against for a username with no account: the answer takes as long."""
    return _hasher.hash(secrets.token_hex(16))


def warm_up() -> None:
    _dummy_hash()


def check_new_account(username: str, password: str) -> None:
    if not _USERNAME.match(username):
        raise AccountError(
            "a username is 1 to 64 letters, digits or . _ @ - (starting with a letter or digit)"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")


def create_account(
    engine: sa.engine.Engine,
    tables: AccountTables,
    username: str,
    password: str,
    now: Optional[float] = None,
) -> None:
    """Add an account; an existing one with this name gets the new password and is
    unlocked and enabled again (how a forgotten password is reset)."""
    check_new_account(username, password)
    create_account_tables(engine, tables)
    values = {
        "password_hash": _hasher.hash(password),
        "failed_attempts": 0,
        "locked_until": None,
        "disabled": False,
    }
    u = tables.users
    with engine.begin() as connection:
        if connection.execute(u.update().where(u.c.username == username).values(**values)).rowcount:
            connection.execute(
                tables.sessions.delete().where(tables.sessions.c.username == username)
            )
            return
        connection.execute(
            u.insert().values(
                username=username, created_at=time.time() if now is None else now, **values
            )
        )


def disable_account(engine: sa.engine.Engine, tables: AccountTables, username: str) -> bool:
    """Disable an account and end its sessions; False when there is no such account."""
    u = tables.users
    with engine.begin() as connection:
        found = connection.execute(
            u.update().where(u.c.username == username).values(disabled=True)
        ).rowcount
        connection.execute(tables.sessions.delete().where(tables.sessions.c.username == username))
    return bool(found)


@dataclass(frozen=True)
class StaffSession:
    username: str
    csrf_token: str
    token: Optional[str] = None  # only right after sign-in: what goes into the cookie


@dataclass(frozen=True)
class SignInResult:
    session: Optional[StaffSession]
    locked: bool = False


def sign_in(
    engine: sa.engine.Engine,
    tables: AccountTables,
    username: str,
    password: str,
    now: Optional[float] = None,
) -> SignInResult:
    """Check a password (slow on purpose: Argon2) and open a session when it is right and
    the account is neither locked nor disabled."""
    now = time.time() if now is None else now
    password = password[: MAX_PASSWORD_LENGTH + 1]
    u, k = tables.users, tables.unknown
    with engine.begin() as connection:
        user = connection.execute(sa.select(u).where(u.c.username == username)).first()
    if user is not None:
        table, where, audit_name = u, u.c.id == user.id, username
        state, stored_hash = user, user.password_hash
    else:
        name_hash = _sha256(username)
        table, where, audit_name = k, k.c.name_hash == name_hash, UNKNOWN_USER
        with engine.begin() as connection:
            state = connection.execute(sa.select(k).where(where)).first()
        stored_hash = _dummy_hash()
    right = _verify(stored_hash, password) and user is not None and not user.disabled
    locked = state is not None and state.locked_until is not None and state.locked_until > now
    with engine.begin() as connection:
        if locked:
            audit(connection, tables, audit_name, SIGN_IN_FAILED, now=now)
            return SignInResult(None, locked=True)
        if right:
            connection.execute(
                table.update().where(where).values(failed_attempts=0, locked_until=None)
            )
            session = _open_session(connection, tables, username, now)
            audit(connection, tables, username, SIGNED_IN, now=now)
            return SignInResult(session)
        failed = (
            state.failed_attempts if state is not None and state.locked_until is None else 0
        ) + 1
        lock = failed >= MAX_FAILED_ATTEMPTS
        values = {
            "failed_attempts": 0 if lock else failed,
            "locked_until": now + lockout_seconds() if lock else None,
        }
        if state is None:
            connection.execute(k.insert().values(name_hash=_sha256(username), **values))
        else:
            connection.execute(table.update().where(where).values(**values))
        audit(connection, tables, audit_name, LOCKED_OUT if lock else SIGN_IN_FAILED, now=now)
        return SignInResult(None, locked=lock)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _open_session(
    connection: Any, tables: AccountTables, username: str, now: float
) -> StaffSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s = tables.sessions
    connection.execute(s.delete().where(s.c.expires_at <= now))  # expired ones go on the way
    connection.execute(
        s.insert().values(
            token_hash=_sha256(token),
            username=username,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_SECONDS,
        )
    )
    return StaffSession(username, csrf, token)


def session_for(
    engine: sa.engine.Engine,
    tables: AccountTables,
    token: Optional[str],
    now: Optional[float] = None,
) -> Optional[StaffSession]:
    """The signed-in session of a cookie's token, or None (unknown, expired, disabled)."""
    if not token or len(token) > 128:
        return None
    now = time.time() if now is None else now
    s, u = tables.sessions, tables.users
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(s.c.username, s.c.csrf_token)
            .select_from(s.join(u, u.c.username == s.c.username))
            .where(s.c.token_hash == _sha256(token), s.c.expires_at > now, u.c.disabled.is_(False))
        ).first()
    # Looked up by hash: how long the lookup takes says nothing about the token.
    return None if row is None else StaffSession(row.username, row.csrf_token)


def end_session(engine: sa.engine.Engine, tables: AccountTables, token: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            tables.sessions.delete().where(tables.sessions.c.token_hash == _sha256(token))
        )


def audit(
    connection: Any,
    tables: AccountTables,
    username: str,
    action: str,
    alert_id: Optional[int] = None,
    conversation_ref: Optional[str] = None,
    now: Optional[float] = None,
) -> None:
    """One audit row, in the caller's transaction."""
    connection.execute(
        tables.audit.insert().values(
            at=time.time() if now is None else now,
            username=username,
            action=action,
            alert_id=alert_id,
            conversation_ref=conversation_ref,
        )
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (at least %d characters): " % MIN_PASSWORD_LENGTH)
    if getpass.getpass("The same password again: ") != first:
        sys.exit("The two passwords differ; no account was changed.")
    return first


def main() -> None:
    from scripts.ops.private_files import make_private, private_dir
    from scripts.ops.serve import VAR_DIR, sqlite_files
    from staff.database import open_engine, schema_for, tracker_store_url

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="add an account (or set a new password)")
    create.add_argument("username")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    disable = commands.add_parser("disable", help="disable an account and sign it out")
    disable.add_argument("username")
    args = parser.parse_args()

    url = tracker_store_url()
    private_dir(VAR_DIR)  # the default SQLite database may be created here
    engine = open_engine(url)
    tables = account_tables(schema_for(url))
    if args.command == "create":
        try:
            check_new_account(args.username, "x" * MIN_PASSWORD_LENGTH)
            create_account(engine, tables, args.username, _read_password(args.password_stdin))
        except AccountError as problem:
            sys.exit(f"No account was changed: {problem}.")
        print(f"Account {args.username!r} can sign in to the staff inbox.")
    elif disable_account(engine, tables, args.username):
        print(f"Account {args.username!r} is disabled and signed out.")
    else:
        sys.exit(f"There is no account {args.username!r}.")
    make_private(sqlite_files(url))


if __name__ == "__main__":
    main()
