"""Serve the clinic's landing page (web/) with the chat widget, filled in from the clinic config.

Run by scripts/ops/serve.py beside the Rasa server. The widget's bundle is served from
web/node_modules (installed by `make web` from web/package-lock.json), never from a CDN.
"""

import argparse
import html
import json
import os
import re
import socket
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from clinic.clinic_config import ClinicConfig, ClinicConfigError, load_clinic_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = PROJECT_ROOT / "web"
WEBCHAT_BUNDLE = WEB_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"

Route = Tuple[bytes, str]

# A browser sends its request at once; a client still sending after this long is holding a
# thread (slowloris), and so is one that stops reading the response for as long.
REQUEST_TIMEOUT = 10.0
# One thread per connection, at most this many; the rest are answered 503 at once.
MAX_CONNECTIONS = 64
REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
    b"Connection: close\r\n\r\n"
)


def widget_settings(config: ClinicConfig, socket_url: str) -> Dict[str, str]:
    """What web/static/chat.js passes to rasa-webchat."""
    return {
        "socketUrl": socket_url,
        "socketPath": "/socket.io/",
        "initPayload": "/greet",
        # Survives a reload but not closing the tab: on a shared computer the next person
        # does not find the patient's conversation.
        "storage": "session",
        "title": config.name,
        "subtitle": "Virtual assistant",
    }


def render_page(config: ClinicConfig, socket_url: str) -> str:
    """web/index.html with the clinic's details (HTML-escaped) and the widget settings."""
    values = {key: html.escape(value) for key, value in config.as_slots().items()}
    values["clinic_phone_link"] = re.sub(r"[^0-9+]", "", config.phone)
    # JSON inside <script>: "<" escaped so a value can never close the tag.
    values["widget_settings"] = json.dumps(widget_settings(config, socket_url)).replace(
        "<", "\\u003c"
    )
    template = string.Template((WEB_DIR / "index.html").read_text(encoding="utf-8"))
    return template.substitute(values)


def content_security_policy(socket_url: str) -> str:
    """Scripts only from this server, connections only to it and the Rasa server."""
    rasa = urlsplit(socket_url)
    websocket = ("wss" if rasa.scheme == "https" else "ws") + f"://{rasa.netloc}"
    return (
        "default-src 'self'; script-src 'self'; img-src 'self' data:; font-src 'self' data:; "
        # rasa-webchat injects its stylesheet as <style> elements. Its @import of Google
        # Fonts stays blocked: nothing on the page comes from a CDN.
        "style-src 'self' 'unsafe-inline'; "
        f"connect-src 'self' {rasa.scheme}://{rasa.netloc} {websocket}; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
    )


def build_routes(config: ClinicConfig, socket_url: str) -> Dict[str, Route]:
    """Every path the server answers, with its body and content type (nothing else is served)."""
    if not WEBCHAT_BUNDLE.exists():
        raise FileNotFoundError(f"{WEBCHAT_BUNDLE} is missing: run `make web` (npm ci in web/)")
    page = render_page(config, socket_url).encode("utf-8")
    return {
        "/": (page, "text/html; charset=utf-8"),
        "/index.html": (page, "text/html; charset=utf-8"),
        "/static/clinic.css": (
            (WEB_DIR / "static" / "clinic.css").read_bytes(),
            "text/css; charset=utf-8",
        ),
        "/static/chat.js": (
            (WEB_DIR / "static" / "chat.js").read_bytes(),
            "text/javascript; charset=utf-8",
        ),
        "/favicon.svg": ((WEB_DIR / "static" / "favicon.svg").read_bytes(), "image/svg+xml"),
        "/vendor/rasa-webchat.js": (WEBCHAT_BUNDLE.read_bytes(), "text/javascript; charset=utf-8"),
    }


def make_handler(
    routes: Dict[str, Route], csp: str, request_timeout: float = REQUEST_TIMEOUT
) -> type:
    """A request handler answering GET and HEAD for the known routes and 404 for anything else."""

    class PageHandler(BaseHTTPRequestHandler):
        # Each read or write of the connection gives up after this long.
        timeout = request_timeout

        def parse_request(self) -> bool:
            parsed = super().parse_request()  # reads the headers
            self.server.request_received(self.connection)
            return parsed

        def do_GET(self) -> None:
            self.respond(send_body=True)

        def do_HEAD(self) -> None:
            self.respond(send_body=False)

        def respond(self, send_body: bool) -> None:
            route = routes.get(urlsplit(self.path).path)
            if route is None:
                self.send_error(404)
                return
            body, content_type = route
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", csp)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if send_body:
                self.wfile.write(body)

    return PageHandler


class PageServer(ThreadingHTTPServer):
    """A thread per connection, at most `max_connections` (the rest get a 503 at once), each
    closed if its request has not arrived `request_timeout` seconds after it connected."""

    # Room for a burst of connections while the accepting thread works (Python's default is 5).
    request_queue_size = 128

    def __init__(
        self, address: Tuple[str, int], handler: type, max_connections: int, request_timeout: float
    ) -> None:
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        # Each open connection, with the time by which its request must have arrived
        # (None once it has).
        self._open: Dict[socket.socket, Optional[float]] = {}
        self._lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: socket.socket, client_address: Tuple[str, int]) -> None:
        with self._lock:
            admitted = len(self._open) < self.max_connections
            if admitted:
                self._open[request] = time.monotonic() + self.request_timeout
        if not admitted:
            _refuse(request)
            return
        super().process_request(request, client_address)

    def request_received(self, request: socket.socket) -> None:
        """The request line and headers arrived in time: no deadline for the response."""
        with self._lock:
            if request in self._open:
                self._open[request] = None

    def service_actions(self) -> None:
        """Between accepts: end the connections whose request is late, a byte every few
        seconds included, which the per-read timeout alone would let run forever."""
        now = time.monotonic()
        with self._lock:
            late = [
                request
                for request, deadline in self._open.items()
                if deadline is not None and deadline < now
            ]
            for request in late:
                self._open[request] = None
        for request in late:
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def shutdown_request(self, request: socket.socket) -> None:
        with self._lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: socket.socket, client_address: Tuple[str, int]) -> None:
        """A visitor who goes away mid-reply is not an error worth a traceback in the log."""
        if isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def _refuse(request: socket.socket) -> None:
    """503 and close, from the accepting thread, without waiting on the client."""
    request.setblocking(False)
    try:
        request.send(REFUSED)
    except OSError:
        pass
    request.close()


def make_server(
    port: int,
    routes: Dict[str, Route],
    csp: str,
    max_connections: int = MAX_CONNECTIONS,
    request_timeout: float = REQUEST_TIMEOUT,
    interface: str = "127.0.0.1",
) -> PageServer:
    """The page server (on loopback unless told otherwise), with its limits."""
    return PageServer(
        (interface, port),
        make_handler(routes, csp, request_timeout),
        max_connections,
        request_timeout,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--socket-url", default="http://localhost:5005", help="where browsers reach the Rasa server"
    )
    # A container's page must be reachable from its proxy: WEB_INTERFACE=0.0.0.0 there.
    parser.add_argument("--interface", default=os.environ.get("WEB_INTERFACE") or "127.0.0.1")
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS)
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=REQUEST_TIMEOUT,
        help="seconds a client has to send its request and for each read or write",
    )
    args = parser.parse_args()
    try:
        routes = build_routes(load_clinic_config(), args.socket_url)
    except (ClinicConfigError, FileNotFoundError) as problem:
        sys.exit(str(problem))
    server = make_server(
        args.port,
        routes,
        content_security_policy(args.socket_url),
        args.max_connections,
        args.request_timeout,
        args.interface,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
