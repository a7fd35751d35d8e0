"""The staff inbox app in this process, on its own SQLite file: what needs a prepared
database (failing deliveries, a callback number) or other settings (secure cookies)."""

import asyncio
import re
from pathlib import Path
from typing import Callable, Dict

import pytest
from aiohttp.test_utils import TestClient, TestServer

from staff import accounts, alert_rules, alert_store
from staff.inbox import build_app, open_inbox
from staff.transcripts import ASSISTANT, PATIENT, Line, transcript_lines

PASSWORD = "a long enough passphrase"
PHONE = "+15550101234"


def run_inbox(tmp_path: Path, check: Callable, env: Dict[str, str] = {}) -> None:
    """Open the inbox on a new database with one SMS alert and run `check(client, inbox)`."""
    inbox = open_inbox(f"sqlite:///{tmp_path / 'conversations.db'}", env)
    accounts.create_account(inbox.engine, inbox.accounts, "dana", PASSWORD)
    agreed = [{"event": "slot", "name": alert_rules.CALLBACK_SLOT, "value": True, "timestamp": 1.0}]
    turn = [
        {"event": "user", "text": "hi", "input_channel": "twilio", "timestamp": 2.0},
        {"event": "action", "name": alert_rules.URGENT_RESPONSE, "timestamp": 3.0},
    ]
    with inbox.engine.begin() as connection:
        alert_store.enqueue(
            connection,
            inbox.alerts,
            alert_rules.alerts_in_turn(PHONE, turn, agreed),
            ["email"],
            now=3.0,
        )

    async def session() -> None:
        async with TestClient(TestServer(build_app(inbox))) as client:
            await check(client, inbox)

    asyncio.run(session())


async def sign_in(client: TestClient) -> str:
    """Sign in as dana; the session cookie as set. The pre-session cookie is sent by hand:
    a Secure cookie never goes back over the test's plain http."""
    form = await (await client.get("/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = await client.post(
        "/login",
        allow_redirects=False,
        headers={"Cookie": f"inbox_login_csrf={token}"},
        data={"csrf_token": token, "username": "dana", "password": PASSWORD},
    )
    assert answer.status == 303
    return next(c for c in answer.headers.getall("Set-Cookie") if c.startswith("inbox_session="))


def test_failing_deliveries_show_a_banner(tmp_path: Path) -> None:
    async def check(client: TestClient, inbox) -> None:
        await sign_in(client)
        assert "failing" not in await (await client.get("/")).text()
        for attempt in range(alert_store.FAILING_AFTER):
            [delivery] = alert_store.claim_due(
                inbox.engine, inbox.alerts, "t", 30, now=1e12 + attempt
            )
            alert_store.mark_failed(
                inbox.engine,
                inbox.alerts,
                delivery,
                "t",
                "refused",
                0.001,
                0.001,
                now=1e12 + attempt,
            )
        assert "1 alert delivery is failing" in await (await client.get("/")).text()

    run_inbox(tmp_path, check)


def test_the_callback_number_is_shown_and_no_other_id(tmp_path: Path) -> None:
    async def check(client: TestClient, inbox) -> None:
        await sign_in(client)
        page = await (await client.get("/alerts/1")).text()
        assert page.count(PHONE) == 1 and 'id="callback">' + PHONE in page
        listing = await (await client.get("/")).text()
        assert PHONE not in listing

    run_inbox(tmp_path, check)


@pytest.mark.parametrize("setting, secure", [("true", True), ("", False)])
def test_secure_cookies_when_the_inbox_is_behind_https(
    tmp_path: Path, setting: str, secure: bool
) -> None:
    async def check(client: TestClient, inbox) -> None:
        login_cookie = (await client.get("/login")).headers["Set-Cookie"]
        assert ("; Secure" in login_cookie) is secure
        cookie = await sign_in(client)
        assert ("; Secure" in cookie) is secure and "HttpOnly" in cookie

    run_inbox(tmp_path, check, {"STAFF_INBOX_SECURE_COOKIES": setting})


def test_a_transcript_is_the_patient_s_and_the_assistant_s_messages_in_order() -> None:
    events = [
        {"event": "action", "name": "action_listen", "timestamp": 1},
        {"event": "user", "text": "menu", "timestamp": 2},
        {
            "event": "bot",
            "text": "Pick one",
            "timestamp": 3,
            "data": {"buttons": [{"title": "Does it hurt?", "payload": "/ask_pain"}]},
        },
        {"event": "bot", "text": None, "timestamp": 4},
        {"event": "slot", "name": "x", "value": "y", "timestamp": 5},
    ]
    assert transcript_lines(events) == [
        Line(PATIENT, "menu", 2.0),
        Line(ASSISTANT, "Pick one", 3.0, ("Does it hurt?",)),
    ]
