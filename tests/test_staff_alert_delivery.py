"""Staff alerts reach the clinic (issue 13): by email over STARTTLS with a login, and by a
signed webhook, once each, after an SMTP outage too, with two senders on one database.

Real servers on loopback, nothing mocked: an aiosmtpd SMTP server that requires STARTTLS
(a certificate made here, which the sender trusts through ALERT_SMTP_TLS_CA) and a login,
an HTTP receiver that checks the webhook's signature, the alert sender processes
(staff/alert_sender.py), and for the first test the whole assistant.
"""

import asyncio
import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clinic.clinic_config import load_clinic_config
from clinic.log_privacy import conversation_ref
from rest_conversations import new_sender
from scripts.ops.processes import free_port, stop_processes
from scripts.ops.serve import (
    PROJECT_ROOT,
    Servers,
    running_servers,
    runtime_env,
    start_alert_sender,
)
from staff import alert_rules, alert_store, alert_transports
from staff.alert_config import EmailSettings, WebhookSettings
from staff.database import open_engine
from test_report_postgresql import postgres  # noqa: F401  (a fixture: the throwaway PostgreSQL)

SMTP_USER, SMTP_PASSWORD = "assistant", "not-a-real-password-1"
WEBHOOK_SECRET = "s" * 16 + "e" * 16 + "cret"
STAFF_TO, ALERT_FROM = "frontdesk@example.com", "assistant@example.com"
INBOX = "https://inbox.example.org/"
DOWN_SECONDS = 60  # the SMTP outage


def tls_certificate(folder: Path) -> Tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alert test SMTP")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class SmtpServer:
    """A real SMTP server on loopback that requires STARTTLS and a login; keeps what it gets."""

    def __init__(self, cert: Path, key: Path, port: int, delay: float = 0.0) -> None:
        import ssl

        self.port, self.delay = port, delay
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(str(cert), str(key))
        self.received: List[Tuple[EmailMessage, Dict[str, Any]]] = []
        self.controller: Optional[Controller] = None

    def start(self) -> None:
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self.authenticate,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(
            (
                message,
                {
                    "tls": session.ssl is not None,
                    "authenticated": session.authenticated,
                    "to": list(envelope.rcpt_tos),
                },
            )
        )
        return "250 OK"

    def messages(self) -> List[EmailMessage]:
        return [m for m, _ in self.received]


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """The check docs/clinic_guide.md shows a receiver (written here again: the test is its reader)."""
    expected = (
        "sha256="
        + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) < 300


class WebhookReceiver:
    """The clinic's webhook on loopback: accepts a POST with a valid signature, keeps it."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.received: List[Tuple[Dict[str, str], Dict[str, Any]]] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                good = verify_signature(
                    WEBHOOK_SECRET,
                    self.headers["X-Clinic-Timestamp"],
                    body,
                    self.headers["X-Clinic-Signature"],
                )
                time.sleep(delay)
                if good and status == 200:
                    receiver.received.append((dict(self.headers), json.loads(body)))
                else:
                    receiver.refused += 1
                self.send_response(status if good else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> List[Dict[str, Any]]:
        return [body for _, body in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    return tls_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(certificate: Tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = SmtpServer(*certificate, port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def alert_env(smtp_port: int, ca_file: Path, webhook_url: str) -> Dict[str, str]:
    """The environment that sends alerts to the test's servers, retrying after 2, 4, 8, 8 ... s."""
    return {
        "ALERT_SMTP_HOST": "127.0.0.1",
        "ALERT_SMTP_PORT": str(smtp_port),
        "ALERT_SMTP_TLS_CA": str(ca_file),
        "ALERT_SMTP_USERNAME": SMTP_USER,
        "ALERT_SMTP_PASSWORD": SMTP_PASSWORD,
        "ALERT_EMAIL_TO": STAFF_TO,
        "ALERT_EMAIL_FROM": ALERT_FROM,
        "ALERT_WEBHOOK_URL": webhook_url,
        "ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STAFF_INBOX_URL": INBOX,
        "ALERT_RETRY_SECONDS": "2",
        "ALERT_RETRY_MAX_SECONDS": "8",
    }


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.2)


def health(url: str) -> Tuple[int, Dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def urgent_alert(sender: str, at: float) -> alert_rules.Alert:
    """The alert an urgent turn of `sender` at `at` raises, as the tracker store queues it."""
    turn = [
        {"event": "user", "text": "it's oozing", "input_channel": "twilio", "timestamp": at - 1},
        {"event": "action", "name": "utter_urgent", "timestamp": at},
    ]
    [alert] = alert_rules.alerts_in_turn(sender, turn)
    return alert


def queue_alerts(url: str, alerts: List[alert_rules.Alert]) -> None:
    engine = open_engine(url)
    tables = alert_store.alert_tables()
    alert_store.create_alert_tables(engine, tables)
    with engine.begin() as connection:
        alert_store.enqueue(connection, tables, alerts, ["email", "webhook"])
    engine.dispose()


def start_sender(tmp_path: Path, name: str, url: str, env: Dict[str, str]) -> Servers:
    """One alert sender process (as a replica runs it), started as `make run` starts it."""
    log_dir = tmp_path / name
    log_dir.mkdir()
    base = runtime_env(free_port(), tmp_path / "unused.db", free_port())
    servers = Servers(0, 0, log_dir, {**base, **env, "TRACKER_STORE_URL": url}, Path("unused"), 0)
    start_alert_sender(servers)
    return servers


def message_ids(smtp: SmtpServer) -> List[str]:
    return [m["Message-ID"] for m in smtp.messages()]


# --- Without the assistant: the transports against the test's servers -----------------------


def email_settings(
    port: int, ca_file: Optional[Path], password: str = SMTP_PASSWORD
) -> EmailSettings:
    return EmailSettings(
        (STAFF_TO,),
        ALERT_FROM,
        "127.0.0.1",
        port,
        True,
        SMTP_USER,
        password,
        str(ca_file) if ca_file else None,
    )


def test_an_email_goes_out_only_over_trusted_tls_with_the_right_login(
    smtp: SmtpServer, certificate: Tuple[Path, Path]
) -> None:
    cert, _ = certificate
    asyncio.run(alert_transports.send_email(email_settings(smtp.port, cert), "s", "b", "k1"))
    assert message_ids(smtp) == ["<k1.email@clinic-assistant>"]
    assert smtp.received[0][1] == {"tls": True, "authenticated": True, "to": [STAFF_TO]}
    # A certificate nobody told the sender to trust, a wrong password: nothing is sent.
    for settings, reason in (
        (email_settings(smtp.port, None), "email: SSLCertVerificationError"),
        (email_settings(smtp.port, cert, "wrong"), "email: the SMTP login was refused (535)"),
    ):
        with pytest.raises(alert_transports.TransportError) as failure:
            asyncio.run(alert_transports.send_email(settings, "s", "b", "k2"))
        assert str(failure.value) == reason
    with pytest.raises(alert_transports.TransportError, match="could not connect"):
        asyncio.run(alert_transports.send_email(email_settings(free_port(), cert), "s", "b", "k3"))
    assert message_ids(smtp) == ["<k1.email@clinic-assistant>"]


def test_a_webhook_counts_as_delivered_only_on_2xx_with_a_valid_signature(
    webhook: WebhookReceiver,
) -> None:
    settings = WebhookSettings(webhook.url, WEBHOOK_SECRET)
    asyncio.run(alert_transports.post_webhook(settings, {"id": "k1"}, "k1"))
    [(headers, body)] = webhook.received
    assert body == {"id": "k1"} and headers["Idempotency-Key"] == "k1"
    assert headers["Content-Type"] == "application/json"
    with pytest.raises(alert_transports.TransportError, match="HTTP 401"):  # the wrong secret
        asyncio.run(alert_transports.post_webhook(WebhookSettings(webhook.url, "x" * 32), {}, "k2"))
    failing = WebhookReceiver(status=500)
    try:
        with pytest.raises(alert_transports.TransportError, match="HTTP 500"):
            asyncio.run(
                alert_transports.post_webhook(
                    WebhookSettings(failing.url, WEBHOOK_SECRET), {}, "k3"
                )
            )
    finally:
        failing.stop()
    assert len(webhook.received) == 1


def test_the_sender_stops_at_start_up_on_a_wrong_alerts_setting(tmp_path: Path) -> None:
    env = {
        **runtime_env(free_port(), tmp_path / "c.db", free_port()),
        "ALERT_WEBHOOK_URL": "https://hooks.example.org/alerts",
        "ALERT_WEBHOOK_SECRET": "short",
    }
    ran = subprocess.run(
        [sys.executable, "-m", "staff.alert_sender", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 1
    assert "The alert sender cannot start" in ran.stderr
    assert "ALERT_WEBHOOK_SECRET must be set to a random string of at least 32" in ran.stderr


# --- The whole assistant: a patient's urgent message reaches the staff -----------------------


def test_an_urgent_message_over_rest_reaches_staff_by_email_and_webhook_once_each(
    model_path: Path,
    tmp_path: Path,
    smtp: SmtpServer,
    webhook: WebhookReceiver,
    certificate: Tuple[Path, Path],
) -> None:
    tracker_db = tmp_path / "conversations.db"
    action_port, web_port = free_port(), free_port()
    sender, text = new_sender(), "it's oozing and I have a fever"
    clinic = load_clinic_config().name
    with running_servers(
        rasa_port=free_port(),
        action_port=action_port,
        model=model_path,
        tracker_db=tracker_db,
        log_dir=tmp_path / "logs",
        web_port=web_port,
        credentials=tmp_path / "credentials.yml",
        extra_env={
            "TRACKER_STORE_URL": f"sqlite:///{tracker_db}",
            "ACTION_ENDPOINT_URL": f"http://localhost:{action_port}/webhook",
            "LOCK_STORE_TYPE": "in_memory",
            "WEB_ORIGIN": f"http://localhost:{web_port}",
            **alert_env(smtp.port, certificate[0], webhook.url),
        },
    ) as servers:
        request = urllib.request.Request(
            servers.rest_url,
            headers={"Content-Type": "application/json"},
            data=json.dumps({"sender": sender, "message": text}).encode(),
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
        wait_for(lambda: smtp.received and webhook.received, 30, "the email and the webhook")
        time.sleep(3)  # three more polls of the sender: nothing is sent twice
        assert health(servers.alert_sender_health_url) == (
            200,
            {"status": "ok", "pending": 0, "failing": 0},
        )
        salt = servers.env["LOG_ID_SALT"]
    with sqlite3.connect(tracker_db) as connection:
        [(alert_id, key, created_at)] = connection.execute(
            "SELECT id, key, created_at FROM staff_alerts WHERE sender_id = ?", (sender,)
        ).fetchall()
    ref, link = conversation_ref(sender, salt), f"{INBOX}alerts/{alert_id}"

    [message] = smtp.messages()
    assert smtp.received[0][1] == {"tls": True, "authenticated": True, "to": [STAFF_TO]}
    assert message["Subject"] == (
        f"[{clinic} assistant] Urgent: the assistant gave the "
        f"urgent-symptom reply (REST/website API)"
    )
    assert (message["From"], message["To"]) == (ALERT_FROM, STAFF_TO)
    assert message["Message-ID"] == f"<{key}.email@clinic-assistant>"
    body = message.get_content()
    when = datetime.fromtimestamp(created_at, timezone.utc).isoformat(timespec="seconds")
    for line in (
        "The assistant gave the urgent-symptom reply.",
        "Channel:       REST/website API",
        f"Conversation:  {ref}",
        f"Staff inbox:   {link}",
        when.replace("+00:00", "Z"),
        "What to do:",
        "reply to the patient on the channel they used",
    ):
        assert line in body, line
    assert "Call back on" not in body and "The patient's message" not in body

    [(headers, payload)] = webhook.received
    assert headers["Idempotency-Key"] == key
    assert payload == {
        "id": key,
        "reason": "urgent",
        "reason_text": "The assistant gave the urgent-symptom reply",
        "channel": "rest",
        "created_at": when.replace("+00:00", "Z"),
        "conversation_ref": ref,
        "inbox_url": link,
        "callback_number": None,
    }

    sent = message.as_string() + json.dumps(webhook.received)
    log = (tmp_path / "logs" / "alerts.log").read_text()
    assert "sent by email" in log and "sent by webhook" in log
    for private in (sender, sender.split(":", 1)[1], "oozing", "fever"):
        assert private not in sent and private not in log, private
    print(
        f"\n--- email ---\n{message.as_string()}\n--- webhook ---\n{json.dumps(headers, indent=1)}\n"
        f"{json.dumps(payload, indent=1)}"
    )


# --- The sender alone, on a queue filled by hand ---------------------------------------------


def test_alerts_raised_while_smtp_is_down_all_arrive_once_when_it_is_back(
    tmp_path: Path, certificate: Tuple[Path, Path], webhook: WebhookReceiver
) -> None:
    smtp = SmtpServer(*certificate, port=free_port())  # not started: the SMTP server is down
    url = f"sqlite:///{tmp_path / 'conversations.db'}"
    first = [urgent_alert(f"+1555010{n:04d}", 1000.0 + n) for n in range(3)]
    queue_alerts(url, first)
    started = time.monotonic()
    servers = start_sender(
        tmp_path, "sender", url, alert_env(smtp.port, certificate[0], webhook.url)
    )
    try:
        # The webhook does not wait for the email.
        wait_for(lambda: len(webhook.received) == 3, 15, "the webhooks")
        # Three failed attempts (at 0, 2 and 6 s): the health endpoint says so.
        wait_for(lambda: health(servers.alert_sender_health_url)[0] == 503, 30, "failing health")
        assert health(servers.alert_sender_health_url) == (
            503,
            {"status": "failing", "pending": 3, "failing": 3},
        )
        later = [urgent_alert(f"+1555020{n:04d}", 2000.0 + n) for n in range(2)]
        queue_alerts(url, later)
        time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - started)))
        smtp.start()
        try:
            # Retries are at most 8 s apart.
            wait_for(lambda: len(smtp.received) >= 5, 20, "the emails after the outage")
            time.sleep(3)
            assert sorted(message_ids(smtp)) == sorted(
                f"<{a.key}.email@clinic-assistant>" for a in first + later
            )
            assert sorted(b["id"] for b in webhook.bodies()) == sorted(a.key for a in first + later)
            assert health(servers.alert_sender_health_url) == (
                200,
                {"status": "ok", "pending": 0, "failing": 0},
            )
        finally:
            smtp.stop()
    finally:
        stop_processes(servers.processes)
    log = (servers.log_dir / "alerts.log").read_text()
    assert "email failed, attempt 3: email: could not connect to the SMTP server" in log
    assert "+1555" not in log and "oozing" not in log
    assert log.rstrip().endswith("staff.alert_sender: stopped")  # SIGTERM: a clean stop


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_senders_on_one_database_send_every_alert_once(
    database: str, tmp_path: Path, certificate: Tuple[Path, Path], request: pytest.FixtureRequest
) -> None:
    if database == "postgresql":
        server = request.getfixturevalue("postgres").rsplit("/", 1)[0]
        name = f"alerts_{int(time.time() * 1000)}"
        with sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {name}"))
        url = f"{server}/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'conversations.db'}"
    # Slow receivers: each batch takes a while, so both senders have alerts to compete for.
    smtp = SmtpServer(*certificate, port=free_port(), delay=0.3)
    webhook = WebhookReceiver(delay=0.3)
    smtp.start()
    env = alert_env(smtp.port, certificate[0], webhook.url)
    replicas: List[Servers] = []
    try:
        replicas = [start_sender(tmp_path, name, url, env) for name in ("replica-1", "replica-2")]
        alerts = [urgent_alert(f"+1555030{n:04d}", 3000.0 + n) for n in range(40)]
        queue_alerts(url, alerts)
        wait_for(
            lambda: len(smtp.received) >= 40 and len(webhook.received) >= 40, 60, "every alert"
        )
        time.sleep(3)
        assert sorted(message_ids(smtp)) == sorted(
            f"<{a.key}.email@clinic-assistant>" for a in alerts
        )
        assert sorted(b["id"] for b in webhook.bodies()) == sorted(a.key for a in alerts)
    finally:
        for replica in replicas:
            stop_processes(replica.processes)
        smtp.stop()
        webhook.stop()
    # Both replicas sent some: the queue, not luck, kept them from sending an alert twice.
    sent = [(r.log_dir / "alerts.log").read_text().count(": sent by ") for r in replicas]
    assert sum(sent) == 80 and min(sent) > 0, sent
