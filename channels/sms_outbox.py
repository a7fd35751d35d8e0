"""Which SMS parts Twilio has accepted: the `sms_outbox` table in the conversations database.

One row per part, by its idempotency key (channels/sms_delivery.py part_key), beside the
staff tables (same database and schema, staff/database.py). A part is looked up before
every attempt, so one recorded as sent is never sent again, whichever process retries it;
a part whose attempt may have reached Twilio is reconciled against Twilio's own list
before it is sent again. No phone number and no text is stored: the key is a hash, and
rows are deleted after a day (retries end within a minute).
"""

import time
from dataclasses import dataclass
from typing import Collection, Optional, Set

import sqlalchemy as sa

from staff.alert_store import insert_ignoring_duplicates

SENDING, SENT, FAILED = "sending", "sent", "failed"
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class OutboxPart:
    status: str
    first_attempt_at: float
    attempts: int
    sid: Optional[str]


def outbox_table(schema: Optional[str] = None) -> sa.Table:
    return sa.Table(
        "sms_outbox",
        sa.MetaData(schema=schema),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_attempt_at", sa.Float, nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("sid", sa.String(64), index=True),  # Twilio's id of the message
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def create_table(engine: sa.engine.Engine, table: sa.Table) -> None:
    table.metadata.create_all(engine, checkfirst=True)


def begin_part(
    engine: sa.engine.Engine, table: sa.Table, key: str, now: Optional[float] = None
) -> OutboxPart:
    """The part's row, created on its first attempt (and the day-old rows deleted then)."""
    now = time.time() if now is None else now
    with engine.begin() as connection:
        insert_ignoring_duplicates(
            connection,
            table,
            [
                {
                    "key": key,
                    "status": SENDING,
                    "first_attempt_at": now,
                    "attempts": 0,
                    "updated_at": now,
                }
            ],
            ["key"],
        )
        connection.execute(table.delete().where(table.c.first_attempt_at < now - KEEP_SECONDS))
        row = connection.execute(
            sa.select(
                table.c.status, table.c.first_attempt_at, table.c.attempts, table.c.sid
            ).where(table.c.key == key)
        ).one()
    return OutboxPart(**row._mapping)


def record_attempt(engine: sa.engine.Engine, table: sa.Table, key: str) -> None:
    """Counted before the request goes out: a crash mid-request leaves it counted."""
    with engine.begin() as connection:
        connection.execute(
            table.update()
            .where(table.c.key == key)
            .values(attempts=table.c.attempts + 1, status=SENDING, updated_at=time.time())
        )


def mark(
    engine: sa.engine.Engine, table: sa.Table, key: str, status: str, sid: Optional[str] = None
) -> None:
    with engine.begin() as connection:
        connection.execute(
            table.update()
            .where(table.c.key == key)
            .values(status=status, sid=sid, updated_at=time.time())
        )


def claimed_sids(engine: sa.engine.Engine, table: sa.Table, sids: Collection[str]) -> Set[str]:
    """Which of Twilio's message ids are already recorded as some part."""
    if not sids:
        return set()
    with engine.begin() as connection:
        return {
            row.sid
            for row in connection.execute(sa.select(table.c.sid).where(table.c.sid.in_(list(sids))))
        }
