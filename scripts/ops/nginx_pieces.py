"""The parts of nginx config that the loopback cluster (scripts/ops/cluster_configs.py), a
production host (scripts/ops/host_nginx.py), Compose (scripts/ops/compose_nginx.py) and the Helm
chart's Ingress annotations (scripts/ops/deploy_configs.py) share, so they cannot drift:
buffering and timeouts, the limits per client address, the webhook and Socket.IO locations
(pure text).

Every zone, map variable and upstream is named `clinic_*`, so the config can sit in a host's
nginx beside other sites (many define `$connection_upgrade` themselves).
"""

from textwrap import indent
from typing import Iterable, Union

from channels.request_limits import (
    KB,
    MESSENGER_MAX_BYTES,
    REST_MAX_BYTES,
    SLACK_MAX_BYTES,
    TWILIO_MAX_BYTES,
)

# Each webhook's body limit, the same as the Rasa server's own (channels/request_limits.py),
# and whether it is limited per client address: patients' browsers post to REST, while
# Twilio (SMS, WhatsApp and the phone line), Facebook and Slack post every patient's
# messages from a few addresses of theirs (and sign them).
WEBHOOKS = (
    ("rest", REST_MAX_BYTES, True),
    ("twilio", TWILIO_MAX_BYTES, False),
    ("whatsapp", TWILIO_MAX_BYTES, False),
    ("twilio_voice", TWILIO_MAX_BYTES, False),
    ("facebook", MESSENGER_MAX_BYTES, False),
    ("slack", SLACK_MAX_BYTES, False),
)
# Per client address: connections open at once, and messages a second (with a burst).
CONNECTIONS_PER_ADDRESS = 20
MESSAGES_PER_SECOND = 5
MESSAGE_BURST = 20
# Longer than Rasa's lock lifetime, so a turn waiting for a dead replica's lock is not cut off.
PROXY_READ_SECONDS = 120
# The widget's socket stays open while the chat is.
SOCKET_READ_SECONDS = 3600
# Other webhooks (e.g. Telegram) and every request without a limit of its own.
DEFAULT_MAX_BODY = "1m"
# Kept-alive connections to the Rasa servers, closed below their own 15 s
# (SANIC_KEEP_ALIVE_TIMEOUT), so nginx never sends a request down a connection the server is
# closing (an upstream's `extra`).
RASA_KEEPALIVE = """keepalive 32;
keepalive_timeout 10s;"""


def max_body(max_bytes: int) -> str:
    """nginx's size for `max_bytes`, e.g. 128k."""
    return f"{max_bytes // KB}k"


def block(text: str, level: int) -> str:
    """`text` (written at no indent) indented by `level` steps of four spaces."""
    return indent(text.strip("\n"), "    " * level)


def buffering(largest: str = DEFAULT_MAX_BODY) -> str:
    """Request buffering and timeouts, bodies up to `largest`: valid in the http or a server block."""
    return f"""# A buffering proxy: nginx reads each request whole before passing it on, so a slow
# client holds one of nginx's cheap connections, never a Rasa server's. The header
# must arrive within 10 s in all; the body may pause at most 10 s between two reads
# (nginx has no total for it: the limits per address bound what one client holds).
client_header_timeout 10s;
client_body_timeout 10s;
send_timeout 30s;
keepalive_timeout 15s;
proxy_request_buffering on;
client_max_body_size {largest};
# Bodies and responses stay in memory, never in nginx's temp folders.
client_body_buffer_size {largest};
proxy_max_temp_file_size 0;"""


def client_limits() -> str:
    """The zones of the limits per client address, and the maps the locations use (http block)."""
    return f"""# Loopback (health checks, the benchmark, the tests) is not limited: an empty key.
geo $clinic_loopback {{
    default 0;
    127.0.0.0/8 1;
    ::1 1;
}}
map $clinic_loopback $clinic_client_address {{
    1 "";
    default $binary_remote_addr;
}}
limit_conn_zone $clinic_client_address zone=clinic_per_address:10m;
limit_req_zone $clinic_client_address zone=clinic_messages:10m rate={MESSAGES_PER_SECOND}r/s;

# A message's id, the same when nginx retries it on the next replica: the client's own
# X-Request-ID if it sends one (its own retries), else one nginx makes up.
map $http_x_request_id $clinic_message_id {{
    default $http_x_request_id;
    ''      $request_id;
}}

map $http_upgrade $clinic_connection_upgrade {{
    default upgrade;
    ''      close;
}}"""


def proxy_settings() -> str:
    """What every request to the Rasa servers carries (server block)."""
    return f"""limit_conn_status 429;
limit_req_status 429;
proxy_http_version 1.1;
proxy_set_header Host $http_host;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Request-ID $clinic_message_id;
proxy_set_header Connection "";
proxy_connect_timeout 2s;
# Longer than Rasa's lock lifetime, so a turn waiting for a dead replica's lock is not cut off.
proxy_read_timeout {PROXY_READ_SECONDS}s;"""


def webhook_locations(upstream: str) -> str:
    """One location per webhook with its body limit (server block)."""
    blocks = []
    for name, max_bytes, per_address in WEBHOOKS:
        limits = (
            f"\n    limit_conn clinic_per_address {CONNECTIONS_PER_ADDRESS};"
            f"\n    limit_req zone=clinic_messages burst={MESSAGE_BURST} nodelay;"
            if per_address
            else ""
        )
        blocks.append(f"""location /webhooks/{name}/ {{
    client_max_body_size {max_body(max_bytes)};{limits}
    proxy_pass http://{upstream};
}}""")
    return "\n\n".join(blocks)


def socketio_location(upstream: str) -> str:
    """The widget's Socket.IO: long polling and the WebSocket upgrade (server block)."""
    return f"""location /socket.io/ {{
    limit_conn clinic_per_address {CONNECTIONS_PER_ADDRESS};
    proxy_pass http://{upstream};
    # A location with its own proxy_set_header inherits none of the server's.
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $clinic_connection_upgrade;
    proxy_buffering off;
    proxy_read_timeout {SOCKET_READ_SECONDS}s;
}}"""


def upstream(
    name: str, servers: Iterable[Union[int, str]], extra: str = "", method: str = ""
) -> str:
    """Servers (a port: on loopback; or "host:port"), after the balancing `method` (e.g.
    ip_hash); after one failure a server is skipped for 10 s, so a dead replica costs one
    retry, not one per request."""
    lines = [f"    {method}"] if method else []
    lines += [
        f"    server {f'127.0.0.1:{server}' if isinstance(server, int) else server} "
        f"max_fails=1 fail_timeout=10s;"
        for server in servers
    ]
    lines += [block(extra, 1)] if extra else []
    return f"upstream {name} {{\n" + "\n".join(lines) + "\n}"
