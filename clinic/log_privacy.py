"""How log lines name a conversation: a salted hash of the sender id, never the id itself.

Sender ids can be phone numbers (SMS) or account ids (messaging apps). The salt comes from
LOG_ID_SALT (scripts/ops/serve.py creates one per installation in var/), so the same
conversation has the same reference in the Rasa server's and the action server's logs,
and a phone number can't be recovered by hashing every number.
"""

import hashlib
import os
from typing import Optional


def conversation_ref(sender_id: object, salt: Optional[str] = None) -> str:
    salt = os.environ.get("LOG_ID_SALT", "") if salt is None else salt
    digest = hashlib.sha256(f"{salt}:{sender_id}".encode("utf-8", "replace"))
    return digest.hexdigest()[:12]
