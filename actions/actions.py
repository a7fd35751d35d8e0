"""Rasa adapters for the contraindication check: thin wrappers around screening.py."""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clinic_config import ClinicConfig, load_clinic_config
from actions.contraindication_rules import NOT_RECOMMENDED, Rules, load_rules
from actions.extraction import default_extractor, patient_findings
from actions.log_privacy import conversation_ref
from actions.answerability import UNANSWERED_INTENTS, default_answerability
from actions.screening import (
    Finding, answer_question, answered_questions, asks_back, assess, decided, from_slot,
    next_question, questions_covered, reply_text, statement_verdict, to_slot, unread_reply,
)

logger = logging.getLogger(__name__)

# Loaded when the action server starts, so a broken file stops it with a clear error.
RULES: Rules = load_rules()
CLINIC: ClinicConfig = load_clinic_config()
EXTRACTOR = default_extractor()

# Each topic's answer (knowledge/answerability.yml): during the screening every message
# reaches the form first, and one that is not an answer but a question gets this.
TOPIC_RESPONSES = {intent: topic.response for intent, topic in default_answerability().topics.items()}
NOT_READ = ("Sorry, I didn't catch that. Please answer yes, no or not sure (or name the "
            "condition or medication), or pick one of the buttons.")


def log_run(action: str, tracker: Tracker) -> None:
    # Which action ran for which conversation; never the text or a slot value.
    logger.info("%s ran for conversation %s.", action, conversation_ref(tracker.sender_id))


def contact_line() -> str:
    return (f"To talk it through, call {CLINIC.name} on {CLINIC.phone} ({CLINIC.opening_hours}) "
            f"or book a consultation at {CLINIC.booking_url}.")


def result_events(findings: List[Finding]) -> List[EventType]:
    return [SlotSet("screening_findings", to_slot(findings)),
            SlotSet("screening_outcome", assess(RULES, findings).outcome)]


class ActionAssessStatement(Action):
    """One-shot: a patient who names their own condition gets the verdict at once."""

    def name(self) -> Text:
        return "action_assess_statement"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        log_run(self.name(), tracker)
        verdict = statement_verdict(RULES, EXTRACTOR.mentions(tracker.latest_message.get("text") or ""))
        if verdict is None:
            return [SlotSet("personal_verdict", False)]
        assessment, findings = verdict.assessment, verdict.findings
        text = reply_text(RULES, assessment, contact_line())
        if assessment.outcome != NOT_RECOMMENDED and not verdict.complete:
            text += ("\nThis covered only what you mentioned. For the full check, say "
                     "\"check if I can get it\".")
        dispatcher.utter_message(text=text)
        stated = from_slot(tracker.get_slot("stated_findings"), RULES)
        return [SlotSet("personal_verdict", True),
                SlotSet("stated_findings", to_slot(stated + findings)),
                *result_events(findings)]


class ActionStartScreening(Action):
    """Start (or restart) the screening, skipping what the patient has already said."""

    def name(self) -> Text:
        return "action_start_screening"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        log_run(self.name(), tracker)
        mentions = EXTRACTOR.mentions(tracker.latest_message.get("text") or "")
        findings = from_slot(tracker.get_slot("stated_findings"), RULES) + patient_findings(mentions)
        answered = questions_covered(RULES, findings, mentions)
        question = next_question(RULES, answered)
        intro = "Let's check whether the cautions in our article apply to you."
        if answered:
            intro += " I'll skip what you've already told me."
        # By SMS, texting STOP unsubscribes the patient; the numbered answers offer "Stop the check".
        if question is not None and not decided(RULES, findings) and \
                tracker.get_latest_input_channel() != "twilio":
            intro += " You can say \"stop\" at any time."
        dispatcher.utter_message(text=intro)
        # Nothing left to ask: the form completes at once and the result follows.
        done = "done" if question is None or decided(RULES, findings) else None
        return [
            SlotSet("stated_findings", []),
            SlotSet("screening_findings", to_slot(findings)),
            SlotSet("screening_outcome", None),
            SlotSet("screening_answered", answered),
            SlotSet("screening_question", None if done else question),
            SlotSet("screening_answer", done),
            SlotSet("screening_unread", 0),
        ]


class ValidateScreeningForm(FormValidationAction):
    """Read each answer, record its findings, and move to the next question or finish."""

    def name(self) -> Text:
        return "validate_screening_form"

    def validate_screening_answer(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        findings = from_slot(tracker.get_slot("screening_findings"), RULES)
        answered = list(tracker.get_slot("screening_answered") or [])
        question = tracker.get_slot("screening_question") or next_question(RULES, answered)
        if question is None or decided(RULES, findings):
            return self._finish(dispatcher, findings, answered)
        if value is None:
            # Cleared by action_start_screening just now: nothing was answered yet.
            return {"screening_answer": None}

        # What the NLU read (a long message: its bounded prefix), as the one-shot check reads;
        # the slot holds the whole message as sent.
        text = tracker.latest_message.get("text") or str(value)
        ok, new_findings = answer_question(RULES, question, text, EXTRACTOR.mentions(text))
        findings = list(dict.fromkeys(findings + new_findings))
        asked_back = asks_back(RULES, question, text, new_findings)
        if not ok or asked_back:
            intent = tracker.latest_message.get("intent", {}).get("name")
            if asked_back and intent in TOPIC_RESPONSES:
                dispatcher.utter_message(response=TOPIC_RESPONSES[intent])
            elif asked_back and intent in UNANSWERED_INTENTS:
                # Says what the article does not say, as outside the check (the slots of
                # nlu_components/answerability.py are set for this message).
                dispatcher.utter_message(response="utter_cannot_answer")
            # A question back is answered, and counts as a reply that is no answer: the same
            # question is never asked a third time, whatever comes back.
            unread = int(tracker.get_slot("screening_unread") or 0) + 1
            move_on, findings, answered = unread_reply(RULES, question, findings, answered, unread)
            upset = {}
            if intent == "express_frustration":
                # Not an answer, and the patient is upset: the team's contact, and the
                # conversation marked for staff, as outside the check.
                dispatcher.utter_message(response="utter_upset")
                upset = {"handoff_reason": "upset"}
            if not move_on:
                if not upset and not asked_back:
                    dispatcher.utter_message(text=NOT_READ)
                return {"screening_answer": None, "screening_findings": to_slot(findings),
                        "screening_unread": unread, **upset}
            dispatcher.utter_message(text="I'll note that as not sure and go on.")
            new_findings = []
        else:
            upset = {}

        answered = list(dict.fromkeys(answered + [question] + answered_questions(RULES, new_findings)))
        following = next_question(RULES, answered)
        if following is None or decided(RULES, findings):
            return {**self._finish(dispatcher, findings, answered, skipped=following is not None),
                    "screening_unread": 0, **upset}
        return {"screening_answer": None, "screening_findings": to_slot(findings),
                "screening_answered": answered, "screening_question": following,
                "screening_unread": 0, **upset}

    @staticmethod
    def _finish(dispatcher: CollectingDispatcher, findings: List[Finding], answered: List[str],
                skipped: bool = False) -> Dict[Text, Any]:
        if skipped:
            names = ", ".join(r.name for r in assess(RULES, findings).reasons
                              if r.outcome == NOT_RECOMMENDED)
            dispatcher.utter_message(
                text=f"Since you mentioned {names}, the other questions would not change the "
                     f"result, so I'll stop here.")
        return {"screening_answer": "done", "screening_findings": to_slot(findings),
                "screening_answered": answered, "screening_question": None}


class ActionScreeningResult(Action):
    """Give the outcome with every reason and the article's sentence behind it."""

    def name(self) -> Text:
        return "action_screening_result"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        log_run(self.name(), tracker)
        findings = from_slot(tracker.get_slot("screening_findings"), RULES)
        dispatcher.utter_message(text=reply_text(RULES, assess(RULES, findings), contact_line()))
        return [*result_events(findings), SlotSet("screening_answer", None)]


class ActionFlagHandoff(Action):
    """Mark the conversation for a call from the clinic's staff, with the reason.

    A question it could not answer is marked only when the one before it was not
    answered either.
    """

    REASONS = {"request_human": "requested", "express_frustration": "upset"}
    UNANSWERED = {"nlu_fallback", "out_of_scope"}

    def name(self) -> Text:
        return "action_flag_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        log_run(self.name(), tracker)
        intent = tracker.latest_message.get("intent", {}).get("name")
        if intent in self.UNANSWERED:
            return ([SlotSet("handoff_reason", "repeated_fallback")]
                    if previous_turn_unanswered(tracker.events) else [])
        return [SlotSet("handoff_reason", self.REASONS.get(intent, "requested"))]


def previous_turn_unanswered(events: List[Dict[Text, Any]]) -> bool:
    """True when the bot's reply to the user message before the latest one was
    "I can't answer that"."""
    user_turns = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if len(user_turns) < 2:
        return False
    between = events[user_turns[-2]:user_turns[-1]]
    return any(e.get("event") == "action" and e.get("name") == "utter_cannot_answer" for e in between)
