"""Comparing a secret a request carries with the one expected, in constant time.

One function for every server (the Rasa API token, the staff inbox's CSRF tokens, Meta's
webhook signatures), so none compares secrets with `==` (which answers faster the sooner
the strings differ) or crashes on a value that is not ASCII.
"""

import hmac
from typing import Any


def same_token(given: Any, expected: str) -> bool:
    """Whether `given` is the text `expected`; False for a missing, non-text or empty one."""
    return (
        isinstance(given, str)
        and bool(expected)
        # As bytes: compare_digest refuses a str with non-ASCII characters.
        and hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))
    )
