"""Delete stored conversations: all older than N days, or one on a patient's request.

Works on the tracker store the servers use (TRACKER_STORE_URL, default the SQLite file
var/conversations.db; PostgreSQL the same way). A conversation is deleted whole, never
cut in part, so what remains can always be replayed, and with it its staff alerts
(staff/alert_store.py), in the same transaction.

    python -m scripts.ops.conversations prune [--days 30]
    python -m scripts.ops.conversations delete SENDER_ID
"""

import argparse
import sys
import time
from typing import List, Optional

import sqlalchemy as sa

from scripts.ops import settings
from staff import alert_store
from staff.database import events_table, schema_for, tracker_store_url

DEFAULT_RETENTION_DAYS = settings.DEFAULT_RETENTION_DAYS


def _delete_alerts(connection: sa.engine.Connection, url: str, senders: List[str]) -> None:
    """The staff alerts of deleted conversations (none when no alert was ever queued)."""
    tables = alert_store.alert_tables(schema_for(url))
    if not sa.inspect(connection).has_table(tables.alerts.name, schema=tables.alerts.schema):
        return
    for sender in senders:
        alert_store.delete_conversation_alerts(connection, tables, sender)


def prune(url: str, days: float, now: Optional[float] = None) -> int:
    """Delete every conversation whose last event is older than `days`; return how many."""
    cutoff = (now if now is not None else time.time()) - days * 86400
    found = events_table(url)
    if found is None:
        return 0
    engine, events = found
    last_event = (
        sa.select(events.c.sender_id)
        .group_by(events.c.sender_id)
        .having(sa.func.max(events.c.timestamp) < cutoff)
    )
    with engine.begin() as connection:
        senders = [row[0] for row in connection.execute(last_event)]
        if senders:
            connection.execute(events.delete().where(events.c.sender_id.in_(senders)))
            _delete_alerts(connection, url, senders)
    return len(senders)


def delete(url: str, sender_id: str) -> int:
    """Delete one conversation; return how many events went."""
    found = events_table(url)
    if found is None:
        return 0
    engine, events = found
    with engine.begin() as connection:
        _delete_alerts(connection, url, [sender_id])
        return connection.execute(events.delete().where(events.c.sender_id == sender_id)).rowcount


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    prune_parser = commands.add_parser("prune", help="delete conversations older than N days")
    prune_parser.add_argument("--days", type=float, default=settings.retention_days())
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
        print(
            f"Deleted conversation {args.sender_id!r} ({count} events)."
            if count
            else f"No conversation {args.sender_id!r} is stored."
        )


if __name__ == "__main__":
    main()
