"""Serve the clinic's landing page (web/) with the chat widget, filled in from the clinic config.

Run by scripts/serve.py beside the Rasa server. The widget's bundle is served from
web/node_modules (installed by `make web` from web/package-lock.json), never from a CDN.
"""

import argparse
import html
import json
import re
import string
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Tuple
from urllib.parse import urlsplit

from actions.clinic_config import ClinicConfig, ClinicConfigError, load_clinic_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = PROJECT_ROOT / "web"
WEBCHAT_BUNDLE = WEB_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"

Route = Tuple[bytes, str]


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
    values["widget_settings"] = json.dumps(widget_settings(config, socket_url)).replace("<", "\\u003c")
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
        "/static/clinic.css": ((WEB_DIR / "static" / "clinic.css").read_bytes(), "text/css; charset=utf-8"),
        "/static/chat.js": ((WEB_DIR / "static" / "chat.js").read_bytes(), "text/javascript; charset=utf-8"),
        "/favicon.svg": ((WEB_DIR / "static" / "favicon.svg").read_bytes(), "image/svg+xml"),
        "/vendor/rasa-webchat.js": (WEBCHAT_BUNDLE.read_bytes(), "text/javascript; charset=utf-8"),
    }


def make_handler(routes: Dict[str, Route], csp: str) -> type:
    """A request handler answering GET and HEAD for the known routes and 404 for anything else."""

    class PageHandler(BaseHTTPRequestHandler):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--socket-url", default="http://localhost:5005",
                        help="where browsers reach the Rasa server")
    args = parser.parse_args()
    try:
        routes = build_routes(load_clinic_config(), args.socket_url)
    except (ClinicConfigError, FileNotFoundError) as problem:
        sys.exit(str(problem))
    handler = make_handler(routes, content_security_policy(args.socket_url))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
