"""How staff alerts reach the clinic: the `alerts:` section of knowledge/clinic_config.yml,
validated when the servers start (a mistake stops them with every problem listed).

Secrets never live in the file: the SMTP login comes from ALERT_SMTP_USERNAME and
ALERT_SMTP_PASSWORD, the webhook's signing key from ALERT_WEBHOOK_SECRET. The addresses
that differ between a test and a production install can be set in the environment too
(ALERT_SMTP_HOST, ALERT_SMTP_PORT, ALERT_EMAIL_TO, ALERT_EMAIL_FROM, ALERT_WEBHOOK_URL,
STAFF_INBOX_URL, ALERT_RETRY_SECONDS, ALERT_RETRY_MAX_SECONDS), which wins over the file.
ALERT_SMTP_TLS_CA names a CA certificate file (PEM) to trust for the SMTP server's STARTTLS
besides the system's, for a clinic's own mail server (and the tests' throwaway one).
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from clinic.clinic_config import CLINIC_CONFIG_PATH
from clinic.data_files import problems_message, read_yaml

EMAIL, WEBHOOK = "email", "webhook"
_EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
MIN_WEBHOOK_SECRET = 32


class AlertConfigError(ValueError):
    """The alerts section is wrong, or a secret it needs is missing."""


@dataclass(frozen=True)
class EmailSettings:
    to: Tuple[str, ...]
    sender: str
    host: str
    port: int
    starttls: bool
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    tls_ca_file: Optional[str] = None  # trusted besides the system's CAs


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AlertConfig:
    email: Optional[EmailSettings] = None
    webhook: Optional[WebhookSettings] = None
    include_message_text: bool = False
    retry_seconds: float = 30.0  # the first retry's wait; doubled each time ...
    retry_max_seconds: float = 900.0  # ... up to this
    inbox_url: str = "http://localhost:8090/"

    @property
    def transports(self) -> List[str]:
        return [name for name, on in ((EMAIL, self.email), (WEBHOOK, self.webhook)) if on]


_KEYS = {
    "include_message_text",
    "retry_seconds",
    "retry_max_seconds",
    "inbox_url",
    "email",
    "webhook",
}
_EMAIL_KEYS = {"to", "from", "host", "port", "starttls", "tls_ca_file"}


def _number(value: Any, name: str, problems: List[str], default: float) -> float:
    if value is None:
        return default
    if isinstance(value, str):  # from the environment
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        problems.append(f"'{name}' must be a number of seconds above 0")
        return default
    return float(value)


def parse_alert_config(
    raw: Any, env: Mapping[str, str], source: str = "clinic config"
) -> AlertConfig:
    """The alerts section of the parsed clinic config (none: alerts only in the staff inbox)."""
    section = (raw or {}).get("alerts") if isinstance(raw, dict) else None
    section = dict(section or {})
    problems: List[str] = [f"alerts: unknown key '{k}'" for k in sorted(set(section) - _KEYS)]
    include = section.get("include_message_text", False)
    if not isinstance(include, bool):
        problems.append("alerts: 'include_message_text' must be true or false")
        include = False
    retry = _number(
        env.get("ALERT_RETRY_SECONDS") or section.get("retry_seconds"),
        "alerts: retry_seconds",
        problems,
        30.0,
    )
    ceiling = _number(
        env.get("ALERT_RETRY_MAX_SECONDS") or section.get("retry_max_seconds"),
        "alerts: retry_max_seconds",
        problems,
        900.0,
    )
    inbox_url = env.get("STAFF_INBOX_URL") or section.get("inbox_url") or "http://localhost:8090/"
    if not isinstance(inbox_url, str) or not _URL.match(inbox_url):
        problems.append(
            "alerts: 'inbox_url' must be a web address starting with http:// or https://"
        )
    email = _email(section.get("email"), env, problems)
    webhook = _webhook(section.get("webhook"), env, problems)
    if problems:
        raise AlertConfigError(problems_message(source, problems))
    return AlertConfig(email, webhook, include, retry, max(retry, ceiling), str(inbox_url))


def _email(raw: Any, env: Mapping[str, str], problems: List[str]) -> Optional[EmailSettings]:
    if raw is None and not env.get("ALERT_SMTP_HOST"):
        return None
    raw = dict(raw or {})
    problems += [f"alerts.email: unknown key '{k}'" for k in sorted(set(raw) - _EMAIL_KEYS)]
    to = env.get("ALERT_EMAIL_TO") or raw.get("to")
    recipients = tuple(to.replace(",", " ").split()) if isinstance(to, str) else tuple(to or ())
    if not recipients or not all(
        isinstance(r, str) and _EMAIL_ADDRESS.match(r) for r in recipients
    ):
        problems.append("alerts.email: 'to' must be one or more email addresses")
    sender = env.get("ALERT_EMAIL_FROM") or raw.get("from")
    if not isinstance(sender, str) or not _EMAIL_ADDRESS.match(sender):
        problems.append("alerts.email: 'from' must be an email address")
    host = env.get("ALERT_SMTP_HOST") or raw.get("host")
    if not isinstance(host, str) or not host.strip():
        problems.append("alerts.email: 'host' (the SMTP server) is missing")
    port_value = env.get("ALERT_SMTP_PORT") or raw.get("port", 587)
    try:
        port = int(port_value)
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        problems.append("alerts.email: 'port' must be a port number")
        port = 587
    starttls = raw.get("starttls", True)
    if not isinstance(starttls, bool):
        problems.append("alerts.email: 'starttls' must be true or false")
    username, password = (
        env.get("ALERT_SMTP_USERNAME") or None,
        env.get("ALERT_SMTP_PASSWORD") or None,
    )
    if bool(username) != bool(password):
        problems.append(
            "alerts.email: set both ALERT_SMTP_USERNAME and ALERT_SMTP_PASSWORD, or neither"
        )
    if username and starttls is False:
        # A password is never sent over an unencrypted connection.
        problems.append("alerts.email: an SMTP login needs 'starttls: true'")
    tls_ca_file = env.get("ALERT_SMTP_TLS_CA") or raw.get("tls_ca_file") or None
    if tls_ca_file is not None and not (
        isinstance(tls_ca_file, str) and Path(tls_ca_file).is_file()
    ):
        problems.append(
            f"alerts.email: the CA file {tls_ca_file!r} (tls_ca_file / "
            f"ALERT_SMTP_TLS_CA) does not exist"
        )
    return EmailSettings(
        recipients,
        str(sender),
        str(host),
        port,
        starttls is not False,
        username,
        password,
        tls_ca_file,
    )


def _webhook(raw: Any, env: Mapping[str, str], problems: List[str]) -> Optional[WebhookSettings]:
    if raw is None and not env.get("ALERT_WEBHOOK_URL"):
        return None
    raw = dict(raw or {})
    problems += [f"alerts.webhook: unknown key '{k}'" for k in sorted(set(raw) - {"url"})]
    url = env.get("ALERT_WEBHOOK_URL") or raw.get("url")
    if not isinstance(url, str) or not _URL.match(url):
        problems.append(
            "alerts.webhook: 'url' must be a web address starting with http:// or https://"
        )
    secret = env.get("ALERT_WEBHOOK_SECRET", "")
    if len(secret) < MIN_WEBHOOK_SECRET:
        problems.append(
            f"alerts.webhook: ALERT_WEBHOOK_SECRET must be set to a random string of "
            f"at least {MIN_WEBHOOK_SECRET} characters (the receiver checks the "
            f"signature with it)"
        )
    return WebhookSettings(str(url), secret)


def load_alert_config(
    path: Path = CLINIC_CONFIG_PATH, env: Optional[Mapping[str, str]] = None
) -> AlertConfig:
    return parse_alert_config(
        read_yaml(path, AlertConfigError), os.environ if env is None else env, source=str(path)
    )


def settings_summary(config: AlertConfig) -> Dict[str, Any]:
    """What `make run` prints about alerts (no secrets)."""
    return {
        "transports": config.transports or ["staff inbox only"],
        "email_to": list(config.email.to) if config.email else [],
        "webhook": config.webhook.url if config.webhook else None,
    }
