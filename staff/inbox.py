"""The staff inbox: a small web app where the clinic's staff see the alerts, read the
conversation behind one and mark it handled.

Served by scripts/ops/serve.py on its own port (STAFF_INBOX_PORT, default 8090), on loopback
unless STAFF_INBOX_INTERFACE says otherwise, never on the public widget's origin:

    python -m staff.inbox --port 8090

Everything but the sign-in page needs a session (staff/accounts.py): signed out, a page
redirects to /login and any other request is refused, with no data in either answer.
Patients' messages are attacker-controlled text: every page is rendered by Jinja2 with
autoescaping, under a Content-Security-Policy that allows no inline script.
"""

import argparse
import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import jinja2
import sqlalchemy as sa
from aiohttp import web

from clinic.log_privacy import conversation_ref
from clinic.tokens import same_token
from staff import accounts, alert_store
from staff.alert_message import channel_text
from staff.alert_rules import REASONS
from staff.database import events_table, open_engine, schema_for, tracker_store_url
from staff.transcripts import read_transcript

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
DEFAULT_PORT = 8090
DEFAULT_INTERFACE = "127.0.0.1"
MAX_BODY_BYTES = 16 * 1024  # a sign-in form or a button's POST: a few hundred bytes
ALERTS_SHOWN = 500
SESSION_COOKIE = "inbox_session"
LOGIN_CSRF_COOKIE = "inbox_login_csrf"
CSRF_FIELD = "csrf_token"
# The pages a signed-out browser may fetch.
PUBLIC = {
    ("GET", "/login"),
    ("HEAD", "/login"),
    ("POST", "/login"),
    ("GET", "/static/inbox.css"),
    ("HEAD", "/static/inbox.css"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Inbox:
    """What the handlers share: the database, its tables, the settings."""

    url: str
    engine: sa.engine.Engine
    accounts: accounts.AccountTables
    alerts: alert_store.AlertTables
    secure_cookies: bool = False
    templates: jinja2.Environment = field(default_factory=lambda: templates())
    _events: Optional[sa.Table] = None

    def events(self) -> Optional[sa.Table]:
        """Rasa's events table, once Rasa has created it."""
        if self._events is None:
            found = events_table(self.url, self.engine)
            self._events = found[1] if found else None
        return self._events


INBOX = web.AppKey("inbox", Inbox)
SESSION = "staff_session"


def local_time(at: Optional[float]) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(at)) if at else ""


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["local_time"] = local_time
    return env


async def blocking(function: Callable[..., Any], *args: Any) -> Any:
    """Database calls and Argon2 off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(function, *args))


def html_page(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    inbox = request.app[INBOX]
    session = request.get(SESSION)
    html = inbox.templates.get_template(name).render(
        signed_in=session, csrf_token=session.csrf_token if session else "", **values
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: Optional[int] = None,
) -> None:
    response.set_cookie(
        name,
        value,
        path="/",
        httponly=True,
        samesite="Strict",
        max_age=max_age,
        secure=request.secure or request.app[INBOX].secure_cookies,
    )


@web.middleware
async def plain_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A failure is a plain page: no traceback, no SQL, nothing of a patient's."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except sa.exc.SQLAlchemyError as error:
        logger.error("database error: %s", type(error).__name__)
        return html_page(
            request,
            "error.html",
            status=503,
            message="The inbox cannot read the conversations database right now. "
            "Try again in a minute; if it goes on, tell whoever runs the "
            "assistant.",
        )
    except Exception as error:  # noqa: BLE001 - whatever it is, the browser gets a plain page
        logger.error("error in %s %s: %s", request.method, request.path, type(error).__name__)
        return html_page(
            request, "error.html", status=500, message="Something went wrong in the inbox."
        )


@web.middleware
async def signed_in_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No CORS preflight ever; signed out, only the sign-in page and its stylesheet."""
    if request.method == "OPTIONS":
        raise web.HTTPMethodNotAllowed("OPTIONS", ["GET", "POST"])
    inbox = request.app[INBOX]
    request[SESSION] = await blocking(
        accounts.session_for, inbox.engine, inbox.accounts, request.cookies.get(SESSION_COOKIE)
    )
    if request[SESSION] is None and (request.method, request.path) not in PUBLIC:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPSeeOther("/login")
        raise web.HTTPForbidden(text="Sign in first.")
    if request.method == "POST" and request[SESSION] is not None and request.path != "/login":
        form = await request.post()
        if not same_token(form.get(CSRF_FIELD), request[SESSION].csrf_token):
            raise web.HTTPForbidden(text="This form has expired: reload the page and try again.")
    return await handler(request)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer, errors and redirects included."""
    response.headers.update(SECURITY_HEADERS)
    for name in [h for h in response.headers if h.lower().startswith("access-control-")]:
        del response.headers[name]


async def login_page(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    if request.get(SESSION) is not None and request.method == "GET":
        raise web.HTTPSeeOther("/")
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(32)
    response = html_page(request, "login.html", status=status, login_csrf=token, message=message)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    # Double submit: a site that makes a browser post here cannot read the cookie.
    if not same_token(form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        raise web.HTTPForbidden(text="This form has expired: reload the page and try again.")
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return await login_page(request, "Enter your username and password.", status=400)
    inbox = request.app[INBOX]
    result = await blocking(
        accounts.sign_in, inbox.engine, inbox.accounts, username.strip()[:64], password
    )
    if result.session is None:
        minutes = max(1, round(accounts.lockout_seconds() / 60))
        message = (
            f"Too many failed sign-ins: this account is locked for {minutes} "
            f"minute{'' if minutes == 1 else 's'}."
            if result.locked
            else "Wrong username or password."
        )
        return await login_page(request, message, status=401)
    response = web.HTTPSeeOther("/")
    set_cookie(
        request, response, SESSION_COOKIE, result.session.token, max_age=accounts.SESSION_SECONDS
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.Response:
    inbox = request.app[INBOX]
    session = request[SESSION]
    token = request.cookies.get(SESSION_COOKIE, "")

    def end() -> None:
        accounts.end_session(inbox.engine, inbox.accounts, token)
        with inbox.engine.begin() as connection:
            accounts.audit(connection, inbox.accounts, session.username, accounts.SIGNED_OUT)

    await blocking(end)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def alert_view(row: Any) -> Dict[str, Any]:
    """An alert as the pages show it: the reason in words, the conversation by its ref."""
    return {
        "id": row.id,
        "reason": REASONS.get(row.reason, row.reason),
        "channel": channel_text(row.channel),
        "at": row.created_at,
        "status": row.status,
        "handled_by": row.handled_by,
        "handled_at": row.handled_at,
        "callback_number": row.callback_number,
        "conversation_ref": conversation_ref(row.sender_id),
    }


def list_alerts(inbox: Inbox) -> Dict[str, Any]:
    a = inbox.alerts.alerts
    with inbox.engine.begin() as connection:
        rows = connection.execute(
            sa.select(a).order_by(a.c.created_at.desc(), a.c.id.desc()).limit(ALERTS_SHOWN)
        ).fetchall()
    return {
        "alerts": [alert_view(r) for r in rows],
        "failing": alert_store.failing_deliveries(inbox.engine, inbox.alerts),
    }


async def alert_list(request: web.Request) -> web.Response:
    data = await blocking(list_alerts, request.app[INBOX])
    return html_page(request, "alerts.html", **data)


def alert_id(request: web.Request) -> int:
    return int(request.match_info["alert_id"])


def view_alert(inbox: Inbox, username: str, alert_number: int) -> Optional[Dict[str, Any]]:
    """The alert and its conversation's messages; the viewing is audited."""
    a = inbox.alerts.alerts
    with inbox.engine.begin() as connection:
        row = connection.execute(sa.select(a).where(a.c.id == alert_number)).first()
    if row is None:
        return None
    alert = alert_view(row)
    lines = read_transcript(inbox.engine, inbox.events(), row.sender_id)
    with inbox.engine.begin() as connection:
        accounts.audit(
            connection,
            inbox.accounts,
            username,
            accounts.VIEWED_TRANSCRIPT,
            alert_id=row.id,
            conversation_ref=alert["conversation_ref"],
        )
    return {"alert": alert, "lines": lines}


async def alert_page(request: web.Request) -> web.Response:
    data = await blocking(
        view_alert, request.app[INBOX], request[SESSION].username, alert_id(request)
    )
    if data is None:
        return html_page(request, "error.html", status=404, message="There is no such alert.")
    return html_page(request, "alert.html", **data)


def mark_handled(inbox: Inbox, username: str, alert_number: int) -> bool:
    a = inbox.alerts.alerts
    with inbox.engine.begin() as connection:
        row = connection.execute(sa.select(a.c.sender_id).where(a.c.id == alert_number)).first()
        if row is None:
            return False
        # Who handled it first stays on record.
        changed = connection.execute(
            a.update()
            .where(a.c.id == alert_number, a.c.status == alert_store.OPEN)
            .values(status=alert_store.HANDLED, handled_by=username, handled_at=time.time())
        ).rowcount
        if changed:
            accounts.audit(
                connection,
                inbox.accounts,
                username,
                accounts.MARKED_HANDLED,
                alert_id=alert_number,
                conversation_ref=conversation_ref(row.sender_id),
            )
    return True


async def handled(request: web.Request) -> web.Response:
    number = alert_id(request)
    if not await blocking(mark_handled, request.app[INBOX], request[SESSION].username, number):
        return html_page(request, "error.html", status=404, message="There is no such alert.")
    raise web.HTTPSeeOther(f"/alerts/{number}")


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(body=(HERE / "static" / "inbox.css").read_bytes(), content_type="text/css")


def build_app(inbox: Inbox) -> web.Application:
    app = web.Application(
        middlewares=[plain_errors, signed_in_only], client_max_size=MAX_BODY_BYTES
    )
    app[INBOX] = inbox
    app.on_response_prepare.append(add_security_headers)
    app.add_routes(
        [
            web.get("/login", login_page),
            web.post("/login", login),
            web.post("/logout", logout),
            web.get("/", alert_list),
            web.get(r"/alerts/{alert_id:\d{1,12}}", alert_page),
            web.post(r"/alerts/{alert_id:\d{1,12}}/handled", handled),
            web.get("/static/inbox.css", stylesheet),
        ]
    )
    return app


def open_inbox(url: str, env: Optional[Dict[str, str]] = None) -> Inbox:
    """The inbox on the conversations database at `url`, its tables created if missing."""
    env = dict(os.environ if env is None else env)
    engine = open_engine(url)
    schema = schema_for(url)
    inbox = Inbox(
        url,
        engine,
        accounts.account_tables(schema),
        alert_store.alert_tables(schema),
        secure_cookies=env.get("STAFF_INBOX_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
    )
    accounts.create_account_tables(engine, inbox.accounts)
    alert_store.create_alert_tables(engine, inbox.alerts)
    accounts.warm_up()  # the first sign-in with an unknown name takes no longer than later ones
    return inbox


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("STAFF_INBOX_PORT", DEFAULT_PORT))
    )
    parser.add_argument(
        "--interface", default=os.environ.get("STAFF_INBOX_INTERFACE") or DEFAULT_INTERFACE
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = build_app(open_inbox(tracker_store_url()))
    web.run_app(
        app, host=args.interface, port=args.port, print=None, access_log_format='%a "%r" %s %b %Tfs'
    )


if __name__ == "__main__":
    main()
