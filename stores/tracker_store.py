"""Rasa's SQL tracker store, with SQLite set up for a server that writes on every message.

Profiling (docs/benchmark.md) put a fifth of each message's time in SQLite commits. In
write-ahead-log mode with `synchronous=NORMAL`, a commit no longer waits for the disk to
flush the whole database; a committed conversation survives a crash of the process, and
at worst the last commits before a power cut are lost. PostgreSQL is left as Rasa sets it.
"""

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore


def tune_sqlite(connection: Any, _record: Any = None) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ClinicSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore; on SQLite, every connection in WAL mode with normal syncing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", tune_sqlite)
            # Connections the parent already opened while creating the tables.
            self.engine.dispose()
