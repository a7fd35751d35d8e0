"""Rasa's SQL tracker store, set up for a server that reads and writes on every message.

- SQLite: profiling (docs/benchmark.md) put a fifth of each message's time in SQLite
  commits. Connections are pooled, and in write-ahead-log mode with `synchronous=NORMAL`
  a commit no longer waits for the disk to flush the whole database; a committed
  conversation survives a crash of the process, and at worst the last commits before a
  power cut are lost.
- Both databases: Rasa reads and writes through the SQLAlchemy ORM, whose per-query
  overhead was most of the store's time (reading a session of 100 events: 2.0 ms through
  the ORM, 0.4 ms as a Core statement built once). This store reads the latest session
  with Rasa's query as a Core statement, and writes a tracker's new events in one INSERT
  of the rows Rasa writes.
- Rasa's `save` also counts the session's stored events to know which of the tracker's
  events are new. A tracker this store read or wrote already knows that number, so the
  count is skipped for it. The lock store keeps other writers off a conversation between
  its read and its write, which Rasa's count relies on as well; any other tracker is
  saved by Rasa's own code.
- Staff alerts (staff/alert_rules.py) are queued in the same transaction that stores the
  turn that raised them (staff/alert_store.py): an urgent reply that was stored has its
  alert, and one that was not stored has none.
- A patient's confirmed request to delete their conversation (the `conversation_deleted`
  slot, set by actions/actions.py) deletes its stored events and staff alerts in one
  transaction when the turn is saved, and stores nothing of that turn.
- Database errors never show the SQL's parameters: Rasa logs the error of a failed read
  or write, which would otherwise hold the sender id (for SMS, the phone number) and the
  events' data (the patient's messages).
"""

import itertools
import json
from functools import cached_property
from typing import Any, Dict, Iterator, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from clinic.constants import DELETION_SLOT
from staff import alert_rules, alert_store
from staff.alert_config import AlertConfig, load_alert_config
from staff.database import schema_for
from stores import event_lookup, store_health

event_lookup.install()  # the Rasa server builds its tracker store from this module

# Set on a tracker: how many of its events (from the start of the list) are stored rows.
STORED = "_clinic_stored_events"


def tune_sqlite(connection: Any, _record: Any = None) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ClinicSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore, quicker: see the module's docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        is_sqlite = url.get_backend_name() == "sqlite"
        # An in-memory SQLite database lives in Rasa's engine: a new engine would be empty.
        if not (is_sqlite and url.database in (None, "", ":memory:")):
            options: Dict[Text, Any] = create_engine_kwargs(url)
            if is_sqlite:
                # SQLAlchemy 1.4 opens a new connection to a SQLite file for every session
                # (NullPool): a file open and the pragmas each time, twice per message. A
                # pool keeps them; it hands a connection to one user at a time, so
                # sqlite3's same-thread check is not needed.
                options.update(
                    poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
                )
            self.engine.dispose()  # connections the parent opened while creating the tables
            # Database errors are logged by Rasa with their SQL; with its parameters they
            # would put sender ids (phone numbers) and message texts in the log.
            self.engine = sa.create_engine(url, hide_parameters=True, **options)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        if is_sqlite:
            sa.event.listen(self.engine, "connect", tune_sqlite)
        # Read when the server starts: a wrong alerts section stops it with a clear error.
        self.alert_config: AlertConfig = load_alert_config()
        self.alert_tables = alert_store.alert_tables(schema_for(url))
        alert_store.create_alert_tables(self.engine, self.alert_tables)

    @cached_property
    def _latest_session_query(self) -> Any:
        """Rasa's query for the events of the latest session, as one SQLAlchemy Core
        statement built once: 0.4 ms a message against 2 ms through the ORM."""
        table = self.SQLEvent.__table__
        sender = sa.bindparam("sender_id")
        session_start = (
            sa.select(sa.func.max(table.c.timestamp))
            .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        return (
            sa.select(table.c.data)
            .where(
                table.c.sender_id == sender,
                sa.or_(table.c.timestamp >= session_start, session_start.is_(None)),
            )
            .order_by(table.c.id)
        )

    async def _retrieve(
        self, sender_id: Text, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        with store_health.watched():
            return await self._read(sender_id, fetch_events_from_all_sessions)

    async def _read(
        self, sender_id: Text, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        if fetch_events_from_all_sessions:  # the HTTP API's full history: Rasa's way
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            rows = (
                session.connection()
                .execute(self._latest_session_query, {"sender_id": sender_id})
                .fetchall()
            )
        if not self.domain or not rows:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row.data) for row in rows], self.domain.slots
        )
        if len(tracker.events) == len(rows):  # every row became an event
            setattr(tracker, STORED, len(rows))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        stored = getattr(tracker, STORED, None)
        if deletion_confirmed(tracker):
            with store_health.watched():
                self.delete_conversation(tracker.sender_id)
            setattr(tracker, STORED, None)
            return
        with store_health.watched():
            # A tracker cut to max_event_history drops old events: Rasa's count for that.
            if stored is None or stored > len(tracker.events) or tracker.events.maxlen is not None:
                await super().save(tracker)
            else:
                await self.stream_events(tracker)
                new = list(itertools.islice(tracker.events, stored, None))
                if new:
                    # The rows Rasa's save writes, in one INSERT through SQLAlchemy Core.
                    with self.session_scope() as session:
                        session.connection().execute(
                            self.SQLEvent.__table__.insert(),
                            [event_row(tracker.sender_id, e) for e in new],
                        )
                        self._queue_alerts(session, tracker, stored)
                        session.commit()
        setattr(tracker, STORED, len(tracker.events))

    def delete_conversation(self, sender_id: Text) -> None:
        """Delete every stored event and staff alert of one conversation, together."""
        with self.session_scope() as session:
            connection = session.connection()
            events = self.SQLEvent.__table__
            connection.execute(events.delete().where(events.c.sender_id == sender_id))
            alert_store.delete_conversation_alerts(connection, self.alert_tables, sender_id)
            session.commit()

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """Rasa's save path: the events it is about to add, and their alerts queued in its
        session (committed with them)."""
        events = list(super()._additional_events(session, tracker))
        self._queue_alerts(session, tracker, len(tracker.events) - len(events))
        return iter(events)

    def _queue_alerts(self, session: Any, tracker: DialogueStateTracker, stored: int) -> None:
        """Queue the alerts that the events after the first `stored` raise."""
        new = [e.as_dict() for e in itertools.islice(tracker.events, stored, None)]
        if not alert_rules.alerts_in_turn(tracker.sender_id, new):
            return  # most turns: the earlier events are not even looked at
        earlier = [e.as_dict() for e in itertools.islice(tracker.events, 0, stored)]
        alerts = alert_rules.alerts_in_turn(
            tracker.sender_id, new, earlier, include_text=self.alert_config.include_message_text
        )
        alert_store.enqueue(
            session.connection(), self.alert_tables, alerts, self.alert_config.transports
        )


def deletion_confirmed(tracker: DialogueStateTracker) -> bool:
    """The latest turn confirmed the patient's request to delete the conversation."""
    for event in reversed(tracker.events):
        if isinstance(event, SlotSet) and event.key == DELETION_SLOT and event.value is True:
            return True
        if isinstance(event, UserUttered):
            return False
    return False


def event_row(sender_id: Text, event: Event) -> Dict[Text, Any]:
    """An event as Rasa's SQLTrackerStore.save stores it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
