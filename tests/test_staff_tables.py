"""The staff tables are created by whichever of the Rasa server, the alert sender and the
staff inbox starts first; under systemd they start at the same moment, and none of them
may crash because another created a table between its check and its CREATE."""

import threading
from pathlib import Path
from typing import List

import sqlalchemy as sa

from staff import accounts, alert_store
from staff.database import open_engine


def test_a_table_created_by_another_process_meanwhile_is_taken_as_it_is(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'conversations.db'}")
    tables = alert_store.alert_tables(None)
    first = tables.metadata.sorted_tables[0]

    def other_process_creates_it(
        target: sa.Table, connection: sa.engine.Connection, **kw: object
    ) -> None:
        connection.execute(sa.schema.CreateTable(target))

    sa.event.listen(first, "before_create", other_process_creates_it, once=True)
    alert_store.create_alert_tables(engine, tables)
    assert set(sa.inspect(engine).get_table_names()) == set(tables.metadata.tables)


def test_three_processes_creating_the_tables_at_once_all_start(tmp_path: Path) -> None:
    for attempt in range(10):
        url = f"sqlite:///{tmp_path / f'conversations-{attempt}.db'}"
        start = threading.Barrier(3)
        failures: List[BaseException] = []

        def create(kind: str) -> None:
            engine = open_engine(url)
            start.wait()
            try:
                if kind == "accounts":
                    accounts.create_account_tables(engine, accounts.account_tables(None))
                alert_store.create_alert_tables(engine, alert_store.alert_tables(None))
            except BaseException as problem:  # noqa: B902 - the test reports any of them
                failures.append(problem)

        threads = [
            threading.Thread(target=create, args=(kind,))
            for kind in ("alerts", "alerts", "accounts")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [], failures
