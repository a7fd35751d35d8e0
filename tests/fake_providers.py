"""A loopback fake of the providers' APIs the assistant sends replies to.

One HTTP server answers like Twilio's Messages API, Slack's chat.postMessage and
Facebook's Graph API Send API, and records every request, so a test reads what the
patient's phone or app would have received.
"""

import base64
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Tuple

TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "test-twilio-auth-token"

# The channels the test servers open, sending to the fake.
TWILIO_NUMBER = "+15550100999"
TWILIO_PUBLIC_WEBHOOK = "https://clinic.example.org/webhooks/twilio/webhook"
FACEBOOK_APP_SECRET = "test-facebook-app-secret"
SLACK_SIGNING_SECRET = "test-slack-signing-secret"


def channel_env(providers_url: str) -> Dict[str, str]:
    """The variables that switch on SMS, Messenger and Slack, sending to the fake."""
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_NUMBER": TWILIO_NUMBER,
        "TWILIO_WEBHOOK_URL": TWILIO_PUBLIC_WEBHOOK,
        "TWILIO_API_BASE_URL": providers_url,
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


class FakeProviders:
    """Runs the fake on a free loopback port until stop()."""

    def __init__(self) -> None:
        self.received: List[Received] = []
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
        return [r.form.get("Body", "") for r in self.requests(
            lambda r: r.path.endswith("/Messages.json") and r.form.get("To") == phone)]

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 30) -> List[Received]:
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
                received = Received(url.path, urllib.parse.parse_qs(url.query), form, body,
                                    self.headers.get("Authorization", ""))
                status, answer = fake.answer(received)
                if status < 300:
                    fake._record(received)
                payload = json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    @staticmethod
    def answer(received: Received) -> Tuple[int, Dict[str, Any]]:
        if received.path == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json":
            expected = base64.b64encode(f"{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}".encode()).decode()
            if received.authorization != f"Basic {expected}":
                return 401, {"code": 20003, "message": "Authenticate"}
            return 201, {"sid": "SM" + "1" * 32, "status": "queued", "to": received.form.get("To")}
        if received.path.endswith("/chat.postMessage"):
            return 200, {"ok": True, "channel": "D1", "ts": "1700000000.000100"}
        if received.path.endswith("/me/messages"):
            return 200, {"recipient_id": "1", "message_id": "m_1"}
        return 404, {"error": "unknown endpoint"}

