"""Rasa's check of every action-server reply, made cheap without changing its verdicts.

Rasa 3.6 calls `jsonschema.validate` on each reply, which builds a new validator (and
checks the schema) every time: about 14 ms a call here, a third of the Rasa server's time
per message in our first profile (docs/benchmark.md). A validator built once took that to
0.8 ms, and then the check was still 8% of the server's time: each event is tried against
all 23 event shapes of the schema's `oneOf`. Every shape pins `event` to its own constant,
so only the shape named by the event can match; a reply whose events each pass their own
shape passes the whole schema (0.17 ms for a typical form reply). Anything else goes
through the full check, which raises Rasa's error.
"""

from functools import lru_cache
from typing import Any, Dict, NamedTuple, Optional, Text

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


def _validator(schema: Dict[Text, Any]) -> Any:
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@lru_cache(maxsize=1)
def response_validator() -> Any:
    return _validator(RemoteAction.action_response_format_spec())


class QuickCheck(NamedTuple):
    reply: Any  # the reply with its events checked only for being a list
    events: Dict[Text, Any]  # one validator per event type, by its name


@lru_cache(maxsize=1)
def quick_check() -> Optional[QuickCheck]:
    """The quick check's validators; None when Rasa's schema is not the shape this relies
    on (then every reply gets the full check)."""
    spec = RemoteAction.action_response_format_spec()
    events = spec["properties"]["events"]
    event_schema = events.get("items", {})
    shapes = event_schema.get("oneOf", [])
    names = [shape.get("properties", {}).get("event", {}).get("const") for shape in shapes]
    if (
        spec.get("type") != "object"
        or events.get("type") != "array"
        or not shapes
        or "event" not in event_schema.get("required", [])
        or not all(isinstance(name, str) for name in names)
        or len(set(names)) != len(names)
    ):
        return None
    common = {key: value for key, value in event_schema.items() if key != "oneOf"}
    outer = {**spec, "properties": {**spec["properties"], "events": {"type": "array"}}}
    return QuickCheck(
        _validator(outer),
        {name: _validator({**common, "allOf": [shape]}) for name, shape in zip(names, shapes)},
    )


def quickly_valid(result: Any) -> bool:
    """True only when the full schema accepts `result` (False may still be valid)."""
    check = quick_check()
    if check is None or not check.reply.is_valid(result):
        return False
    for event in result.get("events", []):
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            return False
        validator = check.events.get(event["event"])
        if validator is None or not validator.is_valid(event):
            return False
    return True


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    if quickly_valid(result):
        return True
    # As jsonschema.validate does: the best-matching error, if any.
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]


__all__ = ["install", "quickly_valid", "validate_action_result", "ValidationError"]
