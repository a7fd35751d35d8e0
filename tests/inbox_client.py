"""The staff inbox of the test servers: its database, accounts, and a signed-in client."""

import re
import secrets
import time
from typing import Tuple

import requests
import sqlalchemy as sa

from scripts.ops.serve import Servers
from staff import accounts, alert_store
from staff.database import open_engine

PASSWORD = "correct horse battery staple"


def database(
    servers: Servers,
) -> Tuple[sa.engine.Engine, accounts.AccountTables, alert_store.AlertTables]:
    """The test servers' conversations database and the staff tables in it."""
    return (
        open_engine(servers.env["TRACKER_STORE_URL"]),
        accounts.account_tables(),
        alert_store.alert_tables(),
    )


def new_account(servers: Servers, password: str = PASSWORD, name: str = "staff") -> str:
    """A fresh account (the module function `make staff-account` runs); its username."""
    engine, tables, _ = database(servers)
    username = f"{name}-{secrets.token_hex(2)}"
    accounts.create_account(engine, tables, username, password)
    return username


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def try_sign_in(
    servers: Servers, username: str, password: str
) -> Tuple[requests.Session, requests.Response]:
    client = requests.Session()
    form = client.get(servers.inbox_url + "login", timeout=30)
    answer = client.post(
        servers.inbox_url + "login",
        allow_redirects=False,
        timeout=30,
        data={"csrf_token": csrf_token(form.text), "username": username, "password": password},
    )
    return client, answer


def signed_in(servers: Servers, username: str, password: str = PASSWORD) -> requests.Session:
    client, answer = try_sign_in(servers, username, password)
    assert answer.status_code == 303 and answer.headers["Location"] == "/", answer.text
    return client


def alert_of(servers: Servers, sender: str, reason: str, timeout: float = 10) -> int:
    """The id of the conversation's alert for `reason` (queued with the turn it is about)."""
    engine, _, tables = database(servers)
    a = tables.alerts
    deadline = time.monotonic() + timeout
    while True:
        with engine.begin() as connection:
            found = connection.execute(
                sa.select(a.c.id).where(a.c.sender_id == sender, a.c.reason == reason)
            ).scalar()
        if found is not None or time.monotonic() > deadline:
            assert found is not None, f"no {reason} alert for the conversation"
            return found
        time.sleep(0.2)


def alert_status(servers: Servers, alert_id: int) -> Tuple[str, str]:
    engine, _, tables = database(servers)
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(tables.alerts).where(tables.alerts.c.id == alert_id)
        ).one()
    return row.status, row.handled_by
