"""The staff alerts' durable queue, in the conversations database (SQLite or PostgreSQL).

- `staff_alerts`: one row per alert (reason, channel, time, the conversation it is about,
  whether and by whom it was handled). Its `key` is unique, so a turn saved twice queues
  its alert once.
- `staff_alert_deliveries`: one row per alert and transport (email, webhook), with its
  attempts. A sender claims a due delivery with a conditional UPDATE (a lease): of several
  senders (one per replica) only one wins it, so an alert is sent once; a sender that dies
  mid-send leaves a lease that expires, and another sends it. Failures are retried with
  backoff for as long as it takes; one that failed `FAILING_AFTER` times or more is
  reported as failing (the staff inbox and the health endpoint show it).

Queued by the Rasa server's tracker store in the transaction that stores the turn
(stores/tracker_store.py), sent by staff/alert_sender.py.
"""

import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from staff.alert_rules import Alert
from staff.database import create_missing_tables

PENDING, SENT = "pending", "sent"
OPEN, HANDLED = "open", "handled"
FAILING_AFTER = 3  # failed attempts before a delivery counts as failing
ERROR_CHARS = 200  # a transport's error as stored (no patient text is ever in it)


@dataclass(frozen=True)
class AlertTables:
    metadata: sa.MetaData
    alerts: sa.Table
    deliveries: sa.Table


def alert_tables(schema: Optional[str] = None) -> AlertTables:
    metadata = sa.MetaData(schema=schema)
    alerts = sa.Table(
        "staff_alerts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("sender_id", sa.String(255), nullable=False, index=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("callback_number", sa.String(64)),
        sa.Column("message_text", sa.Text),
        sa.Column("status", sa.String(16), nullable=False, default=OPEN),
        sa.Column("handled_by", sa.String(64)),
        sa.Column("handled_at", sa.Float),
    )
    deliveries = sa.Table(
        "staff_alert_deliveries",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "alert_id",
            sa.Integer,
            sa.ForeignKey(alerts.c.id, ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, default=PENDING),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("last_error", sa.String(ERROR_CHARS)),
        sa.Column("delivered_at", sa.Float),
        sa.UniqueConstraint("alert_id", "transport", name="staff_alert_delivery_once"),
    )
    return AlertTables(metadata, alerts, deliveries)


def create_alert_tables(engine: sa.engine.Engine, tables: AlertTables) -> None:
    create_missing_tables(engine, tables.metadata)


def insert_ignoring_duplicates(
    connection: Any, table: sa.Table, rows: List[Dict[str, Any]], unique: Sequence[str]
) -> None:
    """Insert the rows whose `unique` columns are not in the table yet (also the SMS outbox's)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(unique))
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(unique))
    else:  # another database: insert what is not there yet
        existing = {tuple(r) for r in connection.execute(sa.select(*[table.c[u] for u in unique]))}
        rows = [r for r in rows if tuple(r[u] for u in unique) not in existing]
        statement = table.insert()
    if rows:
        connection.execute(statement, rows)


def enqueue(
    connection: Any,
    tables: AlertTables,
    alerts: Iterable[Alert],
    transports: Sequence[str],
    now: Optional[float] = None,
) -> None:
    """Queue `alerts` (each once, by key) with a delivery per transport, inside the caller's
    transaction."""
    alerts = list(alerts)
    if not alerts:
        return
    now = time.time() if now is None else now
    insert_ignoring_duplicates(
        connection,
        tables.alerts,
        [
            {
                "key": a.key,
                "sender_id": a.sender_id,
                "reason": a.reason,
                "channel": a.channel,
                "created_at": a.at or now,
                "callback_number": a.callback_number,
                "message_text": a.message_text,
                "status": OPEN,
            }
            for a in alerts
        ],
        ["key"],
    )
    if not transports:
        return
    ids = [
        row.id
        for row in connection.execute(
            sa.select(tables.alerts.c.id).where(tables.alerts.c.key.in_([a.key for a in alerts]))
        )
    ]
    insert_ignoring_duplicates(
        connection,
        tables.deliveries,
        [
            {
                "alert_id": alert_id,
                "transport": transport,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for alert_id in ids
            for transport in transports
        ],
        ["alert_id", "transport"],
    )


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery and the alert it carries."""

    id: int
    transport: str
    attempts: int
    alert_id: int
    key: str
    sender_id: str
    reason: str
    channel: str
    created_at: float
    callback_number: Optional[str]
    message_text: Optional[str]


def claim_due(
    engine: sa.engine.Engine,
    tables: AlertTables,
    owner: str,
    lease_seconds: float,
    now: Optional[float] = None,
    limit: int = 20,
) -> List[Delivery]:
    """Claim up to `limit` deliveries that are due and not leased by another sender."""
    now = time.time() if now is None else now
    d, a = tables.deliveries, tables.alerts
    free = sa.or_(d.c.lease_until.is_(None), d.c.lease_until < now)
    due = sa.and_(d.c.status == PENDING, d.c.next_attempt_at <= now, free)
    claimed: List[Delivery] = []
    with engine.begin() as connection:
        candidates = [
            row.id
            for row in connection.execute(
                sa.select(d.c.id).where(due).order_by(d.c.next_attempt_at, d.c.id).limit(limit)
            )
        ]
    for delivery_id in candidates:
        with engine.begin() as connection:
            won = (
                connection.execute(
                    d.update()
                    .where(d.c.id == delivery_id, due)
                    .values(lease_owner=owner, lease_until=now + lease_seconds)
                ).rowcount
                == 1
            )
            if not won:  # another sender claimed it between the select and the update
                continue
            row = connection.execute(
                sa.select(
                    d.c.id,
                    d.c.transport,
                    d.c.attempts,
                    a.c.id.label("alert_id"),
                    a.c.key,
                    a.c.sender_id,
                    a.c.reason,
                    a.c.channel,
                    a.c.created_at,
                    a.c.callback_number,
                    a.c.message_text,
                )
                .select_from(d.join(a, d.c.alert_id == a.c.id))
                .where(d.c.id == delivery_id)
            ).one()
            claimed.append(Delivery(**row._mapping))
    return claimed


def backoff_seconds(attempts: int, base: float, ceiling: float) -> float:
    """After the n-th failed attempt: base, 2 base, 4 base ... at most `ceiling`."""
    return float(min(ceiling, base * 2 ** max(0, attempts - 1)))


def mark_sent(
    engine: sa.engine.Engine,
    tables: AlertTables,
    delivery: Delivery,
    owner: str,
    now: Optional[float] = None,
) -> None:
    d = tables.deliveries
    with engine.begin() as connection:
        connection.execute(
            d.update()
            .where(d.c.id == delivery.id, d.c.lease_owner == owner)
            .values(
                status=SENT,
                delivered_at=time.time() if now is None else now,
                attempts=d.c.attempts + 1,
                lease_owner=None,
                lease_until=None,
                last_error=None,
            )
        )


def mark_failed(
    engine: sa.engine.Engine,
    tables: AlertTables,
    delivery: Delivery,
    owner: str,
    error: str,
    base: float,
    ceiling: float,
    now: Optional[float] = None,
) -> None:
    now = time.time() if now is None else now
    d = tables.deliveries
    attempts = delivery.attempts + 1
    with engine.begin() as connection:
        connection.execute(
            d.update()
            .where(d.c.id == delivery.id, d.c.lease_owner == owner)
            .values(
                attempts=attempts,
                next_attempt_at=now + backoff_seconds(attempts, base, ceiling),
                lease_owner=None,
                lease_until=None,
                last_error=error[:ERROR_CHARS],
            )
        )


def pending_deliveries(engine: sa.engine.Engine, tables: AlertTables) -> int:
    """How many deliveries are not sent yet (due, waiting for a retry, or being sent)."""
    d = tables.deliveries
    with engine.begin() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(d).where(d.c.status == PENDING)
        ).scalar_one()


def failing_deliveries(engine: sa.engine.Engine, tables: AlertTables) -> int:
    """How many deliveries are still unsent after FAILING_AFTER attempts or more."""
    d = tables.deliveries
    with engine.begin() as connection:
        return connection.execute(
            sa.select(sa.func.count())
            .select_from(d)
            .where(d.c.status == PENDING, d.c.attempts >= FAILING_AFTER)
        ).scalar_one()


def delete_conversation_alerts(connection: Any, tables: AlertTables, sender_id: str) -> int:
    """Delete a conversation's alerts and their deliveries (a patient's deletion request)."""
    a, d = tables.alerts, tables.deliveries
    ids = sa.select(a.c.id).where(a.c.sender_id == sender_id).scalar_subquery()
    connection.execute(d.delete().where(d.c.alert_id.in_(ids)))
    return connection.execute(a.delete().where(a.c.sender_id == sender_id)).rowcount
