"""Delete stored conversations: all older than N days, or one on a patient's request.

Works on the tracker store the servers use (TRACKER_STORE_URL, default the SQLite file
var/conversations.db; PostgreSQL the same way). A conversation is deleted whole, never
cut in part, so what remains can always be replayed.

    python -m scripts.conversations prune [--days 30]
    python -m scripts.conversations delete SENDER_ID
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional, Tuple

import sqlalchemy as sa

from scripts.serve import DEFAULT_TRACKER_DB

DEFAULT_RETENTION_DAYS = 30


def tracker_store_url() -> str:
    return os.environ.get("TRACKER_STORE_URL") or f"sqlite:///{DEFAULT_TRACKER_DB}"


def events_table(url: str) -> Optional[Tuple[sa.engine.Engine, sa.Table]]:
    """The engine and Rasa's `events` table of the store at `url`; None when nothing is
    stored yet (a SQLite file that does not exist is not created)."""
    database = sa.engine.make_url(url)
    if database.get_backend_name() == "sqlite" and not Path(database.database or "").exists():
        return None
    engine = sa.create_engine(url)
    # Rasa puts its tables in POSTGRESQL_SCHEMA when that is set.
    schema = os.environ.get("POSTGRESQL_SCHEMA") if database.get_backend_name() == "postgresql" else None
    try:
        return engine, sa.Table("events", sa.MetaData(), autoload_with=engine, schema=schema or None)
    except sa.exc.NoSuchTableError:
        return None


def prune(url: str, days: float, now: Optional[float] = None) -> int:
    """Delete every conversation whose last event is older than `days`; return how many."""
    cutoff = (now if now is not None else time.time()) - days * 86400
    found = events_table(url)
    if found is None:
        return 0
    engine, events = found
    last_event = sa.select(events.c.sender_id).group_by(events.c.sender_id).having(
        sa.func.max(events.c.timestamp) < cutoff)
    with engine.begin() as connection:
        senders = [row[0] for row in connection.execute(last_event)]
        if senders:
            connection.execute(events.delete().where(events.c.sender_id.in_(senders)))
    return len(senders)


def delete(url: str, sender_id: str) -> int:
    """Delete one conversation; return how many events went."""
    found = events_table(url)
    if found is None:
        return 0
    engine, events = found
    with engine.begin() as connection:
        return connection.execute(events.delete().where(events.c.sender_id == sender_id)).rowcount


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    prune_parser = commands.add_parser("prune", help="delete conversations older than N days")
    prune_parser.add_argument("--days", type=float, default=float(
        os.environ.get("RETENTION_DAYS", DEFAULT_RETENTION_DAYS)))
    delete_parser = commands.add_parser("delete", help="delete one conversation")
    delete_parser.add_argument("sender_id")
    args = parser.parse_args()
    url = tracker_store_url()
    if args.command == "prune":
        if args.days <= 0:
            sys.exit("--days must be more than 0.")
        print(f"Deleted {prune(url, args.days)} conversation(s) older than {args.days:g} days.")
    else:
        count = delete(url, args.sender_id)
        print(f"Deleted conversation {args.sender_id!r} ({count} events)." if count
              else f"No conversation {args.sender_id!r} is stored.")


if __name__ == "__main__":
    main()
