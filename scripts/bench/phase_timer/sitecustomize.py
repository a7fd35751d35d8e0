"""Loaded by Python at start-up when this folder is on PYTHONPATH (scripts/bench/bench_phases.py
puts it there for the Rasa server it measures): wall time of each phase of handling a
message, per call. SIGUSR1 starts the count afresh; SIGUSR2 writes it to $PHASE_TIMER_OUT."""

import collections
import functools
import inspect
import json
import os
import signal
import time
from typing import Any, Callable, DefaultDict, List

TIMES: DefaultDict[str, List[float]] = collections.defaultdict(list)


def _timed(owner: Any, attribute: str, label: str) -> None:
    original: Callable = getattr(owner, attribute)
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                TIMES[label].append(1000 * (time.perf_counter() - started))

        setattr(owner, attribute, timed_async)
    else:

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                TIMES[label].append(1000 * (time.perf_counter() - started))

        setattr(owner, attribute, timed)


def _install() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor

    _timed(MessageProcessor, "handle_message", "whole message")
    _timed(MessageProcessor, "parse_message", "NLU")
    _timed(MessageProcessor, "fetch_tracker_and_update_session", "read conversation")
    _timed(MessageProcessor, "save_tracker", "store conversation")
    _timed(MessageProcessor, "predict_next_with_tracker_if_should", "policies")
    _timed(RemoteAction, "run", "action-server call")
    signal.signal(signal.SIGUSR1, lambda *_: TIMES.clear())
    signal.signal(signal.SIGUSR2, lambda *_: _write())


def _write() -> None:
    with open(os.environ["PHASE_TIMER_OUT"], "w") as out:
        json.dump(TIMES, out)


if os.environ.get("PHASE_TIMER_OUT"):
    _install()
