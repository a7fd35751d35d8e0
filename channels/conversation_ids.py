"""Conversation ids of the public channels: issued by the server, signed, namespaced.

All channels share one tracker store, keyed by conversation id. The provider-verified
channels (SMS through the signed Twilio webhook, Messenger, Slack) use the id their
provider vouches for: an SMS patient's id is their phone number. The public channels (the
REST webhook, the website widget) are open to anyone, so whoever could choose an id there
could read and write any patient's conversation by naming it. Their ids are therefore
never the client's choice: the server issues `<channel>:<random>.<signature>`, and a
client can only continue a conversation it was given. The prefix keeps them apart from
every provider's ids (a phone number, a page-scoped id), the signature makes them
unforgeable, and the random part (128 bits) makes them unguessable, on every replica that
shares the secret. No Rasa imports: the launcher and the tests use it too.
"""

import hashlib
import hmac
import os
import secrets
from typing import Optional

REST = "rest"
WIDGET = "web"
PUBLIC_CHANNELS = (REST, WIDGET)
SECRET_VARIABLE = "CONVERSATION_ID_SECRET"
MIN_SECRET_CHARS = 32
_SIGNATURE_CHARS = 32
_MAX_ID_CHARS = 96


class MissingSecret(RuntimeError):
    pass


def secret_from_env() -> str:
    """The installation's signing secret (scripts/ops/serve.py creates one in var/)."""
    secret = os.environ.get(SECRET_VARIABLE, "")
    if len(secret) < MIN_SECRET_CHARS:
        raise MissingSecret(
            f"{SECRET_VARIABLE} must be set to a random string of at least {MIN_SECRET_CHARS} "
            f"characters, the same on every Rasa server (`make run` creates one in "
            f"var/conversation_id_secret)."
        )
    return secret


def _signature(channel: str, token: str, secret: str) -> str:
    message = f"{channel}:{token}".encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:_SIGNATURE_CHARS]


def issue(channel: str, secret: str) -> str:
    """A new conversation id for a public channel."""
    token = secrets.token_urlsafe(16)
    return f"{channel}:{token}.{_signature(channel, token, secret)}"


def verified(channel: str, candidate: object, secret: str) -> Optional[str]:
    """`candidate` if it is an id this server issued for `channel`, else None."""
    if not isinstance(candidate, str) or len(candidate) > _MAX_ID_CHARS:
        return None
    prefix, _, rest = candidate.partition(":")
    token, _, signature = rest.rpartition(".")
    if prefix != channel or not token or not signature.isascii():
        return None
    if hmac.compare_digest(signature, _signature(channel, token, secret)):
        return candidate
    return None
