"""REST conversation ids for tests: issued with the servers' own installation secret."""

import os
from typing import Any, Callable, Dict, List

from clinic.contraindication_rules import load_rules
from channels import conversation_ids
from scripts.ops.serve import conversation_id_secret


def texts(replies: List[Dict[str, Any]]) -> List[str]:
    """The texts of a REST reply list (images and buttons-only messages left out)."""
    return [reply["text"] for reply in replies if "text" in reply]


def new_sender() -> str:
    """A new REST conversation id the test servers accept, as one they issued."""
    return conversation_ids.issue(conversation_ids.REST, conversation_id_secret())


# The consent asked before the check's first question (knowledge/contraindications.yml).
CONSENT_OPENING = os.path.commonprefix([load_rules().consent_text, load_rules().consent_sms])


def is_consent(text: str) -> bool:
    return text.startswith(CONSENT_OPENING)


def through_consent(
    say: Callable[[str, str], List[Any]], sender: str, replies: List[Any]
) -> List[Any]:
    """The replies after saying yes to the consent, when `replies` ask it; else `replies`.
    Replies as REST gives them (dicts) or as an SMS phone receives them (text)."""
    if any(is_consent(r if isinstance(r, str) else r.get("text", "")) for r in replies):
        return say(sender, "yes")
    return replies
