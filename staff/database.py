"""Opening the conversations database (the tracker store's) outside Rasa, the one way every
reader does: the staff inbox and alert sender, the SMS sender, retention, the report,
backups and the evaluations. The staff tables live beside Rasa's `events`, in the same
database and schema (POSTGRESQL_SCHEMA), and `events` is read from that schema too."""

from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

import sqlalchemy as sa

from scripts.ops import settings
from scripts.ops.settings import tracker_store_url  # noqa: F401 (the readers' one way to it)


def schema_for(url: Any, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Rasa puts its tables in POSTGRESQL_SCHEMA on PostgreSQL; SQLite has no schemas."""
    backend = sa.engine.make_url(url).get_backend_name()
    return settings.postgresql_schema(environ) if backend == "postgresql" else None


def open_engine(url: str) -> sa.engine.Engine:
    """An engine that never logs SQL parameters (sender ids are phone numbers)."""
    engine = sa.create_engine(url, hide_parameters=True)
    if engine.url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def events_table(
    url: str, engine: Optional[sa.engine.Engine] = None
) -> Optional[Tuple[sa.engine.Engine, sa.Table]]:
    """The engine (`engine`, else a new one) and Rasa's `events` table of the store at
    `url`, in its schema; None when nothing is stored yet (a SQLite file that does not exist
    is not created)."""
    database = sa.engine.make_url(url)
    if database.get_backend_name() == "sqlite" and not Path(database.database or "").exists():
        return None
    engine = engine or open_engine(url)
    try:
        return engine, sa.Table(
            "events", sa.MetaData(), autoload_with=engine, schema=schema_for(database)
        )
    except sa.exc.NoSuchTableError:
        return None


# Attempts at creating the tables, when other processes create them at the same moment.
CREATE_ATTEMPTS = 3


def create_missing_tables(engine: sa.engine.Engine, metadata: sa.MetaData) -> None:
    """The tables of `metadata` that do not exist yet. The Rasa server, the alert sender and
    the staff inbox each create the staff tables at start-up, and under systemd they start
    at the same moment: a table another one created between our check and our CREATE makes
    that CREATE fail, and the next check finds it there."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except sa.exc.DatabaseError:
            if attempt == CREATE_ATTEMPTS:
                raise


def _sqlite_pragmas(connection: Any, _record: Any = None) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # as the tracker store: readers never block it
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
