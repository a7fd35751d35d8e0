"""The action server's actions on rasa-sdk trackers: the exact events and messages they produce."""

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core import events as rasa_events
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    ActionAssessStatement,
    ActionFlagHandoff,
    ActionScreeningResult,
    ActionStartScreening,
    ValidateScreeningForm,
)
from clinic.contraindication_rules import load_rules
from scripts.buildtime.build_domain import build_domain

RULES = load_rules()
DOMAIN = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text())


def tracker(
    text: str,
    intent: str = "check_candidacy",
    slots: Optional[Dict[str, Any]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    active_loop: Optional[str] = None,
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []}
    return Tracker(
        sender_id="test",
        slots={**(slots or {})},
        latest_message=message,
        events=[{"event": "user", "text": text, "parse_data": message}, *(events or [])],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or m.get("response") for m in dispatcher.messages]


def run(action: Any, tracker_: Tracker) -> tuple:
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, tracker_, DOMAIN)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return result, dispatcher


def test_a_one_shot_statement_gets_the_verdict_naming_the_condition() -> None:
    events, dispatcher = run(
        ActionAssessStatement(),
        tracker("I have rosacea, can I still get microneedling?", "ask_contraindications"),
    )
    assert events == [
        SlotSet("personal_verdict", True),
        SlotSet("stated_findings", ["rosacea:current"]),
        SlotSet("screening_findings", ["rosacea:current"]),
        SlotSet("screening_outcome", "Not recommended"),
    ]
    [reply] = texts(dispatcher)
    assert reply.startswith("Result of the check: Not recommended.")
    assert "You mentioned rosacea" in reply and RULES.conditions["rosacea"].article in reply


def test_a_general_question_gets_no_verdict() -> None:
    events, dispatcher = run(
        ActionAssessStatement(),
        tracker("who shouldn't get microneedling?", "ask_contraindications"),
    )
    assert events == [SlotSet("personal_verdict", False)]
    assert dispatcher.messages == []


def test_a_one_shot_check_suggests_the_full_check_when_not_decisive() -> None:
    _, dispatcher = run(
        ActionAssessStatement(), tracker("I'm on accutane, is that ok?", "ask_medications")
    )
    [reply] = texts(dispatcher)
    assert reply.startswith("Result of the check: Check with your doctor first.")
    assert "For the full check" in reply


def test_starting_the_screening_skips_what_was_said() -> None:
    events, dispatcher = run(
        ActionStartScreening(),
        tracker(
            "I'm on tretinoin, am I a good candidate?",
            slots={"stated_findings": ["active_acne:unsure"]},
        ),
    )
    assert events == [
        SlotSet("stated_findings", []),
        SlotSet("screening_findings", ["active_acne:unsure", "drying_medication:current"]),
        SlotSet("screening_outcome", None),
        SlotSet("screening_answered", ["breakout", "medication"]),
        SlotSet("screening_question", "consent"),  # asked before the first question
        SlotSet("screening_answer", None),
        SlotSet("screening_unread", 0),
    ]
    assert "skip what you've already told me" in texts(dispatcher)[0]
    # Consent given earlier in the conversation: straight to the first question left.
    events, _ = run(
        ActionStartScreening(),
        tracker("I'm on tretinoin, am I a good candidate?", slots={"screening_consent": True}),
    )
    assert SlotSet("screening_question", "skin_condition") in events


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("yes", {"screening_consent": True, "screening_question": "skin_condition"}),
        ("ok go on", {"screening_consent": True, "screening_question": "skin_condition"}),
        ("no thanks", {"screening_consent": False, "screening_answer": "declined"}),
    ],
)
def test_the_consent_goes_on_only_on_yes(answer: str, expected: Dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    slots = ValidateScreeningForm().validate_screening_answer(
        answer,
        dispatcher,
        form_tracker(answer, "affirm", screening_question="consent", screening_answered=[]),
        {},
    )
    assert {key: slots.get(key) for key in expected} == expected
    if answer == "no thanks":
        assert texts(dispatcher) == [RULES.consent_declined]
    else:
        assert texts(dispatcher) == []


def test_the_form_asks_the_consent_with_yes_and_no_buttons(tmp_path: Path) -> None:
    domain = Domain.load(str(build_domain(tmp_path / "domain")))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    state = DialogueStateTracker.from_events("patient", [], domain.slots)
    state.update(rasa_events.SlotSet("screening_question", "consent"))
    for channel in ("rest", "twilio", "socketio"):
        message = asyncio.run(nlg.generate("utter_ask_screening_answer", state, channel))
        assert message["text"].startswith("Before we start: the check asks up to ")
        assert ("DELETE" in message["text"]) == (channel == "twilio")  # the SMS keyword
        assert "{" not in message["text"] and "days" in message["text"]
        assert [b["payload"] for b in message["buttons"]] == ["yes", "no"]


def test_the_form_asks_the_current_question_from_the_rules_file_with_buttons(
    tmp_path: Path,
) -> None:
    domain = Domain.load(str(build_domain(tmp_path / "domain")))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    for key, question in RULES.questions.items():
        state = DialogueStateTracker.from_events("patient", [], domain.slots)
        state.update(rasa_events.SlotSet("screening_question", key))
        for channel in ("rest", "twilio", "socketio"):
            message = asyncio.run(nlg.generate("utter_ask_screening_answer", state, channel))
            assert message["text"] == question.text
            assert [b["payload"] for b in message["buttons"]] == ["yes", "no", "not sure", "stop"]


def form_tracker(answer: str, intent: str, **slots: Any) -> Tracker:
    return tracker(
        answer,
        intent,
        slots={"screening_answer": answer, "requested_slot": "screening_answer", **slots},
        events=[{"event": "slot", "name": "screening_answer", "value": answer}],
        active_loop="screening_form",
    )


def test_an_answer_moves_to_the_next_question() -> None:
    events, dispatcher = run(
        ValidateScreeningForm(),
        form_tracker(
            "yes",
            "affirm",
            screening_question="breakout",
            screening_answered=["skin_condition", "sensitive_skin"],
            screening_findings=[],
        ),
    )
    assert events == [
        SlotSet("screening_answer", None),
        SlotSet("screening_findings", ["active_acne:current"]),
        SlotSet("screening_answered", ["skin_condition", "sensitive_skin", "breakout"]),
        SlotSet("screening_question", "medication"),
        SlotSet("screening_unread", 0),
    ]
    assert dispatcher.messages == []


def test_a_not_recommended_answer_stops_the_questions_and_says_so() -> None:
    events, dispatcher = run(
        ValidateScreeningForm(),
        form_tracker(
            "yes, rosacea",
            "affirm",
            screening_question="skin_condition",
            screening_answered=[],
            screening_findings=[],
        ),
    )
    assert events == [
        SlotSet("screening_answer", "done"),
        SlotSet("screening_findings", ["rosacea:current"]),
        SlotSet("screening_answered", ["skin_condition"]),
        SlotSet("screening_question", None),
        SlotSet("screening_unread", 0),
    ]
    assert texts(dispatcher) == [
        "Since you mentioned rosacea, the other questions would not change the result, so I'll stop here."
    ]


def test_the_last_answer_completes_the_form() -> None:
    events, _ = run(
        ValidateScreeningForm(),
        form_tracker(
            "nope",
            "deny",
            screening_question="medication",
            screening_answered=["skin_condition", "sensitive_skin", "breakout"],
            screening_findings=[],
        ),
    )
    assert SlotSet("screening_answer", "done") in events


def test_an_unclear_answer_is_asked_again() -> None:
    events, dispatcher = run(
        ValidateScreeningForm(),
        form_tracker(
            "purple",
            "out_of_scope",
            screening_question="breakout",
            screening_answered=[],
            screening_findings=[],
        ),
    )
    assert events == [
        SlotSet("screening_answer", None),
        SlotSet("screening_findings", []),
        SlotSet("screening_unread", 1),
    ]
    assert texts(dispatcher)[0].startswith("Sorry, I didn't catch that.")
    # A second reply it cannot read records "not sure" and moves on.
    events, dispatcher = run(
        ValidateScreeningForm(),
        form_tracker(
            "purple",
            "out_of_scope",
            screening_question="breakout",
            screening_answered=[],
            screening_findings=[],
            screening_unread=1,
        ),
    )
    assert SlotSet("screening_findings", ["active_acne:unsure"]) in events
    assert SlotSet("screening_question", "skin_condition") in events
    assert texts(dispatcher) == ["I'll note that as not sure and go on."]


def test_a_general_medication_question_mid_screening_is_answered_then_asked_again() -> None:
    events, dispatcher = run(
        ValidateScreeningForm(),
        form_tracker(
            "do medications matter?",
            "ask_medications",
            screening_question="medication",
            screening_answered=[],
            screening_findings=[],
        ),
    )
    assert texts(dispatcher) == ["utter_medications"]
    assert SlotSet("screening_answer", None) in events


@pytest.mark.parametrize(
    "findings, label",
    [
        ([], "No contraindication found"),
        (["active_acne:current"], "Postpone"),
        (["eczema:past"], "Check with your doctor first"),
        (["psoriasis:current"], "Not recommended"),
    ],
)
def test_the_result_names_the_label(findings: List[str], label: str) -> None:
    events, dispatcher = run(
        ActionScreeningResult(), tracker("no", "deny", slots={"screening_findings": findings})
    )
    assert events == [
        SlotSet("screening_findings", findings),
        SlotSet("screening_outcome", label),
        SlotSet("screening_answer", None),
    ]
    assert texts(dispatcher)[0].startswith(f"Result of the check: {label}.")


def test_forged_slot_values_are_ignored_by_the_result() -> None:
    events, dispatcher = run(
        ActionScreeningResult(),
        tracker(
            "no",
            "deny",
            slots={"screening_findings": ["rosacea:current", "anything:goes", "Not recommended"]},
        ),
    )
    assert SlotSet("screening_findings", ["rosacea:current"]) in events


def test_a_statement_that_answers_everything_completes_the_screening_at_once() -> None:
    events, _ = run(
        ActionStartScreening(),
        tracker(
            "no eczema, psoriasis or rosacea, my skin isn't sensitive, no breakouts and no "
            "medication. am i a good candidate?"
        ),
    )
    assert (
        SlotSet(
            "screening_answered", ["skin_condition", "sensitive_skin", "breakout", "medication"]
        )
        in events
    )
    assert SlotSet("screening_answer", "done") in events


def test_a_statement_covering_every_question_gets_a_complete_verdict() -> None:
    events, dispatcher = run(
        ActionAssessStatement(),
        tracker(
            "I don't have eczema, psoriasis or rosacea, my skin isn't sensitive, no breakouts and "
            "I'm not on any medication. Can I get it?",
            "ask_contraindications",
        ),
    )
    assert SlotSet("screening_outcome", "No contraindication found") in events
    [reply] = texts(dispatcher)
    assert reply.startswith("Result of the check: No contraindication found.")
    assert "For the full check" not in reply


def test_the_answer_cleared_when_the_screening_starts_is_not_read_as_an_answer() -> None:
    cleared = tracker(
        "am i a good candidate?",
        "check_candidacy",
        slots={
            "screening_answer": None,
            "requested_slot": "screening_answer",
            "screening_question": "skin_condition",
            "screening_answered": [],
        },
        events=[{"event": "slot", "name": "screening_answer", "value": None}],
        active_loop="screening_form",
    )
    events, dispatcher = run(ValidateScreeningForm(), cleared)
    assert dispatcher.messages == []
    assert SlotSet("screening_answer", None) in events


def _turn(text: str, intent: str, reply: str) -> List[Dict[str, Any]]:
    return [
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
        {"event": "action", "name": reply},
    ]


@pytest.mark.parametrize(
    "intent, history, expected",
    [
        ("request_human", [], [SlotSet("handoff_reason", "requested")]),
        ("express_frustration", [], [SlotSet("handoff_reason", "upset")]),
        ("out_of_scope", [], []),
        ("out_of_scope", _turn("hi", "greet", "utter_greet"), []),
        (
            "nlu_fallback",
            _turn("how much is it", "out_of_scope", "utter_cannot_answer"),
            [SlotSet("handoff_reason", "repeated_fallback")],
        ),
    ],
)
def test_handoff_flags(intent: str, history: List[Dict[str, Any]], expected: List[Any]) -> None:
    latest = tracker("blah", intent)
    latest.events[:0] = history
    events, dispatcher = run(ActionFlagHandoff(), latest)
    assert events == expected and dispatcher.messages == []


@pytest.mark.parametrize(
    "action, message, intent",
    [
        (ActionAssessStatement(), "who shouldn't get microneedling?", "ask_contraindications"),
        (ActionAssessStatement(), "I have rosacea, can I get it?", "ask_contraindications"),
        (ActionStartScreening(), "am I a good candidate?", "check_candidacy"),
        (ActionScreeningResult(), "no", "deny"),
        (ActionFlagHandoff(), "talk to a person", "request_human"),
    ],
)
def test_every_action_rasa_runs_on_its_own_returns_an_event(
    action: Any, message: str, intent: str
) -> None:
    # policies/turn_plan.py reads a custom action followed by no event at all as one the
    # action server could not run, and answers "temporarily unavailable".
    events, _ = run(action, tracker(message, intent))
    assert events
