"""A loopback fake of the providers' APIs the assistant sends replies to.

One HTTP server answers like Twilio's Messages API (create, and list a number's messages),
Slack's chat.postMessage and Facebook's Graph API Send API, and records every request it
accepted, so a test reads what the patient's phone or app would have received. A test can
make Twilio fail for one number's next requests: an error status (`fail_twilio`), or no
answer in time, with or without the message created (`hang_twilio`).
"""

import base64
import email.utils
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

from twilio.request_validator import RequestValidator

TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "test-twilio-auth-token"

# The channels the test servers open, sending to the fake.
TWILIO_NUMBER = "+15550100999"
TWILIO_PUBLIC_WEBHOOK = "https://clinic.example.org/webhooks/twilio/webhook"
# The clinic's WhatsApp sender on the same Twilio account (channels/whatsapp.py).
TWILIO_WHATSAPP_NUMBER = "+15550100888"
WHATSAPP_PUBLIC_WEBHOOK = "https://clinic.example.org/webhooks/whatsapp/webhook"
TWILIO_VOICE_PUBLIC_WEBHOOK = "https://clinic.example.org/webhooks/twilio_voice/webhook"
FACEBOOK_APP_SECRET = "test-facebook-app-secret"
SLACK_SIGNING_SECRET = "test-slack-signing-secret"


# SMS retries in seconds instead of a minute; an attempt gives up on an answer after 2 s.
FAST_SMS_RETRIES = {
    "TWILIO_RETRY_SECONDS": "0.3",
    "TWILIO_RETRY_BUDGET_SECONDS": "4",
    "TWILIO_SEND_TIMEOUT_SECONDS": "2",
}


def post_twilio_form(
    url: str,
    form: Dict[str, str],
    signed_url: str,
    signature: Optional[str] = None,
    headers: Optional[Dict[str, str]] = None,
) -> Tuple[int, str]:
    """POST a form to `url` as Twilio does, signed over `signed_url` (the public URL Twilio
    called) unless `signature` is given; the answer's status and text."""
    if signature is None:
        signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(signed_url, form)
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode("utf-8"),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def channel_env(providers_url: str) -> Dict[str, str]:
    """The variables that switch on SMS, WhatsApp, Messenger and Slack, sending to the fake."""
    return {
        **FAST_SMS_RETRIES,
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_NUMBER": TWILIO_NUMBER,
        "TWILIO_WEBHOOK_URL": TWILIO_PUBLIC_WEBHOOK,
        "TWILIO_API_BASE_URL": providers_url,
        "TWILIO_WHATSAPP_NUMBER": TWILIO_WHATSAPP_NUMBER,
        "TWILIO_WHATSAPP_WEBHOOK_URL": WHATSAPP_PUBLIC_WEBHOOK,
        # The phone line (its TwiML answers the webhook itself: nothing goes to the fake).
        "TWILIO_VOICE_ENABLED": "true",
        "TWILIO_VOICE_WEBHOOK_URL": TWILIO_VOICE_PUBLIC_WEBHOOK,
        "FACEBOOK_VERIFY_TOKEN": "test-verify-token",
        "FACEBOOK_APP_SECRET": FACEBOOK_APP_SECRET,
        "FACEBOOK_PAGE_ACCESS_TOKEN": "test-page-access-token",
        "FACEBOOK_GRAPH_API_URL": providers_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SLACK_API_BASE_URL": f"{providers_url}/api/",
    }


@dataclass
class Received:
    """One request the fake received."""

    path: str
    query: Dict[str, List[str]]
    form: Dict[str, str]
    json: Any
    authorization: str
    sid: str = ""
    at: float = field(default_factory=time.time)


@dataclass
class TwilioFault:
    """How Twilio answers the next `remaining` message requests to `to`."""

    to: str
    remaining: int
    status: int = 503
    hang_seconds: float = 0.0  # > 0: answer only after this long (the client has given up)
    created: bool = False  # when hanging: whether Twilio created the message anyway


class FakeProviders:
    """Runs the fake on a free loopback port until stop()."""

    def __init__(self) -> None:
        self.received: List[Received] = []
        self.attempts: List[Received] = []  # every Messages API create request, failed or not
        self._faults: List[TwilioFault] = []
        self._sids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests(self, predicate: Callable[[Received], bool] = lambda r: True) -> List[Received]:
        with self._lock:
            return [r for r in self.received if predicate(r)]

    def sms_to(self, phone: str) -> List[str]:
        """The bodies of every SMS sent to `phone` through the Messages API, in order."""
        return [
            r.form.get("Body", "")
            for r in self.requests(
                lambda r: r.path.endswith("/Messages.json") and r.form.get("To") == phone
            )
        ]

    def fail_twilio(self, to: str, times: int, status: int = 503) -> None:
        """Twilio answers `status` to the next `times` messages to `to` (and creates none)."""
        with self._lock:
            self._faults.append(TwilioFault(to, times, status))

    def hang_twilio(self, to: str, times: int, seconds: float, created: bool) -> None:
        """Twilio answers the next `times` messages to `to` only after `seconds`; with
        `created`, the message was created (and delivered) all the same."""
        with self._lock:
            self._faults.append(TwilioFault(to, times, 201, seconds, created))

    def twilio_attempts(self, phone: str) -> List[str]:
        """The bodies of every request to send `phone` an SMS, answered or not."""
        with self._lock:
            return [r.form.get("Body", "") for r in self.attempts if r.form.get("To") == phone]

    def _fault_for(self, received: Received) -> Optional[TwilioFault]:
        with self._lock:
            self.attempts.append(received)
            for fault in self._faults:
                if fault.remaining > 0 and fault.to == received.form.get("To"):
                    fault.remaining -= 1
                    return fault
        return None

    def _listed(self, query: Dict[str, List[str]]) -> Dict[str, Any]:
        """Twilio's list of messages, newest first, filtered by To and From."""
        wanted = {key: values[0] for key, values in query.items() if key in ("To", "From")}
        messages = [
            r
            for r in reversed(self.requests(lambda r: r.sid.startswith("SM")))
            if all(r.form.get(key) == value for key, value in wanted.items())
        ]
        size = int((query.get("PageSize") or ["50"])[0])
        return {
            "messages": [
                {
                    "sid": r.sid,
                    "to": r.form.get("To"),
                    "from": r.form.get("From"),
                    "body": r.form.get("Body", ""),
                    "status": "sent",
                    "date_created": email.utils.formatdate(r.at, usegmt=True),
                }
                for r in messages[:size]
            ]
        }

    def wait_for(
        self, predicate: Callable[[Received], bool], timeout: float = 30
    ) -> List[Received]:
        """The requests matching `predicate`, waiting until there is at least one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests(predicate)
            if found:
                return found
            time.sleep(0.2)
        return []

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlsplit(self.path)
                if url.path != f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json":
                    self._answer(404, {"error": "unknown endpoint"})
                elif not fake._twilio_authorized(self.headers.get("Authorization", "")):
                    self._answer(401, {"code": 20003, "message": "Authenticate"})
                else:
                    self._answer(200, fake._listed(urllib.parse.parse_qs(url.query)))

            def _answer(self, status: int, answer: Any) -> None:
                payload = json.dumps(answer).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type", "")
                form: Dict[str, str] = {}
                body: Any = None
                if "json" in content_type:
                    body = json.loads(raw or b"null")
                else:
                    form = dict(urllib.parse.parse_qsl(raw.decode("utf-8")))
                received = Received(
                    url.path,
                    urllib.parse.parse_qs(url.query),
                    form,
                    body,
                    self.headers.get("Authorization", ""),
                )
                status, answer = fake.answer(received)
                fault = None
                if received.path.endswith("/Messages.json") and status < 300:
                    fault = fake._fault_for(received)
                    received.sid = answer["sid"] = f"SM{next(fake._sids):032x}"
                if fault is not None and fault.hang_seconds:
                    if fault.created:
                        fake._record(received)
                    time.sleep(fault.hang_seconds)
                    return self._answer(status, answer)
                if fault is not None:
                    status, answer = (
                        fault.status,
                        {
                            "code": 20500 if fault.status >= 500 else 21211,
                            "message": "fault injected by the test",
                        },
                    )
                if status < 300:
                    fake._record(received)
                self._answer(status, answer)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    @staticmethod
    def _twilio_authorized(authorization: str) -> bool:
        expected = base64.b64encode(f"{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}".encode()).decode()
        return authorization == f"Basic {expected}"

    def answer(self, received: Received) -> Tuple[int, Dict[str, Any]]:
        if received.path == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json":
            if not self._twilio_authorized(received.authorization):
                return 401, {"code": 20003, "message": "Authenticate"}
            return 201, {"sid": "SM" + "1" * 32, "status": "queued", "to": received.form.get("To")}
        if received.path.endswith("/chat.postMessage"):
            return 200, {"ok": True, "channel": "D1", "ts": "1700000000.000100"}
        if received.path.endswith("/me/messages"):
            return 200, {"recipient_id": "1", "message_id": "m_1"}
        return 404, {"error": "unknown endpoint"}
