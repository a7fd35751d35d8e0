"""Sending an alert: an email over SMTP (aiosmtplib), a signed POST to the clinic's webhook (aiohttp).

Both may deliver an alert twice (a send that succeeded but whose answer was lost is retried),
so both carry the alert's key for the receiver to drop a duplicate: the email's Message-ID,
the webhook's Idempotency-Key. A failure raises TransportError with a short reason that
holds no patient data (it is stored and logged).
"""

import asyncio
import hashlib
import hmac
import json
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Dict, Optional, Tuple

import aiohttp
import aiosmtplib

from staff.alert_config import EmailSettings, WebhookSettings

TIMEOUT_SECONDS = 15.0  # a whole send: connect, TLS, login and data, or the POST and its answer


class TransportError(Exception):
    """A delivery failed; the message says why in a few words, without patient data."""


def message_id(key: str) -> str:
    return f"<{key}.email@clinic-assistant>"


def email_message(settings: EmailSettings, subject: str, body: str, key: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(key)
    message.set_content(body)
    return message


async def send_email(
    settings: EmailSettings, subject: str, body: str, key: str, timeout: float = TIMEOUT_SECONDS
) -> None:
    try:
        await aiosmtplib.send(
            email_message(settings, subject, body, key),
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            # True: STARTTLS or fail, never a login or an alert in the clear.
            start_tls=True if settings.starttls else False,
            cert_bundle=settings.tls_ca_file,
            timeout=timeout,
        )
    except aiosmtplib.SMTPAuthenticationError as error:
        raise TransportError(f"email: the SMTP login was refused ({error.code})") from None
    except aiosmtplib.SMTPResponseException as error:
        raise TransportError(f"email: the SMTP server answered {error.code}") from None
    except aiosmtplib.SMTPTimeoutError:
        raise TransportError(
            f"email: no answer from the SMTP server within {timeout:.0f}s"
        ) from None
    except aiosmtplib.SMTPConnectError:
        raise TransportError("email: could not connect to the SMTP server") from None
    except (aiosmtplib.SMTPException, OSError) as error:
        raise TransportError(f"email: {type(error).__name__}") from None


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>.<body>" with the shared secret, as the header sends it."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def webhook_request(
    settings: WebhookSettings, payload: Dict[str, Any], key: str, now: Optional[float] = None
) -> Tuple[bytes, Dict[str, str]]:
    """The body and headers of the POST (the timestamp lets a receiver refuse a replay)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time() if now is None else now))
    return body, {
        "Content-Type": "application/json",
        "X-Clinic-Timestamp": timestamp,
        "X-Clinic-Signature": webhook_signature(settings.secret, timestamp, body),
        "Idempotency-Key": key,
    }


async def post_webhook(
    settings: WebhookSettings, payload: Dict[str, Any], key: str, timeout: float = TIMEOUT_SECONDS
) -> None:
    body, headers = webhook_request(settings, payload, key)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            # A redirect is not followed: the signed body goes to the configured address only.
            async with session.post(
                settings.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if not 200 <= response.status < 300:
                    raise TransportError(f"webhook: the receiver answered HTTP {response.status}")
    except TransportError:
        raise
    except asyncio.TimeoutError:  # not the built-in TimeoutError before Python 3.11
        raise TransportError(f"webhook: no answer within {timeout:.0f}s") from None
    except aiohttp.ClientConnectionError:
        raise TransportError("webhook: could not connect to the receiver") from None
    except (aiohttp.ClientError, OSError) as error:
        raise TransportError(f"webhook: {type(error).__name__}") from None
