"""Whether this server's tracker store answered its latest request.

When the database cannot be reached, Rasa carries on with an empty in-memory conversation
(its FailSafeTrackerStore): a patient mid-screening would get the disclaimer again and an
answer as if nothing had been asked. The tracker store records here whether its latest
read or write worked, and the guard policy (policies/clinic_rule_policy.py) then tells the
patient that their conversation can't be reached right now, instead of pretending.
Per process: each Rasa server knows its own connection to the database.
"""

from contextlib import contextmanager
from typing import Iterator

_latest_failed = False


def record(worked: bool) -> None:
    global _latest_failed
    _latest_failed = not worked


@contextmanager
def watched() -> Iterator[None]:
    """Records whether the read or write inside the block worked (an error still raises)."""
    try:
        yield
    except Exception:
        record(False)
        raise
    record(True)


def failing() -> bool:
    """True when the tracker store's latest read or write failed."""
    return _latest_failed
