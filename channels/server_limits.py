"""Server-wide limits of the Rasa server, for when it faces clients without a proxy.

Installed at start-up by every webhook of ours (channels/request_limits.py):
- a request must arrive whole within a total time: Sanic restarts its timers on every byte
  it receives, so a client trickling one byte a second kept a connection for ever. Here
  the timer starts at a request's first byte, so SANIC_REQUEST_TIMEOUT bounds the header
  and SANIC_RESPONSE_TIMEOUT the whole request until the answer is sent (both set by
  scripts/ops/serve.py);
- an idle connection is closed after SANIC_KEEP_ALIVE_TIMEOUT (set by scripts/ops/serve.py),
  which Rasa overwrites with its --keep-alive-timeout (120 s by default): a thousand idle
  sockets held the server's descriptors for two minutes;
- no request body over 1 MB on any route (SANIC_REQUEST_MAX_SIZE overrides it; Sanic's
  default is 100 MB), each webhook of ours has a smaller limit of its own;
- the soft limit of open files is raised to the hard one, so slow or idle sockets run out
  of descriptors much later than at 1,024;
- `/` answers a plain health text, not Rasa's version (which helps an attacker pick the
  exploits to try);
- an unknown route or method gets a short answer that does not repeat the requested URL
  (Sanic's default page echoes it, so a link could make the clinic's server display any
  text, a phone number included).
"""

import logging
import os
import resource
from typing import Any, Optional

from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound
from sanic.http import Stage
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.server.protocols.http_protocol import HttpProtocol

logger = logging.getLogger(__name__)

HEALTH_TEXT = "The clinic assistant is running."
# Socket.IO's polling transport refuses more than 1,000,000 bytes itself.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# More than this is no use to one process and may exceed what select-based code can hold.
MAX_OPEN_FILES = 65536
_sanic_data_received = HttpProtocol.data_received


def data_received(self: HttpProtocol, data: bytes) -> None:
    """Sanic's, except that only the first byte of a request restarts the timer."""
    # Unset until the connection's task starts, which the first bytes may precede.
    http = getattr(self, "_http", None)
    starts_request = http is None or (http.stage is Stage.IDLE and not self.recv_buffer)
    started = self._time
    _sanic_data_received(self, data)
    if not starts_request:
        self._time = started


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard one (at most MAX_OPEN_FILES)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, MAX_OPEN_FILES)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft


async def health_without_version(request: Request) -> Optional[HTTPResponse]:
    if request.path == "/" and request.method in ("GET", "HEAD"):
        return response.text(HEALTH_TEXT)
    return None


async def not_found(request: Request, exception: Exception) -> HTTPResponse:
    return response.text("Not found.", status=404)


async def method_not_allowed(request: Request, exception: Exception) -> HTTPResponse:
    return response.text("Method not allowed.", status=405)


def install(app: Sanic, _: Any = None) -> None:
    """Install the limits once per app (a listener: every webhook of ours registers it)."""
    if getattr(app.ctx, "server_limits_installed", False):
        return
    app.ctx.server_limits_installed = True
    keep_alive = os.environ.get("SANIC_KEEP_ALIVE_TIMEOUT")
    if keep_alive:
        app.config.KEEP_ALIVE_TIMEOUT = float(keep_alive)
    if "SANIC_REQUEST_MAX_SIZE" not in os.environ:
        # Read by each new connection, so in time before the server accepts any.
        app.config.REQUEST_MAX_SIZE = DEFAULT_MAX_BODY_BYTES
    HttpProtocol.data_received = data_received  # type: ignore[assignment]
    app.register_middleware(health_without_version, "request")
    app.error_handler.add(NotFound, not_found)
    app.error_handler.add(MethodNotSupported, method_not_allowed)
    open_files = raise_open_files_limit()
    logger.info(
        "server_limits request_timeout=%ss response_timeout=%ss keep_alive=%ss "
        "request_max_size=%s open_files=%s",
        app.config.REQUEST_TIMEOUT,
        app.config.RESPONSE_TIMEOUT,
        app.config.KEEP_ALIVE_TIMEOUT,
        app.config.REQUEST_MAX_SIZE,
        open_files,
    )
