"""nginx in front of the assistant on one production host: HTTPS for the clinic page, the
webhooks and the widget's Socket.IO; HTTP only to redirect (and for certbot's webroot).

The file goes into the http block of the host's nginx (Debian: /etc/nginx/conf.d/), so it
holds no http-level directive Debian's nginx.conf sets itself. Its buffering, limits and
locations are the cluster's (scripts/ops/nginx_pieces.py). Rendered from the environment:

    python -m scripts.ops.host_nginx --out /etc/nginx/conf.d/clinic-assistant.conf

SERVER_NAME (default: RASA_PUBLIC_URL's host), TLS_CERT and TLS_KEY (default: certbot's
files for SERVER_NAME), RASA_PORT, WEB_PORT; the staff inbox is served only when
INBOX_SERVER_NAME is set, and then only to the addresses in INBOX_ALLOW (comma-separated).
The alert sender's health endpoint is never proxied.
"""

import argparse
import os
import ipaddress
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from scripts.ops.nginx_pieces import (
    CONNECTIONS_PER_ADDRESS,
    RASA_KEEPALIVE,
    block,
    buffering,
    client_limits,
    proxy_settings,
    socketio_location,
    upstream,
    webhook_locations,
)
from scripts.ops.settings import port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = PROJECT_ROOT / "deploy" / "nginx" / "clinic-assistant.conf"
ACME_ROOT = "/var/www/letsencrypt"
# The staff inbox reads at most 16 kB of a request (staff/inbox.py).
INBOX_MAX_BODY = "16k"
# Browsers remember for a year to use HTTPS only (no includeSubDomains: the clinic's other
# hosts are not ours to decide).
HSTS = "max-age=31536000"


class SiteError(ValueError):
    """A setting the config cannot be rendered from."""


@dataclass(frozen=True)
class Site:
    """What the config needs to know about this host."""

    server_name: str
    tls_cert: str
    tls_key: str
    rasa_port: int = 5005
    web_port: int = 8080
    inbox_port: int = 8090
    inbox_server_name: str = ""
    inbox_tls_cert: str = ""
    inbox_tls_key: str = ""
    inbox_allow: Tuple[str, ...] = field(default_factory=tuple)
    https_port: int = 443
    http_port: int = 80
    acme_root: str = ACME_ROOT


def certbot_files(name: str) -> Tuple[str, str]:
    """Where certbot keeps the certificate chain and key of `name`."""
    return (
        f"/etc/letsencrypt/live/{name}/fullchain.pem",
        f"/etc/letsencrypt/live/{name}/privkey.pem",
    )


def site_from_env(env: Mapping[str, str]) -> Site:
    """The site from the environment (the host's /etc/clinic-assistant/env and a few more)."""
    name = env.get("SERVER_NAME") or urlsplit(env.get("RASA_PUBLIC_URL", "")).hostname or ""
    if not name:
        raise SiteError("set SERVER_NAME (or RASA_PUBLIC_URL) to the host name browsers use")
    cert, key = certbot_files(name)
    inbox = env.get("INBOX_SERVER_NAME", "")
    inbox_cert, inbox_key = certbot_files(inbox) if inbox else ("", "")
    allow = tuple(a.strip() for a in env.get("INBOX_ALLOW", "").split(",") if a.strip())
    return Site(
        server_name=name,
        tls_cert=env.get("TLS_CERT") or cert,
        tls_key=env.get("TLS_KEY") or key,
        rasa_port=port("RASA_PORT", env),
        web_port=port("WEB_PORT", env),
        inbox_port=port("STAFF_INBOX_PORT", env),
        inbox_server_name=inbox,
        inbox_tls_cert=env.get("INBOX_TLS_CERT") or inbox_cert,
        inbox_tls_key=env.get("INBOX_TLS_KEY") or inbox_key,
        inbox_allow=allow,
    )


def example_site() -> Site:
    """The site deploy/nginx/clinic-assistant.conf is rendered for."""
    cert, key = certbot_files("chat.example-clinic.com")
    return Site("chat.example-clinic.com", cert, key)


def tls_settings(cert: str, key: str) -> str:
    return f"""ssl_certificate {cert};
ssl_certificate_key {key};
# Mozilla's "intermediate" settings: TLS 1.2 and 1.3 only.
ssl_protocols TLSv1.2 TLSv1.3;
ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
ssl_prefer_server_ciphers off;
ssl_session_timeout 1d;
ssl_session_cache shared:clinic_tls:10m;
ssl_session_tickets off;
add_header Strict-Transport-Security "{HSTS}" always;
server_tokens off;"""


def listen_https(port: int, ipv6: bool = True) -> str:
    return f"listen {port} ssl;" + (f"\nlisten [::]:{port} ssl;" if ipv6 else "")


def allow_list(addresses: Tuple[str, ...]) -> str:
    for address in addresses:
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise SiteError(f"INBOX_ALLOW: {address!r} is not an address or network") from None
    return "\n".join([f"allow {a};" for a in addresses] + ["deny all;"])


def inbox_server(listen: str, server_name: str, tls: str, allow: str, inbox: str) -> str:
    """The staff inbox's server block: `allow` is its allow-list's directives (or a comment)."""
    return f"""server {{
{block(listen, 1)}
    server_name {server_name};
{block(tls, 1)}
{block(allow, 1)}
{block(buffering(INBOX_MAX_BODY), 1)}

    location / {{
        limit_conn clinic_per_address {CONNECTIONS_PER_ADDRESS};
        proxy_pass http://{inbox};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Connection "";
    }}
}}"""


def _inbox_server(site: Site) -> str:
    if not site.inbox_server_name:
        return (
            "# No staff inbox here: set INBOX_SERVER_NAME and INBOX_ALLOW to serve it on its\n"
            "# own name, or reach it over the VPN / an SSH tunnel (docs/operations.md)."
        )
    if not site.inbox_allow:
        raise SiteError(
            "INBOX_SERVER_NAME is set but INBOX_ALLOW is empty: name the clinic's "
            "networks (e.g. 10.8.0.0/24) that may reach the staff inbox"
        )
    return "# The staff inbox on its own name, for the clinic's networks only.\n" + inbox_server(
        listen_https(site.https_port),
        site.inbox_server_name,
        tls_settings(site.inbox_tls_cert, site.inbox_tls_key),
        allow_list(site.inbox_allow),
        "clinic_inbox",
    )


def patient_server(
    listen: str, server_name: str, tls: str, rasa: str, socket_rasa: str, page: str, extra: str = ""
) -> str:
    """The patients' side: the clinic page, the webhooks (to upstream `rasa`) and the widget's
    socket (to `socket_rasa`). Nothing else of the Rasa server (its HTTP API, /status) and
    nothing of the alert sender is reachable."""
    return f"""server {{
{block(listen, 1)}
    server_name {server_name};
{block(tls, 1)}
{block(buffering(), 1)}
{block(proxy_settings(), 1)}{chr(10) + block(extra, 1) if extra else ""}

{block(webhook_locations(rasa), 1)}

    # Other channels' webhooks (e.g. Telegram), with the default body limit.
    location /webhooks/ {{
        proxy_pass http://{rasa};
    }}

{block(socketio_location(socket_rasa), 1)}

    location / {{
        limit_conn clinic_per_address {CONNECTIONS_PER_ADDRESS};
        proxy_pass http://{page};
    }}
}}"""


def http_redirect(port: int, server_name: str, acme_root: str, ipv6: bool = True) -> str:
    """Plain HTTP: certbot's webroot challenge, and a redirect to HTTPS for everything else."""
    listen = f"listen {port};" + (f"\nlisten [::]:{port};" if ipv6 else "")
    return f"""server {{
{block(listen, 1)}
    server_name {server_name};
    server_tokens off;

    location /.well-known/acme-challenge/ {{
        root {acme_root};
    }}

    location / {{
        return 301 https://$host$request_uri;
    }}
}}"""


def host_nginx_conf(site: Site) -> str:
    """The site config for the host's nginx (an http-block include)."""
    names = " ".join(n for n in (site.server_name, site.inbox_server_name) if n)
    inbox_upstream = (
        f"\n\n{upstream('clinic_inbox', [site.inbox_port])}" if site.inbox_server_name else ""
    )
    return f"""# Generated by scripts/ops/host_nginx.py for {
        site.server_name
    }; regenerate rather than edit
# (docs/operations.md). Goes into the http block: /etc/nginx/conf.d/ on Debian.

{client_limits()}

{upstream("clinic_rasa", [site.rasa_port], RASA_KEEPALIVE)}

upstream clinic_page {{
    server 127.0.0.1:{site.web_port};
}}{inbox_upstream}

# Plain HTTP: certbot's webroot challenge, and a redirect to HTTPS for everything else.
{http_redirect(site.http_port, names, site.acme_root)}

# The patients' side: the clinic page, the webhooks and the widget's socket. Nothing else
# of the Rasa server (its HTTP API, /status) and nothing of the alert sender is reachable.
{
        patient_server(
            listen_https(site.https_port),
            site.server_name,
            tls_settings(site.tls_cert, site.tls_key),
            "clinic_rasa",
            "clinic_rasa",
            "clinic_page",
        )
    }

{_inbox_server(site)}
"""


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, help="write here instead of printing")
    parser.add_argument(
        "--example",
        action="store_true",
        help=f"the example site ({SHIPPED.relative_to(PROJECT_ROOT)})",
    )
    args = parser.parse_args(argv)
    try:
        text = host_nginx_conf(example_site() if args.example else site_from_env(os.environ))
    except SiteError as problem:
        sys.exit(f"No nginx config written: {problem}")
    if args.out:
        args.out.write_text(text)
        print(f"Wrote {args.out}; check it with `nginx -t`, then `systemctl reload nginx`")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
