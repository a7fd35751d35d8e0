"""Rasa adapter: the RulePolicy, with the guarded turn of policies/turn_plan.py around it.

It runs in the Rasa server, so the disclaimer, the replies to unreadable input, the
"temporarily unavailable" reply and the reply when the database is down need no action
server.
"""

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from nlu_components import typed_commands
from policies import remote_action_check, remote_action_retries
from policies.turn_plan import (
    Plan,
    Settings,
    Step,
    after_rules,
    plan_turn,
    settings_from_config,
)
from stores import store_health

# The Rasa server loads this module with our model.
remote_action_check.install()
typed_commands.install()
remote_action_retries.install()

logger = logging.getLogger(__name__)
INPUT_CHECK = "input_check"  # set by nlu_components/input_guard.py


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True
)
class ClinicRulePolicy(RulePolicy):
    """RulePolicy plus the guarded turn (disclaimer, unreadable input, unreachable actions)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **RulePolicy.get_default_config(),
            "guard_responses": {},
            "urgent_intent": "urgent_symptom",
            "disclaimer_intents": [],
            "quiet_failures": [],
            "fallback_slots": {},
            "public_payloads": [],
            "reply_languages": [],
        }

    def settings(self, domain: Domain) -> Settings:
        """The guard's settings for this domain, built once, not on every prediction."""
        cached = getattr(self, "_settings", None)
        if cached is None or cached[0] is not domain:
            custom = frozenset(
                {a for a in domain.user_actions if not a.startswith("utter_")}
                | set(domain.form_names)
            )
            self._settings = (domain, settings_from_config(self.config, custom))
        return self._settings[1]

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        settings = self.settings(domain)
        start = session_start(tracker)
        events = list(tracker.events)[start:]
        steps = [to_step(event, domain) for event in events]
        plan = plan_turn(
            steps, settings, tracker.active_loop_name, records_unavailable=store_health.failing()
        )
        if plan.action:
            return self.guard_prediction(plan.action, tracker, domain)
        prediction = super().predict_action_probabilities(
            rules_view(tracker, domain, start, plan), domain, rule_only_data, **kwargs
        )
        rules_action = domain.action_names_or_texts[prediction.max_confidence_index]
        action = after_rules(plan, rules_action) if prediction.max_confidence > 0 else rules_action
        if action == rules_action:
            return prediction
        note = self.guard_prediction(action, tracker, domain)
        note.events = prediction.events  # what the rules attached to their prediction still happens
        return note

    def guard_prediction(
        self, action: str, tracker: DialogueStateTracker, domain: Domain
    ) -> PolicyPrediction:
        return self._rule_prediction(
            self._prediction_result(action, tracker, domain), "clinic guard"
        )


def session_start(tracker: DialogueStateTracker) -> int:
    """Index of the first event of the current session."""
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], (SessionStarted, Restarted)):
            return index + 1
    return 0


def response_payloads(domain: Domain, action_name: str) -> Tuple[str, ...]:
    """The button payloads of every variation of a response (none for other actions)."""
    variations = domain.responses.get(action_name) or []
    return tuple(
        str(button["payload"])
        for variation in variations
        for button in variation.get("buttons") or []
        if button.get("payload")
    )


def to_step(event: Any, domain: Domain) -> Step:
    if isinstance(event, UserUttered):
        text = event.text if isinstance(event.text, str) else ""
        return Step(
            "user",
            name=event.intent_name or "",
            text=text,
            input_check=(event.parse_data or {}).get(INPUT_CHECK) or {},
        )
    if isinstance(event, ActionExecuted):
        name = event.action_name or ""
        return Step("action", name=name, payloads=response_payloads(domain, name))
    if isinstance(event, BotUttered):
        buttons = (event.data or {}).get("buttons") or []
        return Step(
            "bot",
            payloads=tuple(
                str(b.get("payload")) for b in buttons if isinstance(b, dict) and b.get("payload")
            ),
        )
    return Step("other")


def rules_view(
    tracker: DialogueStateTracker, domain: Domain, start: int, plan: Plan
) -> DialogueStateTracker:
    """The tracker the rules see: this turn's notes hidden, maybe one slot set."""
    if not plan.hidden and plan.slot is None:
        return tracker
    events: List[Any] = [
        event
        for index, event in enumerate(tracker.events)
        if index < start or (index - start) not in plan.hidden
    ]
    if plan.slot is not None:
        events.append(SlotSet(*plan.slot))
    return DialogueStateTracker.from_events(
        tracker.sender_id, events, slots=domain.slots, max_event_history=tracker._max_event_history
    )
