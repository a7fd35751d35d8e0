"""Rasa's check of every action-server reply, with the JSON-schema validator built once.

Rasa 3.6 calls `jsonschema.validate` on each reply, which builds a new validator (and
checks the schema) every time: about 14 ms a call here, a third of the Rasa server's time
per message in our profile (docs/benchmark.md). This does the same check with one
validator (0.4 ms) and raises the same error. Imported by clinic_rule_policy.py, which
every Rasa server that runs our model loads.
"""

from functools import lru_cache
from typing import Any, Dict, Text

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def response_validator() -> Any:
    spec = RemoteAction.action_response_format_spec()
    validator_class = validator_for(spec)
    validator_class.check_schema(spec)
    return validator_class(spec)


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
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


__all__ = ["install", "validate_action_result", "ValidationError"]
