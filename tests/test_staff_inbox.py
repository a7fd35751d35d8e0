"""The staff inbox (staff/inbox.py) against the real servers: nothing without signing in,
no CORS and no cross-site forms, lockout, the audit log, patient text escaped."""

import sqlite3
import time
from typing import Callable, Dict, List

import pytest
import requests

from clinic.log_privacy import conversation_ref
from conftest import STAFF_LOCKOUT_SECONDS
from inbox_client import (
    PASSWORD,
    alert_of,
    alert_status,
    csrf_token,
    new_account,
    signed_in,
    try_sign_in,
)
from rest_conversations import new_sender
from scripts.ops.serve import Servers
from staff.alert_rules import REASONS, URGENT

MARKER = "zebrafinch"  # a word no page shows unless it shows the patient's message
URGENT_MESSAGE = f"it's oozing and I have a fever, {MARKER}"
SCRIPT_MESSAGE = "<script>window.__inbox=1</script> it's oozing and I have a fever"


@pytest.fixture(scope="module")
def urgent_alert(servers: Servers) -> Dict:
    """An urgent message over REST and the alert it raised."""
    sender = new_sender()
    body = {"sender": sender, "message": URGENT_MESSAGE}
    answer = requests.post(servers.rest_url, json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    return {"sender": sender, "id": alert_of(servers, sender, URGENT)}


def assert_nothing_shown(answer: requests.Response, sender: str) -> None:
    for secret in (MARKER, REASONS[URGENT], sender, "oozing"):
        assert secret not in answer.text, f"{answer.request.method} {answer.url} showed {secret!r}"


def test_signed_out_requests_get_nothing(servers: Servers, urgent_alert: Dict) -> None:
    number, base = urgent_alert["id"], servers.inbox_url
    pages = ["", f"alerts/{number}", "alerts/999999", "no-such-page"]
    for cookies in ({}, {"inbox_session": "forged-session-token-000000000000000000000"}):
        for path in pages:
            answer = requests.get(base + path, cookies=cookies, allow_redirects=False, timeout=30)
            assert (answer.status_code, answer.headers.get("Location")) == (303, "/login"), path
            assert_nothing_shown(answer, urgent_alert["sender"])
        for path in [f"alerts/{number}/handled", "logout", "", f"alerts/{number}"]:
            answer = requests.post(
                base + path,
                cookies=cookies,
                data={"csrf_token": "x"},
                allow_redirects=False,
                timeout=30,
            )
            assert answer.status_code == 403, path
            assert_nothing_shown(answer, urgent_alert["sender"])
    assert alert_status(servers, number) == ("open", None)
    # The sign-in page itself shows no alert either.
    assert_nothing_shown(requests.get(base + "login", timeout=30), urgent_alert["sender"])


def test_every_answer_has_the_security_headers(servers: Servers, urgent_alert: Dict) -> None:
    client = signed_in(servers, new_account(servers))
    for answer in (
        client.get(servers.inbox_url, timeout=30),
        client.get(servers.inbox_url + f"alerts/{urgent_alert['id']}", timeout=30),
        requests.get(servers.inbox_url, allow_redirects=False, timeout=30),
        requests.get(servers.inbox_url + "login", timeout=30),
    ):
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Cache-Control"] == "no-store"
    _, answer = try_sign_in(servers, new_account(servers), PASSWORD)
    session_cookie = next(
        c for c in answer.headers["Set-Cookie"].split(", ") if c.startswith("inbox_session=")
    )
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in session_cookie
    assert "Secure" not in session_cookie  # plain http on loopback; https sets it


def test_the_widget_origin_gets_no_cors_and_a_cross_site_post_is_refused(
    servers: Servers, urgent_alert: Dict
) -> None:
    widget = {"Origin": f"http://localhost:{servers.web_port}"}
    client = signed_in(servers, new_account(servers))
    number = urgent_alert["id"]
    page = client.get(servers.inbox_url + f"alerts/{number}", headers=widget, timeout=30)
    assert page.status_code == 200
    preflight = client.options(
        servers.inbox_url + f"alerts/{number}/handled",
        timeout=30,
        headers={**widget, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 405
    for answer in (page, preflight):
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")]
    # A form another site posts with the staff member's cookie has no CSRF token, or a wrong one.
    for form in ({}, {"csrf_token": "guessed"}, {"csrf_token": csrf_token(page.text) + "x"}):
        refused = client.post(
            servers.inbox_url + f"alerts/{number}/handled",
            data=form,
            headers=widget,
            allow_redirects=False,
            timeout=30,
        )
        assert refused.status_code == 403
    assert alert_status(servers, number) == ("open", None)
    # The sign-in form is protected too: no pre-session cookie, no sign-in.
    forged = requests.post(
        servers.inbox_url + "login",
        allow_redirects=False,
        timeout=30,
        data={"csrf_token": "a" * 43, "username": "x", "password": PASSWORD},
    )
    assert forged.status_code == 403 and "inbox_session" not in forged.cookies
    # A big body is refused before it is read.
    big = client.post(servers.inbox_url + "logout", data={"csrf_token": "x" * 20000}, timeout=30)
    assert big.status_code == 413


def test_five_wrong_passwords_lock_the_account_until_the_lock_expires(servers: Servers) -> None:
    username = new_account(servers)
    answers = [try_sign_in(servers, username, "not the password")[1] for _ in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    assert "Wrong username or password" in answers[0].text and "locked" in answers[-1].text
    _, right = try_sign_in(servers, username, PASSWORD)
    assert right.status_code == 401 and "locked" in right.text
    assert "inbox_session" not in right.cookies
    # A username with no account answers the same way.
    unknown = [try_sign_in(servers, username + "-x", "not the password")[1] for _ in range(5)]
    assert [a.status_code for a in unknown] == [401] * 5 and "locked" in unknown[-1].text
    time.sleep(STAFF_LOCKOUT_SECONDS + 0.5)
    signed_in(servers, username)


def audit_rows(servers: Servers, username: str) -> List[tuple]:
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT action, alert_id, conversation_ref FROM staff_audit "
            "WHERE username = ? ORDER BY id",
            (username,),
        ).fetchall()


def test_viewing_a_transcript_and_handling_an_alert_are_audited(
    servers: Servers, say: Callable[[str, str], List[Dict]]
) -> None:
    sender = new_sender()
    say(sender, "does it hurt?")
    say(sender, URGENT_MESSAGE)
    number = alert_of(servers, sender, URGENT)
    username = new_account(servers)
    client = signed_in(servers, username)
    listing = client.get(servers.inbox_url, timeout=30)
    assert REASONS[URGENT] in listing.text and f'href="/alerts/{number}"' in listing.text
    page = client.get(servers.inbox_url + f"alerts/{number}", timeout=30)
    assert page.status_code == 200
    assert "does it hurt?" in page.text and MARKER in page.text  # the patient's messages
    ref = conversation_ref(sender, salt=servers.env["LOG_ID_SALT"])
    assert ref in page.text and sender not in page.text
    handled = client.post(
        servers.inbox_url + f"alerts/{number}/handled",
        data={"csrf_token": csrf_token(page.text)},
        timeout=30,
    )
    assert handled.status_code == 200 and f"handled by <strong>{username}</strong>" in handled.text
    assert alert_status(servers, number) == ("handled", username)
    assert audit_rows(servers, username) == [
        ("signed_in", None, None),
        ("viewed_transcript", number, ref),
        ("marked_handled", number, ref),
        ("viewed_transcript", number, ref),
    ]
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        audit = str(connection.execute("SELECT * FROM staff_audit").fetchall())
    assert MARKER not in audit and sender not in audit


def test_patient_markup_is_shown_as_text(
    servers: Servers, say: Callable[[str, str], List[Dict]]
) -> None:
    sender = new_sender()
    say(sender, SCRIPT_MESSAGE)
    number = alert_of(servers, sender, URGENT)
    page = signed_in(servers, new_account(servers)).get(
        servers.inbox_url + f"alerts/{number}", timeout=30
    )
    assert "&lt;script&gt;window.__inbox=1&lt;/script&gt;" in page.text
    assert "<script>window.__inbox" not in page.text


def test_a_database_error_shows_a_plain_page(servers: Servers, urgent_alert: Dict) -> None:
    client = signed_in(servers, new_account(servers))
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        connection.execute("ALTER TABLE staff_alerts RENAME TO staff_alerts_away")
    try:
        answer = client.get(servers.inbox_url, timeout=30)
    finally:
        with sqlite3.connect(db) as connection:
            connection.execute("ALTER TABLE staff_alerts_away RENAME TO staff_alerts")
    assert answer.status_code == 503 and "cannot read the conversations database" in answer.text
    for leak in ("Traceback", "SELECT", "sqlite3", "staff_alerts"):
        assert leak not in answer.text
    assert client.get(servers.inbox_url, timeout=30).status_code == 200
